#!/usr/bin/env bash
# Installs what Lamina's ruby3.x runtimes need: a host Ruby 3.x (Debian's `ruby`, Ruby 3.1 on
# bookworm) with its standard library (json, net/http), and the AWS SDK for Ruby's core gem that
# AWS's Ruby runtimes carry (Debian's ruby-aws-sdk-core, with its STS client). Idempotent: a no-op
# when both are there.
set -euo pipefail

have_ruby() {
    command -v ruby >/dev/null 2>&1 &&
        ruby -e 'require "json"; require "net/http"; exit(RUBY_VERSION.start_with?("3.") ? 0 : 1)' >/dev/null 2>&1
}

have_sdk() {
    ruby -e 'require "aws-sdk-core"' >/dev/null 2>&1
}

if have_ruby && have_sdk; then
    echo "ruby: $(ruby --version) already installed, with aws-sdk-core $(ruby -e 'require "aws-sdk-core"; print Aws::CORE_GEM_VERSION')"
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    if have_ruby; then
        echo "ruby: no aws-sdk-core gem and no apt-get to install Debian's; Ruby functions that use the AWS SDK" >&2
        echo "      must package it (bundle install into vendor/bundle)" >&2
        exit 0
    fi
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

echo "ruby: installing Debian's ruby and ruby-aws-sdk-core packages"
apt_get update -qq
apt_get install -y -qq --no-install-recommends ruby ruby-aws-sdk-core
have_ruby || { echo "ruby: installed, but 'ruby' still does not run Ruby 3.x" >&2; exit 1; }
have_sdk || { echo "ruby: installed, but aws-sdk-core does not load" >&2; exit 1; }
echo "ruby: $(ruby --version) installed, with aws-sdk-core"
