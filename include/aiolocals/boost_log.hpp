// SPDX-License-Identifier: BSL-1.0
// aiolocals/boost_log.hpp - the current task's request and fields in every
// Boost.Log record. Target `aiolocals::boost_log` (component boost_log:
// Debian's libboost-log1.81-dev). Needs no Asio, Beast or spdlog.
//
//   aiolocals::configure_boost_log();   // once, at start-up
//   namespace alb = aiolocals::boost_log;
//   sink->set_formatter(expr::stream << "[" << alb::path << "#" << alb::request_id << "]"
//                                    << alb::fields << " " << expr::smessage);
//
// Adds six global attributes to the core. Each reads the task that makes
// the record, when the record is made (a snapshot of its context, one O(1)
// copy per attribute), not the thread: Boost.Log's own
// BOOST_LOG_SCOPED_THREAD_TAG is per thread, so under coroutines that share
// threads it names whichever task last set it, and its scope may end on
// another thread than it began. A record formatted later (an
// asynchronous_sink frontend, a record kept) still shows its own task's
// values.
//   RequestID  std::string  the request's or job's id, "-" outside one
//   Method     std::string  its method (escaped), "-" if none
//   Path       std::string  its path (escaped), "-" if none
//   TraceID    std::string  the W3C trace id of the current span, lowercase hex, "-" if none
//   SpanID     std::string  the current span's id (innermost span block,
//                           else the request's own span), "-" if none
//   LogFields  aiolocals::log_fields  the task's log fields (aiolocals/log/fields.hpp);
//                           streamed as ` key=value` pairs, escaped
// Escaping is the spdlog flags' (aiolocals/log/escape.hpp): a value can
// never break a record's line or forge another field.
//
// Cost: per record and attribute, one context copy and one small
// allocation on the logging thread; the text is built when a formatter
// reads it (figures in docs/benchmarks.md). Thread-safety: as Boost.Log's
// core; the values may be read on any thread.
#pragma once

#include <boost/log/core/core.hpp>
#include <boost/log/expressions/keyword.hpp>
#include <iosfwd>
#include <string>

#include "aiolocals/log/fields.hpp"

namespace aiolocals {

/// Which of the attributes above to add: Boost.Log gets the value of every
/// global attribute for every record, so a program that prints only some
/// pays only for those.
enum class boost_log_attributes : unsigned {
  request_id = 1,
  method = 2,
  path = 4,
  trace_id = 8,
  span_id = 16,
  log_fields = 32,
  all = 63,
};
constexpr boost_log_attributes operator|(boost_log_attributes a, boost_log_attributes b) noexcept {
  return static_cast<boost_log_attributes>(static_cast<unsigned>(a) | static_cast<unsigned>(b));
}

/// Adds the attributes `which` names to `core`'s global attributes
/// (replacing any of the same names) and removes the others of ours. Call
/// once at start-up; calling again is harmless.
void configure_boost_log(boost_log_attributes which = boost_log_attributes::all,
                         const boost::log::core_ptr& core = boost::log::core::get());

/// Writes `fields` as ` key=value` pairs (append_log_fields_text): what a
/// formatter prints for the LogFields attribute.
std::ostream& operator<<(std::ostream& out, const log_fields& fields);

namespace boost_log {
/// Keywords for formatters and filters (`expr::stream << request_id`).
BOOST_LOG_ATTRIBUTE_KEYWORD(request_id, "RequestID", std::string)
BOOST_LOG_ATTRIBUTE_KEYWORD(method, "Method", std::string)
BOOST_LOG_ATTRIBUTE_KEYWORD(path, "Path", std::string)
BOOST_LOG_ATTRIBUTE_KEYWORD(trace_id, "TraceID", std::string)
BOOST_LOG_ATTRIBUTE_KEYWORD(span_id, "SpanID", std::string)
BOOST_LOG_ATTRIBUTE_KEYWORD(fields, "LogFields", ::aiolocals::log_fields)
}  // namespace boost_log

}  // namespace aiolocals
