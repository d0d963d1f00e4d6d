#!/bin/sh
# SPDX-License-Identifier: BSL-1.0
# The two-service check must fail when the logs are wrong: corrupts copies
# of a good run (RUN_DIR, from the example_two_services test) one way at a
# time and expects examples/two_services/check.sh to refuse each.
# Usage: two_services_check_catches.sh CHECK_SH RUN_DIR REQUESTS
set -eu
check=$1
run=$2
requests=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0

expect_refused() {  # what, then a sed program applied to one file
  what=$1 file=$2 program=$3
  rm -rf "$work/case"
  cp -r "$run" "$work/case"
  sed -i "$program" "$work/case/$file"
  if cmp -s "$run/$file" "$work/case/$file"; then
    echo "FAILED: the corruption '$what' changed nothing"; failures=$((failures + 1)); return
  fi
  if sh "$check" "$work/case" "$requests" > /dev/null 2>&1; then
    echo "FAILED: check accepted: $what"; failures=$((failures + 1))
  else
    echo "ok: check refused: $what"
  fi
}

sh "$check" "$run" "$requests" > /dev/null || { echo "FAILED: the good run is refused"; exit 1; }
# (Log lines carry "level"; span records, written beside them, "kind": each
# program below changes the first matching line only.)
expect_refused "B's parent span is not a client span of A" b.jsonl '/"level".*"parent_span_id"/{s/"parent_span_id":"[0-9a-f]*"/"parent_span_id":"0123456789abcdef"/;:a;n;ba}'
expect_refused "a B line carries another trace" b.jsonl '/"level".*"trace_id"/{s/"trace_id":"[0-9a-f]*"/"trace_id":"0123456789abcdef0123456789abcdef"/;:a;n;ba}'
expect_refused "A did not record a client span" a.jsonl '/"kind":"client"/{d;:a;n;ba}'
expect_refused "A did not record a server span" a.jsonl '/"kind":"server"/{d;:a;n;ba}'
expect_refused "a client span ends after its server span" a.jsonl '/"kind":"client"/{s/"end_time":"[^"]*"/"end_time":"2999-01-01T00:00:00.000000000Z"/;:a;n;ba}'
expect_refused "an A line carries another request's id" a.jsonl '3s/"request_id":"[^"]*"/"request_id":"someone-else"/'
expect_refused "a broken JSON line" a.jsonl '4s/}$//'
expect_refused "a line whose request was unknown" b.jsonl '7s/"request_id":"[^"]*"/"request_id":"(unknown)"/'
expect_refused "a B line lost the baggage field" b.jsonl '/"level".*"order"/{s/,"order":"[0-9]*"//;:a;n;ba}'
expect_refused "a client's forged baggage reached B" b.jsonl '/"level".*"order"/{s/"order":"[0-9]*"/"order":"forged"/;:a;n;ba}'
expect_refused "a baggage entry off the allowlist logged" b.jsonl '/"level".*"order"/{s/"order":/"cart":"x","order":/;:a;n;ba}'
expect_refused "a sent id replaced" driver.jsonl '2s/"response_id":"[^"]*"/"response_id":"other"/'
[ "$failures" -eq 0 ]
