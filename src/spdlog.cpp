// SPDX-License-Identifier: BSL-1.0
// The compiled part of the spdlog integration (target aiolocals::spdlog): flags, configure_logging
// and the context-carrying async logger.
#include "aiolocals/spdlog.hpp"

#include <spdlog/details/mpmc_blocking_q.h>
#include <spdlog/details/os.h>
#include <spdlog/sinks/sink.h>
#include <spdlog/spdlog.h>

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <cstdio>
#include <mutex>
#include <set>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>

#include "aiolocals/log/escape.hpp"
#include "aiolocals/request.hpp"
#include "spdlog_internal.hpp"

namespace aiolocals {

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
constinit thread_local flag_thread_state flag_state [[gnu::tls_model("initial-exec")]]{};

// spdlog's id of the calling thread, as log_msg::thread_id holds it.
std::size_t this_thread_id() noexcept {
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
bool is_stored_copy(const ::spdlog::details::log_msg& msg) noexcept {
  return msg.logger_name.data() + msg.logger_name.size() == msg.payload.data();
}

// Calls a logger's error handler (protected in spdlog::logger).
struct error_handler_access : ::spdlog::logger {
  static void report(::spdlog::logger& logger, const std::string& text) {
    (logger.*&error_handler_access::err_handler_)(text);
  }
};

// The loggers already warned of one problem: each says it once.
class warned_loggers {
 public:
  bool first_time(std::string_view logger) {
    // This thread's last answer, without the lock: a misconfigured logger
    // asks for each flag of each line.
    thread_local const warned_loggers* last_owner = nullptr;
    thread_local std::string last_logger;
    if (last_owner == this && logger == last_logger) return false;
    last_owner = this;
    last_logger.assign(logger.data(), logger.size());
    std::lock_guard lock(mutex_);
    return names_.emplace(logger).second;
  }

 private:
  std::mutex mutex_;
  std::set<std::string, std::less<>> names_;
};

// Hands warnings about plain loggers to the loggers' error handlers from a
// thread of its own: a flag runs with the sink's mutex held, and spdlog
// takes the registry's mutex before a sink's (set_formatter), so looking a
// logger up there could deadlock. Started on first use; stopped and joined
// at exit before spdlog's registry is destroyed (it was constructed after).
class warning_reporter {
 public:
  static warning_reporter& instance() {
    static warning_reporter reporter;
    return reporter;
  }
  void report(std::string logger, std::string text) {
    std::lock_guard lock(mutex_);
    pending_.emplace_back(std::move(logger), std::move(text));
    ready_.notify_one();
  }
  ~warning_reporter() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
      ready_.notify_one();
    }
    thread_.join();
  }

 private:
  warning_reporter() : thread_([this] { run(); }) {}
  void run() {
    std::unique_lock lock(mutex_);
    for (;;) {
      ready_.wait(lock, [this] { return stopping_ || !pending_.empty(); });
      while (!pending_.empty()) {
        auto [name, text] = std::move(pending_.front());
        pending_.erase(pending_.begin());
        lock.unlock();
        if (auto logger = ::spdlog::get(name)) {
          error_handler_access::report(*logger, text);
        } else {
          std::fprintf(stderr, "%s\n", text.c_str());
        }
        lock.lock();
      }
      if (stopping_) return;
    }
  }

  std::mutex mutex_;
  std::condition_variable ready_;
  std::vector<std::pair<std::string, std::string>> pending_;
  bool stopping_ = false;
  std::thread thread_;
};

// Says `text` once per logger, through the error handler of the logger that
// made `msg` (stderr if it cannot be found): at once on our worker, which
// knows its logger; through the reporter thread otherwise.
void warn_once(warned_loggers& warned, const ::spdlog::details::log_msg& msg, const char* text) {
  const std::string_view name(msg.logger_name.data(), msg.logger_name.size());
  if (!warned.first_time(name)) return;
  std::string message = std::string(text) + " (logger '" + std::string(name) + "')";
  if (flag_state.logger != nullptr) {
    error_handler_access::report(*flag_state.logger, message);
  } else {
    warning_reporter::instance().report(std::string(name), std::move(message));
  }
}

