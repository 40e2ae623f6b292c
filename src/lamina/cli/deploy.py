"""``lamina deploy``: package a folder, create the function or update it, wait until it is ready.

Create first; if the function exists (409 ResourceConflictException) update its code, wait,
then update its configuration and wait again, since Lambda refuses a second update while one
is in progress. Settings not given on the command line keep their current values on update.
"""

from __future__ import annotations

import shlex
import time
from pathlib import Path
from typing import Callable

from lamina.cli.client import LambdaClient
from lamina.cli.errors import DeployError, LambdaApiError
from lamina.cli.output import Console, format_size
from lamina.cli.package import package_directory
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
) -> FunctionConfiguration:
    """Poll the configuration until it is Active and Successful; raise DeployError on Failed or deadline."""
    give_up_at = clock() + deadline
    while True:
        config = client.get_function_configuration(name)
        reason = failure_reason(config)
        if reason is not None:
            raise DeployError(f"{name} failed: {reason}")
        if is_ready(config):
            return config
        if clock() >= give_up_at:
            state = config.get("State", "?")
            update = config.get("LastUpdateStatus", "?")
            raise DeployError(
                f"{name} is not ready after {deadline:g} s (State={state}, LastUpdateStatus={update}). "
                "Check the server's output, then run the deploy again."
            )
        sleep(interval)


def deploy(
    client: LambdaClient,
    console: Console,
    spec: FunctionSpec,
    directory: Path,
    *,
    invoke_prefix: str = "lamina",
) -> FunctionConfiguration:
    """Deploy ``directory`` as ``spec``; returns the final, ready configuration.

    ``invoke_prefix`` starts the ready-to-paste invoke command (e.g. with ``--endpoint``).
    """
    package = package_directory(directory)
    noun = "file" if package.file_count == 1 else "files"
    console.say(f"Packaging {directory} ({package.file_count} {noun}, {format_size(len(package.data))})...")
    console.say(f"Creating function {spec.name}... ", end="")
    try:
        client.create_function(spec, package.data)
    except LambdaApiError as exc:
        if exc.code != "ResourceConflictException":
            raise
        console.say("it exists; updating.")
        console.say("Updating code... ", end="")
        client.update_function_code(spec.name, package.data)
        wait_until_ready(client, spec.name)
        console.say("done.")
        console.say("Updating configuration... ", end="")
        client.update_function_configuration(spec)
    config = wait_until_ready(client, spec.name)
    console.say("Active.")
    console.say("Invoke it with:")
    console.say(f"  {invoke_prefix} invoke {shlex.quote(spec.name)} --payload '{{}}'")
    return config
