// SPDX-License-Identifier: BSL-1.0
// The Asio adapter's costs, each beside its baseline in the same run:
// posting no-op handlers (bare io_context executor, context_executor,
// strand), a coroutine's co_await round trips, and co_spawn (plain, onto
// a do-nothing adapter, onto a strand).
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <atomic>
#include <cstdlib>
#include <optional>
#include <string>

#include "aiolocals/asio.hpp"
#include "aiolocals/local.hpp"
#include "bench_main.hpp"

namespace asio = boost::asio;

namespace {

aiolocals::local<std::string> request_id{"request_id"};
constexpr int handlers = 1'000'000;

// A context with a value in it, as a request's would have.
aiolocals::context request_context() {
  aiolocals::context ctx;
  ctx.run([] { request_id.set("4bf92f3577b34da6a3ce929d0e0e4736"); });
  return ctx;
}

// 1M no-op functions, posted and run in batches of 1,000: a queue of a
// million operations made every figure bimodal (CV 30-47 %: each operation
// a fresh malloc), a batch's operations come from Asio's recycling
// allocator, as a server's do.
template <class Executor>
void post_noops(benchmark::State& state, asio::io_context& io, const Executor& ex) {
  constexpr int batch = 1'000;
  for (auto _ : state) {
    for (int done = 0; done < handlers; done += batch) {
      for (int i = 0; i < batch; ++i) asio::post(ex, [] {});
      io.run();
      io.restart();
    }
  }
  state.SetItemsProcessed(state.iterations() * handlers);
}

void BM_PostBare(benchmark::State& state) {
  asio::io_context io(1);
  post_noops(state, io, io.get_executor());
}
void BM_PostContextExecutor(benchmark::State& state) {
  asio::io_context io(1);
  post_noops(state, io, aiolocals::context_executor(io.get_executor(), request_context()));
}
void BM_PostStrand(benchmark::State& state) {
  asio::io_context io(1);
  post_noops(state, io, asio::make_strand(io.get_executor()));
}
// The floor of any executor adapter under Asio 1.81: one that wraps each
// function in a struct of its own and forwards everything, doing no work.
// What ours adds over it is the context: a reference held while queued
// (an atomic increment and decrement) and the enter/leave (a
// compare-exchange that keeps two threads out of one context, a store).
template <class Function, class Payload>
struct passed_through {
  Function function;
  [[no_unique_address]] Payload payload;  // kept while queued, as a context is
  void operator()() {
    if constexpr (requires { payload.try_enter(); }) {
      if (!payload.try_enter()) std::abort();  // never contended here
      function();
      payload.leave();
    } else {
      function();
    }
  }
};
struct no_payload {
  friend bool operator==(no_payload, no_payload) noexcept { return true; }
};
template <class Inner, class Payload = no_payload>
class pass_through_executor {
 public:
  explicit pass_through_executor(const Inner& inner, Payload payload = {})
      : inner_(inner), payload_(std::move(payload)) {}
  template <class Property>
  requires asio::can_query<const Inner&, Property>::value decltype(auto) query(
      const Property& p) const {
    return asio::query(inner_, p);
  }
  // Each on an lvalue copies the payload, on an rvalue moves it (as ours
  // does, so that the floor is no slower than it need be).
  template <class Property>
  requires asio::can_require<const Inner&, Property>::value auto require(const Property& p) const& {
    return rewrap(asio::require(inner_, p), Payload(payload_));
  }
  template <class Property>
  requires asio::can_require<const Inner&, Property>::value auto require(const Property& p) && {
    return rewrap(asio::require(inner_, p), std::move(payload_));
  }
  template <class Property>
  requires asio::can_prefer<const Inner&, Property>::value auto prefer(const Property& p) const& {
    return rewrap(asio::prefer(inner_, p), Payload(payload_));
  }
  template <class Property>
  requires asio::can_prefer<const Inner&, Property>::value auto prefer(const Property& p) && {
    return rewrap(asio::prefer(inner_, p), std::move(payload_));
  }
  template <class Function>
  void execute(Function&& f) const& {
    asio::execution::execute(inner_, passed_through<std::decay_t<Function>, Payload>{
                                         std::forward<Function>(f), payload_});
  }
  template <class Function>
  void execute(Function&& f) && {
    asio::execution::execute(inner_, passed_through<std::decay_t<Function>, Payload>{
                                         std::forward<Function>(f), std::move(payload_)});
  }
  friend bool operator==(const pass_through_executor& a, const pass_through_executor& b) noexcept {
    return a.inner_ == b.inner_ && a.payload_ == b.payload_;
  }
  friend bool operator!=(const pass_through_executor& a, const pass_through_executor& b) noexcept {
    return !(a == b);
  }

