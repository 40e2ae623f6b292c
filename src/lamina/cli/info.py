"""``lamina info NAME``: one function's configuration, code, URL and state, and how to use it.

GetFunction's answer (``Configuration``, ``Code``, ``Tags``, ``Concurrency``) with the function's
URL (GetFunctionUrlConfig) if it has one. Environment variables are listed by name only: their
values are often secrets, and ``--json`` has them for a script that needs them.
"""

from __future__ import annotations

import shlex
from typing import Mapping

from lamina.cli.client import LambdaClient
from lamina.cli.output import Console, format_last_modified, format_size

MISSING = "-"


def info_lines(answer: Mapping[str, object], url: str | None, prefix: str = "lamina") -> list[str]:
    """The person-readable lines for GetFunction's ``answer`` (pure)."""
    config = answer.get("Configuration")
    config = config if isinstance(config, Mapping) else {}
    name = str(config.get("FunctionName", MISSING))

    def get(key: str) -> str:
        value = config.get(key)
        return MISSING if value is None or value == "" else str(value)

    size = config.get("CodeSize")
    environment = config.get("Environment")
    variables = environment.get("Variables") if isinstance(environment, Mapping) else None
    layers = config.get("Layers")
    concurrency = answer.get("Concurrency")
    reserved = concurrency.get("ReservedConcurrentExecutions") if isinstance(concurrency, Mapping) else None
    modified = config.get("LastModified")
    architectures = config.get("Architectures")
    rows = [
        ("Name", name),
        ("ARN", get("FunctionArn")),
        ("Runtime", get("Runtime")),
        ("Handler", get("Handler")),
        ("Architectures", ", ".join(map(str, architectures)) if isinstance(architectures, list) and architectures
         else MISSING),
        ("Memory", f"{config['MemorySize']} MB" if config.get("MemorySize") is not None else MISSING),
        ("Timeout", f"{config['Timeout']} s" if config.get("Timeout") is not None else MISSING),
        ("State", f"{get('State')} (last update: {get('LastUpdateStatus')})"),
        ("Code", f"{format_size(size)}, sha256 {get('CodeSha256')}" if isinstance(size, int) else MISSING),
        ("Last modified", format_last_modified(modified) if isinstance(modified, str) else MISSING),
        ("Role", get("Role")),
        ("Description", get("Description")),
        ("Environment", ", ".join(sorted(map(str, variables))) if isinstance(variables, Mapping) and variables
         else MISSING),
        ("Layers", ", ".join(str(layer.get("Arn")) for layer in layers if isinstance(layer, Mapping))
         if isinstance(layers, list) and layers else MISSING),
        ("Reserved concurrency", str(reserved) if reserved is not None else MISSING),
        ("URL", url or MISSING),
    ]  # fmt: skip
    width = max(len(label) for label, _ in rows)
    lines = [f"{label.ljust(width)}  {value}" for label, value in rows]
    quoted = shlex.quote(name)
    lines += ["", "Try:", f"  {prefix} invoke {quoted} --payload '{{}}' --logs", f"  {prefix} logs {quoted} --follow"]
    return lines


def show_info(client: LambdaClient, console: Console, name: str, *, prefix: str = "lamina") -> None:
    answer = client.get_function(name)
    url = client.get_function_url(name)
    console.emit({**answer, **({"FunctionUrl": url} if url else {})})
    for line in info_lines(answer, url, prefix):
        console.say(line)
