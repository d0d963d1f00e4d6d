// SPDX-License-Identifier: BSL-1.0
// aiolocals/trace/trace_context.hpp - W3C Trace Context Level 2 (the
// Candidate Recommendation): parsing, validating and formatting the
// `traceparent` and `tracestate` headers, and making trace and span ids.
// Framework-neutral: standard library only.
//
//   std::vector<std::string_view> values = ...;   // every traceparent value
//   if (auto parent = aiolocals::parse_traceparent(values)) {
//     // continue parent->trace; this hop's span: generate_span_id()
//   } else {
//     // absent, duplicated or invalid: restart the trace
//   }
//
// traceparent: version 00 is exactly "00-<32 hex>-<16 hex>-<2 hex>",
// lowercase hex only; an all-zero trace or parent id is invalid; version ff
// is invalid; a higher version is parsed by the forward-compatibility rule
// (its first 55 characters as version 00, then nothing or '-' and
// anything) and answered as version 00; more than one traceparent value is
// invalid. trace-flags: `sampled` (bit 0) and `random` (bit 1) keep their
// meaning; every other bit is sent as zero ("Vendors MUST set those to
// zero"), whatever came in. A trace we start has `random` set (all 128 bits
// of our trace ids are random) and `sampled` set when this process records
// spans (a span sink is installed, trace/span_record.hpp); a trace we
// continue passes both bits on as received.
//
// tracestate (Level 2 key grammar: `( lcalpha / DIGIT ) 0*255 ( keychar )`,
// '@' among the key characters): the header values are combined in order
// and each list member is judged alone. Where the text leaves us a choice
// ("Any key/value pair MAY be deleted"), we choose:
//  - an invalid member (bad key, bad value, no '=') is dropped, the others
//    kept; empty and whitespace-only members are skipped;
//  - of a key that repeats, the left-most member is kept ("Only one entry
//    per key is allowed because the entry represents that last position in
//    the trace", and a vendor moves its updated entry to the left);
//  - over 32 members or 512 characters, whole members are dropped as the
//    text says: "Entries larger than 128 characters long SHOULD be removed
//    first. Then entries SHOULD be removed starting from the end";
//  - at most 64 valid members are read from one request (bounded work).
// Costs: see docs/benchmarks.md. Thread-safety: every function is
// thread-safe and noexcept except where it allocates a string.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace aiolocals {

/// trace-flags bit 0: the caller may have recorded trace data.
inline constexpr std::uint8_t trace_flag_sampled = 0x01;
/// trace-flags bit 1 (Level 2): the trace id's right-most 7 bytes are random.
inline constexpr std::uint8_t trace_flag_random = 0x02;
/// The bits we understand and send; every other bit goes out as zero.
inline constexpr std::uint8_t known_trace_flags = trace_flag_sampled | trace_flag_random;
/// tracestate limits: members and characters of the combined value.
inline constexpr std::size_t max_tracestate_members = 32;
inline constexpr std::size_t max_tracestate_size = 512;

/// A 16-byte trace id; all zeros is invalid.
struct trace_id {
  std::array<std::uint8_t, 16> bytes{};
  /// Not all zeros. Inline, a few instructions.
  bool is_valid() const noexcept {
    std::uint64_t halves[2];
    std::memcpy(halves, bytes.data(), sizeof halves);
    return (halves[0] | halves[1]) != 0;
  }
  /// 32 lowercase hex digits.
  std::string to_hex() const;
  friend bool operator==(const trace_id&, const trace_id&) = default;
};

/// An 8-byte span (parent) id; all zeros is invalid.
struct span_id {
  std::array<std::uint8_t, 8> bytes{};
  /// Not all zeros. Inline, a few instructions.
  bool is_valid() const noexcept {
    std::uint64_t value;
    std::memcpy(&value, bytes.data(), sizeof value);
    return value != 0;
  }
  /// 16 lowercase hex digits.
  std::string to_hex() const;
  friend bool operator==(const span_id&, const span_id&) = default;
};

/// A parsed `traceparent`.
struct trace_parent {
  std::uint8_t version = 0;  ///< as received; what we send is always 00
  trace_id trace;
  span_id parent;          ///< the sender's span: our parent
  std::uint8_t flags = 0;  ///< as received, unknown bits included
  bool sampled() const noexcept { return (flags & trace_flag_sampled) != 0; }
  bool random() const noexcept { return (flags & trace_flag_random) != 0; }
};

/// Where a piece of work stands in a distributed trace: what request
/// tracking stores beside the request id, and what `propagate` sends on.
struct trace_context {
  trace_id trace;          ///< invalid: no trace
  span_id span;            ///< this hop's span (the parent of what it calls)
  span_id parent;          ///< the caller's span; invalid: the trace starts here
  std::uint8_t flags = 0;  ///< sampled and random only (known_trace_flags)
  std::string tracestate;  ///< validated vendor state, passed on unchanged
  bool is_valid() const noexcept { return trace.is_valid() && span.is_valid(); }
};

/// The trace context of a hop that received `traceparent_values` and
/// `tracestate_values`: the caller's trace with a fresh span of our own if
/// exactly one valid traceparent came (and `trust_incoming`), else a new
/// trace (see start_trace). tracestate is read only when the traceparent
/// was kept; flags as the file comment says.
trace_context continue_or_start_trace(std::span<const std::string_view> traceparent_values,
                                      std::span<const std::string_view> tracestate_values,
                                      bool trust_incoming = true);

/// A new trace: fresh trace id and span id, no parent, no tracestate;
/// flags `random`, plus `sampled` when a span sink is installed.
trace_context start_trace();

/// A fresh random trace id (the OS CSPRNG bytes behind
/// generate_request_id), never all zeros. Thread-safe; tens of ns.
trace_id generate_trace_id();
/// A fresh span id, never all zeros: unique (a thread never repeats one;
/// threads and processes start from unrelated random seeds), not secret,
/// as the W3C text asks of a parent-id. Thread-safe; a few ns.
span_id generate_span_id();

/// One `traceparent` value parsed by the rules above, or nothing.
std::optional<trace_parent> parse_traceparent(std::string_view value) noexcept;

/// Every `traceparent` value a request carried: exactly one valid value
/// gives a parent; none, several or an invalid one give nothing.
std::optional<trace_parent> parse_traceparent(std::span<const std::string_view> values) noexcept;

/// The length of a version-00 `traceparent`.
inline constexpr std::size_t traceparent_size = 55;

/// "00-<trace>-<span>-<flags>": what to send downstream with our own span
/// id as the parent. Always 55 characters, version 00; only the known flag
/// bits of `flags` are written.
std::string format_traceparent(const trace_id& trace, const span_id& span, std::uint8_t flags);

/// The same written into `out` (no allocation); returns a view of `out`.
std::string_view format_traceparent(std::span<char, traceparent_size> out, const trace_id& trace,
                                    const span_id& span, std::uint8_t flags) noexcept;

/// Every `tracestate` value a request carried, combined and validated by
/// the rules in the file comment: the valid members in order, without
/// optional whitespace, joined by ',' ("" when none is left). Always a
/// valid tracestate of at most 32 members and 512 characters.
std::string validate_tracestate(std::span<const std::string_view> values);

}  // namespace aiolocals
