// SPDX-License-Identifier: BSL-1.0
// The line's origin (target aiolocals::spdlog): whether the current context
// is the one a line being formatted was logged in, and the once-per-logger
// warnings when it is not. See aiolocals/spdlog/flags.hpp, "Never a wrong id".
#include "aiolocals/spdlog.hpp"

#include <spdlog/sinks/sink.h>
#include <spdlog/spdlog.h>

#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "spdlog_internal.hpp"

namespace aiolocals {

constinit thread_local detail::flag_thread_state detail::flag_state
    [[gnu::tls_model("initial-exec")]]{};

namespace {

using detail::flag_state;
using detail::is_stored_copy;
using detail::line_origin;
using detail::this_thread_id;

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

}  // namespace aiolocals
