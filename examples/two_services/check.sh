#!/bin/sh
# SPDX-License-Identifier: BSL-1.0
# Checks a run of the two-service example (run.sh writes OUTPUT_DIR):
#   examples/two_services/check.sh OUTPUT_DIR REQUESTS
# with jq, a JSON reader that is not ours. Exits 0 only when every line of
# a.jsonl and b.jsonl is one JSON object and, for each of the REQUESTS lines
# of driver.jsonl: the answer was 200 with an id no other request got;
# service A's lines and service B's lines all carry that id and one trace
# id; A recorded its server span (the span of its lines) and a client span
# per call inside it; every parent span id of B's lines names one of those
# client spans, two calls never share one (and B's own span is not A's); an
# id or traceparent the driver sent validly was kept, an invalid one
# replaced (a fresh UUID, a trace started at A); every B line of an order
# carries the baggage entry A set (`order`, B's allowlist: never `cart`,
# never what a client sent A); and no line of either service says its
# request was unknown.
set -eu
out=$1
requests=$2
# Every line of both services is one JSON object (jq fails otherwise).
jq -c 'if type == "object" then empty else error("not an object") end' \
  "$out/a.jsonl" "$out/b.jsonl"

jq -s --slurpfile a "$out/a.jsonl" --slurpfile b "$out/b.jsonl" '
  def by_id: map(select(.request_id != null)) | group_by(.request_id)
             | map({key: .[0].request_id, value: .}) | from_entries;
  ($a | map(select(.level != null)) | by_id) as $A | ($b | map(select(.level != null)) | by_id) as $B |
  ($a | map(select(.kind != null)) | by_id) as $AS |
  map(. as $d | ($A[$d.response_id] // []) as $al | ($B[$d.response_id] // []) as $bl |
      ($AS[$d.response_id] // []) as $spans |
      ($spans | map(select(.kind == "server"))) as $servers |
      ($spans | map(select(.kind == "client" and .parent_span_id == $al[0].span_id))) as $clients |
      $d + {problems: [
        (if $d.status != 200 then "status" else empty end),
        (if ($al | length) < 2 then "few lines in A" else empty end),
        (if ($bl | length) < 1 then "no line in B" else empty end),
        (if ([$al[].trace_id, $bl[].trace_id] | unique | length) != 1 then "trace ids differ" else empty end),
        (if ($al[0].trace_id // "" | test("^[0-9a-f]{32}$") | not) then "trace id format" else empty end),
        (if ([$al[].span_id] | unique | length) != 1 then "A has several spans" else empty end),
        (if ($servers | length) != 1 or $servers[0].span_id != $al[0].span_id then "A recorded no server span for its lines" else empty end),
        (if ([$bl[].parent_span_id] | unique | map(. as $p | $clients | map(.span_id) | index($p)) | any(. == null)) then "B parent is not a client span A recorded" else empty end),
        (if ([$bl[] | {p: .parent_span_id, s: .span_id}] | unique | group_by(.p) | any(length != 1)) then "two calls share a parent id" else empty end),
        (if $servers[0] != null and ($clients | any(.start_time < $servers[0].start_time or .end_time > $servers[0].end_time)) then "a client span outside its server span" else empty end),
        (if ($spans | any(.duration_ns < 0)) then "negative duration" else empty end),
        (if ([$bl[].span_id] | unique | index($al[0].span_id)) != null then "B reused A span" else empty end),
        (if $d.sent_id != null and $d.sent_id != $d.response_id then "sent id not kept" else empty end),
        (if $d.sent_id == null and ($d.response_id | test("^[0-9a-f-]{36}$") | not) then "no fresh id" else empty end),
        (if $d.sent_trace != null and $al[0].trace_id != $d.sent_trace then "sent trace not kept" else empty end),
        (if $d.sent_trace == null and $al[0].parent_span_id != null then "invalid trace kept" else empty end),
        (if $d.kind != "validation" and ($bl | any(.order != ($d.n | tostring))) then "a B line without the order A put in baggage" else empty end),
        (if $d.kind == "validation" and ($bl | any(has("order"))) then "an order field on a request without one" else empty end),
        (if ([$al[], $bl[]] | any(has("cart"))) then "a baggage entry off the allowlist was logged" else empty end)
      ]})
  | {requests: length,
     distinct_ids: (map(.response_id) | unique | length),
     by_kind: (group_by(.kind) | map({key: .[0].kind, value: length}) | from_entries),
     failed: map(select(.problems != [])) | length,
     first_failures: (map(select(.problems != [])) | .[:3]),
     a_lines: ($a | length), b_lines: ($b | length),
     unknown_lines: ([$a[], $b[]] | map(select(.request_id == "(unknown)")) | length)}
' "$out/driver.jsonl" > "$out/summary.json"
cat "$out/summary.json"
jq -e --argjson n "$requests" '.requests == $n and .distinct_ids == $n and .failed == 0
  and .unknown_lines == 0' "$out/summary.json" > /dev/null
echo "two services: $requests requests, one id and one trace in every line of both; logs in $out"
