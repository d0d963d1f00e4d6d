// SPDX-License-Identifier: BSL-1.0
// The context-carrying async logger and its pool (target aiolocals::spdlog):
// each message queued with a snapshot of the caller's context, formatted
// inside it on the pool's worker.
#include "aiolocals/spdlog.hpp"

#include <spdlog/details/mpmc_blocking_q.h>
#include <spdlog/sinks/sink.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "spdlog_internal.hpp"

namespace aiolocals {

using detail::flag_state;
using detail::formatting_as;
using detail::is_stored_copy;
using detail::line_origin;

// --- messages and worker state (declared in the header) -----------------------

struct async_pool::message : ::spdlog::details::log_msg_buffer {
  message_kind kind = message_kind::log;
  std::shared_ptr<async_logger> logger;
  std::optional<context> snapshot;  // optional: no allocation when queued empty
  message() = default;
  message(message_kind k, std::shared_ptr<async_logger> l, const ::spdlog::details::log_msg& m)
      : log_msg_buffer(m), kind(k), logger(std::move(l)) {}
  message(std::shared_ptr<async_logger> l, const ::spdlog::details::log_msg& m, context s)
      : log_msg_buffer(m),
        kind(message_kind::log),
        logger(std::move(l)),
        snapshot(std::in_place, std::move(s)) {}
  message(message&&) = default;
  message& operator=(message&&) = default;
};

struct async_pool::worker_state {
  explicit worker_state(std::size_t queue_size) : queue(queue_size) {}
  void work();
  void processed_one();
  void drain();

  ::spdlog::details::mpmc_blocking_queue<message> queue;
  std::vector<std::thread> threads;
  std::atomic<std::size_t> posted{0}, processed{0};
  std::atomic<int> drainers{0};
  std::mutex drain_mutex;
  std::condition_variable drained;
};

namespace {

// Every live pool, drained when the process exits (this object's static
// destructor): a logger the program still holds after spdlog::shutdown(),
// or whose last handle went away with lines still queued, would otherwise
// lose them when exit ends the worker threads. Made by the first pool, so
// destroyed after every static made later (the default pool) and before
// any made earlier (a global logger handle, which then finds its pool
// drained). From then on, async loggers write on the calling thread.
class pool_registry {
 public:
  static pool_registry& instance() {
    static pool_registry registry;
    return registry;
  }
  using drain_function = void (*)(void* state);
  void add(std::weak_ptr<void> state, drain_function drain) {
    std::lock_guard lock(mutex_);
    std::erase_if(states_, [](const auto& entry) { return entry.first.expired(); });
    states_.emplace_back(std::move(state), drain);
  }
  static bool exiting() noexcept { return exiting_.load(std::memory_order_acquire); }
  ~pool_registry() {
    exiting_.store(true, std::memory_order_release);
    std::vector<std::pair<std::weak_ptr<void>, drain_function>> states;
    {
      std::lock_guard lock(mutex_);
      states.swap(states_);
    }
    for (const auto& [weak, drain] : states) {
      if (std::shared_ptr<void> state = weak.lock()) drain(state.get());
    }
  }