warned_loggers said_other_thread, said_stored_copy;

constexpr const char* stored_copy_warning =
    "aiolocals: a line is formatted from a stored copy (dump_backtrace(), a ringbuffer_sink read "
    "later, a sink that keeps lines), away from the log call that made it, where its request "
    "is not known; its request flags print (unknown)";

}  // namespace

bool detail::context_is_the_lines(const ::spdlog::details::log_msg& msg) {
  switch (flag_state.origin) {
    case line_origin::snapshot:
      return true;
    case line_origin::unknown:
      warn_once(said_stored_copy, msg, stored_copy_warning);
      return false;
    case line_origin::this_thread:
      break;
  }
  if (msg.thread_id != this_thread_id()) [[unlikely]] {
    warn_once(said_other_thread, msg,
              "aiolocals: a line is formatted on another thread than the one that logged it "
              "(a spdlog::async_logger?), where its request is not known; its request flags "
              "print (unknown). Use aiolocals::make_async_logger");
    return false;
  }
  if (is_stored_copy(msg)) [[unlikely]] {
    warn_once(said_stored_copy, msg, stored_copy_warning);
    return false;
  }
  return true;
}

namespace {

using detail::context_is_the_lines;

// Appends `text` escaped, honouring spdlog's padding spec (%8q, %-36q,
// %=10U, %8!q truncates) as the built-in flags do.
void append_padded(::spdlog::memory_buf_t& dest, std::string_view text,
                   const ::spdlog::details::padding_info& padding, bool escape) {
  if (!padding.enabled()) {
    if (escape) {
      append_escaped(dest, text);
    } else {
      dest.append(text.data(), text.data() + text.size());
    }
    return;
  }
  ::spdlog::memory_buf_t field;
  if (escape) {
    append_escaped(field, text);
  } else {
    field.append(text.data(), text.data() + text.size());
  }
  std::size_t size = field.size();
  if (padding.truncate_ && size > padding.width_) size = padding.width_;
  const std::size_t pad = padding.width_ > size ? padding.width_ - size : 0;
  using side = ::spdlog::details::padding_info::pad_side;
  const std::size_t before = padding.side_ == side::left     ? pad
                             : padding.side_ == side::center ? pad / 2
                                                             : 0;
  for (std::size_t i = 0; i < before; ++i) dest.push_back(' ');
  dest.append(field.data(), field.data() + size);
  for (std::size_t i = before; i < pad; ++i) dest.push_back(' ');
}

// One flag: a field of the current request, '-' outside a request or when
// the field is empty (a job has no method, a record may have no trace), the
// marker where the line's request cannot be known. `Field` says what to read
// and whether it needs escaping (client bytes do; hex ids do not).
template <class Field>
class request_flag final : public ::spdlog::custom_flag_formatter {
 public:
  void format(const ::spdlog::details::log_msg& msg, const std::tm&,
              ::spdlog::memory_buf_t& dest) override {
    if (!context_is_the_lines(msg)) {
      append_padded(dest, unknown_context_marker, padinfo_, false);
      return;
    }
    const request_info* current = request.find();
    typename Field::scratch scratch{};
    const std::string_view value = current != nullptr ? Field::read(*current, scratch) : "";
    if (value.empty()) {
      append_padded(dest, "-", padinfo_, false);
    } else {
      append_padded(dest, value, padinfo_, Field::escape);
    }
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<request_flag>();
  }
};

// %Q: the seed's tag "<path>#<id>" as one flag, exactly what "%U#%q"
// prints, with one context check and one lookup where "%U#%q" takes two of
// each and two more pattern pieces (spdlog calls one formatter per piece).
class request_tag_flag final : public ::spdlog::custom_flag_formatter {
 public:
  void format(const ::spdlog::details::log_msg& msg, const std::tm&,
              ::spdlog::memory_buf_t& dest) override {
    if (!padinfo_.enabled()) {
      write(msg, dest);
      return;
    }
    ::spdlog::memory_buf_t tag;
    write(msg, tag);
    append_padded(dest, {tag.data(), tag.size()}, padinfo_, false);
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<request_tag_flag>();
  }

