#!/bin/sh
# SPDX-License-Identifier: BSL-1.0
# Runs the two-service example on loopback and checks its logs with jq:
# service B, service A calling B, and the driver sending REQUESTS requests to
# A (plain, with ids and traceparents, hostile, and through the W3C
# validation-service protocol). Usage:
#   examples/two_services/run.sh [BINARY [REQUESTS [OUTPUT_DIR]]]
# Exits 0 only when, for every request the driver sent, service A's and
# service B's log lines are valid JSON and all carry the id A answered with
# and one trace id; B's parent span id is A's span id; an id or trace the
# driver sent validly was kept, an invalid one replaced; and no line lost
# its request.
set -eu
binary=${1:-build/default/examples/two_services}
requests=${2:-1200}
out=${3:-$(mktemp -d)}
mkdir -p "$out"
rm -f "$out"/*.port
pids=""
cleanup() { [ -z "$pids" ] || kill $pids 2>/dev/null || true; }
trap cleanup EXIT INT TERM

wait_for() {  # a port file, written whole once the service listens
  tries=0
  while [ ! -s "$1" ]; do
    tries=$((tries + 1))
    [ "$tries" -le 200 ] || { echo "no port in $1" >&2; exit 1; }
    sleep 0.05
  done
  cat "$1"
}

"$binary" serve service-b "$out/b.port" > "$out/b.jsonl" &
b_pid=$!; pids="$b_pid"
b_port=$(wait_for "$out/b.port")
"$binary" serve service-a "$out/a.port" "$b_port" > "$out/a.jsonl" &
a_pid=$!; pids="$pids $a_pid"
a_port=$(wait_for "$out/a.port")

"$binary" drive "$a_port" "$b_port" "$requests" > "$out/driver.jsonl"
kill -TERM "$a_pid" "$b_pid"
wait "$a_pid" "$b_pid"
pids=""

sh "$(dirname "$0")/check.sh" "$out" "$requests"
