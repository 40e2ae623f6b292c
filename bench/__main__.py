"""``python -m bench``: run the benchmark suite, print its tables, write its JSON."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import resource
import signal
import sys
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

from bench import against, baseline, report, suite
from bench.baseline import BaselineError
from bench.procs import Processes
from bench.profile import FULL, QUICK

T = TypeVar("T")

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_JSON = Path("bench-results/latest.json")
# Rounds on each side with a baseline, an even number so that each side goes first as often. A quick
# run's figures are noisier (a second per warm measurement, five cold starts) and its rounds cheap.
ROUNDS = {FULL.name: 2, QUICK.name: 4}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="scripts/bench", description="Benchmark Lamina against an in-process floor and serverless-offline.",
    )  # fmt: skip
    parser.add_argument("--quick", action="store_true", help="a smoke run of under a minute (fewer requests, smaller burst)")
    parser.add_argument("--only", nargs="+", choices=list(suite.SCENARIOS), metavar="NAME",
                        help=f"run only these scenarios: {', '.join(suite.SCENARIOS)}")  # fmt: skip
    parser.add_argument("--hold", type=int, metavar="N",
                        help=f"idle environments the density scenario holds (default {FULL.density_hold}; "
                             f"quick {QUICK.density_hold})")  # fmt: skip
    parser.add_argument("--baseline", metavar="REF",
                        help="measure Lamina as of this git revision too (e.g. main), in the same run, and compare")
    parser.add_argument("--rounds", type=int, metavar="N",
                        help=f"with --baseline: rounds of each scenario on each side (default {ROUNDS[FULL.name]}; "
                             f"quick {ROUNDS[QUICK.name]})")  # fmt: skip
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON,
                        help=f"where to write the results (default {DEFAULT_JSON}, relative to the repository)")  # fmt: skip
    args = parser.parse_args(argv)
    if args.rounds is not None and (args.baseline is None or args.rounds < 1):
        parser.error("--rounds needs --baseline, and at least one round")
    return args


def _raise_open_files_limit() -> None:
    """Up to the hard limit: a thousand environments and connections outgrow a soft 1,024 (servers inherit it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard if hard != resource.RLIM_INFINITY else max(soft, 65536), hard))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    profile = QUICK if args.quick else FULL
    if args.hold:
        profile = dataclasses.replace(profile, density_hold=args.hold)
    only = [name for name in suite.SCENARIOS if args.only is None or name in args.only]
    started = time.monotonic()

    def progress(message: str) -> None:
        print(f"[{time.monotonic() - started:6.1f}s] {message}", file=sys.stderr, flush=True)

    _raise_open_files_limit()
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # stop as on Ctrl-C: servers stopped, worktree removed
    path = args.json if args.json.is_absolute() else ROOT / args.json
    try:
        if args.baseline is None:
            results = _measure(lambda processes: suite.run(profile, only, processes, progress))
            print(report.render(results), flush=True)
            report.write_json(results, path)
            failed = bool(results.errors)
        else:
            with baseline.checkout(args.baseline, progress) as checkout:  # removed after the servers are stopped
                rounds = args.rounds or ROUNDS[profile.name]
                compared = _measure(lambda processes: against.run(profile, only, processes, progress, checkout, rounds))
            print(report.render_compared(compared), flush=True)
            report.write_compared_json(compared, path)
            failed = any(r.errors for r in [*compared.current, *compared.baseline])
    except KeyboardInterrupt:
        print("interrupted; servers stopped", file=sys.stderr)
        return 130
    except BaselineError as exc:
        print(f"scripts/bench: --baseline {args.baseline}: {exc}", file=sys.stderr)
        return 2
    print(f"\nJSON written to {path}", file=sys.stderr)
    return 1 if failed else 0


def _measure(run: Callable[[Processes], Coroutine[Any, Any, T]]) -> T:
    processes = Processes()
    try:
        return asyncio.run(run(processes))
    finally:
        processes.kill_all()  # only what an interrupted shutdown left running


if __name__ == "__main__":
    sys.exit(main())
