#!/usr/bin/env bash
# Installs what Lamina's ruby3.x runtimes need: a host Ruby 3.x (Debian's `ruby`, Ruby 3.1 on
# bookworm) with its standard library (json, net/http). Idempotent: a no-op when Ruby is there.
set -euo pipefail

have_ruby() {
    command -v ruby >/dev/null 2>&1 &&
        ruby -e 'require "json"; require "net/http"; exit(RUBY_VERSION.start_with?("3.") ? 0 : 1)' >/dev/null 2>&1
}

if have_ruby; then
    echo "ruby: $(ruby --version) already installed"
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "ruby: no Ruby 3.x found and no apt-get to install one; install Ruby 3.x and put it on PATH," >&2
    echo "      or point LAMINA_RUBY3_2 / LAMINA_RUBY3_3 / LAMINA_RUBY3_4 at a ruby executable" >&2
    exit 1
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

# Another apt/dpkg run may hold the lock for a while: wait for it (up to 5 minutes) rather than fail.
apt_get() {
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 "$@"
}

echo "ruby: installing Debian's ruby package"
apt_get update -qq
apt_get install -y -qq --no-install-recommends ruby
have_ruby || { echo "ruby: installed, but 'ruby' still does not run Ruby 3.x" >&2; exit 1; }
echo "ruby: $(ruby --version) installed"
