#!/bin/bash
# SPDX-License-Identifier: BSL-1.0
# Holds our Trace Context handling against OpenTelemetry's own propagator
# (otel_compare.mjs). Needs node and the npm registry (not in CI: CI reaches
# Debian's packages only); installs @opentelemetry/core into a temporary
# folder, never into the tree.
# Usage: tools/interop/run-otel.sh [cases]   (from the repository root)
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD:-$root/build/default}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
g++ -std=c++20 -O1 -I"$root/include" "$root/tools/interop/trace_context_probe.cpp" \
  -L"$build" -Wl,-rpath,"$build" -laiolocals -o "$work/probe"
(cd "$work" && npm install --silent --no-save @opentelemetry/core@${OTEL_CORE_VERSION:-3.1.1} @opentelemetry/api >/dev/null)
OTEL_MODULES="$work/node_modules" node "$root/tools/interop/otel_compare.mjs" "$work/probe" "${1:-3000}"
