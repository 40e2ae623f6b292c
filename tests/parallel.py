"""How the suite shares out its tests among pytest-xdist's workers (scripts/test: ``-n N --dist
loadgroup``).

Every module's tests run on one worker, in the module's order, so that a module-scoped fixture (a
server of the module's own, a deployed function) is made once and no test depends on which worker
ran the others. Modules that use the same shared service, a session-scoped fixture defined in a
``tests/<service>.py`` (``kafka``, ``rabbitmq``...), run on one worker too, so that the service is
started once. Such a group is a unit of work, as a module is; the units go out longest first (by
``TIMES``), so that no long one is left to run alone at the end.

Only the workers collect, so they tell the controller the groups: each writes its module -> unit
map (``record_units``) into a directory the controller made and named in the workers' input
(``configure_node``), before it reports its collection; the scheduler reads it when it has all the
collections. (xdist's own ``loadgroup`` reads ``xdist_group`` marks through suffixes it adds to
node ids, which pytest 9.2's node ids no longer take: grouping that way silently stops.)
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

# What a module's tests took, in seconds, on one of four workers on a busy two-core machine (their
# builds cached): the modules over 20 s, so that they go out first; one not listed counts as short.
# Only the order depends on them: a new module, or one that got faster or slower, is still run.
TIMES: dict[str, float] = {
    "tests/integration/test_iot_rules.py": 263,
    "tests/integration/test_table_streams.py": 130,
    "tests/integration/test_postgres_streams.py": 110,
    "tests/integration/test_postgres_reader.py": 70,
    "tests/integration/test_postgres_store.py": 60,
    "tests/integration/test_ray_placement.py": 90,
    "tests/integration/test_s3_triggers.py": 40,
    "tests/integration/test_s3_clients.py": 40,
    "tests/integration/test_s3_chunk_signatures.py": 60,
    "tests/integration/test_kafka_mappings.py": 201,
    "tests/integration/test_kafka_auth.py": 40,
    "tests/integration/test_kafka_tls.py": 35,
    "tests/integration/test_rabbitmq_tls.py": 35,
    "tests/integration/test_async_backlog.py": 158,
    "tests/integration/test_async.py": 155,
    "tests/integration/test_http_authorizers.py": 149,
    "tests/integration/test_concurrency.py": 148,
    "tests/integration/test_functions_api.py": 142,
    "tests/integration/test_function_urls.py": 137,
    "tests/integration/test_api_hardening.py": 137,
    "tests/integration/test_sqs_mappings.py": 118,
    "tests/integration/test_http_apis.py": 117,
    "tests/integration/test_frontdoor_urls.py": 113,
    "tests/integration/test_rabbitmq_mappings.py": 110,
    "tests/integration/test_rest_authorizers.py": 108,
    "tests/integration/test_event_bus.py": 106,
    "tests/integration/test_rest_apis.py": 104,
    "tests/integration/test_java.py": 96,
    "tests/integration/test_clients.py": 94,
    "tests/integration/test_java_framed.py": 90,
    "tests/integration/test_nodejs.py": 82,
    "tests/integration/test_frontdoor_apis.py": 81,
    "tests/integration/test_invoke.py": 81,
    "tests/integration/test_frontdoor.py": 65,
    "tests/integration/test_logs.py": 63,
    "tests/integration/test_kafka_doc.py": 53,
    "tests/integration/test_versions_aliases.py": 51,
    "tests/integration/test_layer_attacks.py": 46,
    "tests/integration/test_isolation.py": 42,
    "tests/integration/test_function_credentials.py": 30,
    "tests/integration/test_function_sdk.py": 25,
    "tests/integration/test_accounts.py": 40,
    "tests/integration/test_queues_doc.py": 42,
    "tests/integration/test_queues_durable.py": 40,
    "tests/integration/test_rabbitmq_doc.py": 41,
    "tests/integration/test_dotnet.py": 38,
    "tests/integration/test_iot_doc.py": 35,
    "tests/integration/test_provided.py": 35,
    "tests/integration/test_tags_policies_event_config.py": 34,
    "tests/integration/test_event_source_mappings.py": 30,
    "tests/integration/test_ruby.py": 29,
    "tests/integration/test_schedules.py": 24,
    "tests/integration/test_queues.py": 24,
    "tests/integration/test_scaling.py": 24,
    "tests/integration/test_awslambdaric.py": 21,
    "tests/unit/test_python_bootstrap.py": 21,
}

UNITS_KEY = "lamina_units"  # the workers' input: where they write their units
_units_dir = pytest.StashKey[Path]()


def shared_services(item: pytest.Item) -> set[str]:
    """The shared services ``item`` uses: its session-scoped fixtures defined in a ``tests``
    module other than conftest (``lamina``, conftest's, is a server of each worker's own)."""
    info = getattr(item, "_fixtureinfo", None)
    found = set()
    for name, defs in (info.name2fixturedefs.items() if info is not None else ()):
        for fixturedef in defs:
            module = getattr(fixturedef.func, "__module__", "")
            if fixturedef.scope == "session" and module.startswith("tests.") and module != "tests.conftest":
                found.add(name)
    return found


def module_units(uses: Mapping[str, set[str]]) -> dict[str, str]:
    """Each module's unit of work, from the shared services each module uses (pure): its own path,
    unless it uses one; modules that share a service, directly or through other modules, are one
    unit, named by its services."""
    owner: dict[str, str] = {}  # a service -> another of its unit, up to the unit's own

    def root(service: str) -> str:
        while owner.setdefault(service, service) != service:
            service = owner[service]
        return service

    for services in uses.values():
        for service in sorted(services):
            owner[root(service)] = root(min(services))
    members: dict[str, list[str]] = {}
    for service in sorted(owner):
        members.setdefault(root(service), []).append(service)
    return {module: "+".join(members[root(min(services))]) if services else module
            for module, services in uses.items()}  # fmt: skip


def module_of(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


def unit_order(units: Mapping[str, Sequence[str]]) -> list[str]:
    """The units (name -> their modules) longest first by ``TIMES``, the rest in their order (pure)."""
    listed = list(units)

    def length(unit: str) -> float:
        return sum(TIMES.get(module, 0.0) for module in units[unit])

    return sorted(listed, key=lambda unit: (-length(unit), listed.index(unit)))


# -- the controller's side ----------------------------------------------------------------------


def configure_node(node: Any) -> None:
    """Name the directory the workers write their units into (made once, by the controller)."""
    config: pytest.Config = node.config
    if _units_dir not in config.stash:
        config.stash[_units_dir] = Path(tempfile.mkdtemp(prefix="lamina-xdist-units-"))
    node.workerinput[UNITS_KEY] = str(config.stash[_units_dir])


def forget_units(config: pytest.Config) -> None:
    if _units_dir in config.stash:
        shutil.rmtree(config.stash[_units_dir], ignore_errors=True)


def read_units(config: pytest.Config) -> dict[str, str]:
    """The module -> unit map a worker wrote ({} if none did: then each module is its own unit)."""
    directory = config.stash.get(_units_dir, None)
    for path in sorted(directory.glob("*.json")) if directory is not None else ():
        units: dict[str, str] = json.loads(path.read_text())
        return units
    return {}


def make_scheduler(config: pytest.Config, log: Any) -> Any:
    """xdist's scheduling by scope, with units from ``read_units`` handed out in ``unit_order``."""
    from xdist.scheduler import LoadScopeScheduling  # type: ignore[import-untyped]

    class Scheduler(LoadScopeScheduling):  # type: ignore[misc]
        collection: list[str] | None

        def __init__(self, config: pytest.Config, log: Any) -> None:
            super().__init__(config, log)
            self.units: dict[str, str] = {}

        def _split_scope(self, nodeid: str) -> str:
            return self.units.get(module_of(nodeid), module_of(nodeid))

        def schedule(self) -> None:
            """LoadScopeScheduling.schedule's first distribution, but in ``unit_order``."""
            assert self.collection_is_completed
            if self.collection is not None:  # a node added later: nothing to share out again
                for node in self.nodes:
                    self._reschedule(node)
                return
            if not self._check_nodes_have_same_collection():
                self.log("**Different tests collected, aborting run**")
                return
            self.collection = list(next(iter(self.registered_collections.values())))
            if not self.collection:
                return
            self.units = read_units(config)
            work: dict[str, dict[str, bool]] = {}
            modules: dict[str, list[str]] = {}
            for nodeid in self.collection:
                unit = self._split_scope(nodeid)
                work.setdefault(unit, {})[nodeid] = False
                if module_of(nodeid) not in modules.setdefault(unit, []):
                    modules[unit].append(module_of(nodeid))
            for unit in unit_order(modules):
                self.workqueue[unit] = work[unit]
            for _ in range(len(self.nodes) - len(self.workqueue)):  # more workers than units
                unused, _assigned = self.assigned_work.popitem()
                unused.shutdown()
            for node in self.nodes:
                self._assign_work_unit(node)
            for node in self.nodes:
                self._reschedule(node)
            if not self.workqueue:
                for node in self.nodes:
                    node.shutdown()

    return Scheduler(config, log)


# -- a worker's side ----------------------------------------------------------------------------


def record_units(config: pytest.Config, items: Iterable[pytest.Item]) -> None:
    """In a worker told where (``configure_node``): write the module -> unit map of ``items``."""
    directory = getattr(config, "workerinput", {}).get(UNITS_KEY)
    if directory is None:
        return
    uses: dict[str, set[str]] = {}
    for item in items:
        uses.setdefault(module_of(item.nodeid), set()).update(shared_services(item))
    path = Path(directory) / f"{os.environ.get('PYTEST_XDIST_WORKER', os.getpid())}.json"
    partial = path.with_suffix(".part")
    partial.write_text(json.dumps(module_units(uses)))
    partial.replace(path)
