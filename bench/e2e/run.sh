#!/bin/bash
# SPDX-License-Identifier: BSL-1.0
# End-to-end: requests/s and p99 latency of the same Beast server tracked
# (track_requests + id/path flags) and untracked, driven by wrk over
# loopback. Interleaved rounds (the order rotates), medians and the ratios.
# Build first: tools/install-deps.sh --bench && cmake --preset bench && cmake --build --preset bench
# Usage: bench/e2e/run.sh [rounds] [seconds]     (default 5 rounds of 6 s)
# Each round runs the untracked server and each tracked mode once:
#   tracked        connections spawned as sessions (aiolocals::co_spawn_session)
#   tracked-tasks  connections spawned as plain tasks (a task per request)
# TRACKED="tracked" (say) measures one mode only.
set -eu
rounds=${1:-5}
seconds=${2:-6}
server=${SERVER:-build/bench/bench/e2e_server}
read -r -a tracked_modes <<< "${TRACKED:-tracked tracked-tasks}"
modes=(bare "${tracked_modes[@]}")
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
  echo "$1 $rps $p99 $i" >> "$results"
  echo "  $1: $rps req/s, p99 ${p99} us"
}

i=0
while [ "$i" -lt "$rounds" ]; do
  echo "round $((i + 1))"
  n=${#modes[@]}
  for ((k = 0; k < n; k++)); do measure "${modes[$(((i + k) % n))]}"; done
  i=$((i + 1))
done

median() { sort -n | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2}'; }
bare_rps=$(awk '$1 == "bare" {print $2}' "$results" | median)
bare_p99=$(awk '$1 == "bare" {print $3}' "$results" | median)
for mode in "${tracked_modes[@]}"; do
  rps=$(awk -v m="$mode" '$1 == m {print $2}' "$results" | median)
  p99=$(awk -v m="$mode" '$1 == m {print $3}' "$results" | median)
  echo "median requests/s: $mode $rps, untracked $bare_rps, ratio $(echo "$rps $bare_rps" | awk '{printf "%.3f", $1/$2}')"
  # Each round's own ratio (its tracked run over its untracked run, minutes
  # apart at most): drift of the host between rounds cancels out of it.
  round_ratios=$(awk -v m="$mode" '$1 == "bare" {b[$4] = $2} $1 == m {t[$4] = $2}
    END {for (r in t) if (r in b) printf "%.3f\n", t[r] / b[r]}' "$results" | sort -n)
  echo "per-round ratios: $mode $(echo $round_ratios), median $(echo "$round_ratios" | median)"
  echo "median p99 latency: $mode ${p99} us, untracked ${bare_p99} us"
done
rm -f "$results"
