"""Templates with a ``Transform``: the SAM transform (``AWS::Serverless-2016-10-31``) applied through
AWS's own library, aws-sam-translator, as CloudFormation applies it before anything else reads the
template.

The translator runs offline: managed policies named in a function's ``Policies`` are looked up in
the table Lamina ships (iam/managed.py), never with IAM's ListPolicies; the region is the stack's
cell's, given to the translator as a session that makes no call. Its errors become CloudFormation's
``Transform AWS::Serverless-2016-10-31 failed with: ...``. A transform Lamina does not serve is
refused as CloudFormation refuses a macro it cannot find.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
from typing import Any, Mapping

import boto3
from samtranslator.model.exceptions import ExceptionWithMessage, InvalidDocumentException
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator
from samtranslator.utils.py27hash_fix import to_py27_compatible_template, undo_mark_unicode_str_in_template

from lamina.iam.managed import BY_ARN
from lamina.stacks.errors import StackValidationError, format_error
from lamina.stacks.template import MAX_URL_BODY_BYTES, Template, check_size, load, parse

log = logging.getLogger(__name__)
SAM = "AWS::Serverless-2016-10-31"
# The translator keeps the region in a class attribute (ArnGenerator's): one translation at a time.
_TRANSLATING = threading.Lock()


def declared(document: Mapping[str, Any]) -> list[str]:
    """The transforms a template declares, in order (pure)."""
    if "Transform" not in document:
        return []
    value = document["Transform"]
    names = value if isinstance(value, list) else [value]
    if not all(isinstance(n, str) for n in names):
        raise format_error("Transform must be a string or a list of strings.")
    return list(names)


def managed_policies() -> dict[str, str]:
    """The managed policies a SAM function's ``Policies`` may name: name -> ARN."""
    return {policy.name: arn for arn, policy in BY_ARN.items()}


def _message(exc: Exception) -> str:
    if isinstance(exc, InvalidDocumentException):
        return " ".join([str(exc.message), *(str(cause.message) for cause in exc.causes)])
    if isinstance(exc, ExceptionWithMessage):
        return str(exc.message)
    log.warning("the SAM translator failed on a template", exc_info=exc)  # not a message of its own: say so
    return f"Internal transform failure: {type(exc).__name__}"


def expand(document: dict[str, Any], parameters: Mapping[str, str], region: str, account_id: str) -> dict[str, Any]:
    """``document`` with its transforms applied: a template without ``Transform``.

    ``parameters`` are the values given for the template's parameters (the translator adds their
    defaults): SAM resolves some references to them while translating (AutoPublishAlias, CodeUri)."""
    names = declared(document)
    unknown = [n for n in names if n != SAM]
    if unknown:
        owner = "" if unknown[0].startswith("AWS::") else f"{account_id}::"
        raise StackValidationError(f"No transform named {owner}{unknown[0]} found.")
    if not names:
        return document
    values: dict[str, Any] = {"AWS::Region": region, "AWS::AccountId": account_id, **parameters}
    try:
        with _TRANSLATING:
            fragment = json.loads(json.dumps(document))  # the translator changes what it is given
            to_py27_compatible_template(fragment, values)
            translator = Translator(None, Parser(), boto_session=boto3.session.Session(region_name=region))
            try:
                translated = translator.translate(fragment, parameter_values=values,
                                                  get_managed_policy_map=managed_policies)  # fmt: skip
            finally:
                translator.metrics.publish()  # to its no-op publisher: else it warns of them in the log
            result: dict[str, Any] = undo_mark_unicode_str_in_template(translated)
    except Exception as exc:  # every failure of the translator is the template's: a ValidationError
        raise StackValidationError(f"Transform {SAM} failed with: {_message(exc)}") from None
    result.pop("Transform", None)
    return result


def read(body: str, parameters: Mapping[str, str], region: str, account_id: str) -> Template:
    """A template's text read, its transforms applied: the Template the engine works on, carrying
    the text as given in ``original`` when a transform made another of it."""
    if "Transform" not in body:  # no transform: the template is read once, as it is
        return parse(body)
    check_size(body)
    document = load(body)
    if "Transform" not in document:
        return parse(body)
    processed = json.dumps(expand(document, parameters, region, account_id), indent=2)
    return dataclasses.replace(parse(processed, limit=MAX_URL_BODY_BYTES), original=body)
