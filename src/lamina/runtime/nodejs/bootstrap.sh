# Starts Lamina's Node.js runtime, as AWS's nodejs bootstrap starts theirs:
#   sh bootstrap.sh NODE MAJOR
# NODE is the interpreter, MAJOR the runtime's version (20 for nodejs20.x). Lamina gives NODE_PATH
# AWS's value (runtime/families/nodejs.py), unless the function sets its own; were it unset, layers'
# /opt/nodejs/nodeMAJOR/node_modules and /opt/nodejs/node_modules would be on it, then the AWS SDK
# (/var/runtime/node_modules); V8's heap is sized from the function's memory (a tenth for the
# young generation). A wrapper script named by AWS_LAMBDA_EXEC_WRAPPER is given the whole command
# as its arguments, as on Lambda. With _LAMINA_NODE_INSPECT (lamina dev --debug: --inspect=ADDRESS,
# or --inspect-brk=ADDRESS to wait for the debugger), node's inspector listens there.
node="$1"
major="$2"
here="${0%/*}"
inspect="${_LAMINA_NODE_INSPECT:-}"
unset _LAMINA_NODE_INSPECT

if [ -z "${NODE_PATH:-}" ]; then
    NODE_PATH="/opt/nodejs/node$major/node_modules:/opt/nodejs/node_modules:${_LAMINA_SDK_NODE_MODULES:-$here/node_modules}:$here:$LAMBDA_TASK_ROOT"
    export NODE_PATH
fi

memory="${AWS_LAMBDA_FUNCTION_MEMORY_SIZE:-}"
case "$memory" in
    '' | *[!0-9]*)
        exec ${AWS_LAMBDA_EXEC_WRAPPER:+"$AWS_LAMBDA_EXEC_WRAPPER"} "$node" ${inspect:+"$inspect"} --expose-gc --max-http-header-size 81920 "$here/index.cjs"
        ;;
esac
new_space=$((memory / 10))
exec ${AWS_LAMBDA_EXEC_WRAPPER:+"$AWS_LAMBDA_EXEC_WRAPPER"} "$node" ${inspect:+"$inspect"} --expose-gc --max-http-header-size 81920 \
    --max-semi-space-size=$((new_space / 2)) --max-old-space-size=$((memory - new_space)) \
    "$here/index.cjs"
