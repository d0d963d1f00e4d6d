// SPDX-License-Identifier: BSL-1.0
// A span sink for tests: keeps every record, thread-safe; installed for the
// lifetime of the object (every sink is removed at its end).
#pragma once

#include <mutex>
#include <vector>

#include "aiolocals/trace/span_record.hpp"

namespace test_support {

class span_collector {
 public:
  span_collector() {
    aiolocals::remove_span_sinks();
    aiolocals::add_span_sink([this](const aiolocals::span_record& r) {
      std::lock_guard lock(mutex_);
      records_.push_back(r);
    });
  }
  ~span_collector() {
    aiolocals::remove_span_sinks();
    aiolocals::record_sampled_spans_only(false);
  }
  span_collector(const span_collector&) = delete;
  span_collector& operator=(const span_collector&) = delete;

  std::vector<aiolocals::span_record> records() const {
    std::lock_guard lock(mutex_);
    return records_;
  }
  const aiolocals::span_record* find(std::string_view name) const {
    std::lock_guard lock(mutex_);
    for (const auto& r : records_)
      if (r.name == name) return &r;
    return nullptr;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<aiolocals::span_record> records_;
};

}  // namespace test_support
