#!/bin/sh
# SPDX-License-Identifier: BSL-1.0
# Runs every benchmark with its baseline in the same binary (bench_core_static:
# the core benchmarks against a static build, to compare with the shared one), 10 repetitions
# in random interleaved order (so drift hits both sides alike), and prints
# the medians and coefficients of variation. Build first:
#   tools/install-deps.sh --bench && cmake --preset bench && cmake --build --preset bench
set -eu
dir=${1:-build/bench/bench}
for name in core core_static asio logging json beast; do
  echo "== bench_$name"
  "$dir/bench_$name" --benchmark_repetitions=10 --benchmark_enable_random_interleaving=true \
    --benchmark_min_time=0.2 --benchmark_report_aggregates_only=true 2>/dev/null |
    grep -E "_(median|cv) "
done
