"""Lamina's benchmark suite: ``scripts/bench [--quick] [--only NAME ...] [--json PATH] [--baseline REF]``.

It measures Lamina against an in-process floor (``floor.py``) and, where node and npm are
present, serverless-offline running the same handler (``peer.py``), all in one run, so every
figure is also a ratio; see docs/benchmarks.md for what each figure means.

    __main__.py       command line; prints the tables, writes the JSON
    suite.py          the run: scenarios in order, servers started and stopped
    against.py        a run against a baseline (--baseline REF): both sides in alternating rounds
    baseline.py       the baseline: a temporary git worktree of REF whose Lamina the baseline's servers run
    scenarios/        warm.py, cold.py, runtimes.py, density.py, burst.py, scaling.py: one scenario each
    handlers.py       the Python functions deployed, as source; hello/ the other languages' hello worlds
    builds.py         the Java, C# and Go hello worlds built (Maven, mcs, go build) and cached
    load.py           the load generator (callback-driven keep-alive HTTP/1.1) and a plain client
    wrk.py            throughput from wrk too, when it is installed
    floor.py          the floor server; peer.py the serverless-offline peer; lamina_target.py Lamina
    procs.py          child servers: readiness line, output drain, SIGTERM on the way out
    memory.py         PSS / USS / RSS from /proc
    results.py, targets.py, report.py   what was measured, the targets judged, tables and JSON
    figures.py, compare.py              the figures set beside the baseline's, and the verdict on each
"""
