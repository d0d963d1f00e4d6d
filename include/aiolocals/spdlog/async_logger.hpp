// SPDX-License-Identifier: BSL-1.0
// aiolocals/spdlog/async_logger.hpp - an asynchronous spdlog logger whose
// lines carry the id of the request that logged them (see
// aiolocals/spdlog/flags.hpp for why spdlog's own cannot). Target
// `aiolocals::spdlog`.
//
//   auto logger = aiolocals::make_async_logger("app", {sink});
//   logger->info("...");   // formatted on the pool's thread, in a snapshot
//                          // of the caller's context
//
// Cost: per message, an O(1) copy of the caller's context (one small
// allocation) beside spdlog's own queueing; figures in docs/benchmarks.md.
// Thread-safety: as spdlog's loggers.
#pragma once

#include <spdlog/async_logger.h>
#include <spdlog/details/log_msg_buffer.h>
#include <spdlog/logger.h>

#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "aiolocals/context.hpp"
#include "aiolocals/spdlog/flags.hpp"

namespace aiolocals {

class async_logger;

/// The worker threads and queue behind `aiolocals::async_logger`:
/// spdlog's own bounded MPMC queue, with each message carrying the caller's
/// context. Loggers own their pool (a `shared_ptr`), so a pool lives as long
/// as the last logger using it. Destroying the pool drains the queue and
/// joins the threads.
class async_pool {
 public:
  /// `queue_size` messages at most are waiting; `threads` workers format
  /// and write (one keeps lines in order). Throws std::invalid_argument,
  /// before starting anything, unless `queue_size` >= 1 and `threads` is
  /// 1-1000 (as spdlog's own pool).
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
std::shared_ptr<async_pool> default_log_pool();

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
               std::shared_ptr<async_pool> pool = default_log_pool(),
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
  template <class Step>
  void reporting_errors(const char* where, Step&& step) noexcept;

  std::shared_ptr<async_pool> pool_;
  ::spdlog::async_overflow_policy policy_;
};

/// Makes an async logger with the request flags' default pattern (or
/// `pattern`) on `pool` (default: `default_log_pool()`), and registers it with
/// spdlog (so `spdlog::get(name)` finds it). When the registry lets go of
/// it (`spdlog::shutdown()`, `spdlog::drop`, normal exit), the pool is
/// drained first: every message logged before is written. A logger still
/// held after that keeps working: at exit every pool is drained, and lines
/// logged later still are written on the calling thread.
std::shared_ptr<async_logger> make_async_logger(
    std::string name, std::vector<::spdlog::sink_ptr> sinks,
    std::shared_ptr<async_pool> pool = default_log_pool(),
    std::string pattern = default_log_pattern);

}  // namespace aiolocals
