"""An OpenAPI (3.x) or Swagger (2.0) document read as API Gateway reads it for an import. Pure.

The text is JSON if it starts with ``{``, YAML otherwise. It comes from whoever calls ImportApi, so
it is read as hostile: at most ``MAX_BYTES``, YAML through PyYAML's safe loader without aliases (an
alias bomb is a few lines expanding to gigabytes) or timestamps, nesting bounded, and nothing that
is not a JSON value. ``$ref`` is followed only inside the document (``#/...``), hop by hop, so a
loop or a chain longer than ``MAX_REF_HOPS`` is an error rather than a hang; nothing is expanded in
place, so a document that refers to itself costs no more than its size.
"""

from __future__ import annotations

import json
from typing import Any, Mapping, NoReturn

import yaml

from lamina.hostile_yaml import BoundedLoader

MAX_BYTES = 6 * 1024 * 1024  # API Gateway's limit on an imported definition
MAX_DEPTH = 64
MAX_REF_HOPS = 32
METHODS = ("get", "put", "post", "delete", "options", "head", "patch")  # API Gateway's; OpenAPI's "trace" is not
MAX_WARNINGS = 100
ANY_METHOD = "x-amazon-apigateway-any-method"


class DocumentError(Exception):
    """A definition that cannot be imported; the message is the API's answer."""


class _Loader(BoundedLoader):
    max_depth = MAX_DEPTH

    def refuse_alias(self, mark: Any) -> NoReturn:
        raise DocumentError("Invalid OpenAPI input: YAML aliases are not supported")

    def refuse_depth(self) -> NoReturn:
        raise DocumentError(f"Invalid OpenAPI input: nested deeper than {MAX_DEPTH} levels")