 private:
  pool_registry() = default;
  std::mutex mutex_;
  std::vector<std::pair<std::weak_ptr<void>, drain_function>> states_;
  static inline std::atomic<bool> exiting_{false};
};

}  // namespace

// --- async_pool ---------------------------------------------------------------

void async_pool::worker_state::work() {
  flag_state.worker = this;
  for (;;) {
    message item;
    if (!queue.dequeue_for(item, std::chrono::seconds(10))) continue;
    switch (item.kind) {
      case message_kind::log: {
        // Format inside the caller's context, as if on the caller's thread.
        formatting_as as(line_origin::snapshot, item.logger.get());
        item.snapshot->run([&] { item.logger->write_to_sinks(item); });
        break;
      }
      case message_kind::log_without_context: {
        formatting_as as(line_origin::unknown, item.logger.get());
        item.logger->write_to_sinks(item);
        break;
      }
      case message_kind::flush:
        item.logger->flush_sinks();
        break;
      case message_kind::stop:
        return;
    }
    item = message{};  // may release the last logger, and with it this pool
    processed_one();   // after the release: a drained pool holds no logger
    if (flag_state.leave_after_message) return;
  }
}

void async_pool::worker_state::processed_one() {
  processed.fetch_add(1, std::memory_order_acq_rel);
  if (drainers.load(std::memory_order_acquire) > 0) {
    std::lock_guard lock(drain_mutex);
    drained.notify_all();
  }
}

namespace {

// Refuses what would hang: no worker never writes (and its drain at exit
// waits forever), no queue slot blocks the first log call. spdlog's own
// thread pool refuses the same, with the same bound on threads.
std::size_t checked_queue_size(std::size_t queue_size, std::size_t threads) {
  if (threads == 0 || threads > 1000) {
    throw std::invalid_argument("aiolocals::async_pool: threads must be 1-1000 (got " +
                                std::to_string(threads) +
                                "); one thread keeps each logger's lines in order");
  }
  if (queue_size == 0) {
    throw std::invalid_argument(
        "aiolocals::async_pool: queue_size must be at least 1 (got 0): every message waits in "
        "the queue; the default is 8192");
  }
  return queue_size;
}

}  // namespace

async_pool::async_pool(std::size_t queue_size, std::size_t threads)
    : state_(std::make_shared<worker_state>(checked_queue_size(queue_size, threads))) {
  pool_registry::instance().add(state_, [](void* state) {
    static_cast<worker_state*>(state)->drain();
  });
  for (std::size_t i = 0; i < threads; ++i) {
    state_->threads.emplace_back([state = state_] { state->work(); });
  }
}

async_pool::~async_pool() {
  // Every logger of this pool is gone, and queued messages keep theirs
  // alive: the queue holds nothing but what drains now. If the last logger
  // died on one of our workers (its last message), that worker is detached
  // and leaves after it; the state lives as long as any worker.
  const bool on_own_worker = flag_state.worker == state_.get();
  for (std::size_t i = on_own_worker ? 1 : 0; i < state_->threads.size(); ++i) {
    message stop;  // one for each other worker
    stop.kind = message_kind::stop;
    post(std::move(stop), ::spdlog::async_overflow_policy::block);
  }
  for (auto& thread : state_->threads) {
    if (thread.get_id() == std::this_thread::get_id()) {
      thread.detach();
      flag_state.leave_after_message = true;
    } else {
      thread.join();
    }
  }
}

std::size_t async_pool::overrun_counter() { return state_->queue.overrun_counter(); }

void async_pool::post(message&& item, ::spdlog::async_overflow_policy policy) {
  if (item.kind == message_kind::stop) {
    state_->queue.enqueue(std::move(item));
    return;
  }
  state_->posted.fetch_add(1, std::memory_order_acq_rel);
  if (policy == ::spdlog::async_overflow_policy::block) {
    state_->queue.enqueue(std::move(item));
  } else {
    state_->queue.enqueue_nowait(std::move(item));
  }
}

void async_pool::drain() { state_->drain(); }

void async_pool::worker_state::drain() {
  if (flag_state.worker == this) return;  // a worker cannot wait for itself
  const std::size_t target = posted.load(std::memory_order_acquire);
  drainers.fetch_add(1, std::memory_order_acq_rel);
  std::unique_lock lock(drain_mutex);
  // Messages dropped by overrun_oldest are never processed: count them too.
  // The timeout re-checks after such a drop, which notifies nobody.
  while (processed.load(std::memory_order_acquire) + queue.overrun_counter() < target) {
    drained.wait_for(lock, std::chrono::milliseconds(50));
  }
  lock.unlock();
  drainers.fetch_sub(1, std::memory_order_acq_rel);
}

std::shared_ptr<async_pool> default_log_pool() {
  static const std::shared_ptr<async_pool> pool = std::make_shared<async_pool>();
  return pool;
}

// --- async_logger -------------------------------------------------------------

async_logger::async_logger(std::string name, std::vector<::spdlog::sink_ptr> sinks,
                           std::shared_ptr<async_pool> pool, ::spdlog::async_overflow_policy policy)
    : logger(std::move(name), sinks.begin(), sinks.end()),
      pool_(pool != nullptr ? std::move(pool) : default_log_pool()),
      policy_(policy) {}

std::shared_ptr<::spdlog::logger> async_logger::clone(std::string new_name) {
  auto cloned = std::make_shared<async_logger>(*this);
  cloned->name_ = std::move(new_name);
  return cloned;
}

// Runs `step`; what it throws goes to the logger's error handler, as
// spdlog's own loggers do: a log call never throws.
template <class Step>
void async_logger::reporting_errors(const char* where, Step&& step) noexcept {
  try {
    step();
  } catch (const std::exception& e) {
    err_handler_(e.what());
  } catch (...) {
    err_handler_(std::string("unknown exception ") + where);
  }
}

void async_logger::sink_it_(const ::spdlog::details::log_msg& msg) {
  if (pool_registry::exiting()) [[unlikely]] {
    // The pools were drained at exit and their workers may be gone: write
    // here, in the caller's context, rather than queue a line nobody reads.
    write_to_sinks(msg);
    return;
  }
  reporting_errors("while queuing an aiolocals async log message", [&] {
    if (is_stored_copy(msg)) {  // a backtrace replay: its context is long gone
      pool_->post(async_pool::message(async_pool::message_kind::log_without_context,
                                      shared_from_this(), msg),
                  policy_);
    } else {
      pool_->post(async_pool::message(shared_from_this(), msg, context::current().copy()), policy_);
    }
  });
}

void async_logger::flush_() {
  reporting_errors("while queuing an aiolocals async flush", [&] {
    ::spdlog::details::log_msg empty;
    pool_->post(async_pool::message(async_pool::message_kind::flush, shared_from_this(), empty),
                policy_);
  });
}

void async_logger::wait_until_written() {
  pool_->drain();
  flush_sinks();  // written, not just handed to a buffered sink
}

void async_logger::write_to_sinks(const ::spdlog::details::log_msg& msg) {
  for (auto& sink : sinks_) {
    if (sink->should_log(msg.level)) {
      reporting_errors("in an aiolocals async logger's sink", [&] { sink->log(msg); });
    }
  }
  if (should_flush_(msg)) flush_sinks();
}

void async_logger::flush_sinks() {
  for (auto& sink : sinks_) {
    reporting_errors("in an aiolocals async logger's flush", [&] { sink->flush(); });
  }
}

std::shared_ptr<async_logger> make_async_logger(std::string name,
                                                std::vector<::spdlog::sink_ptr> sinks,
                                                std::shared_ptr<async_pool> pool,
                                                std::string pattern) {
  auto logger = std::make_shared<async_logger>(std::move(name), std::move(sinks), std::move(pool));
  logger->set_formatter(make_formatter(std::move(pattern)));
  // The registry gets its own owner of the logger, whose release (on
  // spdlog::shutdown(), drop, or the registry's destruction at exit) first
  // drains the pool, as spdlog's shutdown does for its own thread pool.
  std::shared_ptr<async_logger> registered(logger.get(), [keep = logger](async_logger*) mutable {
    keep->wait_until_written();
    keep.reset();
  });
  ::spdlog::register_logger(registered);
  return logger;
}

}  // namespace aiolocals
