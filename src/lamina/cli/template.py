"""The function a template.yaml describes, for ``lamina deploy`` and ``lamina dev`` (pure).

``lamina deploy DIR`` (DIR holding a template.yaml) or ``lamina deploy template.yaml`` reads the
template's one ``AWS::Lambda::Function`` (or ``AWS::Serverless::Function``) and deploys the
function alone, its code from the local folder the template names (``Code`` / ``CodeUri``, as
``aws cloudformation package`` reads it, relative to the template). The rest of the template (a
queue, a schedule, a URL) is CloudFormation's to deploy: ``aws cloudformation deploy``.

Only literal values are read; a property written with an intrinsic function (``!Sub``, ``!Ref``)
is left to the command line (``--name`` and the like), as is everything not listed here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from lamina.cli.errors import UsageError
from lamina.stacks.errors import TemplateError
from lamina.stacks.template import load

TEMPLATE_NAMES = ("template.yaml", "template.yml", "template.json")
FUNCTION_TYPES = ("AWS::Lambda::Function", "AWS::Serverless::Function")
MAX_TEMPLATE_BYTES = 1_000_000


@dataclass(frozen=True)
class TemplateFunction:
    logical_id: str
    code: Path  # the folder (or .zip/.jar) to deploy, resolved against the template's folder
    name: str | None
    runtime: str | None
    handler: str | None
    memory_mb: int | None
    timeout_seconds: int | None
    environment: Mapping[str, str] | None
    description: str | None


def find_template(path: Path) -> Path | None:
    """The template ``path`` names: itself if it is a template file, the one in it if a folder."""
    if path.is_file() and path.suffix.lower() in (".yaml", ".yml", ".json"):
        return path
    if path.is_dir():
        return next((path / name for name in TEMPLATE_NAMES if (path / name).is_file()), None)
    return None


def read_template(path: Path) -> TemplateFunction:
    try:
        with path.open("rb") as file:
            raw = file.read(MAX_TEMPLATE_BYTES + 1)
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}.") from None
    if len(raw) > MAX_TEMPLATE_BYTES:
        raise UsageError(f"{path} is larger than {MAX_TEMPLATE_BYTES} bytes; is it a template?")
    return function_in_template(raw.decode("utf-8", "replace"), path.parent, str(path))


def function_in_template(body: str, base: Path, source: str = "the template") -> TemplateFunction:
    try:
        document = load(body)
    except TemplateError as exc:
        raise UsageError(f"{source}: {exc.message}") from None
    resources = document.get("Resources")
    if not isinstance(resources, dict):
        raise UsageError(f"{source} has no Resources.")
    functions = {key: value for key, value in resources.items()
                 if isinstance(value, dict) and value.get("Type") in FUNCTION_TYPES}  # fmt: skip
    if len(functions) != 1:
        found = ", ".join(sorted(functions)) or "none"
        raise UsageError(f"{source} must hold exactly one function to deploy this way (found: {found}). "
                         "Deploy the template with `aws cloudformation deploy`.")  # fmt: skip
    logical_id, resource = next(iter(functions.items()))
    props = resource.get("Properties")
    props = props if isinstance(props, dict) else {}
    serverless = resource["Type"] == "AWS::Serverless::Function"
    code = props.get("CodeUri" if serverless else "Code")
    if not isinstance(code, str) or not code or code.startswith("s3://"):
        raise UsageError(f"{source}: {logical_id}'s {'CodeUri' if serverless else 'Code'} must name a local "
                         "folder (or .zip/.jar) for lamina to deploy it, e.g. `Code: src/`.")  # fmt: skip
    code_path = Path(code)
    environment = props.get("Environment")
    variables = environment.get("Variables") if isinstance(environment, dict) else None
    return TemplateFunction(
        logical_id=logical_id,
        code=code_path if code_path.is_absolute() else base / code_path,
        name=_text(props, "FunctionName"),
        runtime=_text(props, "Runtime"),
        handler=_text(props, "Handler"),
        memory_mb=_integer(props, "MemorySize"),
        timeout_seconds=_integer(props, "Timeout"),
        environment={str(k): str(v) for k, v in variables.items() if isinstance(v, (str, int, float))}
        if isinstance(variables, dict) else None,
        description=_text(props, "Description"),
    )  # fmt: skip


def _text(props: Mapping[str, Any], key: str) -> str | None:
    value = props.get(key)
    return value if isinstance(value, str) and value else None


def _integer(props: Mapping[str, Any], key: str) -> int | None:
    value = props.get(key)
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None
