// SPDX-License-Identifier: BSL-1.0
// aiolocals/spdlog/flags.hpp - the request id and path in every spdlog line
// (the seed's configure_logging). Target `aiolocals::spdlog` (spdlog 1.10,
// fmt 9).
//
//   aiolocals::configure_logging();   // every logger, one call
//   spdlog::info("hello");  // [2026-11-28 10:00:00.123] [info] [/hello#4bf9...] hello
//
// Pattern flags, usable in your own patterns (`make_formatter`):
//   %q  the current request's id       %U  its path (escaped)
//   %W  its method                     %J  its W3C trace id, %K its span id
//   %Q  the seed's tag, exactly what %U#%q prints, in one flag (cheaper:
//       one lookup; the default pattern uses it)
//   %k  the task's log fields (aiolocals/log/fields.hpp) as ` key=value`
//       pairs, each after a space; nothing when there are none
//   each prints `-` outside a request (and %J/%K without a trace)
// The letters are unused by spdlog 1.10's built-in flags. Output is safe to
// log whatever a client sent: ids are validated or generated, and the path
// and method are escaped (`\xNN` for every byte outside printable ASCII).
//
// Never a wrong id: where a flag cannot know the request of the line it
// formats, it prints `(unknown)` and says why once, through the logger's
// error handler (spdlog's stderr line by default):
//  - a line formatted on another thread than the one that logged it
//    (`spdlog::async_logger`, made before or after configure_logging, or a
//    sink that formats later): spdlog formats async lines on its worker
//    thread (async_logger-inl.h: backend_sink_it_), where the caller's
//    context is not current. Use `aiolocals::make_async_logger`,
//    which queues a snapshot of the caller's context with each message and
//    formats inside it;
//  - a stored copy of a line, formatted away from its log call: lines
//    replayed by `dump_backtrace()`, a `ringbuffer_sink` read later, any
//    sink that keeps messages. spdlog keeps a message only as a
//    `log_msg_buffer` (name and text copied into one buffer), which the
//    flags recognise whatever the sinks' levels; a sink of your own that
//    keeps messages must keep them that way too (a thread-id check catches
//    a copy formatted on another thread).
// Padding is honoured as for spdlog's own flags (%-36q, %8U, %=9W, %8!q).
//
// Cost: each flag is one `local::find()`, a thread-id compare, a check of
// 16 or 8 bytes at a time that nothing needs escaping, and an append (%Q:
// one write for both parts); figures in
// docs/benchmarks.md. Thread-safety: the flags and configure_logging are as
// thread-safe as spdlog's own formatters and registry.
#pragma once

#include <spdlog/logger.h>
#include <spdlog/pattern_formatter.h>

#include <memory>
#include <stdexcept>
#include <string>

#include "aiolocals/request.hpp"

namespace aiolocals {

/// What a flag prints where it cannot know the line's request (see above).
inline constexpr const char* unknown_context_marker = "(unknown)";

/// The flag letters this header registers.
inline constexpr char request_id_flag = 'q';
inline constexpr char request_path_flag = 'U';
inline constexpr char request_method_flag = 'W';
inline constexpr char request_trace_id_flag = 'J';
inline constexpr char request_span_id_flag = 'K';
inline constexpr char request_tag_flag_letter = 'Q';
inline constexpr char log_fields_flag_letter = 'k';

/// The seed's layout: "[time] [logger] [level] [<path>#<id>] message"
/// (%Q prints the same as %U#%q, with one lookup), with the task's log
/// fields, if any, between the tag and the message (%k).
inline constexpr const char* default_log_pattern = "[%Y-%m-%d %H:%M:%S.%e] [%n] [%l] [%Q]%k %v";

/// A pattern formatter that knows the %q, %U, %W, %J, %K, %Q and %k flags. Cheap to call;
/// each logger needs its own formatter instance.
std::unique_ptr<::spdlog::pattern_formatter> make_formatter(
    std::string pattern = default_log_pattern);

/// Adds the %q, %U, %W, %J, %K, %Q and %k flags to `formatter` (before its
/// set_pattern).
void add_request_flags(::spdlog::pattern_formatter& formatter);

/// Thrown by configure_logging while a logger would print wrong ids.
class configuration_error : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

/// The seed's `configure_logging()`: gives the default logger and every
/// registered logger a formatter with `pattern` (the id and path by
/// default), keeping their sinks and levels; loggers created later through
/// spdlog's factories (`spdlog::stdout_color_mt(...)`, `create_async`) get
/// it too. Throws configuration_error, changing nothing, if a registered
/// logger is a plain `spdlog::async_logger`.
///
/// A logger you build yourself (`std::make_shared<spdlog::logger>(...)`,
/// then `register_logger` or `set_default_logger`) does not get it: spdlog
/// applies its global formatter only in its factories. Give it one:
/// @code
/// logger->set_formatter(aiolocals::make_formatter());
/// @endcode
/// Thread-safe (holds spdlog's registry lock while applying).
void configure_logging(std::string pattern = default_log_pattern);

}  // namespace aiolocals
