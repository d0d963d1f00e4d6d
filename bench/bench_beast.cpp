// SPDX-License-Identifier: BSL-1.0
// Request tracking's cost per request, in process (no sockets): choosing or
// generating the id, and the tracked handler against the bare handler.
#include <array>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/uuid/random_generator.hpp>
#include <boost/uuid/uuid_io.hpp>

#include "aiolocals/beast.hpp"
#include "bench_main.hpp"

namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using request = http::request<http::string_body>;
using response = http::response<http::string_body>;

void BM_GenerateRequestId(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(aiolocals::generate_request_id());
}
BENCHMARK(BM_GenerateRequestId);

// Baseline: Boost.Uuid's own generator (one getrandom() per id in 1.81).
void BM_BoostUuidRandomGenerator(benchmark::State& state) {
  boost::uuids::random_generator generator;
  for (auto _ : state) benchmark::DoNotOptimize(boost::uuids::to_string(generator()));
}
BENCHMARK(BM_BoostUuidRandomGenerator);

void BM_ChooseClientRequestId(benchmark::State& state) {
  request req{http::verb::get, "/", 11};
  req.set("X-Request-ID", "4bf92f35-77b3-4da6-a3ce-929d0e0e4736");
  aiolocals::tracking_options options;
  for (auto _ : state) benchmark::DoNotOptimize(aiolocals::choose_request_id(req, options));
}
BENCHMARK(BM_ChooseClientRequestId);

asio::awaitable<response> bare_handler(request req) {
  response res{http::status::ok, req.version()};
  res.body() = "ok";
  co_return res;
}

constexpr int calls = 10'000;

template <class Handler>
asio::awaitable<void> call_repeatedly(const Handler& handler, bool with_client_id) {
  for (int i = 0; i < calls; ++i) {
    request req{http::verb::get, "/api/orders/42?x=1", 11};
    if (with_client_id) req.set("X-Request-ID", "client-given-id-42");
    response res = co_await handler(std::move(req));
    benchmark::DoNotOptimize(res);
  }
}

// `loop_with_context`: the calling loop is spawned by aiolocals::co_spawn,
// as a server's connection loop may be; else by plain asio::co_spawn.
template <class Handler>
void run_calls(benchmark::State& state, const Handler& handler, bool with_client_id,
               bool loop_with_context = false) {
  asio::io_context io(1);
  for (auto _ : state) {
    if (loop_with_context) {
      aiolocals::co_spawn(io, call_repeatedly(handler, with_client_id), asio::detached);
    } else {
      asio::co_spawn(io, call_repeatedly(handler, with_client_id), asio::detached);
    }
    io.run();
    io.restart();
  }
  state.SetItemsProcessed(state.iterations() * calls);
}

void BM_BareHandler(benchmark::State& state) { run_calls(state, bare_handler, true); }

// The ladder under the tracked handler's cost, each step in the same run:
// the bare handler as a task of its own (Asio's floor for a per-request
// co_spawn, which also posts once when the handler never suspends), the
// request record alone, and the record in a fresh context.
asio::awaitable<response> co_spawned_bare_handler(request req) {
  auto ex = co_await asio::this_coro::executor;
  co_return co_await asio::co_spawn(ex, bare_handler(std::move(req)), asio::use_awaitable);
}
void BM_BareHandlerCoSpawned(benchmark::State& state) {
  run_calls(state, co_spawned_bare_handler, true);
}
BENCHMARK(BM_BareHandlerCoSpawned)->Unit(benchmark::kMicrosecond);

// The floor of any tracking that wraps the handler and echoes an id: the
// bare handler awaited through one more coroutine that keeps the id and sets
// it on the response (what track_requests does besides the record and the
// context switch).
template <asio::awaitable<response> (*Handler)(request)>
asio::awaitable<response> echoing_wrapper(request req) {
  const std::string id(req["X-Request-ID"]);
  response res = co_await Handler(std::move(req));
  res.set("X-Request-ID", id);
  co_return res;
}
void BM_BareHandlerWrappedAndEchoing(benchmark::State& state) {
  run_calls(state, echoing_wrapper<bare_handler>, true);
}
BENCHMARK(BM_BareHandlerWrappedAndEchoing)->Unit(benchmark::kMicrosecond);

