#!/usr/bin/env bash
# Installs libfaketime (Debian's package faketime), which the tests use to move a server's and a
# client's clocks forward together (temporary credentials past their expiry), when it is missing.
# Idempotent: a quick no-op once installed. Needs root (or sudo) for apt-get.
set -euo pipefail

if compgen -G "/usr/lib/*/faketime/libfaketime.so.1" >/dev/null; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "faketime: not installed and no apt-get to install it; install libfaketime yourself" >&2
    exit 1
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "faketime: installing Debian's package faketime"
apt_get() {
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 "$@"
}
if ! apt_get install -y -qq --no-install-recommends faketime; then
    apt_get update -qq
    apt_get install -y -qq --no-install-recommends faketime
fi
