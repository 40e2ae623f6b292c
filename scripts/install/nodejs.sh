#!/usr/bin/env bash
# What Lamina's nodejs runtimes (nodejs18.x ... nodejs24.x) and their tests need on the host:
#
#   node and npm        the interpreter (its major version decides which nodejsNN.x this host
#                       serves; point LAMINA_NODEJS22_X etc. at other ones) and the client the
#                       tests install packages with. Debian's nodejs when none is installed.
#   Node's C headers    so node-gyp builds native addons offline (it would otherwise download them)
#   build tools         cmake, autoconf, automake, libtool, g++, make, python3, libcurl headers:
#                       AWS's runtime interface client (npm aws-lambda-ric) compiles its native
#                       Runtime API client (curl + aws-lambda-cpp) when it is npm-installed
#
# Idempotent: a quick no-op when everything is there. Needs root (or sudo) for apt-get.
set -euo pipefail

say() { echo "nodejs: $*"; }

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

updated=""
apt_get() {
    # Another apt/dpkg run may hold the lock: wait for it (up to 5 minutes) rather than fail.
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 "$@"
}
apt_install() {
    if ! command -v apt-get >/dev/null 2>&1; then
        say "missing: $* (no apt-get here: install them with your package manager)" >&2
        exit 1
    fi
    if [ -z "$updated" ]; then
        say "apt-get update"
        apt_get update -qq
        updated=1
    fi
    say "apt-get install -y $*"
    apt_get install -y -qq --no-install-recommends "$@"
}

node_headers() {
    local prefix
    prefix="$(node -p 'require("path").resolve(process.execPath, "../..")' 2>/dev/null)" || return 1
    [ -f "$prefix/include/node/node.h" ] || [ -f /usr/include/node/node.h ]
}

missing=()
# 1. Node.js and npm.
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
# 2. Build tools for native addons (aws-lambda-ric's preinstall builds curl and aws-lambda-cpp).
for tool in cmake autoconf automake libtoolize g++ make python3; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        case "$tool" in
            libtoolize) missing+=(libtool) ;;
            *) missing+=("$tool") ;;
        esac
    fi
done
[ -e /usr/include/x86_64-linux-gnu/curl/curl.h ] || [ -e /usr/include/curl/curl.h ] \
    || [ -e /usr/include/aarch64-linux-gnu/curl/curl.h ] || missing+=(libcurl4-openssl-dev)

if [ "${#missing[@]}" -gt 0 ]; then
    apt_install "${missing[@]}"
fi

# 3. Node's headers (NodeSource's nodejs ships them; Debian's are in libnode-dev).
if ! node_headers; then
    apt_install libnode-dev
fi

say "node $(node --version) at $(command -v node), npm $(npm --version); build tools present"
