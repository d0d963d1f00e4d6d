// SPDX-License-Identifier: BSL-1.0
// Shared main for the benchmarks: starts and joins one thread first, so that
// libstdc++ uses real atomics for reference counts as a server would (it
// skips them in a program that has never started a thread).
#pragma once

#include <benchmark/benchmark.h>

#include <thread>

#define AIOLOCALS_BENCHMARK_MAIN()                                    \
  int main(int argc, char** argv) {                                   \
    std::thread([] {}).join();                                        \
    benchmark::Initialize(&argc, argv);                               \
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1; \
    benchmark::RunSpecifiedBenchmarks();                              \
    benchmark::Shutdown();                                            \
    return 0;                                                         \
  }

// Forces `value` into a register and hides it from the optimiser, so a load
// that produced it cannot be dropped or hoisted (trap 2).
template <class T>
inline void keep(T& value) {
  asm volatile("" : "+r"(value));
}
