"""A first Lambda function: greets whoever the event names, and counts warm invocations."""

import os

invocations = 0  # module state survives between invocations of a warm environment


def handler(event, context):
    global invocations
    invocations += 1
    name = (event or {}).get("name", "world")
    print(f"Greeting {name} (invocation {invocations} of this environment)")
    return {
        "message": f"Hello, {name}!",
        "function": context.function_name,
        "requestId": context.aws_request_id,
        "warmInvocations": invocations,
        "runtime": os.environ.get("AWS_EXECUTION_ENV"),
    }
