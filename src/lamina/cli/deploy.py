"""``lamina deploy``: package a folder (or take a .zip or .jar), create the function or update it,
wait until it is ready.

Create first; if the function exists (409 ResourceConflictException) update its code, wait,
then update its configuration and wait again, since Lambda refuses a second update while one
is in progress. Settings not given on the command line keep their current values on update;
without a runtime and a handler there is no create, only the update of an existing function.
A package the server refuses as too large gets the advice for large packages (S3, layers).
"""

from __future__ import annotations

import shlex
import time
from pathlib import Path
from typing import Callable

from lamina.cli.client import LambdaClient
from lamina.cli.errors import DeployError, LambdaApiError, UsageError
from lamina.cli.output import Console, format_size
from lamina.cli.package import load_package
from lamina.cli.progress import QUIET, Progress, wait_line
from lamina.cli.shapes import FunctionConfiguration, FunctionSpec

POLL_INTERVAL_SECONDS = 0.1
READY_DEADLINE_SECONDS = 60.0


def failure_reason(config: FunctionConfiguration) -> str | None:
    """Why the function cannot become ready, or None while it still can."""
    if config.get("State") == "Failed":
        return config.get("StateReason") or "State is Failed"
    if config.get("LastUpdateStatus") == "Failed":
        return config.get("LastUpdateStatusReason") or "LastUpdateStatus is Failed"
    return None


def is_ready(config: FunctionConfiguration) -> bool:
    # A function that was never updated may carry no LastUpdateStatus at all.
    return config.get("State") == "Active" and config.get("LastUpdateStatus", "Successful") == "Successful"


def wait_until_ready(
    client: LambdaClient,
    name: str,
    *,
    interval: float = POLL_INTERVAL_SECONDS,
    deadline: float = READY_DEADLINE_SECONDS,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    progress: Progress = QUIET,
) -> FunctionConfiguration:
    """Poll the configuration until it is Active and Successful; raise DeployError on Failed or deadline."""
    started = clock()
    give_up_at = started + deadline
    while True:
        config = client.get_function_configuration(name)
        reason = failure_reason(config)
        if reason is not None:
            progress.done()
            raise DeployError(f"{name} failed: {reason}")
        if is_ready(config):
            progress.done()
            return config
        state = config.get("State", "?")
        update = config.get("LastUpdateStatus", "?")
        progress.report(wait_line(f"{name} to be Active", f"State {state}, LastUpdateStatus {update}", clock() - started))
        if clock() >= give_up_at:
            progress.done()
            raise DeployError(
                f"{name} is not ready after {deadline:g} s (State={state}, LastUpdateStatus={update}). "
                "Check the server's output, then run the deploy again."
            )
        sleep(interval)


def deploy(
    client: LambdaClient,
    console: Console,
    spec: FunctionSpec,
    source: Path,
    *,
    invoke_prefix: str = "lamina",
    progress: Progress = QUIET,
) -> FunctionConfiguration:
    """Deploy ``source`` (a folder, a .zip or a .jar) as ``spec``; returns the final, ready configuration.

    Without a runtime and a handler the function must exist: its code is updated, and whatever
    ``spec`` says of its configuration. ``invoke_prefix`` starts the ready-to-paste invoke command
    (e.g. with ``--endpoint``).
    """
    package = load_package(source)
    noun = "file" if package.file_count == 1 else "files"
    verb = "Packaging" if source.is_dir() else "Reading"
    console.say(f"{verb} {source} ({package.file_count} {noun}, {format_size(len(package.data))})...")
    try:
        if spec.runtime is not None and spec.handler is not None:
            _create_or_update(client, console, spec, package.data, progress)
        else:
            _update(client, console, spec, package.data, progress)
    except LambdaApiError as exc:
        if exc.code == "RequestTooLargeException":
            raise DeployError(too_large_advice(exc.detail, len(package.data))) from None
        raise
    config = wait_until_ready(client, spec.name, progress=progress)
    console.say("Active.")
    console.say("Invoke it with:")
    console.say(f"  {invoke_prefix} invoke {shlex.quote(spec.name)} --payload '{{}}'")
    return config


def too_large_advice(detail: str, size: int) -> str:
    """What to do when a package is too large to send in the request itself."""
    return (
        f"the package ({format_size(size)}) is too large to upload directly ({detail or 'RequestTooLargeException'}). "
        "Large packages go through S3: put the .zip in one of Lamina's buckets "
        "(`aws s3 cp function.zip s3://BUCKET/function.zip`) and create the function from it "
        "(`aws lambda create-function ... --code S3Bucket=BUCKET,S3Key=function.zip`, or "
        "`update-function-code --s3-bucket BUCKET --s3-key function.zip`); or move the dependencies into "
        "a layer (`aws lambda publish-layer-version`) and deploy only your own code."
    )


def _create_or_update(client: LambdaClient, console: Console, spec: FunctionSpec, data: bytes,
                      progress: Progress) -> None:  # fmt: skip
    console.say(f"Creating function {spec.name}... ", end="")
    try:
        client.create_function(spec, data, progress=progress.upload)
        progress.done()
    except LambdaApiError as exc:
        progress.done()
        if exc.code != "ResourceConflictException":
            raise
        console.say("it exists; updating.")
        _update(client, console, spec, data, progress)


def _update(client: LambdaClient, console: Console, spec: FunctionSpec, data: bytes, progress: Progress) -> None:
    console.say("Updating code... ", end="")
    try:
        client.update_function_code(spec.name, data, progress=progress.upload)
    except LambdaApiError as exc:
        progress.done()
        if exc.code == "ResourceNotFoundException" and (spec.runtime is None or spec.handler is None):
            raise UsageError(f"{spec.name} does not exist yet: to create it, give its --runtime and --handler "
                             "(e.g. --runtime python3.12 --handler app.handler).") from None  # fmt: skip
        raise
    progress.done()
    wait_until_ready(client, spec.name, progress=progress)
    console.say("done.")
    if spec.configuration():  # anything to change beyond the code
        console.say("Updating configuration... ", end="")
        client.update_function_configuration(spec)
