"""The Lambda Runtime API's paths, headers and error types, in one place.

See ../shared/aws/docs/runtimes-api.md. The paths are those a runtime inside an execution
environment calls on ``http://$AWS_LAMBDA_RUNTIME_API``.
"""

from __future__ import annotations

from typing import Final

API_VERSION: Final = "2018-06-01"
PATH_NEXT: Final = f"/{API_VERSION}/runtime/invocation/next"
PATH_RESPONSE: Final = f"/{API_VERSION}/runtime/invocation/{{request_id}}/response"
PATH_ERROR: Final = f"/{API_VERSION}/runtime/invocation/{{request_id}}/error"
PATH_INIT_ERROR: Final = f"/{API_VERSION}/runtime/init/error"

HEADER_REQUEST_ID: Final = "Lambda-Runtime-Aws-Request-Id"
HEADER_DEADLINE_MS: Final = "Lambda-Runtime-Deadline-Ms"
HEADER_FUNCTION_ARN: Final = "Lambda-Runtime-Invoked-Function-Arn"
HEADER_TRACE_ID: Final = "Lambda-Runtime-Trace-Id"
HEADER_CLIENT_CONTEXT: Final = "Lambda-Runtime-Client-Context"
HEADER_COGNITO_IDENTITY: Final = "Lambda-Runtime-Cognito-Identity"
HEADER_ERROR_TYPE: Final = "Lambda-Runtime-Function-Error-Type"

# Error types Lamina itself reports for an environment (the runtime reports the rest).
ERROR_IMPORT_MODULE: Final = "Runtime.ImportModuleError"
ERROR_HANDLER_NOT_FOUND: Final = "Runtime.HandlerNotFound"
ERROR_SYNTAX: Final = "Runtime.UserCodeSyntaxError"
ERROR_EXIT: Final = "Runtime.ExitError"
ERROR_OUT_OF_MEMORY: Final = "Runtime.OutOfMemory"
ERROR_TIMEOUT: Final = "Sandbox.Timedout"
ERROR_UNKNOWN: Final = "Runtime.Unknown"
ERROR_INIT_TIMEOUT: Final = "Runtime.InitTimeout"
ERROR_RESPONSE_TOO_LARGE: Final = "Function.ResponseSizeTooLarge"
ERROR_INVALID_ENTRYPOINT: Final = "Runtime.InvalidEntrypoint"
