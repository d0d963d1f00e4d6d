// The compiled part of aiolocals::spdlog: flags, configure_logging and the
// context-carrying async logger.
#include "aiolocals/spdlog.hpp"

#include <spdlog/sinks/sink.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <string_view>

#include "aiolocals/request.hpp"

namespace aiolocals::spdlog {
namespace {

// One flag: a field of the current request, escaped; '-' outside a request
// or when the field is empty (a job has no method).
template <std::string request_info::*field>
class request_field_flag final : public ::spdlog::custom_flag_formatter {
 public:
  void format(const ::spdlog::details::log_msg&, const std::tm&,
              ::spdlog::memory_buf_t& dest) override {
    const request_info* current = request.find();
    if (current != nullptr && !((*current).*field).empty()) {
      append_escaped(dest, (*current).*field);
    } else {
      dest.push_back('-');
    }
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<request_field_flag>();
  }
};

}  // namespace

void add_request_flags(::spdlog::pattern_formatter& formatter) {
  formatter.add_flag<request_field_flag<&request_info::id>>(request_id_flag);
  formatter.add_flag<request_field_flag<&request_info::path>>(request_path_flag);
  formatter.add_flag<request_field_flag<&request_info::method>>(request_method_flag);
}

std::unique_ptr<::spdlog::pattern_formatter> make_formatter(std::string pattern) {
  auto formatter = std::make_unique<::spdlog::pattern_formatter>();
  add_request_flags(*formatter);
  formatter->set_pattern(std::move(pattern));
  return formatter;
}

void configure_logging(std::string pattern) {
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
        "would carry wrong ids; create it with aiolocals::spdlog::make_async_logger instead");
  }
  ::spdlog::set_formatter(make_formatter(std::move(pattern)));
}

// --- async_pool ---------------------------------------------------------------

async_pool::async_pool(std::size_t queue_size, std::size_t threads) : queue_(queue_size) {
  for (std::size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { work(); });
}

async_pool::~async_pool() {
  for (std::size_t i = 0; i < threads_.size(); ++i) {
    message stop;
    stop.kind = message_kind::stop;
    post(std::move(stop), ::spdlog::async_overflow_policy::block);
  }
  for (auto& thread : threads_) thread.join();
}

void async_pool::post(message&& item, ::spdlog::async_overflow_policy policy) {
  if (policy == ::spdlog::async_overflow_policy::block) {
    queue_.enqueue(std::move(item));
  } else {
    queue_.enqueue_nowait(std::move(item));
  }
}

void async_pool::work() {
  for (;;) {
    message item;
    if (!queue_.dequeue_for(item, std::chrono::seconds(10))) continue;
    switch (item.kind) {
      case message_kind::log:
        // Format inside the caller's context, as if on the caller's thread.
        item.snapshot->run([&] { item.logger->write_to_sinks(item); });
        break;
      case message_kind::flush:
        item.logger->flush_sinks();
        break;
      case message_kind::stop:
        return;
    }
  }
}

// --- async_logger -------------------------------------------------------------

async_logger::async_logger(std::string name, std::vector<::spdlog::sink_ptr> sinks,
                           std::weak_ptr<async_pool> pool, ::spdlog::async_overflow_policy policy)
    : logger(std::move(name), sinks.begin(), sinks.end()),
      pool_(std::move(pool)),
      policy_(policy) {}

std::shared_ptr<::spdlog::logger> async_logger::clone(std::string new_name) {
  auto cloned = std::make_shared<async_logger>(*this);
  cloned->name_ = std::move(new_name);
  return cloned;
}

void async_logger::sink_it_(const ::spdlog::details::log_msg& msg) {
  auto pool = pool_.lock();
  if (!pool) ::spdlog::throw_spdlog_ex("aiolocals async log: the pool no longer exists");
  pool->post(async_pool::message(async_pool::message_kind::log, shared_from_this(), msg,
                                 context::current().copy()),
             policy_);
}

void async_logger::flush_() {
  auto pool = pool_.lock();
  if (!pool) ::spdlog::throw_spdlog_ex("aiolocals async flush: the pool no longer exists");
  ::spdlog::details::log_msg empty;
  pool->post(
      async_pool::message(async_pool::message_kind::flush, shared_from_this(), empty, std::nullopt),
      policy_);
}

void async_logger::write_to_sinks(const ::spdlog::details::log_msg& msg) {
  for (auto& sink : sinks_) {
    if (!sink->should_log(msg.level)) continue;
    try {
      sink->log(msg);
    } catch (const std::exception& e) {
      err_handler_(e.what());
    } catch (...) {
      err_handler_("unknown exception in an aiolocals async logger's sink");
    }
  }
  if (should_flush_(msg)) flush_sinks();
}

void async_logger::flush_sinks() {
  for (auto& sink : sinks_) {
    try {
      sink->flush();
    } catch (const std::exception& e) {
      err_handler_(e.what());
    } catch (...) {
      err_handler_("unknown exception in an aiolocals async logger's flush");
    }
  }
}

std::shared_ptr<async_logger> make_async_logger(std::string name,
                                                std::vector<::spdlog::sink_ptr> sinks,
                                                std::shared_ptr<async_pool> pool,
                                                std::string pattern) {
  auto logger = std::make_shared<async_logger>(std::move(name), std::move(sinks), pool);
  logger->set_formatter(make_formatter(std::move(pattern)));
  ::spdlog::register_logger(logger);
  return logger;
}

}  // namespace aiolocals::spdlog
