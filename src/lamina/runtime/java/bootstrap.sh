#!/bin/sh
# The start command of Lamina's Java runtimes, as AWS's own Java bootstrap does it: size the JVM
# from the function's memory, then exec AWS's runtime interface client with the handler
# ($_HANDLER, "package.Class::method"). A wrapper script named by AWS_LAMBDA_EXEC_WRAPPER is
# given the whole command as its arguments, as on Lambda.
#
# usage: bootstrap.sh JAVA RIC_DIR ARCHIVE JAR [JVM flag ...]
#   JAVA     the java executable of the runtime's JDK
#   RIC_DIR  the runtime interface client: RIC_DIR/lib/*.jar (scripts/install/java.sh)
#   ARCHIVE  its class-data-sharing archive for this JDK (cds.py), or "-" for none
#   JAR      Lamina's main class, which runs AWS's client over the framed Runtime API (framed.py),
#            or "-" for none: AWS's own main class then runs, over HTTP
#
# Heap 85% of the function's memory, metaspace 10%, code cache 5%: what fits in the memory limit
# Lamina enforces with a cgroup.
set -eu
java=$1
ric=$2
archive=$3
jar=$4
shift 4
# A function that sets its own JVM options runs with the JDK's own archive, exactly as on Lambda:
# module or pointer-size options that differ from those Lamina's archive was made with make the
# JVM print errors about it at every start.
if [ "$archive" != - ] && [ -z "${JAVA_TOOL_OPTIONS:-}${JDK_JAVA_OPTIONS:-}${_JAVA_OPTIONS:-}" ]; then
    set -- "$@" "-XX:SharedArchiveFile=$archive"
fi
classpath="$ric/lib/*"
main=com.amazonaws.services.lambda.runtime.api.client.AWSLambda
if [ "$jar" != - ]; then
    classpath="$classpath:$jar"
    main=lamina.runtime.LaminaRuntime
fi
kb=$(( ${AWS_LAMBDA_FUNCTION_MEMORY_SIZE:-128} * 1024 ))
exec ${AWS_LAMBDA_EXEC_WRAPPER:+"$AWS_LAMBDA_EXEC_WRAPPER"} "$java" \
    "-XX:MaxHeapSize=$(( kb * 85 / 100 ))k" \
    "-XX:MaxMetaspaceSize=$(( kb * 10 / 100 ))k" \
    "-XX:ReservedCodeCacheSize=$(( kb * 5 / 100 ))k" \
    "$@" \
    -classpath "$classpath" \
    "$main" "${_HANDLER:-}"