def _json_value(value: Any, depth: int = 0) -> Any:
    if depth > MAX_DEPTH:
        raise DocumentError(f"Invalid OpenAPI input: nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, dict):
        return {str(k) if not isinstance(k, bool) else str(k).lower(): _json_value(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_value(v, depth + 1) for v in value]
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    raise DocumentError(f"Invalid OpenAPI input: unsupported value of type {type(value).__name__}")


def load(body: str | bytes) -> dict[str, Any]:
    """The definition as a JSON object, or ``DocumentError``."""
    if len(body) > MAX_BYTES:
        raise DocumentError(f"Invalid OpenAPI input: the definition is larger than {MAX_BYTES} bytes")
    if isinstance(body, bytes):
        try:
            body = body.decode("utf-8")
        except UnicodeDecodeError:
            raise DocumentError("Invalid OpenAPI input: the definition is not UTF-8 text") from None
    if not body.strip():
        raise DocumentError("Invalid OpenAPI input: the definition is empty")
    try:
        if body.lstrip().startswith("{"):
            document = json.loads(body)
        else:
            document = yaml.load(body, Loader=_Loader)  # noqa: S506 (_Loader is a SafeLoader)
    except json.JSONDecodeError as exc:
        raise DocumentError(f"Invalid OpenAPI input: JSON not well-formed (line {exc.lineno}, column {exc.colno})") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        raise DocumentError(f"Invalid OpenAPI input: YAML not well-formed{where}") from None
    except yaml.YAMLError:
        raise DocumentError("Invalid OpenAPI input: YAML not well-formed") from None
    except RecursionError:
        raise DocumentError(f"Invalid OpenAPI input: nested deeper than {MAX_DEPTH} levels") from None
    document = _json_value(document)
    if not isinstance(document, dict):
        raise DocumentError("Invalid OpenAPI input: the definition must be an object")
    if not _version(document):
        raise DocumentError("Invalid OpenAPI input: the definition names no 'openapi' (3.x) or 'swagger' (2.0) version")
    return document


def capped(warnings: list[str]) -> tuple[str, ...]:
    """At most ``MAX_WARNINGS`` of them: a large definition can have a warning per operation."""
    if len(warnings) <= MAX_WARNINGS:
        return tuple(warnings)
    return (*warnings[:MAX_WARNINGS], f"... and {len(warnings) - MAX_WARNINGS} more warnings")


def _version(document: Mapping[str, Any]) -> str | None:
    openapi, swagger = document.get("openapi"), document.get("swagger")
    if isinstance(openapi, (str, float)) and str(openapi).startswith("3."):  # YAML reads "openapi: 3.0" as a number
        return str(openapi)
    if str(swagger) == "2.0":
        return "2.0"
    return None


def is_swagger(document: Mapping[str, Any]) -> bool:
    return _version(document) == "2.0"


def deref(document: Mapping[str, Any], node: Any) -> Any:
    """``node`` with its ``$ref`` (to a place in ``document``) followed until it is not one."""
    seen: list[str] = []
    while isinstance(node, dict) and isinstance(node.get("$ref"), str):
        ref: str = node["$ref"]
        if ref in seen:
            raise DocumentError(f"Invalid OpenAPI input: $ref loop through {' -> '.join([*seen, ref])}")
        if len(seen) >= MAX_REF_HOPS:
            raise DocumentError(f"Invalid OpenAPI input: $ref chain longer than {MAX_REF_HOPS}")
        seen.append(ref)
        node = _pointer(document, ref)
    return node


def _pointer(document: Mapping[str, Any], ref: str) -> Any:
    if not ref.startswith("#/"):
        raise DocumentError(f"Invalid OpenAPI input: $ref {ref} is not inside the definition (only #/... is)")
    node: Any = document
    for raw in ref[2:].split("/"):
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise DocumentError(f"Invalid OpenAPI input: $ref {ref} names nothing in the definition")
    return node


def mapping(document: Mapping[str, Any], node: Any, where: str) -> dict[str, Any]:
    """``node`` (its ``$ref`` followed) as an object, or an error naming ``where``."""
    node = deref(document, node)
    if node is None:
        return {}
    if not isinstance(node, dict):
        raise DocumentError(f"Invalid OpenAPI input: {where} must be an object")
    return node


def title(document: Mapping[str, Any]) -> str:
    info = mapping(document, document.get("info"), "info")
    name = info.get("title")
    if not isinstance(name, str) or not name.strip():
        raise DocumentError("Invalid OpenAPI input: info.title (the API's name) is required")
    return name


def security_schemes(document: Mapping[str, Any]) -> dict[str, Any]:
    """The security schemes by name: ``components.securitySchemes`` (3.x) or ``securityDefinitions`` (2.0)."""
    if is_swagger(document):
        return mapping(document, document.get("securityDefinitions"), "securityDefinitions")
    components = mapping(document, document.get("components"), "components")
    return mapping(document, components.get("securitySchemes"), "components.securitySchemes")


SIGV4 = "AWS_IAM"
API_KEY = "API_KEY"


def plain_schemes(document: Mapping[str, Any]) -> dict[str, str]:
    """The security schemes that are no Lambda or JWT authorizer, by name: ``SIGV4`` for one whose
    ``x-amazon-apigateway-authtype`` is ``awsSigv4`` (AWS_IAM), ``API_KEY`` for an ``apiKey`` in the
    ``x-api-key`` header (API Gateway's API keys)."""
    found: dict[str, str] = {}
    for name, scheme_doc in security_schemes(document).items():
        scheme = mapping(document, scheme_doc, f"securitySchemes.{name}")
        if scheme.get("x-amazon-apigateway-authorizer") is not None:
            continue
        if str(scheme.get("x-amazon-apigateway-authtype", "")).lower() == "awssigv4":
            found[name] = SIGV4
        elif scheme.get("type") == "apiKey" and scheme.get("in") == "header" and \
                str(scheme.get("name", "")).lower() == "x-api-key":  # fmt: skip
            found[name] = API_KEY
    return found


def base_path(document: Mapping[str, Any]) -> str:
    """The path the definition's servers (3.x) or basePath (2.0) put before every path, '' if none."""
    if is_swagger(document):
        value = document.get("basePath")
        path = value if isinstance(value, str) else ""
    else:
        servers = document.get("servers")
        first = servers[0] if isinstance(servers, list) and servers and isinstance(servers[0], dict) else {}
        raw_url, raw_variables = first.get("url"), first.get("variables")
        url = raw_url if isinstance(raw_url, str) else ""
        variables: dict[str, Any] = raw_variables if isinstance(raw_variables, dict) else {}
        for name, spec in variables.items():
            default = spec.get("default") if isinstance(spec, dict) else None
            if isinstance(default, str):
                url = url.replace("{" + name + "}", default)
        path = url.split("://", 1)[1].partition("/")[2] if "://" in url else url.lstrip("/")
        path = "/" + path.partition("?")[0] if path else ""
    path = path.rstrip("/")
    return "" if path in ("", "/") else (path if path.startswith("/") else "/" + path)


def with_base_path(mode: str | None, base: str, path: str) -> str:
    """``path`` under ``base`` as ImportApi's ``basepath`` (ignore, prepend or split) asks."""
    if mode in (None, "", "ignore") or not base:
        return path
    if mode == "split":  # the base path's first segment is the stage's; the rest prefixes the paths
        base = "/" + base.strip("/").partition("/")[2] if "/" in base.strip("/") else ""
    elif mode != "prepend":
        raise DocumentError(f"Invalid basepath mode {mode}: use ignore, prepend or split")
    return (base + path) if base else path
