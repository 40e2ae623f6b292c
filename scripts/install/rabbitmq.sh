#!/usr/bin/env bash
# Installs the AMQP broker the RabbitMQ event source mappings' tests run: Debian's `rabbitmq-server`
# (the tests start a node of their own, as the user running them, on free loopback ports with its
# data in a temporary directory; the package's system service is not used, and is stopped if the
# package started it). Idempotent: a no-op when rabbitmq-server is there.
set -euo pipefail

find_rabbitmq() {
    command -v rabbitmq-server 2>/dev/null || { [ -x /usr/sbin/rabbitmq-server ] && echo /usr/sbin/rabbitmq-server; }
}

if path=$(find_rabbitmq) && [ -n "$path" ]; then
    echo "rabbitmq: $path already installed"
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "rabbitmq: not found and no apt-get to install it; install RabbitMQ 3.10+ and put rabbitmq-server on PATH" >&2
    exit 1
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

# Another apt/dpkg run may hold the lock for a while: wait for it (up to 5 minutes) rather than fail.
apt_get() {
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 "$@"
}

echo "rabbitmq: installing Debian's rabbitmq-server package"
apt_get update -qq
apt_get install -y -qq --no-install-recommends rabbitmq-server
# Where the package's service was started, stop it: the tests run nodes of their own.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet rabbitmq-server 2>/dev/null; then
    $SUDO systemctl stop rabbitmq-server
    $SUDO systemctl disable rabbitmq-server >/dev/null 2>&1 || true
fi
path=$(find_rabbitmq) || { echo "rabbitmq: installed, but no rabbitmq-server executable found" >&2; exit 1; }
echo "rabbitmq: $path installed"
