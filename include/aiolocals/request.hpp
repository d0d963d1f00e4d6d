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

/// The current request or job; unset outside of one. Defined in the
/// library, so a host and the plugins it loads share it.
extern local<request_info> request;

/// Appends `text` to `out` so that it cannot break or forge a log line: bytes
/// outside printable ASCII (controls, DEL, every byte >= 0x80) and the
/// backslash become `\xNN`. Safe for any input; no allocation beyond `out`.
/// `Buffer` is std::string, fmt::memory_buffer or alike (push_back and
/// append(first, last)). Runs of safe bytes are appended at once.
template <class Buffer>
void append_escaped(Buffer& out, std::string_view text) {
  // Common case first: a branch-free scan the compiler vectorises, then one
  // append. Only text that needs escaping takes the byte-by-byte path.
  unsigned unsafe = 0;
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    unsafe |= static_cast<unsigned>(byte < 0x20) | static_cast<unsigned>(byte >= 0x7f) |
              static_cast<unsigned>(byte == '\\');
  }
  if (unsafe == 0) {
    out.append(text.data(), text.data() + text.size());
    return;
  }
  constexpr char digits[] = "0123456789abcdef";
  const char* run = text.data();
  const char* end = text.data() + text.size();
  for (const char* p = run; p != end; ++p) {
    const auto byte = static_cast<unsigned char>(*p);
    if (byte >= 0x20 && byte < 0x7f && byte != '\\') continue;
    out.append(run, p);
    const char escaped[] = {'\\', 'x', digits[byte >> 4], digits[byte & 0xf]};
    out.append(escaped, escaped + sizeof escaped);
    run = p + 1;
  }
  out.append(run, end);
}

/// `text` escaped as by append_escaped.
std::string escape_for_log(std::string_view text);

/// A fresh job id: `name` + '-' + 16 hex digits, unique within the process
/// (a bijective mix of a counter and a per-process random seed) and unlikely
/// to repeat across processes. About 50 ns; thread-safe.
std::string make_job_id(std::string_view name);

}  // namespace aiolocals
