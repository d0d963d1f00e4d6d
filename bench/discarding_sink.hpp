// SPDX-License-Identifier: BSL-1.0
// A sink that formats every message with the logger's formatter and drops
// the bytes: spdlog's null_sink never formats, so a benchmark on it would
// measure no formatter at all.
#pragma once

#include <benchmark/benchmark.h>
#include <spdlog/details/null_mutex.h>
#include <spdlog/sinks/base_sink.h>

class discarding_sink final : public spdlog::sinks::base_sink<spdlog::details::null_mutex> {
 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t formatted;
    formatter_->format(msg, formatted);
    benchmark::DoNotOptimize(formatted.data());
    benchmark::ClobberMemory();
  }
  void flush_() override {}
};
