"""Ruby: ``ruby3.X`` on a host Ruby 3, running Lamina's runtime (``runtime/ruby/bootstrap.rb``).

Each name is served by a host Ruby of exactly that version when there is one, otherwise by the
newest host Ruby 3.x: on Debian bookworm, whose only Ruby is 3.1, ``ruby3.2``, ``ruby3.3`` and
``ruby3.4`` all run on Ruby 3.1, with a warning (``Runtime.mismatch``: at CreateFunction, in
``lamina runtimes``): Ruby's minor versions keep most code working, but not all of it. ``LAMINA_RUBY3_3=/path/to/ruby`` names the interpreter outright
(any Ruby 3 or later). Interpreters are probed once and used by their real path, so a
version-manager shim costs nothing per spawn.

The runtime starts with ``--disable-gems`` and loads RubyGems when the function first needs it.
``GEM_PATH`` and ``RUBYLIB`` are AWS's: the package's ``vendor/bundle``, then layers'
``/opt/ruby/gems/3.X.0`` (and ``/opt/ruby/lib``), then the host Ruby's own gems.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from lamina.runtime.families import Missing, Runtime, entries, probe, runtime_of
from lamina.settings import runtime_variable

BOOTSTRAP = Path(__file__).resolve().parent.parent / "ruby" / "bootstrap.rb"
_NAME = re.compile(r"^ruby3\.(\d+)$")
# What a candidate interpreter says about itself, one item a line.
_PROBE = (
    'require "rbconfig"; puts RUBY_VERSION, File.realpath(RbConfig.ruby), '
    'RbConfig::CONFIG["ruby_version"], RbConfig::CONFIG["prefix"]'
)


def owns(name: str) -> bool:
    return bool(_NAME.match(name))


@dataclass(frozen=True)
class HostRuby:
    path: str  # the interpreter's real path
    version: tuple[int, int]  # (major, minor)
    abi: str  # the version its gems are installed for: "3.1.0"
    prefix: Path  # its installation
    full: str = ""  # RUBY_VERSION: "3.1.2"


def _inspect(candidate: str) -> HostRuby | None:
    out = probe([candidate, "--disable-gems", "-e", _PROBE])
    lines = out.splitlines() if out else []
    if len(lines) != 4:
        return None
    version, path, abi, prefix = lines
    match = re.match(r"^(\d+)\.(\d+)\.", version)
    if not match:
        return None
    return HostRuby(path, (int(match[1]), int(match[2])), abi, Path(prefix), version)


def _candidates() -> list[str]:
    """Ruby executables on this host: on PATH, from the usual version managers, the system's."""
    home = Path.home()
    found = [p for p in (shutil.which("ruby"), *(shutil.which(f"ruby3.{m}") for m in range(10))) if p]
    patterns = [
        f"{os.environ.get('RBENV_ROOT', home / '.rbenv')}/versions/3.*/bin/ruby",
        f"{home}/.rvm/rubies/ruby-3.*/bin/ruby",
        "/usr/local/rvm/rubies/ruby-3.*/bin/ruby",
        f"{home}/.rubies/ruby-3.*/bin/ruby",
        "/opt/rubies/ruby-3.*/bin/ruby",
        f"{os.environ.get('ASDF_DATA_DIR', home / '.asdf')}/installs/ruby/3.*/bin/ruby",
        f"{home}/.local/share/mise/installs/ruby/3.*/bin/ruby",
    ]
    for pattern in patterns:
        found += sorted(glob.glob(pattern), reverse=True)
    found += ["/usr/local/bin/ruby", "/usr/bin/ruby"]
    return list(dict.fromkeys(found))


def host_rubies() -> list[HostRuby]:
    """Every working Ruby of this host, each once (probing each candidate costs a process start)."""
    found = (_inspect(candidate) for candidate in _candidates())
    return list({ruby.path: ruby for ruby in found if ruby is not None}.values())


def choose(name: str, rubies: list[HostRuby]) -> HostRuby | None:
    """The interpreter for ``ruby3.X``: Ruby 3.X if there is one, else the newest Ruby 3."""
    match = _NAME.match(name)
    if not match:
        return None
    threes = [r for r in rubies if r.version[0] == 3]
    exact = [r for r in threes if r.version[1] == int(match[1])]
    pool = exact or threes
    return max(pool, key=lambda r: r.version) if pool else None


def _gem_path(name: str, ruby: HostRuby) -> str:
    # Gems installed for the Lambda runtime's version (vendor/bundle/ruby/3.3.0 built for
    # ruby3.3) first, then for the host Ruby's; the trailing ":" appends the host's own gems.
    abis = list(dict.fromkeys([f"{name.removeprefix('ruby')}.0", ruby.abi]))
    dirs = [f"{{task_root}}/vendor/bundle/ruby/{abi}" for abi in abis] + [f"/opt/ruby/gems/{abi}" for abi in abis]
    return ":".join(dirs) + ":"


def find(name: str, overrides: Mapping[str, str]) -> Runtime | Missing | None:
    match = _NAME.match(name)
    if not match:
        return None
    if name in overrides:
        given = _inspect(overrides[name])
        ruby = given if given is not None and given.version[0] >= 3 else None
    else:
        ruby = choose(name, host_rubies())
    if ruby is None:
        return missing(name, overrides)
    env = {
        "GEM_PATH": _gem_path(name, ruby),
        "RUBYLIB": "{task_root}:/opt/ruby/lib",
    }
    wanted = f"3.{match[1]}"
    mismatch = "" if ruby.version == (3, int(match[1])) else (
        f"{name} runs on Ruby {ruby.full or '.'.join(map(str, ruby.version))} here, not Ruby {wanted} as on AWS: code that works here may fail there")
    found_by = overrides.get(name)
    return Runtime(
        name, "ruby", (ruby.path, "--disable-gems", "{runtime_dir}/" + BOOTSTRAP.name), keep=(ruby.prefix,), env=env,
        home=BOOTSTRAP.parent, files=entries(BOOTSTRAP.parent, suffixes=(".rb",)),
        interpreter=ruby.path, version=ruby.full, mismatch=mismatch,
        requires=tuple(dict.fromkeys(Path(p) for p in (ruby.path, *([found_by] if found_by else [])))),
    )  # fmt: skip


def missing(name: str, overrides: Mapping[str, str]) -> Missing:
    variable = runtime_variable(name)
    install = f"scripts/install/ruby.sh (Debian's ruby package: apt-get install ruby), or point {variable} at a Ruby 3"
    if name in overrides:
        found = f"{variable} names {overrides[name]}, which is not a working Ruby 3"
    else:
        found = "no Ruby 3 on PATH, in rbenv's, rvm's, chruby's, asdf's or mise's versions, or in /usr/bin"
    return Missing("a Ruby 3 interpreter (ruby)", install, found)


def resolve(name: str, overrides: Mapping[str, str]) -> Runtime | None:
    return runtime_of(find(name, overrides))
