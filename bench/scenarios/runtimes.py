"""Runtimes: each language's hello world, cold and warm, with Python's in the same run as the reference.

Every runtime gets the function a developer starts from, written as AWS documents it for that
language (``bench/hello/``, ``bench.handlers.HELLO`` for Python, ``examples/shell-hello`` for a
bash custom runtime): it returns ``{"statusCode": 200, "body": "\\"Hello from Lambda!\\""}``
(the bash one echoes the event). Packages that need a build are built before the server starts
(``bench.builds``, cached); a runtime whose toolchain is missing is skipped with the reason.

Then, on one Lamina server:

1. **Which runtimes the host runs** is the server's answer: each runtime's warm-phase function is
   created; ``InvalidParameterValueException`` "... is not available on this Lamina host ..."
   skips the runtime, with the server's message as the reason.
2. **Cold start**, ``functions`` rounds: in each round, for each runtime in turn, a new function
   whose package differs from every other (a comment appended to the handler's file, or for
   built packages a one-line ``cold-start-N.txt`` beside the unchanged artifact) is created and
   waited for until Active, then invoked once with ``X-Amz-Log-Type: Tail`` on an open keep-alive
   connection. Recorded: the call's time on the client, and the Init Duration of the REPORT line
   in ``X-Amz-Log-Result``. Rounds across runtimes, so a drift of the machine touches all alike.
3. **Warm invoke** at concurrency 1 through the Invoke API: each runtime's function is invoked
   once (its cold start, checked, not measured) and ``warmup`` times unmeasured; then
   ``requests`` invokes are measured in ``ROUNDS`` slices, runtime after runtime in each slice.

A runtime that is available but whose function fails is marked failed (with the error) and the
others go on. Ratios are each runtime's figure over the reference's (``python3.11``, the runtime
of the other scenarios) from the same run.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from bench import builds
from bench.builds import Package
from bench.handlers import HELLO
from bench.lamina_target import Lamina, error_message, invoke_path, make_zip
from bench.load import Endpoint, LoadError, LoadGenerator, Response
from bench.profile import Profile
from bench.scenarios.cold import TAIL, init_duration_ms
from bench.stats import Latency, ratio
from bench.types import Progress

ROOT = Path(__file__).resolve().parent.parent.parent
REFERENCE = "python3.11"
MEMORY_MB = 128  # Lambda's default
ROUNDS = 3  # warm measurements are taken in this many slices, interleaved across runtimes
EXPECTED = {"statusCode": 200, "body": '"Hello from Lambda!"'}
PAYLOAD = b"{}"
NOT_AVAILABLE = "not available"


def _hello(body: bytes) -> bool:
    try:
        return bool(json.loads(body) == EXPECTED)
    except ValueError:
        return False


def _echo(body: bytes) -> bool:
    return body == b"Echoing request: '" + PAYLOAD + b"'"


def _source(name: str, text: str) -> Callable[[Progress], Awaitable[Package]]:
    async def package(_progress: Progress) -> Package:
        return Package({name: text.encode()}, frozenset(), "as written")

    return package


def _folder(folder: Path) -> Callable[[Progress], Awaitable[Package]]:
    async def package(_progress: Progress) -> Package:
        return builds.files_of(folder)

    return package


@dataclass(frozen=True)
class Case:
    """One runtime to measure: its function's package (built or as written) and how to check its answer."""

    label: str  # the table's name for it: the runtime, and the language where one runtime runs several
    runtime: str
    handler: str
    package: Callable[[Progress], Awaitable[Package]]
    answers: Callable[[bytes], bool]  # whether an invoke's payload is the function's expected answer
    source: str | None = None  # the file a comment is appended to per cold function; None: add a file
    comment: str = "#"

    @property
    def slug(self) -> str:
        return "".join(c if c.isalnum() else "-" for c in self.label.lower()).strip("-").replace("--", "-")


PYTHON = _source("lambda_function.py", HELLO)
NODEJS = _folder(builds.HELLO / "nodejs")
RUBY = _folder(builds.HELLO / "ruby")
SHELL = _folder(ROOT / "examples" / "shell-hello")
PY_HANDLER = "lambda_function.lambda_handler"
JAVA_HANDLER = "example.Hello::handleRequest"
DOTNET_HANDLER = "HelloWorld::HelloWorld.Function::FunctionHandler"

# The reference first. dotnet10 runs on the same Mono as dotnet8, and ruby3.2/ruby3.4 on the same
# host Ruby as ruby3.3 where the host has only one Ruby 3: they are not measured twice.
CASES: tuple[Case, ...] = (
    Case("python3.11", "python3.11", PY_HANDLER, PYTHON, _hello, "lambda_function.py"),
    Case("python3.13", "python3.13", PY_HANDLER, PYTHON, _hello, "lambda_function.py"),
    Case("nodejs20.x", "nodejs20.x", "index.handler", NODEJS, _hello, "index.mjs", "//"),
    Case("nodejs22.x", "nodejs22.x", "index.handler", NODEJS, _hello, "index.mjs", "//"),
    Case("nodejs24.x", "nodejs24.x", "index.handler", NODEJS, _hello, "index.mjs", "//"),
    Case("java17", "java17", JAVA_HANDLER, builds.java, _hello),
    Case("java21", "java21", JAVA_HANDLER, builds.java, _hello),
    Case("java25", "java25", JAVA_HANDLER, builds.java, _hello),
    Case("dotnet8", "dotnet8", DOTNET_HANDLER, builds.dotnet, _hello),
    Case("ruby3.3", "ruby3.3", "lambda_function.lambda_handler", RUBY, _hello, "lambda_function.rb"),
    Case("provided.al2023 (Go)", "provided.al2023", "bootstrap", builds.go, _hello),
    Case("provided.al2023 (bash)", "provided.al2023", "function.handler", SHELL, _echo, "function.sh"),
)  # fmt: skip

