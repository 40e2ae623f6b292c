"""CloudWatch's metric reads as IAM actions (pure): ``cloudwatch:<Operation>`` on ``*``, as AWS's
Service Authorization Reference has GetMetricData, GetMetricStatistics and ListMetrics (they name
no resource). The operation comes from the RPC v2 CBOR path, the json-1.0 target or the query
``Action``."""

from __future__ import annotations

import re

from lamina.iam.actions.operation import Operation, Wire

SERVICE_NAME = "GraniteServiceVersion20100801"
_PATH = re.compile(r"/service/([^/]+)/operation/([A-Za-z0-9]+)")


def operation(name: str, wire: Wire) -> Operation | None:
    return Operation(f"cloudwatch:{name}", ("*",), wire) if name else None


def from_path(path: str) -> Operation | None:
    """An RPC v2 CBOR request's operation (``/service/<service>/operation/<name>``), if it is CloudWatch's."""
    found = _PATH.fullmatch(path)
    if found is None or found.group(1) != SERVICE_NAME:
        return None
    return operation(found.group(2), Wire.CBOR)
