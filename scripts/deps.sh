#!/bin/sh
# Installs the Debian packages Switchboard needs to build, run and test, when any is missing.
# As root it runs apt-get; otherwise it prints the command to run.
set -eu

packages="build-essential pkg-config libmicrohttpd-dev libjansson-dev libsqlite3-dev \
libsodium-dev libcmocka-dev libpq-dev libmariadb-dev libcurl4-openssl-dev libinih-dev libidn2-dev python3 openssh-server curl openssl \
postgresql mariadb-server mariadb-client clang libclang-rt-14-dev \
mandoc lintian fakeroot dpkg-dev zsh nginx-light chromium"

# Node.js and npm run test tooling only. Debian's npm conflicts with the NodeSource nodejs that
# some machines carry: install Debian's pair only when no npm is on the PATH.
command -v npm >/dev/null 2>&1 || packages="$packages nodejs npm"

missing=""
for p in $packages; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
    echo "switchboard: missing packages:$missing" >&2
    echo "run: sudo apt-get update && sudo apt-get install -y$missing" >&2
    exit 1
fi
echo "switchboard: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
