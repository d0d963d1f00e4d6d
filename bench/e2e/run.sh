#!/bin/bash
# SPDX-License-Identifier: BSL-1.0
# End-to-end: requests/s and p99 latency of the same Beast server tracked
# (track_requests + id/path flags) and untracked, driven by wrk over
# loopback. Interleaved pairs (the order alternates), medians and the ratio.
# Build first: tools/install-deps.sh --bench && cmake --preset bench && cmake --build --preset bench
# Usage: bench/e2e/run.sh [pairs] [seconds]     (default 5 pairs of 6 s)
# TRACKED=tracked-tasks measures connections spawned as plain tasks instead
# of sessions (aiolocals::co_spawn_session).
set -eu
pairs=${1:-5}
seconds=${2:-6}
server=${SERVER:-build/bench/bench/e2e_server}
tracked=${TRACKED:-tracked}
port=18650
results=$(mktemp)

measure() {  # mode -> "rps p99_us"
  port=$((port + 1))
  "$server" "--$1" "$port" > /dev/null &
  pid=$!
  tries=0
  until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
    tries=$((tries + 1)); [ "$tries" -lt 100 ] || { echo "server did not start" >&2; exit 1; }
    sleep 0.05
  done
  out=$(wrk -t1 -c64 -d"${seconds}s" --latency "http://127.0.0.1:$port/hello")
  kill "$pid"; wait "$pid" || true
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p99=$(echo "$out" | awk '$1 == "99%" {v=$2; if (v ~ /us$/) {sub(/us/,"",v)} else if (v ~ /ms$/) {sub(/ms/,"",v); v=v*1000} else if (v ~ /s$/) {sub(/s/,"",v); v=v*1000000}; print v}')
  echo "$1 $rps $p99" >> "$results"
  echo "  $1: $rps req/s, p99 ${p99} us"
}

i=0
while [ "$i" -lt "$pairs" ]; do
  i=$((i + 1))
  echo "pair $i"
  if [ $((i % 2)) -eq 1 ]; then measure bare; measure "$tracked"; else measure "$tracked"; measure bare; fi
done

median() { sort -n | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2}'; }
bare_rps=$(awk '$1 == "bare" {print $2}' "$results" | median)
tracked_rps=$(awk -v t="$tracked" '$1 == t {print $2}' "$results" | median)
bare_p99=$(awk '$1 == "bare" {print $3}' "$results" | median)
tracked_p99=$(awk -v t="$tracked" '$1 == t {print $3}' "$results" | median)
echo "median requests/s: tracked $tracked_rps, untracked $bare_rps, ratio $(echo "$tracked_rps $bare_rps" | awk '{printf "%.3f", $1/$2}')"
echo "median p99 latency: tracked ${tracked_p99} us, untracked ${bare_p99} us"
rm -f "$results"
