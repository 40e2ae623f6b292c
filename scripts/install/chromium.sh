#!/usr/bin/env bash
# Installs Debian's Chromium (chromium, chromium-driver), the browser the web console's tests drive
# headless through playwright-core (tests/integration/test_console.py), when it is missing.
# Idempotent: a quick no-op once installed. Needs root (or sudo) for apt-get.
set -euo pipefail

if command -v chromium >/dev/null 2>&1; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "chromium: not installed and no apt-get to install it; install Chromium yourself (the console's browser tests are skipped without it)" >&2
    exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "chromium: installing Debian's packages chromium and chromium-driver"
if ! $SUDO env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends chromium chromium-driver; then
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 update -qq
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends chromium chromium-driver
fi
