// SPDX-License-Identifier: BSL-1.0
// aiolocals/request.hpp - the seed's `aiolocals.request`: what is being
// handled now (an HTTP request or a job), as one task-local record.
//
//   if (const aiolocals::request_info* r = aiolocals::request.find())
//     std::printf("%s %s\n", r->id.c_str(), r->path.c_str());
//
// Request tracking (the rules in aiolocals/http/request_id.hpp, the Beast
// glue in aiolocals/beast.hpp) fills it for every HTTP request,
// `job_context` for every job, and the log flags (aiolocals/spdlog.hpp)
// print it. Anyone may set it for other work.
//
// Cost and thread-safety are those of any `local` (see local.hpp): reading
// is three dependent loads; the record is immutable once set.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "aiolocals/context.hpp"
#include "aiolocals/local.hpp"
#include "aiolocals/trace/trace_context.hpp"

namespace aiolocals {

/// What kind of work a `request_info` describes.
enum class request_kind { request, job };

/// The record every log line of a request or job carries.
struct request_info {
  std::string id;      ///< safe to log: validated or generated, never raw input
  std::string method;  ///< HTTP method; empty for a job
  std::string path;    ///< HTTP path without the query string; a job's name
  request_kind kind = request_kind::request;
  trace_context trace = {};  ///< W3C trace context; a job starts its own trace
};

/// The current request or job; unset outside of one. Defined in the
/// library, so a host and the plugins it loads share it.
extern local<request_info> request;

/// A fresh job id: `name` + '-' + 16 hex digits, unique within the process
/// (a bijective mix of a counter and a per-process random seed) and unlikely
/// to repeat across processes. Thread-safe; cost: see docs/benchmarks.md.
std::string make_job_id(std::string_view name);

/// The record of one run of the job `name`: {make_job_id(name), no method,
/// path `name`, kind job, a trace of its own}.
request_info make_job_record(std::string_view name);

/// The seed's `job_context` for plain callables: runs `f()` now, on this
/// thread, in a fresh context whose `aiolocals::request` is
/// make_job_record(name), and returns its result; the caller's context is
/// untouched. For coroutines, `co_await aiolocals::job_context(name, job())`
/// (aiolocals/asio.hpp). Cost: a context and an id.
template <class F>
requires std::is_invocable_v<F&&>
decltype(auto) job_context(std::string_view name, F&& f) {
  context job;
  return job.run([&]() -> decltype(auto) {
    request.set(make_job_record(name));
    return std::invoke(std::forward<F>(f));
  });
}

}  // namespace aiolocals