 private:
  template <class Other>
  static pass_through_executor<std::decay_t<Other>, Payload> rewrap(Other&& inner,
                                                                    Payload payload) {
    return pass_through_executor<std::decay_t<Other>, Payload>(std::forward<Other>(inner),
                                                               std::move(payload));
  }
  Inner inner_;
  [[no_unique_address]] Payload payload_;
};
// A handle to a per-task heap object with an atomic count, as our context
// handle is: what the do-nothing adapter costs once it carries one. With
// `Exclusive`, each function also takes the object as a try-lock does (a
// compare-exchange before, a store after), as entering a context does:
// what any adapter costs that keeps one object's functions off two threads
// at once.
template <bool Exclusive = false>
class basic_counted_handle {
 public:
  basic_counted_handle() : object_(new object) {}
  basic_counted_handle(const basic_counted_handle& other) noexcept : object_(other.object_) {
    object_->count.fetch_add(1, std::memory_order_relaxed);
  }
  basic_counted_handle(basic_counted_handle&& other) noexcept
      : object_(std::exchange(other.object_, nullptr)) {}
  basic_counted_handle& operator=(basic_counted_handle other) noexcept {
    std::swap(object_, other.object_);
    return *this;
  }
  ~basic_counted_handle() {
    if (object_ != nullptr && object_->count.fetch_sub(1, std::memory_order_acq_rel) == 1)
      delete object_;
  }
  friend bool operator==(const basic_counted_handle& a, const basic_counted_handle& b) noexcept {
    return a.object_ == b.object_;
  }
  bool try_enter() noexcept
    requires Exclusive
  {
    const void* expected = nullptr;  // the object's own address marks it taken
    return object_->owner.compare_exchange_strong(expected, object_, std::memory_order_acquire,
                                                  std::memory_order_relaxed);
  }
  void leave() noexcept
    requires Exclusive
  {
    object_->owner.store(nullptr, std::memory_order_release);
  }

 private:
  struct object {
    std::atomic<int> count{1};
    std::atomic<const void*> owner{nullptr};  // used with Exclusive
    void* table = nullptr;                    // what a context copy also points at
  };
  object* object_;
};
using counted_handle = basic_counted_handle<>;
using exclusive_counted_handle = basic_counted_handle<true>;
void BM_PostPassThroughAdapter(benchmark::State& state) {
  asio::io_context io(1);
  post_noops(state, io, pass_through_executor(io.get_executor()));
}
// The same adapter carrying a counted handle (one object for all posts, as
// one context is): the floor of any adapter that must keep an object alive
// while its functions are queued.
void BM_PostCountedPassThroughAdapter(benchmark::State& state) {
  asio::io_context io(1);
  post_noops(state, io, pass_through_executor(io.get_executor(), counted_handle()));
}
// The same keeping the object's functions off two threads at once: the
// floor of any adapter that guarantees what a context's entry does.
void BM_PostExclusiveCountedPassThroughAdapter(benchmark::State& state) {
  asio::io_context io(1);
  post_noops(state, io, pass_through_executor(io.get_executor(), exclusive_counted_handle()));
}
BENCHMARK(BM_PostPassThroughAdapter)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_PostCountedPassThroughAdapter)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_PostExclusiveCountedPassThroughAdapter)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_PostBare)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_PostContextExecutor)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_PostStrand)->Unit(benchmark::kMillisecond);

