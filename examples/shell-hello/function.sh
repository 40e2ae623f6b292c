# The function: shell functions the bootstrap calls with the event (JSON) as their argument.
# What a function prints on stdout is its response; stderr goes to the log.

handler() {
    EVENT_DATA=$1
    echo "$EVENT_DATA" 1>&2
    echo "Echoing request: '$EVENT_DATA'"
}

# A handler that fails: the bootstrap reports its exit status as the invocation's error.
fail() {
    echo "failing on purpose: $1" 1>&2
    return 3
}
