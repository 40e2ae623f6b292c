#!/usr/bin/env bash
# What environments' outbound networking needs on the host: the `nft` command (Debian's nftables),
# with which Lamina writes its NAT and isolation rules at start-up (sandbox/nat.py), and `ip` and
# `nsenter` (iproute2, util-linux), which the network tests use to build a remote host of their own.
# Without nft, Lamina still gives each environment a network namespace, loopback only.
#
# Idempotent: a no-op when everything is there. Needs root (or sudo) for apt-get.
set -euo pipefail

missing=()
command -v nft >/dev/null 2>&1 || [ -x /usr/sbin/nft ] || missing+=(nftables)
command -v ip >/dev/null 2>&1 || [ -x /usr/sbin/ip ] || [ -x /sbin/ip ] || missing+=(iproute2)
command -v nsenter >/dev/null 2>&1 || missing+=(util-linux)

if [ ${#missing[@]} -eq 0 ]; then
    echo "nftables: $(nft --version 2>/dev/null || /usr/sbin/nft --version) already installed"
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "nftables: missing ${missing[*]} and no apt-get to install them; install them with your package manager" >&2
    exit 1
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
# Another apt/dpkg run may hold the lock for a while: wait for it (up to 5 minutes) rather than fail.
apt_get() {
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 "$@"
}

echo "nftables: installing ${missing[*]}"
apt_get update -qq
apt_get install -y -qq --no-install-recommends "${missing[@]}"
