#!/usr/bin/env bash
# Installs the user-mode emulator arm64 functions run under on an x86_64 host: Debian's
# qemu-user-static (qemu-aarch64-static, a static binary Lamina puts inside the function's sandbox
# and runs the function's executable with; binfmt_misc need not be registered). Nothing is needed
# on an arm64 host. Idempotent: a no-op when the emulator is there.
set -euo pipefail

if [ "$(uname -m)" = "aarch64" ]; then
    echo "qemu: arm64 host, no emulator needed"
    exit 0
fi

if path=$(command -v qemu-aarch64-static 2>/dev/null); then
    echo "qemu: $path already installed"
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "qemu: qemu-aarch64-static not found and no apt-get to install it; install qemu-user-static (LAMINA_QEMU_AARCH64 names the binary) to run arm64 functions" >&2
    exit 1
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

# Another apt/dpkg run may hold the lock for a while: wait for it (up to 5 minutes) rather than fail.
apt_get() {
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 "$@"
}

echo "qemu: installing Debian's qemu-user-static"
apt_get update -qq
apt_get install -y -qq --no-install-recommends qemu-user-static
path=$(command -v qemu-aarch64-static) || { echo "qemu: installed, but no qemu-aarch64-static found" >&2; exit 1; }
echo "qemu: $path installed"
