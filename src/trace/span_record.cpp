// SPDX-License-Identifier: BSL-1.0
// Span sinks, the spans' clock and the span JSON line.
#include "aiolocals/trace/span_record.hpp"

#include <array>
#include <atomic>
#include <cstdio>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include "../diagnostics.hpp"
#include "aiolocals/detail/hex.hpp"
#include "aiolocals/log/escape.hpp"
#include "aiolocals/log/json.hpp"

namespace aiolocals {
namespace {

using sink_list = std::vector<span_sink>;

// The installed sinks: replaced whole (copy on write), read with one
// atomic load; `any_sink` spares a span that nothing records even that.
std::atomic<std::shared_ptr<const sink_list>> installed_sinks;
std::atomic<bool> any_sink{false};
std::atomic<bool> sampled_only{false};
std::mutex sinks_writer;  // serialises add/remove (readers never take it)

void append(std::string& out, std::string_view text) { out.append(text); }

void append_quoted(std::string& out, std::string_view text) {
  out.push_back('"');
  append_json_escaped(out, text);
  out.push_back('"');
}

template <std::size_t N>
void append_hex_member(std::string& out, std::string_view key,
                       const std::array<std::uint8_t, N>& bytes) {
  out.push_back('"');
  append(out, key);
  append(out, "\":\"");
  char hex[2 * N];
  detail::write_hex(bytes, hex);
  out.append(hex, sizeof hex);
  out.push_back('"');
}

std::string_view kind_name(span_kind kind) noexcept {
  switch (kind) {
    case span_kind::server: return "server";
    case span_kind::client: return "client";
    case span_kind::internal: break;
  }
  return "internal";
}

std::string_view status_name(span_status status) noexcept {
  switch (status) {
    case span_status::ok: return "ok";
    case span_status::error: return "error";
    case span_status::unset: break;
  }
  return "unset";
}

void append_value(std::string& out, const span_attribute_value& value) {
  std::visit(
      [&](const auto& v) {
        using V = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<V, std::string>) {
          append_quoted(out, v);
        } else if constexpr (std::is_same_v<V, bool>) {
          append(out, v ? "true" : "false");
        } else if constexpr (std::is_same_v<V, double>) {
          // JSON has no NaN or infinity: those become null.
          if (v != v || v - v != 0) {
            append(out, "null");
          } else {
            char text[32];
            const int n = std::snprintf(text, sizeof text, "%.17g", v);
            out.append(text, static_cast<std::size_t>(n));
          }
        } else {
          append(out, std::to_string(v));
        }
      },
      value);
}

// One buffer per thread for the JSON line sinks: no allocation per span
// once it has grown.
std::string& line_buffer() {
  thread_local std::string buffer;
  buffer.clear();
  return buffer;
}

}  // namespace

void add_span_sink(span_sink sink) {
  if (!sink) throw std::invalid_argument("aiolocals::add_span_sink: the sink is empty");
  std::lock_guard lock(sinks_writer);
  auto next = std::make_shared<sink_list>();
  if (auto current = installed_sinks.load()) *next = *current;
  next->push_back(std::move(sink));
  installed_sinks.store(std::move(next));
  any_sink.store(true, std::memory_order_release);
}

void remove_span_sinks() noexcept {
  std::lock_guard lock(sinks_writer);
  any_sink.store(false, std::memory_order_release);
  installed_sinks.store(nullptr);
}

bool span_recording_enabled() noexcept { return any_sink.load(std::memory_order_relaxed); }

void record_sampled_spans_only(bool only) noexcept {
  sampled_only.store(only, std::memory_order_relaxed);
}

bool span_recorded(std::uint8_t flags) noexcept {
  if (!any_sink.load(std::memory_order_relaxed)) return false;
  return !sampled_only.load(std::memory_order_relaxed) || (flags & trace_flag_sampled) != 0;
}

void append_span_json(std::string& out, const span_record& record) {
  out.push_back('{');
  append_hex_member(out, "trace_id", record.trace.bytes);
  out.push_back(',');
  append_hex_member(out, "span_id", record.span.bytes);
  if (record.parent.is_valid()) {
    out.push_back(',');
    append_hex_member(out, "parent_span_id", record.parent.bytes);
  }
  append(out, ",\"name\":");
  append_quoted(out, record.name);
  append(out, ",\"kind\":\"");
  append(out, kind_name(record.kind));
  append(out, "\",\"start_time\":\"");
  append_rfc3339(out, record.start);
  append(out, "\",\"end_time\":\"");
  append_rfc3339(out, record.end);
  append(out, "\",\"duration_ns\":");
  append(out, std::to_string(record.duration().count()));
  append(out, ",\"status\":{\"code\":\"");
  append(out, status_name(record.status));
  out.push_back('"');
  if (record.status == span_status::error) {
    append(out, ",\"message\":");
    append_quoted(out, record.status_message);
  }
  append(out, "},\"attributes\":{");
  bool first = true;
  for (const span_attribute& attribute : record.attributes) {
    if (!first) out.push_back(',');
    first = false;
    append_quoted(out, attribute.key);
    out.push_back(':');
    append_value(out, attribute.value);
  }
  out.push_back('}');
  if (!record.request_id.empty()) {
    append(out, ",\"request_id\":");
    append_quoted(out, record.request_id);
  }
  out.push_back('}');
}

span_sink json_lines_span_sink(std::function<void(std::string_view line)> write_line) {
  if (!write_line) throw std::invalid_argument("aiolocals::json_lines_span_sink: no writer");
  return [write = std::move(write_line)](const span_record& record) {
    std::string& line = line_buffer();
    append_span_json(line, record);
    line.push_back('\n');
    write(line);
  };
}

span_sink json_lines_span_sink(std::FILE* out) {
  if (out == nullptr) throw std::invalid_argument("aiolocals::json_lines_span_sink: null FILE*");
  return [out](const span_record& record) {
    std::string& line = line_buffer();
    append_span_json(line, record);
    line.push_back('\n');
    std::fwrite(line.data(), 1, line.size(), out);
  };
}

namespace detail {

std::chrono::system_clock::time_point span_clock_now() noexcept {
  using namespace std::chrono;
  struct anchor {
    system_clock::time_point system = system_clock::now();
    steady_clock::time_point steady = steady_clock::now();
  };
  static const anchor at_start;
  return at_start.system +
         duration_cast<system_clock::duration>(steady_clock::now() - at_start.steady);
}

void export_span(const span_record& record) noexcept {
  const std::shared_ptr<const sink_list> sinks = installed_sinks.load();
  if (!sinks) return;
  for (const span_sink& sink : *sinks) {
    try {
      sink(record);
    } catch (...) {
      try {
        std::string line = "aiolocals: a span sink threw for span ";
        append(line, record.span.to_hex());
        append(line, ": ");
        append_escaped(line, what_of(std::current_exception()));
        line.push_back('\n');
        std::fwrite(line.data(), 1, line.size(), stderr);
      } catch (...) {
      }
    }
  }
}

}  // namespace detail
}  // namespace aiolocals
