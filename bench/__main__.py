"""``python -m bench``: run the benchmark suite, print its tables, write its JSON."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import resource
import sys
import time
from pathlib import Path

from bench import report, suite
from bench.procs import Processes
from bench.profile import FULL, QUICK

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_JSON = Path("bench-results/latest.json")


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
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON,
                        help=f"where to write the results (default {DEFAULT_JSON}, relative to the repository)")  # fmt: skip
    return parser.parse_args(argv)


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
    processes = Processes()
    try:
        results = asyncio.run(suite.run(profile, only, processes, progress))
    except KeyboardInterrupt:
        print("interrupted; servers stopped", file=sys.stderr)
        return 130
    finally:
        processes.kill_all()  # only what an interrupted shutdown left running
    print(report.render(results), flush=True)
    path = args.json if args.json.is_absolute() else ROOT / args.json
    report.write_json(results, path)
    print(f"\nJSON written to {path}", file=sys.stderr)
    return 1 if results.errors else 0


if __name__ == "__main__":
    sys.exit(main())
