#!/bin/sh
# SPDX-License-Identifier: BSL-1.0
# Installs what aiolocals needs to build, test and run its demo on Debian 12.
# Usage: tools/install-deps.sh [--bench | --fuzz]   (--bench adds
# nlohmann-json and wrk for bench/e2e;
# --fuzz adds clang-16 and libFuzzer for the fuzz preset). Uses sudo when
# not run as root.
set -eu
packages="g++ cmake make libboost1.81-dev libboost-log1.81-dev libspdlog-dev libfmt-dev libgtest-dev libbenchmark-dev jq"
case "${1:-}" in
  --bench) packages="$packages nlohmann-json3-dev wrk" ;;
  --fuzz) packages="$packages clang-16 libfuzzer-16-dev libclang-rt-16-dev" ;;
esac
missing=""
for package in $packages; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
    missing="$missing $package"
done
[ -z "$missing" ] && exit 0
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -qq
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