VARIATION = ("a new function per cold start, each with a package of its own: a comment appended to the "
             "handler's file, or (built packages) a one-line cold-start-N.txt beside the unchanged artifact")  # fmt: skip


@dataclass(frozen=True)
class Ratios:
    """A runtime's figures over the reference's, from the same run (None where either is missing)."""

    cold_p50: float | None
    init_p50: float | None
    warm_p50: float | None
    warm_p99: float | None


@dataclass(frozen=True)
class RuntimeFigures:
    label: str
    runtime: str
    status: str  # "measured", "skipped" (toolchain missing, or not available on this host), "failed"
    reason: str  # why it was skipped or failed, in full ("" when measured)
    package: str  # how its package was obtained: "as written", "cached", "built in N s" ("" without one)
    cold: Latency  # first invoke of a new function, as the client sees it
    init: Latency  # Init Duration from those invokes' REPORT lines
    warm: Latency  # warm invokes at concurrency 1
    missing_init: int = 0  # first invokes whose REPORT had no Init Duration
    cold_ms: list[float] = field(default_factory=list)  # every first invoke, in order
    init_ms: list[float] = field(default_factory=list)
    vs_reference: Ratios | None = None

    @property
    def short_reason(self) -> str:
        """The first sentence of ``reason``, without the runtime's own name (the server's message starts so)."""
        first = (self.reason.strip().splitlines() or [""])[0].split(". ", 1)[0].rstrip(".")
        prefix = f"The runtime {self.runtime} is "
        return first.removeprefix(prefix)


@dataclass(frozen=True)
class RuntimesResult:
    reference: str
    functions: int  # new functions (cold starts) per runtime
    warm_requests: int  # measured warm invokes per runtime
    warmup_requests: int
    memory_mb: int
    variation: str
    rows: list[RuntimeFigures]


@dataclass
class Prepared:
    case: Case
    package: Package | None
    skipped: str = ""  # the reason, when there is no package
    failed: str = ""
    cold: list[float] = field(default_factory=list)  # seconds
    init: list[float] = field(default_factory=list)  # seconds
    missing_init: int = 0
    warm: list[float] = field(default_factory=list)  # seconds

    @property
    def live(self) -> bool:
        return self.package is not None and not self.skipped and not self.failed


async def prepare(progress: Progress, cases: tuple[Case, ...] = CASES) -> list[Prepared]:
    """Every case's package, built (or found cached) once per builder; missing toolchains noted."""
    done: dict[Callable[[Progress], Awaitable[Package]], Package | Exception] = {}
    out: list[Prepared] = []
    for case in cases:
        if case.package not in done:
            try:
                done[case.package] = await case.package(progress)
            except (builds.Missing, builds.BuildFailed) as exc:
                done[case.package] = exc
        got = done[case.package]
        if isinstance(got, builds.Missing):
            out.append(Prepared(case, None, skipped=str(got)))
        elif isinstance(got, Exception):
            out.append(Prepared(case, None, failed=str(got)))
        else:
            out.append(Prepared(case, got))
    return out


def variant(case: Case, package: Package, index: int) -> bytes:
    """The .zip of ``package`` made unique for cold start ``index`` (same code, another package)."""
    files = dict(package.files)
    if case.source is not None:
        files[case.source] = files[case.source] + f"\n{case.comment} cold start {index}\n".encode()
    else:
        files[f"cold-start-{index}.txt"] = f"cold start {index}\n".encode()
    return make_zip(files, package.executable)


def _failure(what: str, got: Response) -> str:
    return f"{what}: {error_message(got)}"


def _ok(case: Case, got: Response) -> bool:
    return got.status == 200 and "x-amz-function-error" not in got.headers and case.answers(got.body)


async def _create(lamina: Lamina, item: Prepared, name: str, package: bytes) -> None:
    """Create ``name`` and wait until Active; a runtime the host lacks is marked skipped, other errors failed."""
    case = item.case
    got = await lamina.create(name, case.runtime, case.handler, package, memory_mb=MEMORY_MB)
    if got.status == 201:
        try:
            await lamina.wait_active(name)
        except LoadError as exc:
            item.failed = str(exc)
        return
    message = error_message(got)
    if got.headers.get("x-amzn-errortype") == "InvalidParameterValueException" and NOT_AVAILABLE in message:
        item.skipped = message.split(": ", 1)[-1]  # the server's message, without the status and type
    else:
        item.failed = f"CreateFunction {name}: {message}"