asio::awaitable<void> round_trips(int count) {
  for (int i = 0; i < count; ++i) co_await asio::post(asio::use_awaitable);
}
asio::awaitable<void> empty_task() { co_return; }
constexpr int spawns = 100'000;

// Each iteration: `start(io)` queues the work, then the io_context runs it
// all. `with_context`: inside a context holding a request id, as a server's
// tasks are.
template <class Start>
void run_batches(benchmark::State& state, int items, bool with_context, Start start) {
  asio::io_context io(1);
  std::optional<aiolocals::scope> scope;
  if (with_context) scope.emplace(request_context());
  for (auto _ : state) {
    start(io);
    io.run();
    io.restart();
  }
  state.SetItemsProcessed(state.iterations() * items);
}

void BM_AwaitRoundTripsPlain(benchmark::State& state) {
  run_batches(state, handlers, false, [](asio::io_context& io) {
    asio::co_spawn(io, round_trips(handlers), asio::detached);
  });
}
void BM_AwaitRoundTripsWithContext(benchmark::State& state) {
  run_batches(state, handlers, true, [](asio::io_context& io) {
    aiolocals::co_spawn(io, round_trips(handlers), asio::detached);
  });
}
// Floor: the round trips on the counted do-nothing adapter.
void BM_AwaitRoundTripsCountedPassThroughAdapter(benchmark::State& state) {
  run_batches(state, handlers, true, [](asio::io_context& io) {
    asio::co_spawn(pass_through_executor(io.get_executor(), counted_handle()),
                   round_trips(handlers), asio::detached);
  });
}
BENCHMARK(BM_AwaitRoundTripsPlain)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_AwaitRoundTripsCountedPassThroughAdapter)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_AwaitRoundTripsWithContext)->Unit(benchmark::kMillisecond);

// 100k spawns, 1,000 at a time (as for post: 100k frames queued at once
// made the figures bimodal).
template <class Spawn>
void spawn_batches(benchmark::State& state, Spawn spawn) {
  constexpr int batch = 1'000;
  asio::io_context io(1);
  aiolocals::scope scope(request_context());
  for (auto _ : state) {
    for (int done = 0; done < spawns; done += batch) {
      for (int i = 0; i < batch; ++i) spawn(io);
      io.run();
      io.restart();
    }
  }
  state.SetItemsProcessed(state.iterations() * spawns);
}
void BM_CoSpawnPlain(benchmark::State& state) {
  spawn_batches(state,
                [](asio::io_context& io) { asio::co_spawn(io, empty_task(), asio::detached); });
}
void BM_CoSpawnWithContextCopy(benchmark::State& state) {
  spawn_batches(
      state, [](asio::io_context& io) { aiolocals::co_spawn(io, empty_task(), asio::detached); });
}
// Floors for co_spawn onto an adapter: the do-nothing adapter (any
// adapter's own cost under Asio: the awaitable's any_io_executor then calls
// through function tables instead of its io_context fast path), and a strand
// of its own per task (Asio's adapter with a counted handle, as ours has).
void BM_CoSpawnPassThroughAdapter(benchmark::State& state) {
  spawn_batches(state, [](asio::io_context& io) {
    asio::co_spawn(pass_through_executor(io.get_executor()), empty_task(), asio::detached);
  });
}
void BM_CoSpawnCountedPassThroughAdapter(benchmark::State& state) {
  spawn_batches(state, [](asio::io_context& io) {
    asio::co_spawn(pass_through_executor(io.get_executor(), counted_handle()), empty_task(),
                   asio::detached);
  });
}
void BM_CoSpawnStrand(benchmark::State& state) {
  spawn_batches(state, [](asio::io_context& io) {
    asio::co_spawn(asio::make_strand(io), empty_task(), asio::detached);
  });
}
BENCHMARK(BM_CoSpawnPlain)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_CoSpawnWithContextCopy)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_CoSpawnPassThroughAdapter)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_CoSpawnCountedPassThroughAdapter)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_CoSpawnStrand)->Unit(benchmark::kMillisecond);

}  // namespace

AIOLOCALS_BENCHMARK_MAIN()
