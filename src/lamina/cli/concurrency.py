"""``lamina concurrency NAME --qualifier Q --provisioned N``: provisioned concurrency, set and waited for.

PutProvisionedConcurrencyConfig, then GetProvisionedConcurrencyConfig until its Status is READY
(or FAILED, with AWS's StatusReason), showing how many environments are ready so far (``Progress``:
stderr, on a terminal or with ``--progress``). ``--provisioned 0`` removes the configuration.
"""

from __future__ import annotations

import time
from typing import Callable

from lamina.cli.client import LambdaClient
from lamina.cli.errors import DeployError
from lamina.cli.output import Console
from lamina.cli.progress import QUIET, Progress, wait_line

POLL_SECONDS = 0.2
READY_DEADLINE_SECONDS = 300.0


def provision(client: LambdaClient, console: Console, name: str, qualifier: str, count: int, *,
              progress: Progress = QUIET, deadline: float = READY_DEADLINE_SECONDS,
              clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> None:  # fmt: skip
    target = f"{name}:{qualifier}"
    if count == 0:
        client.delete_provisioned_concurrency(name, qualifier)
        console.emit({"FunctionName": name, "Qualifier": qualifier, "Deleted": True})
        console.say(f"Removed {target}'s provisioned concurrency.")
        return
    client.put_provisioned_concurrency(name, qualifier, count)
    console.say(f"Provisioning {count} environment{'s' if count != 1 else ''} for {target}... ", end="")
    started = clock()
    while True:
        config = client.get_provisioned_concurrency(name, qualifier)
        status, ready = config.get("Status"), config.get("AvailableProvisionedConcurrentExecutions", 0)
        if status == "READY":
            progress.done()
            break
        if status == "FAILED":
            progress.done()
            raise DeployError(f"{target}'s provisioned concurrency failed: {config.get('StatusReason') or 'FAILED'}")
        progress.report(wait_line(f"{target}'s environments", f"{ready} of {count} ready", clock() - started))
        if clock() - started >= deadline:
            progress.done()
            raise DeployError(f"{target}'s provisioned concurrency is not ready after {deadline:g} s "
                              f"({ready} of {count} ready). Check the server's output.")  # fmt: skip
        sleep(POLL_SECONDS)
    console.emit(config)
    console.say("ready.")
