#!/usr/bin/env bash
# Installs the MQTT broker the IoT rules' tests run: Debian's `mosquitto` (the tests start their own
# on an ephemeral loopback port with a config of their own; the package's system service is not
# used). Idempotent: a no-op when mosquitto is there.
set -euo pipefail

find_mosquitto() {
    command -v mosquitto 2>/dev/null || { [ -x /usr/sbin/mosquitto ] && echo /usr/sbin/mosquitto; }
}

if path=$(find_mosquitto) && [ -n "$path" ]; then
    echo "mosquitto: $path already installed"
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "mosquitto: not found and no apt-get to install it; install Mosquitto 2 and put it on PATH" >&2
    exit 1
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

# Another apt/dpkg run may hold the lock for a while: wait for it (up to 5 minutes) rather than fail.
apt_get() {
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 "$@"
}

echo "mosquitto: installing Debian's mosquitto package"
apt_get update -qq
apt_get install -y -qq --no-install-recommends mosquitto
path=$(find_mosquitto) || { echo "mosquitto: installed, but no mosquitto executable found" >&2; exit 1; }
echo "mosquitto: $path installed"