void BM_DescribeRequest(benchmark::State& state) {
  request req{http::verb::get, "/api/orders/42?x=1", 11};
  req.set("X-Request-ID", "client-given-id-42");
  const aiolocals::tracking_options options;
  for (auto _ : state) benchmark::DoNotOptimize(aiolocals::describe_request(req, options));
}
BENCHMARK(BM_DescribeRequest);

void BM_DescribeRequestInFreshContext(benchmark::State& state) {
  request req{http::verb::get, "/api/orders/42?x=1", 11};
  req.set("X-Request-ID", "client-given-id-42");
  const aiolocals::tracking_options options;
  for (auto _ : state) {
    aiolocals::context ctx;
    ctx.run([&] { aiolocals::request.set(aiolocals::describe_request(req, options)); });
    benchmark::DoNotOptimize(ctx);
  }
}
BENCHMARK(BM_DescribeRequestInFreshContext);

// Propagation's cost per outgoing call: stamping a client request with the
// current request's id, traceparent and tracestate, against building the
// same request unstamped and stamping only the id by hand.
template <class Stamp>
void outgoing_calls(benchmark::State& state, Stamp stamp, aiolocals::baggage baggage = {}) {
  aiolocals::scope scope;
  if (!baggage.empty()) aiolocals::set_current_baggage(std::move(baggage));
  aiolocals::request_info info{"4bf92f35-77b3-4da6-a3ce-929d0e0e4736", "GET", "/api/orders/42",
                               aiolocals::request_kind::request};
  const std::vector<std::string_view> parents{
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"};
  const std::vector<std::string_view> states{"congo=t61rcWkgMzE"};
  info.trace = aiolocals::continue_or_start_trace(parents, states);
  aiolocals::request.set(std::move(info));
  for (auto _ : state) {
    request out{http::verb::get, "/inventory/42", 11};
    out.set(http::field::host, "inventory");
    stamp(out);
    benchmark::DoNotOptimize(out);
  }
}
void BM_OutgoingRequestUnstamped(benchmark::State& state) {
  outgoing_calls(state, [](request&) {});
}
BENCHMARK(BM_OutgoingRequestUnstamped);
void BM_OutgoingRequestIdByHand(benchmark::State& state) {
  outgoing_calls(state,
                 [](request& out) { out.set("X-Request-ID", aiolocals::request.find()->id); });
}
BENCHMARK(BM_OutgoingRequestIdByHand);
// What propagate did before client spans (0.5): the id, a traceparent
// with a fresh span id and the tracestate, no span kept: the baseline of
// the client span's cost.
void BM_OutgoingRequestStampedWithoutSpan(benchmark::State& state) {
  outgoing_calls(state, [](request& out) {
    const aiolocals::request_info* current = aiolocals::request.find();
    std::array<char, aiolocals::traceparent_size> traceparent;
    out.set("traceparent", aiolocals::format_traceparent(traceparent, current->trace.trace,
                                                          aiolocals::generate_span_id(),
                                                          current->trace.flags));
    out.set("tracestate", current->trace.tracestate);
    out.set("X-Request-ID", current->id);
  });
}
BENCHMARK(BM_OutgoingRequestStampedWithoutSpan);
void BM_OutgoingRequestPropagated(benchmark::State& state) {
  outgoing_calls(state, [](request& out) { aiolocals::propagate(out).end(200); });
}
BENCHMARK(BM_OutgoingRequestPropagated);

// W3C baggage: parsing a 10-member header, and propagate with those 10
// entries (against BM_OutgoingRequestPropagated, none).
constexpr std::string_view ten_members =
    "tenant=acme,user_id=1234567,plan=gold;ttl=60,region=eu-west-1,beta=true,"
    "session=9f86d081884c7d65,cart=3%20items,locale=en-GB,ab=variant-b,source=mobile";
void BM_BaggageParseTenMembers(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(aiolocals::parse_baggage(ten_members));
}
BENCHMARK(BM_BaggageParseTenMembers);
// The floor of any parser keeping the members: split at ',' and the first
// '=' into owned strings, no validation, no trimming, no decoding.
void BM_BaggageSplitOnlyBaseline(benchmark::State& state) {
  for (auto _ : state) {
    std::vector<std::pair<std::string, std::string>> members;
    std::string_view rest = ten_members;
    while (!rest.empty()) {
      const std::size_t comma = std::min(rest.find(','), rest.size());
      const std::string_view member = rest.substr(0, comma);
      const std::size_t equals = std::min(member.find('='), member.size());
      members.emplace_back(member.substr(0, equals), member.substr(std::min(equals + 1, member.size())));
      rest.remove_prefix(std::min(comma + 1, rest.size()));
    }
    benchmark::DoNotOptimize(members);
  }
}
BENCHMARK(BM_BaggageSplitOnlyBaseline);
void BM_OutgoingRequestPropagatedWithTenBaggageEntries(benchmark::State& state) {
  outgoing_calls(state, [](request& out) { aiolocals::propagate(out).end(200); },
                 aiolocals::parse_baggage(ten_members));
}
BENCHMARK(BM_OutgoingRequestPropagatedWithTenBaggageEntries);
void BM_TrackedHandlerClientId(benchmark::State& state) {
  run_calls(state, aiolocals::track_requests(bare_handler), true);
}
void BM_TrackedHandlerGeneratedId(benchmark::State& state) {
  run_calls(state, aiolocals::track_requests(bare_handler), false);
}
void BM_TrackedHandlerInLoopWithContext(benchmark::State& state) {
  run_calls(state, aiolocals::track_requests(bare_handler), true, true);
}
BENCHMARK(BM_BareHandler)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_TrackedHandlerClientId)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_TrackedHandlerGeneratedId)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_TrackedHandlerInLoopWithContext)->Unit(benchmark::kMicrosecond);

