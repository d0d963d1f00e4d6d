#!/bin/bash
# SPDX-License-Identifier: BSL-1.0
# End-to-end: requests/s and p99 latency of the same Beast server tracked
# (track_requests + id/path flags) and untracked, driven by wrk over
# loopback. Interleaved rounds (the order rotates), medians and the ratios.
# Build first: tools/install-deps.sh --bench && cmake --preset bench && cmake --build --preset bench
# Usage: bench/e2e/run.sh [rounds] [seconds]     (default 5 rounds of 6 s)
# Each round runs each of these servers once:
#   bare            untracked, no id (the goal's baseline)
#   by-hand         untracked, the id threaded by hand: chosen, logged and
#                   echoed as tracking does (what the id itself costs)
#   by-hand-strand  the same, each connection on a strand, as Beast's
#                   examples serve them (Asio's own executor adapter)
#   tracked         tracked, connections spawned by aiolocals::co_spawn
#   tracked-tasks   tracked, connections spawned by plain asio::co_spawn
#   tracked-spans   tracked with every server span recorded as a JSON line
#                   (built, then discarded); not in the default set:
#                   TRACKED="tracked tracked-spans" compares it with tracked
# TRACKED="tracked" (say) measures one tracked mode only; BY_HAND=0 skips
# the two by-hand baselines. Each ratio is printed against the untracked
# server (the goal) and each tracked mode's against the by-hand ones.
set -eu
rounds=${1:-5}
seconds=${2:-6}
server=${SERVER:-build/bench/bench/e2e_server}
read -r -a tracked_modes <<< "${TRACKED:-tracked tracked-tasks}"
baselines=(bare)
[ "${BY_HAND:-1}" = 0 ] || baselines+=(by-hand by-hand-strand)
modes=("${baselines[@]}" "${tracked_modes[@]}")
port=18650
results=$(mktemp)

server_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

measure() {  # mode -> "rps p99_us"
  port=$((port + 1))
  "$server" "--$1" "$port" > /dev/null &
  pid=$!
  tries=0
  until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
    tries=$((tries + 1)); [ "$tries" -lt 100 ] || { echo "server did not start" >&2; exit 1; }
    sleep 0.05
  done
  # The server's CPU time (user + system, in clock ticks) across the run:
  # its cost per request, which wrk's share of the two cores does not blur.
  ticks_before=$(server_ticks "$pid")
  out=$(wrk -t1 -c64 -d"${seconds}s" --latency "http://127.0.0.1:$port/hello")
  ticks_after=$(server_ticks "$pid")
  kill "$pid"; wait "$pid" || true
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  requests=$(echo "$out" | awk '/requests in/ {print $1}')
  cpu_us=$(echo "$ticks_before $ticks_after $requests $(getconf CLK_TCK)" |
    awk '{printf "%.2f", ($2 - $1) / $4 * 1e6 / $3}')
  p99=$(echo "$out" | awk '$1 == "99%" {v=$2; if (v ~ /us$/) {sub(/us/,"",v)} else if (v ~ /ms$/) {sub(/ms/,"",v); v=v*1000} else if (v ~ /s$/) {sub(/s/,"",v); v=v*1000000}; print v}')
  echo "$1 $rps $p99 $i $cpu_us" >> "$results"
  echo "  $1: $rps req/s, p99 ${p99} us, server CPU ${cpu_us} us/request"
}

i=0
while [ "$i" -lt "$rounds" ]; do
  echo "round $((i + 1))"
  n=${#modes[@]}
  for ((k = 0; k < n; k++)); do measure "${modes[$(((i + k) % n))]}"; done
  i=$((i + 1))
done

median() { sort -n | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2}'; }
# mode baseline -> the two medians and their ratio, then each round's own
# ratio (its run of `mode` over its run of `baseline`, minutes apart at
# most: drift of the host between rounds cancels out of it) and their median.
compare() {
  local rps base_rps round_ratios
  rps=$(awk -v m="$1" '$1 == m {print $2}' "$results" | median)
  base_rps=$(awk -v m="$2" '$1 == m {print $2}' "$results" | median)
  echo "median requests/s: $1 $rps, $2 $base_rps, ratio $(echo "$rps $base_rps" | awk '{printf "%.3f", $1/$2}')"
  round_ratios=$(awk -v m="$1" -v b="$2" '$1 == b {base[$4] = $2} $1 == m {t[$4] = $2}
    END {for (r in t) if (r in base) printf "%.3f\n", t[r] / base[r]}' "$results" | sort -n)
  echo "  per-round ratios over $2: $(echo $round_ratios), median $(echo "$round_ratios" | median)"
}
bare_p99=$(awk '$1 == "bare" {print $3}' "$results" | median)
bare_cpu=$(awk '$1 == "bare" {print $5}' "$results" | median)
for mode in "${baselines[@]:1}" "${tracked_modes[@]}"; do
  compare "$mode" bare
  case "$mode" in
    by-hand*) ;;
    *) for baseline in "${baselines[@]:1}"; do compare "$mode" "$baseline"; done ;;
  esac
  p99=$(awk -v m="$mode" '$1 == m {print $3}' "$results" | median)
  echo "median p99 latency: $mode ${p99} us, untracked ${bare_p99} us"
  cpu=$(awk -v m="$mode" '$1 == m {print $5}' "$results" | median)
  echo "median server CPU per request: $mode ${cpu} us, untracked ${bare_cpu} us"
done
if [[ " ${tracked_modes[*]} " == *" tracked-spans "* && " ${tracked_modes[*]} " == *" tracked "* ]]; then
  compare tracked-spans tracked
fi
rm -f "$results"
