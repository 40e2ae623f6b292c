"""API Gateway's resource types: HTTP APIs' (``http_apis.py``) and REST APIs' (``rest_apis.py``)."""

from __future__ import annotations

from lamina.stacks.resources import http_apis, rest_apis
from lamina.stacks.resources.base import Provider

GATEWAY_PROVIDERS: tuple[Provider, ...] = (*http_apis.PROVIDERS, *rest_apis.PROVIDERS)
