"""``lamina ls`` and ``lamina rm``: list the deployed functions, delete one."""

from __future__ import annotations

from typing import Sequence

from lamina.cli.client import LambdaClient
from lamina.cli.output import Console, format_last_modified, format_table
from lamina.cli.shapes import FunctionConfiguration

HEADERS = ("NAME", "RUNTIME", "MEMORY", "TIMEOUT", "STATE", "LAST MODIFIED")
# ListFunctions, like AWS's, may leave out State; GetFunctionConfiguration always has it.
MISSING = "-"


def function_rows(functions: Sequence[FunctionConfiguration]) -> list[list[str]]:
    rows = []
    for config in sorted(functions, key=lambda item: item.get("FunctionName", "")):
        memory = config.get("MemorySize")
        timeout = config.get("Timeout")
        modified = config.get("LastModified")
        rows.append(
            [
                config.get("FunctionName", MISSING),
                config.get("Runtime", MISSING),
                f"{memory} MB" if memory is not None else MISSING,
                f"{timeout} s" if timeout is not None else MISSING,
                config.get("State", MISSING),
                format_last_modified(modified) if modified else MISSING,
            ]
        )
    return rows


def list_functions(client: LambdaClient, console: Console) -> None:
    functions = list(client.list_functions())
    console.emit({"Functions": functions})
    if not functions:
        console.say("No functions yet. Make one and deploy it with:")
        console.say("  lamina init hello --runtime python3.12")
        console.say("  cd hello && lamina deploy")
        return
    console.say(format_table(HEADERS, function_rows(functions)))


def delete_function(client: LambdaClient, console: Console, name: str) -> None:
    client.delete_function(name)
    console.emit({"FunctionName": name, "Deleted": True})
    console.say(f"Deleted {name}.")
