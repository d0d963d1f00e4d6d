// SPDX-License-Identifier: BSL-1.0
// What the compiled parts of the spdlog integration share (not installed):
// where a line being formatted comes from (the line's origin), which the
// flags and the JSON formatter ask (spdlog_line_origin.cpp) and our async
// logger's workers set (spdlog_async_logger.cpp).
#pragma once

#include <spdlog/details/log_msg.h>
#include <spdlog/details/os.h>
#include <spdlog/formatter.h>

#include <cstddef>
#include <memory>
#include <utility>

namespace aiolocals {
class async_logger;
}

namespace aiolocals::detail {

// What the flags formatting on this thread know of the line's request.
enum class line_origin {
  this_thread,  // formatted where it was logged, unless the thread ids differ
  snapshot,     // our worker, inside a copy of the caller's context
  unknown,      // our worker, for a line queued without its context (a copy)
};
// What this thread's flags and workers keep, read by every flag of every
// line: one constinit block in the initial-exec TLS model, so each access is
// a %fs-relative load, not a __tls_get_addr call from this shared library.
struct flag_thread_state {
  line_origin origin = line_origin::this_thread;
  async_logger* logger = nullptr;    // our worker: whose line it formats
  const void* worker = nullptr;      // the pool state whose worker this is
  bool leave_after_message = false;  // the pool died on its own worker
  std::size_t thread_id = 0;         // spdlog's id of this thread; 0: not yet
};
extern constinit thread_local flag_thread_state flag_state [[gnu::tls_model("initial-exec")]];

// spdlog's id of the calling thread, as log_msg::thread_id holds it.
inline std::size_t this_thread_id() noexcept {
  flag_thread_state& state = flag_state;
  if (state.thread_id == 0) [[unlikely]]
    state.thread_id = ::spdlog::details::os::thread_id();
  return state.thread_id;
}

class formatting_as {
 public:
  formatting_as(line_origin origin, async_logger* logger) noexcept
      : origin_(std::exchange(flag_state.origin, origin)),
        logger_(std::exchange(flag_state.logger, logger)) {}
  ~formatting_as() {
    flag_state.origin = origin_;
    flag_state.logger = logger_;
  }
  formatting_as(const formatting_as&) = delete;
  formatting_as& operator=(const formatting_as&) = delete;

 private:
  line_origin origin_;
  async_logger* logger_;
};

// Whether `msg` is a stored copy of a line rather than the one its log call
// made. spdlog has one type for keeping a message beyond the log call (a
// log_msg holds views into the caller's memory): log_msg_buffer, which
// every keeper uses (the backtrace, ringbuffer_sink, the async queues, ours
// too) and which copies the logger's name and then the payload into one
// buffer of its own. A log call's own message views the logger's name and
// the caller's text, which never sit end to end. A copy is formatted away
// from its log call (a backtrace dumped in another request, a ring buffer
// read later), whatever the sinks' levels, so the current context is not
// the line's.
inline bool is_stored_copy(const ::spdlog::details::log_msg& msg) noexcept {
  return msg.logger_name.data() + msg.logger_name.size() == msg.payload.data();
}

// Whether a formatter may read the current context for `msg` (it is
// formatted where it was logged, or inside its snapshot on our worker);
// when not, says why once through the logger's error handler.
bool context_is_the_lines(const ::spdlog::details::log_msg& msg);

// configure_logging's work for any formatter: refuses plain async loggers
// (configuration_error, nothing changed), else gives every logger a clone.
void set_formatter_everywhere(std::unique_ptr<::spdlog::formatter> formatter);

}  // namespace aiolocals::detail
