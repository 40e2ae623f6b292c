"""YAML read as hostile input: the safe loader without aliases (no "billion laughs"), with its
nesting bounded, and dates kept as strings. CloudFormation templates (stacks/template.py) and
OpenAPI definitions (gateway/openapi/document.py) subclass it, each refusing in its own words."""

from __future__ import annotations

from typing import Any, NoReturn

import yaml


class BoundedLoader(yaml.SafeLoader):
    """Subclasses set ``max_depth`` and say how an alias and a nesting too deep are refused."""

    max_depth = 64
    _depth = 0

    def refuse_alias(self, mark: Any) -> NoReturn:
        raise NotImplementedError

    def refuse_depth(self) -> NoReturn:
        raise NotImplementedError

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            self.refuse_alias(self.peek_event().start_mark)  # type: ignore[no-untyped-call]
        self._depth += 1
        try:
            if self._depth > self.max_depth:
                self.refuse_depth()
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


# Dates stay strings ("2010-09-09"), as CloudFormation and API Gateway read them.
BoundedLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
