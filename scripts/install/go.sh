#!/usr/bin/env bash
# Checks for the Go toolchain that builds Go functions (custom runtimes, provided.al2023) and
# their tests; installs Debian's golang-go when there is no `go` at all. Idempotent.
#
# Functions use aws-lambda-go v1.54, which needs Go 1.18 or later (bookworm's golang-go is 1.19).
# The S3 chunk-signature tests build a client with minio-go v7.4, which needs Go 1.26 (they are
# skipped on an older Go).
# Go module downloads come from the Go module proxy; the tests keep them in .cache/go/mod.
set -euo pipefail

find_go() {
    command -v go 2>/dev/null && return 0
    local candidate
    for candidate in /usr/local/go/bin/go /usr/lib/go/bin/go; do
        if [ -x "$candidate" ]; then
            echo "$candidate"
            return 0
        fi
    done
    return 1
}

if ! GO=$(find_go); then
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "go: no Go toolchain found and no apt-get to install one; install Go 1.18 or later" >&2
        exit 1
    fi
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    echo "go: no Go toolchain found; installing Debian's golang-go"
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 update -qq
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends golang-go ca-certificates
    GO=$(find_go) || { echo "go: golang-go installed, but no go executable found" >&2; exit 1; }
fi

version=$("$GO" env GOVERSION 2>/dev/null || "$GO" version | awk '{print $3}')
minor=$(echo "$version" | sed -n 's/^go1\.\([0-9]*\).*/\1/p')
if [ -z "$minor" ] || [ "$minor" -lt 18 ]; then
    echo "go: $GO is $version; Go functions need Go 1.18 or later" >&2
    exit 1
fi
echo "go: $version at $GO"
case ":$PATH:" in
*":$(dirname "$GO"):"*) ;;
*) echo "go: note: $(dirname "$GO") is not on PATH; the tests find it there anyway" ;;
esac
