#!/bin/bash
# SPDX-License-Identifier: BSL-1.0
# Holds our W3C Baggage parser and formatter against OpenTelemetry's own
# W3CBaggagePropagator (otel_baggage.mjs). Needs node and the npm registry
# (not in CI); installs @opentelemetry/core into a temporary folder (or uses
# OTEL_MODULES if set), never into the tree.
# Usage: tools/interop/run-otel-baggage.sh [cases]   (from the repository root)
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD:-$root/build/default}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
g++ -std=c++20 -O1 -I"$root/include" "$root/tools/interop/baggage_probe.cpp" \
  -L"$build" -Wl,-rpath,"$build" -laiolocals -o "$work/probe"
if [ -z "${OTEL_MODULES:-}" ]; then
  (cd "$work" && npm install --silent --no-save @opentelemetry/core@${OTEL_CORE_VERSION:-3.1.1} @opentelemetry/api >/dev/null)
  OTEL_MODULES="$work/node_modules"
fi
OTEL_MODULES="$OTEL_MODULES" node "$root/tools/interop/otel_baggage.mjs" "$work/probe" "${1:-3000}"