async def _cold(lamina: Lamina, items: list[Prepared], count: int) -> None:
    for index in range(count):
        for item in (i for i in items if i.live):
            assert item.package is not None
            name = f"rt-{item.case.slug}-cold{index}"
            await _create(lamina, item, name, variant(item.case, item.package, index))
            if not item.live:
                continue
            first = await lamina.control.request("POST", invoke_path(name), PAYLOAD, TAIL)
            if not _ok(item.case, first):
                item.failed = _failure(f"cold invoke of {name}", first)
                continue
            item.cold.append(first.elapsed_s)
            init_ms = init_duration_ms(first.headers.get("x-amz-log-result", ""))
            if init_ms is None:
                item.missing_init += 1
            else:
                item.init.append(init_ms / 1000)


async def _warm(lamina: Lamina, items: list[Prepared], profile: Profile) -> None:
    live = [i for i in items if i.live]
    async with contextlib.AsyncExitStack() as stack:
        generators: list[tuple[Prepared, LoadGenerator]] = []
        for item in live:
            name = f"rt-{item.case.slug}"
            first = await lamina.control.request("POST", invoke_path(name), PAYLOAD)
            if not _ok(item.case, first):
                item.failed = _failure(f"first invoke of {name}", first)
                continue
            gen = await stack.enter_async_context(LoadGenerator(Endpoint(lamina.url, invoke_path(name), PAYLOAD), 1))
            await gen.run(requests=profile.runtimes_warmup_requests)
            generators.append((item, gen))
        total = profile.runtimes_warm_requests
        for slice_ in range(ROUNDS):
            requests = total // ROUNDS + (1 if slice_ < total % ROUNDS else 0)
            for item, gen in generators:
                if not item.live or requests == 0:
                    continue
                result = await gen.run(requests=requests)
                item.warm.extend(result.latencies)
                if result.ok != result.answered or result.errors:
                    bad = {s: n for s, n in result.statuses.items() if s != 200}
                    item.failed = f"warm invokes: statuses {bad}, {result.errors} connections lost"


def _figures(item: Prepared) -> RuntimeFigures:
    case = item.case
    status = "skipped" if item.skipped else "failed" if item.failed else "measured"
    how = item.package.how if item.package is not None else ""
    return RuntimeFigures(
        case.label, case.runtime, status, item.skipped or item.failed, how,
        Latency.of(item.cold), Latency.of(item.init), Latency.of(item.warm), item.missing_init,
        [round(s * 1000, 3) for s in item.cold], [round(s * 1000, 3) for s in item.init],
    )  # fmt: skip


def _with_ratios(rows: list[RuntimeFigures], reference: RuntimeFigures | None) -> list[RuntimeFigures]:
    if reference is None or reference.status != "measured":
        return rows
    out = []
    for r in rows:
        if r.status != "measured":
            out.append(r)
            continue
        ratios = Ratios(ratio(r.cold.p50_ms, reference.cold.p50_ms), ratio(r.init.p50_ms, reference.init.p50_ms),
                        ratio(r.warm.p50_ms, reference.warm.p50_ms), ratio(r.warm.p99_ms, reference.warm.p99_ms))  # fmt: skip
        out.append(replace(r, vs_reference=ratios))
    return out


async def run(lamina: Lamina, prepared: list[Prepared], profile: Profile, progress: Progress) -> RuntimesResult:
    for item in prepared:
        if item.live:
            assert item.package is not None
            await _create(lamina, item, f"rt-{item.case.slug}", make_zip(item.package.files, item.package.executable))
        if item.skipped or item.failed:
            why = (item.skipped or item.failed).split(". Available runtimes:")[0]
            progress(f"runtimes  {item.case.label}: {'skipped' if item.skipped else 'FAILED'}: {why}")
    live = [i.case.label for i in prepared if i.live]
    progress(f"runtimes  measuring {', '.join(live)}: {profile.runtimes_functions} cold starts each, "
             f"then {profile.runtimes_warm_requests} warm invokes at c=1")  # fmt: skip
    await _cold(lamina, prepared, profile.runtimes_functions)
    await _warm(lamina, prepared, profile)
    rows = [_figures(item) for item in prepared]
    rows = _with_ratios(rows, next((r for r in rows if r.runtime == REFERENCE), None))
    for r in rows:
        if r.status == "measured":
            progress(f"runtimes  {r.label:<24} cold p50 {r.cold.p50_ms:8.1f} ms (max {r.cold.max_ms:.1f}), "
                     f"Init Duration p50 {r.init.p50_ms:8.1f} ms, warm p50 {r.warm.p50_ms:.3f} ms, "
                     f"p99 {r.warm.p99_ms:.3f} ms  (package {r.package})")  # fmt: skip
        elif r.status == "failed":
            progress(f"runtimes  {r.label}: FAILED: {r.reason}")
    return RuntimesResult(REFERENCE, profile.runtimes_functions, profile.runtimes_warm_requests,
                          profile.runtimes_warmup_requests, MEMORY_MB, VARIATION, rows)  # fmt: skip
