"""The baseline: Lamina as it was at a git revision, checked out beside the working tree for one run.

``checkout(ref)`` adds a detached git worktree of ``ref`` in a temporary folder and checks that
the suite's interpreter, started as the baseline's servers are (``lamina_target.server_env``
with that ``src``), imports Lamina from there and not from the editable install. The checkout
is not byte-compiled ahead: its files get bytecode as the working tree's do, from the imports
of its own servers (a precompiled baseline loads the runtime's bootstrap from bytecode that the
working tree never has, and its environments measured 6% less RSS). On the way out, also on
Ctrl-C or an error, the worktree is removed again; its servers must be stopped before that.
Only ``src`` is taken from ``ref``: the suite itself (``bench/``) is always the working tree's,
so both sides are measured by the same code.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bench.lamina_target import server_env
from bench.types import Progress

ROOT = Path(__file__).resolve().parent.parent


class BaselineError(Exception):
    """The baseline could not be checked out, or its servers would not run its code."""


@dataclass(frozen=True)
class Checkout:
    ref: str  # as given on the command line
    commit: str  # what it resolved to, abbreviated
    path: Path  # the temporary worktree
    lamina_file: str  # lamina/__init__.py as the baseline's servers import it

    @property
    def src(self) -> Path:
        return self.path / "src"

    def describe(self) -> str:
        return self.commit if self.ref == self.commit else f"{self.commit} ({self.ref})"


def _git(*args: str, timeout: float = 120) -> str:
    try:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BaselineError(f"git {args[0]}: {exc}") from exc
    if done.returncode != 0:
        raise BaselineError(f"git {' '.join(args)}: {done.stderr.strip() or done.stdout.strip()}")
    return done.stdout.strip()


def imported_lamina(src: Path) -> str:
    """Where ``import lamina`` leads with the environment, interpreter and folder the servers get."""
    done = subprocess.run([sys.executable, "-c", "import lamina; print(lamina.__file__)"], env=server_env({}, src),
                          cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    if done.returncode != 0:
        raise BaselineError(f"the baseline's Lamina does not import: {done.stderr.strip()[-500:]}")
    return done.stdout.strip()


def _remove(path: Path) -> None:
    """Remove the worktree, and its entry in the repository even when git cannot."""
    try:
        _git("worktree", "remove", "--force", str(path))
    except BaselineError:
        shutil.rmtree(path, ignore_errors=True)
        with contextlib.suppress(BaselineError):
            _git("worktree", "prune")


@contextlib.contextmanager
def checkout(ref: str, progress: Progress) -> Iterator[Checkout]:
    """A worktree of ``ref`` for the run's duration; ``BaselineError`` if ``ref`` is not a commit."""
    try:
        commit = _git("rev-parse", "--verify", "--quiet", "--short", f"{ref}^{{commit}}")
    except BaselineError as exc:
        raise BaselineError(f"{ref!r} names no commit of this repository") from exc
    path = Path(tempfile.mkdtemp(prefix="lamina-bench-baseline-"))
    try:
        progress(f"baseline: checking out {ref} ({commit}) in a temporary worktree")
        _git("worktree", "add", "--detach", str(path), commit)
        where = imported_lamina(path / "src")
        if not Path(where).resolve().is_relative_to((path / "src").resolve()):
            raise BaselineError(f"the baseline's servers would import Lamina from {where}, not from {ref}")
        progress(f"baseline: its servers import {where}")
        yield Checkout(ref, commit, path, where)
    finally:
        _remove(path)
        progress(f"baseline: worktree of {ref} removed")
