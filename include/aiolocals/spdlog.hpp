// aiolocals/spdlog.hpp - the request id and path in every spdlog line (the
// seed's configure_logging). Target `aiolocals::spdlog` (spdlog 1.10, fmt 9).
//
//   aiolocals::spdlog::configure_logging();   // every logger, one call
//   spdlog::info("hello");  // [2026-11-28 10:00:00.123] [info] [/hello#4bf9...] hello
//
// Pattern flags, usable in your own patterns (`make_formatter`):
//   %q  the current request's id       %U  its path (escaped)
//   %W  its method                     each prints `-` outside a request
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
//    context is not current. Use `aiolocals::spdlog::make_async_logger`,
//    which queues a snapshot of the caller's context with each message and
//    formats inside it;
//  - lines replayed by `dump_backtrace()`: they were kept without their
//    context and are formatted in the dumper's.
// A log call never throws (spdlog's convention): errors go to the logger's
// error handler.
//
// Cost: each flag is one `local::find()`, a vectorised check that nothing
// needs escaping, and an append: ~20-25 ns a flag on the CI VM (see the README's
// benchmark table). Thread-safety: the flags and configure_logging are as
// thread-safe as spdlog's own formatters and registry.
#pragma once

#include <spdlog/async_logger.h>
#include <spdlog/details/log_msg_buffer.h>
#include <spdlog/logger.h>
#include <spdlog/pattern_formatter.h>

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "aiolocals/context.hpp"
#include "aiolocals/request.hpp"

namespace aiolocals::spdlog {

/// What a flag prints where it cannot know the line's request (see above).
inline constexpr const char* unknown_context_marker = "(unknown)";

/// The flag letters this header registers.
inline constexpr char request_id_flag = 'q';
inline constexpr char request_path_flag = 'U';
inline constexpr char request_method_flag = 'W';

/// The seed's layout: "[time] [logger] [level] [<path>#<id>] message".
inline constexpr const char* default_pattern = "[%Y-%m-%d %H:%M:%S.%e] [%n] [%l] [%U#%q] %v";

/// A pattern formatter that knows the %q, %U and %W flags. Cheap to call;
/// each logger needs its own formatter instance.
std::unique_ptr<::spdlog::pattern_formatter> make_formatter(std::string pattern = default_pattern);

/// Adds the %q, %U and %W flags to `formatter` (before its set_pattern).
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
/// logger->set_formatter(aiolocals::spdlog::make_formatter());
/// @endcode
/// Thread-safe (holds spdlog's registry lock while applying).
void configure_logging(std::string pattern = default_pattern);

class async_logger;

/// The worker threads and queue behind `aiolocals::spdlog::async_logger`:
/// spdlog's own bounded MPMC queue, with each message carrying the caller's
/// context. Loggers own their pool (a `shared_ptr`), so a pool lives as long
/// as the last logger using it. Destroying the pool drains the queue and
/// joins the threads.
class async_pool {
 public:
  /// `queue_size` messages at most are waiting; `threads` workers format
  /// and write (one keeps lines in order).
  explicit async_pool(std::size_t queue_size = 8192, std::size_t threads = 1);
  ~async_pool();
  async_pool(const async_pool&) = delete;
  async_pool& operator=(const async_pool&) = delete;

  /// Messages dropped under `overrun_oldest` so far.
  std::size_t overrun_counter();

  /// Blocks until every message queued so far has been written (or
  /// dropped). Called for you when spdlog's registry lets go of a logger
  /// made by make_async_logger (`spdlog::shutdown()`, `drop`, normal exit).
  void drain();

 private:
  friend class async_logger;
  struct worker_state;
  enum class message_kind { log, log_without_context, flush, stop };
  struct message;
  void post(message&& item, ::spdlog::async_overflow_policy policy);

  std::shared_ptr<worker_state> state_;  // shared with the worker threads
};

/// A process-wide pool (8192 messages, one thread), made on first use, as
/// `spdlog::init_thread_pool` gives spdlog's own async loggers. Thread-safe.
std::shared_ptr<async_pool> default_pool();

/// An asynchronous logger whose lines carry the id of the request that
/// logged them: `log` takes an O(1) copy of the caller's context (one small
/// allocation) and queues it with the message; the worker formats inside it.
/// Drop-in for `spdlog::async_logger` (same sinks, levels, patterns). Owns
/// (shares) its pool. A log call never throws: errors go to the logger's
/// error handler.
class async_logger final : public ::spdlog::logger,
                           public std::enable_shared_from_this<async_logger> {
 public:
  async_logger(std::string name, std::vector<::spdlog::sink_ptr> sinks,
               std::shared_ptr<async_pool> pool = default_pool(),
               ::spdlog::async_overflow_policy policy = ::spdlog::async_overflow_policy::block);

  std::shared_ptr<::spdlog::logger> clone(std::string new_name) override;

  /// The pool this logger queues to.
  const std::shared_ptr<async_pool>& pool() const noexcept { return pool_; }

  /// Blocks until every message queued on this logger's pool so far is
  /// written, then flushes this logger's sinks on the calling thread. Done
  /// for you when spdlog's registry lets go of a logger from
  /// make_async_logger. Do not call it from a sink.
  void wait_until_written();

 protected:
  void sink_it_(const ::spdlog::details::log_msg& msg) override;
  void flush_() override;

 private:
  friend class async_pool;
  void write_to_sinks(const ::spdlog::details::log_msg& msg);
  void flush_sinks();

  std::shared_ptr<async_pool> pool_;
  ::spdlog::async_overflow_policy policy_;
};

/// Makes an async logger with the request flags' default pattern (or
/// `pattern`) on `pool` (default: `default_pool()`), and registers it with
/// spdlog (so `spdlog::get(name)` finds it). When the registry lets go of
/// it (`spdlog::shutdown()`, `spdlog::drop`, normal exit), the pool is
/// drained first: every message logged before is written.
std::shared_ptr<async_logger> make_async_logger(std::string name,
                                                std::vector<::spdlog::sink_ptr> sinks,
                                                std::shared_ptr<async_pool> pool = default_pool(),
                                                std::string pattern = default_pattern);

}  // namespace aiolocals::spdlog
