// SPDX-License-Identifier: BSL-1.0
// Collects what a logger's error handler is told, for tests of the
// warnings aiolocals gives through it.
#pragma once

#include <spdlog/logger.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

// Collects what a logger's error handler is told. Warnings about plain
// loggers arrive from aiolocals' reporter thread: first() waits for one.
class warning_catcher {
 public:
  explicit warning_catcher(spdlog::logger& logger) {
    logger.set_error_handler([this](const std::string& text) {
      std::lock_guard lock(mutex_);
      texts_.push_back(text);
      arrived_.notify_all();
    });
  }
  std::string first() {
    std::unique_lock lock(mutex_);
    arrived_.wait_for(lock, std::chrono::seconds(20), [this] { return !texts_.empty(); });
    return texts_.empty() ? std::string("(no warning)") : texts_.front();
  }
  int count() {
    std::lock_guard lock(mutex_);
    return static_cast<int>(texts_.size());
  }

 private:
  std::mutex mutex_;
  std::condition_variable arrived_;
  std::vector<std::string> texts_;
};