// The same with a handler that suspends once (as one with any I/O does):
// Asio's co_spawn then skips the extra post it makes for a task that
// completed without suspending, so this is the per-request cost a real
// server pays.
asio::awaitable<response> resuming_handler(request req) {
  co_await asio::post(asio::use_awaitable);
  response res{http::status::ok, req.version()};
  res.body() = "ok";
  co_return res;
}
asio::awaitable<response> co_spawned_resuming_handler(request req) {
  auto ex = co_await asio::this_coro::executor;
  co_return co_await asio::co_spawn(ex, resuming_handler(std::move(req)), asio::use_awaitable);
}
void BM_ResumingHandler(benchmark::State& state) { run_calls(state, resuming_handler, true); }
void BM_ResumingHandlerCoSpawned(benchmark::State& state) {
  run_calls(state, co_spawned_resuming_handler, true);
}
void BM_ResumingHandlerTracked(benchmark::State& state) {
  run_calls(state, aiolocals::track_requests(resuming_handler), true);
}
void BM_ResumingHandlerTrackedInLoopWithContext(benchmark::State& state) {
  run_calls(state, aiolocals::track_requests(resuming_handler), true, true);
}
// The floor of any wrapper around a handler that suspends: the echoing
// wrapper's frame is a third live coroutine frame (the wrapper, the handler,
// the operation's), and Asio caches two per thread, so two of them are
// allocated per request however small the wrapper's frame is.
void BM_ResumingHandlerWrappedAndEchoing(benchmark::State& state) {
  run_calls(state, echoing_wrapper<resuming_handler>, true);
}
BENCHMARK(BM_ResumingHandlerWrappedAndEchoing)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_ResumingHandler)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_ResumingHandlerTrackedInLoopWithContext)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_ResumingHandlerCoSpawned)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_ResumingHandlerTracked)->Unit(benchmark::kMicrosecond);

}  // namespace

AIOLOCALS_BENCHMARK_MAIN()
