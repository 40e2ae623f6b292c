"""Install the AWS SDKs functions' runtimes carry (``lamina.runtime.sdk``), once per machine.

    python -m lamina.runtime.sdk.install [--dir DIR] [--only python|nodejs]

boto3 and its dependencies with pip (``--no-deps`` from the exact pins, wheels only, one tree per
``PYTHON_TREES`` entry, resolved for that Python version), the AWS SDK for JavaScript v3 with
``npm ci`` from the lock. Each tree is built in a scratch directory beside its place and renamed
into it, so a tree that exists is complete; an installed tree is left as it is (a second run costs
a few stat calls). Without npm the JavaScript SDK is skipped, and said so: nodejs runtimes need a
node anyway. Exits non-zero if an installation fails.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from lamina.runtime.families import python
from lamina.runtime.names import LAMBDA_RUNTIMES
from lamina.runtime.sdk import (
    NODE_LOCK, NODE_MANIFEST, PYTHON_REQUIREMENTS, PYTHON_TREES, Sdks, python_tree_for,
)  # fmt: skip
from lamina.settings import Settings


# A requirement's one marker this file understands: ``; python_version < "3.10"`` (or >=).
_MARKER = re.compile(r'^python_version\s*(<|>=)\s*"3\.(\d+)"$')


def requirements_for(minor: int, text: str) -> list[str]:
    """The pinned requirements in ``text`` that apply to ``python3.<minor>`` (pip evaluates markers
    for the Python that runs it, not for ``--python-version``, so they are applied here)."""
    chosen = []
    for line in text.splitlines():
        requirement, _, marker = line.split("#", 1)[0].partition(";")
        requirement, marker = requirement.strip(), marker.strip()
        if not requirement:
            continue
        if marker:
            match = _MARKER.match(marker)
            if match is None:
                raise ValueError(f"unsupported marker in {PYTHON_REQUIREMENTS.name}: {marker}")
            below = minor < int(match[2])
            if below != (match[1] == "<"):
                continue
        chosen.append(requirement)
    return chosen


def _say(message: str) -> None:
    print(f"sdk: {message}", flush=True)


def _scratch(place: Path) -> Path:
    place.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{place.name}-", dir=place.parent))


def _put_in_place(scratch: Path, place: Path) -> None:
    """Readable by every environment's uid, then one rename (another installer may have won the race)."""
    for root, dirs, files in os.walk(scratch):
        for name in dirs:
            os.chmod(os.path.join(root, name), 0o755)
        for name in files:
            path = os.path.join(root, name)
            if not os.path.islink(path):
                os.chmod(path, 0o755 if os.access(path, os.X_OK) else 0o644)
    os.chmod(scratch, 0o755)
    try:
        scratch.rename(place)
    except OSError:
        if not place.is_dir():
            raise
        shutil.rmtree(scratch, ignore_errors=True)


def install_python(sdks: Sdks) -> None:
    place = sdks.python_root
    if place.is_dir():
        _say(f"boto3 already installed in {place}")
        return
    scratch = _scratch(place)
    try:
        for minor in PYTHON_TREES:
            target = scratch / f"3.{minor}"
            _say(f"installing boto3 for python3.{minor} and later into {place}")
            subprocess.run(
                [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps",
                 "--only-binary=:all:", "--no-compile", "--python-version", f"3.{minor}", "--target", str(target),
                 *requirements_for(minor, PYTHON_REQUIREMENTS.read_text())],
                check=True,
            )  # fmt: skip
            shutil.rmtree(target / "bin", ignore_errors=True)  # scripts for a Python that is not the function's
        _compile(scratch)
        _put_in_place(scratch, place)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _compile(root: Path) -> None:
    """Byte-compile each tree with every interpreter of the host's python runtimes it serves: the
    trees are read-only to functions, and botocore imported from source would cost every cold start
    a second or more. An interpreter installed later works all the same, only slower to import boto3."""
    interpreters = Settings.from_env().interpreters
    for name in LAMBDA_RUNTIMES:
        if not python.owns(name):
            continue
        runtime = python.resolve(name, interpreters)
        if runtime is None or runtime.zygote_python is None:
            continue
        minor = int(name.rpartition(".")[2])
        tree = root / f"3.{python_tree_for(minor)}"
        _say(f"byte-compiling boto3 for {name}")
        subprocess.run([runtime.zygote_python, "-m", "compileall", "-q", "-j", "0", str(tree)],
                       check=True, stdout=subprocess.DEVNULL)  # fmt: skip


def install_nodejs(sdks: Sdks) -> bool:
    place = sdks.node_root
    if sdks.node_modules.is_dir():
        _say(f"AWS SDK for JavaScript v3 already installed in {place}")
        return True
    npm = shutil.which("npm")
    if npm is None:
        _say("no npm on PATH: the AWS SDK for JavaScript v3 is not installed (scripts/install/nodejs.sh installs npm)")
        return False
    scratch = _scratch(place)
    try:
        shutil.copy(NODE_MANIFEST, scratch / "package.json")
        shutil.copy(NODE_LOCK, scratch / "package-lock.json")
        _say(f"installing the AWS SDK for JavaScript v3 into {place}")
        subprocess.run(
            [npm, "ci", "--omit=dev", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=scratch, check=True,
        )  # fmt: skip
        _put_in_place(scratch, place)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lamina.runtime.sdk.install", description=__doc__.split("\n")[0])
    parser.add_argument("--dir", type=Path, default=None, help="where the SDKs go (default: $LAMINA_SDK_DIR or ~/.cache/lamina/sdk)")
    parser.add_argument("--only", choices=("python", "nodejs"), default=None)
    args = parser.parse_args(argv)
    sdks = Sdks((args.dir or Settings.from_env().sdk_dir).expanduser().resolve())
    try:
        if args.only in (None, "python"):
            install_python(sdks)
        if args.only in (None, "nodejs"):
            install_nodejs(sdks)
    except (OSError, subprocess.CalledProcessError) as exc:
        print(f"sdk: installation failed: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
