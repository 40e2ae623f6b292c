#!/usr/bin/env bash
# Checks for libseccomp, which compiles the system-call filter of sandboxed environments (through
# the pyseccomp package); installs Debian's libseccomp2 when it is missing. Idempotent.
#
# Without it Lamina still runs, and says at start-up that environments have no seccomp filter.
set -euo pipefail

have_libseccomp() {
    ldconfig -p 2>/dev/null | grep -q 'libseccomp\.so\.2 '
}

if ! have_libseccomp; then
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "seccomp: libseccomp.so.2 not found and no apt-get to install it; install libseccomp 2.5 or later" >&2
        exit 1
    fi
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    echo "seccomp: libseccomp not found; installing Debian's libseccomp2"
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 update -qq
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends libseccomp2
    have_libseccomp || { echo "seccomp: libseccomp2 installed, but libseccomp.so.2 is not in the linker cache" >&2; exit 1; }
fi
echo "seccomp: $(ldconfig -p | grep -m1 'libseccomp\.so\.2 ' | sed 's/.*=> //')"