 private:
  static void write(const ::spdlog::details::log_msg& msg, ::spdlog::memory_buf_t& out) {
    if (!context_is_the_lines(msg)) {
      append_part(out, unknown_context_marker, false);
      out.push_back('#');
      append_part(out, unknown_context_marker, false);
      return;
    }
    const request_info* current = request.find();
    const std::string_view path = current != nullptr ? std::string_view(current->path) : "";
    const std::string_view id = current != nullptr ? std::string_view(current->id) : "";
    if (!path.empty() && !id.empty() && !detail::needs_escaping<'\\'>(path) &&
        !detail::needs_escaping<'\\'>(id)) {
      // The usual line: both parts safe as they are, written with one
      // capacity check instead of three appends.
      const std::size_t start = out.size();
      out.resize(start + path.size() + 1 + id.size());
      char* at = out.data() + start;
      std::memcpy(at, path.data(), path.size());
      at[path.size()] = '#';
      std::memcpy(at + path.size() + 1, id.data(), id.size());
      return;
    }
    append_part(out, path, true);
    out.push_back('#');
    append_part(out, id, true);
  }
  static void append_part(::spdlog::memory_buf_t& out, std::string_view text, bool escape) {
    if (text.empty()) {
      out.push_back('-');
    } else if (escape) {
      append_escaped(out, text);
    } else {
      out.append(text.data(), text.data() + text.size());
    }
  }
};

// %q %U %W: a string field of the record, escaped.
template <std::string request_info::*member>
struct text_field {
  static constexpr bool escape = true;
  struct scratch {};
  static std::string_view read(const request_info& info, scratch&) noexcept { return info.*member; }
};

// %J / %K: the W3C trace id / this hop's span id in lowercase hex, written
// into a buffer on the stack (no allocation per line).
template <bool span>
struct trace_field {
  static constexpr bool escape = false;
  using scratch = std::array<char, 32>;
  static std::string_view read(const request_info& info, scratch& hex) noexcept {
    if (!info.trace.is_valid()) return {};
    const std::span<const std::uint8_t> bytes =
        span ? std::span<const std::uint8_t>(info.trace.span.bytes) : info.trace.trace.bytes;
    return {hex.data(), static_cast<std::size_t>(detail::write_hex(bytes, hex.data()) - hex.data())};
  }
};

}  // namespace

void add_request_flags(::spdlog::pattern_formatter& formatter) {
  formatter.add_flag<request_flag<trace_field<false>>>(request_trace_id_flag);
  formatter.add_flag<request_flag<trace_field<true>>>(request_span_id_flag);
  formatter.add_flag<request_flag<text_field<&request_info::id>>>(request_id_flag);
  formatter.add_flag<request_flag<text_field<&request_info::path>>>(request_path_flag);
  formatter.add_flag<request_flag<text_field<&request_info::method>>>(request_method_flag);
  formatter.add_flag<request_tag_flag>(request_tag_flag_letter);
}

std::unique_ptr<::spdlog::pattern_formatter> make_formatter(std::string pattern) {
  auto formatter = std::make_unique<::spdlog::pattern_formatter>();
  add_request_flags(*formatter);
  formatter->set_pattern(std::move(pattern));
  return formatter;
}

void detail::set_formatter_everywhere(std::unique_ptr<::spdlog::formatter> formatter) {
  std::string refused;
  ::spdlog::apply_all([&](const std::shared_ptr<::spdlog::logger>& logger) {
    if (std::dynamic_pointer_cast<::spdlog::async_logger>(logger)) {
      refused += (refused.empty() ? "'" : ", '") + logger->name() + "'";
    }
  });
  if (!refused.empty()) {
    throw configuration_error(
        "aiolocals: spdlog::async_logger " + refused +
        " formats on its worker thread, where the caller's request is not known, so its lines "
        "would carry no ids; create it with aiolocals::make_async_logger instead");
  }
  ::spdlog::set_formatter(std::move(formatter));
}

void configure_logging(std::string pattern) {
  detail::set_formatter_everywhere(make_formatter(std::move(pattern)));
}

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
