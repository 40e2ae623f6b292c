#!/usr/bin/env bash
# Installs wrk, the load generator of the benchmark's warm figures (Debian's package), when it is
# missing. Idempotent: a quick no-op once installed. Needs root (or sudo) for apt-get.
set -euo pipefail

if command -v wrk >/dev/null 2>&1; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "wrk: not installed and no apt-get to install it; install wrk (https://github.com/wg/wrk) yourself" >&2
    exit 1
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "wrk: installing Debian's package wrk"
if ! $SUDO env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends wrk; then
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 update -qq
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends wrk
fi
