// SPDX-License-Identifier: BSL-1.0
// Core costs: local<T>::get() against a plain thread_local read (throughput
// and chained latency), copy() with 1 and 64 locals set, set(), and entering
// and leaving a context.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "aiolocals/context.hpp"
#include "aiolocals/local.hpp"
#include "aiolocals/request.hpp"
#include "aiolocals/span.hpp"
#include "aiolocals/trace/span_record.hpp"
#include "aiolocals/trace/trace_context.hpp"
#include "bench_main.hpp"

namespace {

thread_local std::uintptr_t plain_thread_local = 0;
aiolocals::local<std::uintptr_t> task_local{"task_local"};

// --- reads, throughput: independent iterations may overlap -----------------
void BM_ThreadLocalRead(benchmark::State& state) {
  plain_thread_local = 0;
  for (auto _ : state) {
    std::uintptr_t value = plain_thread_local;
    keep(value);
  }
}
BENCHMARK(BM_ThreadLocalRead);

void BM_LocalGet(benchmark::State& state) {
  aiolocals::scope scope;
  task_local.set(0);
  for (auto _ : state) {
    std::uintptr_t value = task_local.get();
    keep(value);
  }
}
BENCHMARK(BM_LocalGet);

// --- reads, chained: each read's address depends on the previous value (0),
// so the loads of one iteration cannot overlap the next (trap 3). ----------
void BM_ThreadLocalReadChained(benchmark::State& state) {
  plain_thread_local = 0;
  std::uintptr_t previous = 0;
  for (auto _ : state) {
    std::uintptr_t* address = &plain_thread_local;
    keep(address);
    previous = address[previous];
    keep(previous);
  }
}
BENCHMARK(BM_ThreadLocalReadChained);

void BM_LocalGetChained(benchmark::State& state) {
  aiolocals::scope scope;
  task_local.set(0);
  std::uintptr_t previous = 0;
  for (auto _ : state) {
    const aiolocals::local<std::uintptr_t>* var = &task_local;
    keep(var);
    previous = var[previous].get();
    keep(previous);
  }
}
BENCHMARK(BM_LocalGetChained);

// --- copy(): O(1) whatever the number of values -----------------------------
void BM_CopyContext(benchmark::State& state) {
  static std::vector<std::unique_ptr<aiolocals::local<int>>> many = [] {
    std::vector<std::unique_ptr<aiolocals::local<int>>> v;
    for (int i = 0; i < 64; ++i) v.push_back(std::make_unique<aiolocals::local<int>>("many"));
    return v;
  }();
  aiolocals::scope scope;
  for (int i = 0; i < state.range(0); ++i) many[i]->set(i);
  aiolocals::context current = aiolocals::context::current();
  for (auto _ : state) {
    aiolocals::context copy = current.copy();
    benchmark::DoNotOptimize(copy);
  }
  state.SetLabel(std::to_string(state.range(0)) + " locals set");
}
BENCHMARK(BM_CopyContext)->Arg(1)->Arg(64);

// --- copy() + the first set() in the copy (the clone), with 1 vs 100,000
// locals made at run time: none (0), made and destroyed (1), alive but
// unset (2). The measured local is made last: the newest key. -------------
void BM_CopyThenSet(benchmark::State& state) {
  static std::vector<std::unique_ptr<aiolocals::local<int>>> alive;
  auto make_many = [] {
    std::vector<std::unique_ptr<aiolocals::local<int>>> v;
    for (int i = 0; i < 100000; ++i) v.push_back(std::make_unique<aiolocals::local<int>>("many"));
    return v;
  };
  if (state.range(0) == 1) make_many();
  if (state.range(0) == 2 && alive.empty()) alive = make_many();
  aiolocals::local<int> measured{"measured"};
  aiolocals::scope scope;
  measured.set(1);
  aiolocals::context current = aiolocals::context::current();
  for (auto _ : state) {
    aiolocals::context copy = current.copy();
    copy.run([&] { measured.set(2); });
    benchmark::DoNotOptimize(copy);
  }
  static const char* const labels[] = {"no other locals", "100k made and destroyed",
                                       "100k alive, unset"};
  state.SetLabel(labels[state.range(0)]);
  if (state.range(0) == 2) alive.clear();
}
BENCHMARK(BM_CopyThenSet)->Arg(0)->Arg(1)->Arg(2);

// --- set() on an unshared context (token dropped, as usual) ------------------
void BM_SetInt(benchmark::State& state) {
  aiolocals::scope scope;
  std::uintptr_t i = 0;
  for (auto _ : state) task_local.set(++i);
}
BENCHMARK(BM_SetInt);

// --- entering and leaving: what the Asio adapter pays per resumption -------
void BM_RunEmpty(benchmark::State& state) {
  aiolocals::context ctx;
  for (auto _ : state) {
    ctx.run([] { benchmark::ClobberMemory(); });
  }
}
BENCHMARK(BM_RunEmpty);

void BM_ScopeEnterLeave(benchmark::State& state) {
  aiolocals::context ctx;
  ctx.run([] { task_local.set(1); });
  for (auto _ : state) {
    aiolocals::scope guard(ctx);
    benchmark::ClobberMemory();
  }
}
BENCHMARK(BM_ScopeEnterLeave);

// The same opened inside another context: the placement check a scope
// opened in the thread's root pays (BM_ScopeEnterLeave) is skipped here,
// so the difference between the two is that check's cost.
void BM_ScopeEnterLeaveOutsideTheRoot(benchmark::State& state) {
  aiolocals::context ctx;
  ctx.run([] { task_local.set(1); });
  aiolocals::scope outer;
  for (auto _ : state) {
    aiolocals::scope guard(ctx);
    benchmark::ClobberMemory();
  }
}
BENCHMARK(BM_ScopeEnterLeaveOutsideTheRoot);

// --- W3C trace context per request: parse the incoming traceparent, make
// this hop's span id and the traceparent to send downstream. -------------
void BM_TraceparentParseAndNextHop(benchmark::State& state) {
  const std::string incoming = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  for (auto _ : state) {
    auto parent = aiolocals::parse_traceparent(std::string_view(incoming));
    benchmark::DoNotOptimize(parent);
    const aiolocals::span_id span = aiolocals::generate_span_id();
    std::string outgoing = aiolocals::format_traceparent(parent->trace, span, parent->flags);
    benchmark::DoNotOptimize(outgoing);
  }
}
BENCHMARK(BM_TraceparentParseAndNextHop);

// --- Spans: a block's enter and exit inside a request (its record's trace
// current), against the same block run in a context copy with no span
// (the floor: copy, enter, leave). ---------------------------------------
template <class Body>
void in_request(Body body) {
  aiolocals::context request_context;
  request_context.run([&] {
    aiolocals::request_info info;
    info.id = "bench-request";
    info.trace = aiolocals::start_trace();
    aiolocals::request.set(std::move(info));
    body();
  });
}

void BM_ContextCopyRunBaseline(benchmark::State& state) {
  in_request([&] {
    for (auto _ : state) {
      const aiolocals::context copy = aiolocals::context::current().copy();
      copy.run([] { benchmark::ClobberMemory(); });
    }
  });
}
BENCHMARK(BM_ContextCopyRunBaseline);

void BM_SpanEnterExitNoSink(benchmark::State& state) {
  aiolocals::remove_span_sinks();
  in_request([&] {
    for (auto _ : state) aiolocals::span("block", [] { benchmark::ClobberMemory(); });
  });
}
BENCHMARK(BM_SpanEnterExitNoSink);

// With the JSON-lines sink formatting every record into a line it then
// discards (the line is built; only the write is skipped).
void BM_SpanEnterExitJsonSink(benchmark::State& state) {
  aiolocals::remove_span_sinks();
  aiolocals::add_span_sink(aiolocals::json_lines_span_sink(
      [](std::string_view line) { benchmark::DoNotOptimize(line.data()); }));
  in_request([&] {
    for (auto _ : state) aiolocals::span("block", [] { benchmark::ClobberMemory(); });
  });
  aiolocals::remove_span_sinks();
}
BENCHMARK(BM_SpanEnterExitJsonSink);

}  // namespace

AIOLOCALS_BENCHMARK_MAIN()
