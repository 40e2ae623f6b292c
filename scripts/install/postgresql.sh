#!/usr/bin/env bash
# Installs the PostgreSQL server the table change streams' tests run: Debian's `postgresql` package
# (the tests initdb clusters of their own in temporary directories and start them on free loopback
# ports, as the `postgres` user when run as root; the package's system service is not used, and is
# stopped if the package started it). Idempotent: a no-op when a server's binaries are there.
set -euo pipefail

find_postgres() {
    ls -d /usr/lib/postgresql/*/bin/postgres 2>/dev/null | sort -V | tail -n 1
}

if path=$(find_postgres) && [ -n "$path" ]; then
    echo "postgresql: $path already installed"
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "postgresql: not found and no apt-get to install it; install PostgreSQL 13+ (LAMINA_POSTGRES_BIN names its bin folder)" >&2
    exit 1
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

# Another apt/dpkg run may hold the lock for a while: wait for it (up to 5 minutes) rather than fail.
apt_get() {
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 "$@"
}

echo "postgresql: installing Debian's postgresql package"
apt_get update -qq
apt_get install -y -qq --no-install-recommends postgresql
# Where the package's service was started, stop it: the tests run clusters of their own.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet postgresql 2>/dev/null; then
    $SUDO systemctl stop postgresql
    $SUDO systemctl disable postgresql >/dev/null 2>&1 || true
fi
path=$(find_postgres) || { echo "postgresql: installed, but no postgres executable found" >&2; exit 1; }
[ -n "$path" ] || { echo "postgresql: installed, but no postgres executable found" >&2; exit 1; }
echo "postgresql: $path installed"
