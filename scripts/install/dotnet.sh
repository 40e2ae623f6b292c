#!/usr/bin/env bash
# What Lamina's .NET runtimes (dotnet8, dotnet10) and their tests need on the host:
#
#   mono-runtime    Mono, which runs the functions (Debian packages no .NET SDK or runtime)
#   mono-mcs        Mono's C# compiler: it builds Lamina's .NET runtime, and functions
#   binutils        (only if `as`/`ld` are missing) for Mono's ahead-of-time compiler, which
#                   halves the runtime's cold start; without it everything still works, JIT-only
#
# then builds Lamina's .NET runtime (src/lamina/runtime/dotnet/*.cs: Lamina.Runtime.exe and
# Lamina's Amazon.Lambda.Core and Amazon.Lambda.Serialization.SystemTextJson) into
# /usr/local/lib/lamina/dotnet/<digest of the sources>/, with /usr/local/lib/lamina/dotnet/current
# pointing at it. (Lamina builds it on first use too; building here keeps that out of the first
# deploy.) Functions compile against /usr/local/lib/lamina/dotnet/current/Amazon.Lambda.Core.dll.
#
# Idempotent: a quick no-op when everything is there. Needs root (or sudo) for apt-get and for
# /usr/local/lib/lamina.
set -euo pipefail

say() { echo "dotnet: $*"; }

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

missing=()
for package in mono-runtime mono-mcs; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ! command -v as >/dev/null 2>&1 || ! command -v ld >/dev/null 2>&1; then
    missing+=(binutils)
fi

if [ "${#missing[@]}" -gt 0 ]; then
    if ! command -v apt-get >/dev/null 2>&1; then
        say "missing ${missing[*]} and no apt-get to install them; install Mono (mono, mcs) yourself" >&2
        exit 1
    fi
    say "installing ${missing[*]}"
    # Another apt/dpkg run may hold the lock: wait for it (up to 5 minutes) rather than fail.
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 update -qq
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq \
        --no-install-recommends "${missing[@]}"
else
    say "Mono present: $(mono --version | head -n 1)"
fi

# Lamina's runtime, built the way the server builds it (a no-op when this build exists).
python="$ROOT/.venv/bin/python"
[ -x "$python" ] || python="$(command -v python3)"
say "Lamina's .NET runtime: $(cd "$ROOT" && $SUDO env PYTHONPATH="$ROOT/src" "$python" -m lamina.runtime.families.dotnet)"
