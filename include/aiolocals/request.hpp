// aiolocals/request.hpp - the seed's `aiolocals.request`: what is being
// handled now (an HTTP request or a job), as one task-local record.
//
//   if (const aiolocals::request_info* r = aiolocals::request.find())
//     std::printf("%s %s\n", r->id.c_str(), r->path.c_str());
//
// The request-tracking wrapper (aiolocals/beast.hpp) fills it for every HTTP
// request, `job_context` (aiolocals/asio.hpp) for every job, and the log
// flags (aiolocals/spdlog.hpp) print it. Anyone may set it for other work.
//
// Cost and thread-safety are those of any `local` (see local.hpp): reading
// is three dependent loads; the record is immutable once set.
#pragma once

#include <string>
#include <string_view>

#include "aiolocals/local.hpp"

namespace aiolocals {

/// What kind of work a `request_info` describes.
enum class request_kind { request, job };

/// The record every log line of a request or job carries.
struct request_info {
  std::string id;      ///< safe to log: validated or generated, never raw input
  std::string method;  ///< HTTP method; empty for a job
  std::string path;    ///< HTTP path without the query string; a job's name
  request_kind kind = request_kind::request;
};

/// The current request or job; unset outside of one.
inline local<request_info> request{"aiolocals::request"};

/// A fresh job id: `name` + '-' + 16 hex digits, unique within the process
/// (a bijective mix of a counter and a per-process random seed) and unlikely
/// to repeat across processes. About 50 ns; thread-safe.
std::string make_job_id(std::string_view name);

}  // namespace aiolocals
