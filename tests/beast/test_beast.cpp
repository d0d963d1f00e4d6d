// SPDX-License-Identifier: BSL-1.0
// Tests for aiolocals/beast.hpp: id validation and generation, the tracked
// handler, and an end-to-end run over loopback with sync and async loggers.
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <boost/algorithm/string/case_conv.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/beast/http/dynamic_body.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <cstdlib>
#include <future>
#include <map>
#include <mutex>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "aiolocals/beast.hpp"
#include "aiolocals/spdlog.hpp"
#include "capture_sink.hpp"
#include "http_session.hpp"
#include "span_collector.hpp"

namespace {

using namespace example;
const std::regex uuid_v4("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");

request make_request(std::string target = "/") {
  request req{http::verb::get, target, 11};
  req.set(http::field::host, "localhost");
  return req;
}

TEST(RequestId, SafeIdsAreKept) {
  for (const std::string& id :
       std::vector<std::string>{"a", "abc-123", "A.b_c:d-e", std::string(128, 'x'),
                                "4bf92f35-77b3-4da6-a3ce-929d0e0e4736"}) {
    auto req = make_request();
    req.set("X-Request-ID", id);
    EXPECT_EQ(aiolocals::choose_request_id(req, {}), id);
  }
}

TEST(RequestId, DuplicateHeadersMustAgree) {
  auto agree = make_request();
  agree.insert("X-Request-ID", "same");
  agree.insert("X-Request-ID", "same");
  EXPECT_EQ(aiolocals::choose_request_id(agree, {}), "same");
  auto disagree = make_request();
  disagree.insert("X-Request-ID", "mine");
  disagree.insert("X-Request-ID", "someone-elses");
  const std::string chosen = aiolocals::choose_request_id(disagree, {});
  EXPECT_TRUE(std::regex_match(chosen, uuid_v4)) << chosen;
}

TEST(RequestId, HeaderNameIsCaseInsensitiveAndConfigurable) {
  auto req = make_request();
  req.set("x-request-id", "lower");
  EXPECT_EQ(aiolocals::choose_request_id(req, {}), "lower");
  aiolocals::tracking_options options;
  options.header_name = "X-Correlation-ID";
  req.set("X-Correlation-ID", "corr-1");
  EXPECT_EQ(aiolocals::choose_request_id(req, options), "corr-1");
}

TEST(RequestId, ABeastRequestIsDescribedWithoutItsQuery) {
  auto req = make_request("/login?password=hunter2");
  req.set("X-Request-ID", "b-1");
  const aiolocals::request_info info = aiolocals::describe_request(req, {});
  EXPECT_EQ(info.path, "/login");
  EXPECT_EQ(info.id, "b-1");
  EXPECT_EQ(info.method, "GET");
}

// describe_request collects the id, traceparent and tracestate in one pass
// over the fields: names in any case, every duplicate, in order, among
// fields Beast knows, and an id header that is itself a known field.
TEST(RequestId, DescribeRequestReadsEveryTrackedFieldInAnyCase) {
  const std::string parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  auto req = make_request("/p");
  req.set(http::field::user_agent, "test");
  req.insert("x-REQUEST-id", "mixed-case");
  req.insert("TraceParent", parent);
  req.set(http::field::accept, "*/*");
  req.insert("TRACESTATE", "a=1");
  req.insert("tracestate", "b=2");
  aiolocals::request_info info = aiolocals::describe_request(req, {});
  EXPECT_EQ(info.id, "mixed-case");
  EXPECT_EQ(info.trace.trace.to_hex(), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(info.trace.parent.to_hex(), "00f067aa0ba902b7");
  EXPECT_EQ(info.trace.tracestate, "a=1,b=2");  // both values, in order

  for (int i = 0; i < 5; ++i) req.insert("traceparent", parent);  // duplicates: restart
  info = aiolocals::describe_request(req, {});
  EXPECT_FALSE(info.trace.parent.is_valid());
  EXPECT_TRUE(info.trace.tracestate.empty());
  EXPECT_NE(info.trace.trace.to_hex(), "4bf92f3577b34da6a3ce929d0e0e4736");

  for (int i = 0; i < 5; ++i) req.insert("X-Request-ID", "mixed-case");
  EXPECT_EQ(aiolocals::describe_request(req, {}).id, "mixed-case");
  req.insert("X-Request-ID", "other");
  EXPECT_TRUE(std::regex_match(aiolocals::describe_request(req, {}).id, uuid_v4));

  aiolocals::tracking_options options;
  options.header_name = "From";  // a field Beast knows by name
  req.set(http::field::from, "known-field-id");
  EXPECT_EQ(aiolocals::describe_request(req, options).id, "known-field-id");
}

TEST(RequestId, MoreThanFourDuplicateHeadersAreAllCompared) {
  auto req = make_request();
  for (int i = 0; i < 6; ++i) req.insert("X-Request-ID", "same");
  EXPECT_EQ(aiolocals::choose_request_id(req, {}), "same");
  req.insert("X-Request-ID", "different");
  EXPECT_TRUE(std::regex_match(aiolocals::choose_request_id(req, {}), uuid_v4));
}

TEST(Propagate, StampsTheCurrentRequestsIdAndTraceOnAnOutgoingRequest) {
  auto incoming = make_request("/in");
  incoming.set("X-Request-ID", "prop-1");
  incoming.set("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  incoming.set("tracestate", "rojo=1");
  http::request<http::empty_body> outgoing{http::verb::get, "/downstream", 11};
  EXPECT_FALSE(aiolocals::propagate(outgoing).is_valid());  // outside a request: nothing
  EXPECT_EQ(outgoing.count("X-Request-ID"), 0u);
  EXPECT_EQ(outgoing.count("traceparent"), 0u);
  {
    aiolocals::request_scope scope(incoming);
    auto first = aiolocals::propagate(outgoing);
    const auto& trace = aiolocals::request.get().trace;
    EXPECT_EQ(outgoing["X-Request-ID"], "prop-1");
    // The parent-id is the call's own client span, a child of our server
    // span, never the caller's span or our server span itself.
    ASSERT_TRUE(first.is_valid());
    EXPECT_EQ(first.ids().parent, trace.span);
    EXPECT_EQ(outgoing["traceparent"],
              "00-4bf92f3577b34da6a3ce929d0e0e4736-" + first.ids().span.to_hex() + "-01");
    EXPECT_NE(first.ids().span, trace.span);
    EXPECT_EQ(outgoing["tracestate"], "rojo=1");
    const std::string first_parent(outgoing["traceparent"]);
    auto second = aiolocals::propagate(outgoing);  // a second call: a span of its own
    EXPECT_NE(outgoing["traceparent"], first_parent);
    EXPECT_EQ(second.ids().parent, trace.span);
  }
}

TEST(Propagate, OutsideARequestStartsATraceOnlyWhenAsked) {
  http::request<http::empty_body> outgoing{http::verb::get, "/downstream", 11};
  auto started = aiolocals::propagate(
      outgoing, aiolocals::propagation_options{.start_trace_outside_request = true});
  EXPECT_EQ(outgoing.count("X-Request-ID"), 0u);
  const std::string first(outgoing["traceparent"]);
  const std::vector<std::string_view> values{first};
  const auto parsed = aiolocals::parse_traceparent(values);
  ASSERT_TRUE(parsed.has_value()) << first;
  auto again = aiolocals::propagate(
      outgoing, aiolocals::propagation_options{.start_trace_outside_request = true});
  EXPECT_NE(outgoing["traceparent"], first);  // each call outside a request: its own trace
  // A custom id header, inside a request.
  auto incoming = make_request("/in");
  incoming.set("X-Correlation-ID", "corr-7");
  aiolocals::tracking_options options;
  options.header_name = "X-Correlation-ID";
  aiolocals::request_scope scope(incoming, options);
  auto inside = aiolocals::propagate(outgoing, "X-Correlation-ID");
  EXPECT_EQ(outgoing["X-Correlation-ID"], "corr-7");
  EXPECT_EQ(outgoing.count("X-Request-ID"), 0u);
}

TEST(RequestScope, TracksASynchronousHandler) {
  auto req = make_request("/sync?secret=1");
  req.set("X-Request-ID", "sync-1");
  response res{http::status::ok, 11};
  {
    aiolocals::request_scope scope(req);
    EXPECT_EQ(aiolocals::request.get().id, "sync-1");
    EXPECT_EQ(aiolocals::request.get().path, "/sync");
    scope.stamp(res);
  }
  EXPECT_FALSE(aiolocals::request.is_set());
  EXPECT_EQ(res["X-Request-ID"], "sync-1");

  auto hostile = make_request();
  hostile.set("X-Request-ID", "bad id\r\n");
  aiolocals::request_scope scope(hostile);
  EXPECT_TRUE(std::regex_match(scope.info().id, uuid_v4));
}

// A request_scope is for synchronous handlers: held across co_await (in a
// task that has its own context) the suspension throws out of run(), naming
// the fix, and the frame finishes without a memory error.
TEST(RequestScope, HeldAcrossCoAwaitIsReportedAtTheSuspension) {
  asio::io_context io;
  bool finished = false;
  auto handler = [&]() -> asio::awaitable<void> {
    auto req = make_request("/held");
    aiolocals::request_scope scope(req);  // the misuse under test
    co_await asio::post(asio::use_awaitable);
    finished = true;
  };
  aiolocals::co_spawn(io, handler(), asio::detached);
  try {
    io.run();
    ADD_FAILURE() << "no error at the suspension";
  } catch (const aiolocals::context_error& error) {
    EXPECT_NE(std::string(error.what()).find("aiolocals::co_run"), std::string::npos);
  }
  io.restart();
  io.run();
  EXPECT_TRUE(finished);
  EXPECT_FALSE(aiolocals::request.is_set());
}

// Runs `tracked(req)` to completion on a fresh io_context.
template <class Tracked>
response call(const Tracked& tracked, request req) {
  asio::io_context io;
  auto future = asio::co_spawn(io, tracked(std::move(req)), asio::use_future);
  io.run();
  return future.get();
}

TEST(TrackRequests, HandlerSeesTheRecordAndTheResponseEchoesTheId) {
  auto tracked = aiolocals::track_requests([](request req) -> asio::awaitable<response> {
    const auto& current = aiolocals::request.get();
    response res{http::status::ok, req.version()};
    res.body() = current.id + " " + current.method + " " + current.path;
    co_await asio::post(asio::use_awaitable);
    res.body() += current.id == aiolocals::request.get().id ? " same" : " changed";
    co_return res;
  });
  auto req = make_request("/items?secret=1");
  req.set("X-Request-ID", "client-7");
  response res = call(tracked, std::move(req));
  EXPECT_EQ(res["X-Request-ID"], "client-7");
  EXPECT_EQ(res.body(), "client-7 GET /items same");
  EXPECT_FALSE(aiolocals::request.is_set());
}

// Baggage: kept from a trusted client, its allowlisted keys logged as
// fields (and no other), sent on by propagate, dropped from an untrusted one.
TEST(TrackRequests, BaggageArrivesIsSentOnAndOnlyAllowlistedKeysAreLogged) {
  std::string seen_baggage, seen_fields, sent_on;
  auto handler = [&](request req) -> asio::awaitable<response> {
    co_await asio::post(asio::use_awaitable);
    seen_baggage = aiolocals::format_baggage(aiolocals::current_baggage());
    aiolocals::append_log_fields_text(seen_fields, aiolocals::current_log_fields());
    aiolocals::set_baggage("hop", "a");
    http::request<http::empty_body> outgoing{http::verb::get, "/next", 11};
    auto call = aiolocals::propagate(outgoing);
    sent_on = std::string(outgoing["baggage"]);
    co_return response{http::status::ok, req.version()};
  };
  aiolocals::tracking_options options;
  options.baggage_log_fields = {"tenant", "plan"};
  auto tracked = aiolocals::track_requests(handler, options);
  auto req = make_request();
  req.insert("Baggage", "tenant=acme%20inc, secret=s3cr3t;p");
  req.insert("baggage", "bad key=1,plan=gold\n");  // an invalid member beside a valid one
  req.insert("baggage", "plan=free");
  call(tracked, req);
  EXPECT_EQ(seen_baggage, "tenant=acme%20inc,secret=s3cr3t;p,plan=free");
  EXPECT_EQ(seen_fields, " tenant=acme\\x20inc plan=free");  // never `secret`
  EXPECT_EQ(sent_on, "tenant=acme%20inc,secret=s3cr3t;p,plan=free,hop=a");

  options.trust_incoming_baggage = false;  // an edge service
  seen_fields.clear();
  call(aiolocals::track_requests(handler, options), req);
  EXPECT_EQ(seen_baggage, "");
  EXPECT_EQ(seen_fields, "");
  EXPECT_EQ(sent_on, "hop=a");  // what this service set itself still goes on

  // The same through a synchronous request_scope.
  options.trust_incoming_baggage = true;
  {
    aiolocals::request_scope scope(req, options);
    EXPECT_EQ(aiolocals::current_baggage().find("tenant")->value, "acme inc");
    EXPECT_NE(aiolocals::current_log_fields().find("plan"), nullptr);
  }
  EXPECT_TRUE(aiolocals::current_baggage().empty());
}

TEST(TrackRequests, AnAllowlistKeyThatCannotBeAFieldIsRejectedWhereTrackingStarts) {
  aiolocals::tracking_options options;
  options.baggage_log_fields = {"tenant", "request_id"};  // one of our own members
  auto handler = [](request req) -> asio::awaitable<response> {
    co_return response{http::status::ok, req.version()};
  };
  try {
    (void)aiolocals::track_requests(handler, options);
    ADD_FAILURE() << "accepted";
  } catch (const std::invalid_argument& error) {
    EXPECT_NE(std::string(error.what()).find("'request_id'"), std::string::npos) << error.what();
  }
  options.baggage_log_fields = {"has space"};
  EXPECT_THROW(aiolocals::request_scope(make_request(), options), std::invalid_argument);
}

// With no baggage of ours, a header the caller set stays; outside any
// request, baggage set by the task still goes on.
TEST(Propagate, SendsTheTasksBaggageAndLeavesACallersOwnHeaderWhenThereIsNone) {
  http::request<http::empty_body> outgoing{http::verb::get, "/downstream", 11};
  outgoing.set("baggage", "mine=1");
  (void)aiolocals::propagate(outgoing);
  EXPECT_EQ(outgoing["baggage"], "mine=1");
  aiolocals::context().run([&] {
    aiolocals::set_baggage("k", "v w");
    (void)aiolocals::propagate(outgoing);
  });
  EXPECT_EQ(outgoing["baggage"], "k=v%20w");
}

TEST(TrackRequests, IdsOfEveryAcceptedLengthAreEchoedWhole) {
  auto tracked = aiolocals::track_requests([](request req) -> asio::awaitable<response> {
    co_await asio::post(asio::use_awaitable);
    co_return response{http::status::ok, req.version()};
  });
  for (std::size_t length : {1, 15, 16, 63, 64, 65, 128}) {
    std::string id(length, 'a');
    id.back() = 'z';
    auto req = make_request();
    req.set("X-Request-ID", id);
    EXPECT_EQ(call(tracked, std::move(req))["X-Request-ID"], id) << length;
  }
}

// The handler looks the configured header's field up once, when it is made:
// a name Beast does not know and one it does are both read and echoed, in
// any case, and the default name is then neither read nor set.
TEST(TrackRequests, AConfiguredHeaderNameIsReadAndEchoed) {
  const auto handler = [](request req) -> asio::awaitable<response> {
    response res{http::status::ok, req.version()};
    res.body() = aiolocals::request.get().id;
    co_return res;
  };
  for (const std::string name : {"X-Correlation-ID", "From"}) {
    aiolocals::tracking_options options;
    options.header_name = name;
    const auto tracked = aiolocals::track_requests(handler, options);
    auto req = make_request();
    req.set("X-Request-ID", "default-name");
    req.set(boost::algorithm::to_lower_copy(name), "configured-1");
    response res = call(tracked, std::move(req));
    EXPECT_EQ(res.body(), "configured-1") << name;
    EXPECT_EQ(res[name], "configured-1") << name;
    EXPECT_EQ(res.count("X-Request-ID"), 0u) << name;
  }
}

TEST(TrackRequests, ErrorResponsesCarryTheId) {
  auto tracked = aiolocals::track_requests([](request req) -> asio::awaitable<response> {
    co_return response{http::status::not_found, req.version()};
  });
  response res = call(tracked, make_request("/missing"));
  EXPECT_EQ(res.result(), http::status::not_found);
  EXPECT_TRUE(std::regex_match(std::string(res["X-Request-ID"]), uuid_v4));
}

TEST(TrackRequests, AnEscapedExceptionBecomesA500WithTheIdReportedOnce) {
  std::vector<std::string> reports;
  aiolocals::tracking_options options;
  options.on_exception = [&](std::exception_ptr error) {
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      reports.push_back(aiolocals::request.get().id + ": " + e.what());
    }
  };
  auto tracked = aiolocals::track_requests(
      [](request) -> asio::awaitable<response> {
        co_await asio::post(asio::use_awaitable);
        throw std::runtime_error("database down");
      },
      options);
  auto req = make_request("/boom");
  req.set("X-Request-ID", "boom-1");
  response res = call(tracked, std::move(req));
  EXPECT_EQ(res.result(), http::status::internal_server_error);
  EXPECT_EQ(res["X-Request-ID"], "boom-1");
  EXPECT_EQ(reports, std::vector<std::string>{"boom-1: database down"});
}

TEST(TrackRequests, EachRequestIsRecordedAsAServerSpanLikeAnAccessLog) {
  test_support::span_collector spans;
  auto tracked = aiolocals::track_requests([](request req) -> asio::awaitable<response> {
    co_await asio::post(asio::use_awaitable);
    if (req.target() == "/boom") throw std::runtime_error("database \"down\"");
    co_return response{req.target() == "/missing" ? http::status::not_found : http::status::ok,
                       req.version()};
  });
  auto ok = make_request("/orders/7?secret=1");
  ok.set("X-Request-ID", "acc-1");
  ok.set("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  call(tracked, std::move(ok));
  call(tracked, make_request("/missing"));
  call(tracked, make_request("/boom"));
  const auto records = spans.records();
  ASSERT_EQ(records.size(), 3u);
  auto attribute = [](const aiolocals::span_record& r, std::string_view key) {
    for (const auto& a : r.attributes)
      if (a.key == key) return a.value;
    return aiolocals::span_attribute_value{};
  };
  const auto& first = records[0];
  EXPECT_EQ(first.kind, aiolocals::span_kind::server);
  EXPECT_EQ(first.name, "GET");
  EXPECT_EQ(first.request_id, "acc-1");
  EXPECT_EQ(first.trace.to_hex(), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(first.parent.to_hex(), "00f067aa0ba902b7");  // the caller's span
  EXPECT_EQ(std::get<std::string>(attribute(first, "url.path")), "/orders/7");  // no query
  EXPECT_EQ(std::get<std::int64_t>(attribute(first, "http.response.status_code")), 200);
  EXPECT_EQ(first.status, aiolocals::span_status::ok);
  EXPECT_GT(first.duration().count(), 0);
  EXPECT_EQ(std::get<std::int64_t>(attribute(records[1], "http.response.status_code")), 404);
  EXPECT_EQ(records[1].status, aiolocals::span_status::ok);  // a 4xx is the client's
  EXPECT_EQ(records[2].status, aiolocals::span_status::error);
  EXPECT_EQ(records[2].status_message, "database \"down\"");
  EXPECT_EQ(std::get<std::int64_t>(attribute(records[2], "http.response.status_code")), 500);
}

TEST(TrackRequests, SpawnedChildrenSeeTheRequest) {
  std::promise<std::string> child_saw;
  auto tracked = aiolocals::track_requests([&](request req) -> asio::awaitable<response> {
    auto child = [](std::promise<std::string>& out) -> asio::awaitable<void> {
      co_await asio::post(asio::use_awaitable);
      out.set_value(aiolocals::request.get().id);
    };
    aiolocals::co_spawn(co_await asio::this_coro::executor, child(child_saw), asio::detached);
    co_return response{http::status::ok, req.version()};
  });
  auto req = make_request();
  req.set("X-Request-ID", "parent-1");
  call(tracked, std::move(req));
  EXPECT_EQ(child_saw.get_future().get(), "parent-1");
}

// ---- A connection's loop started with aiolocals::co_spawn (a context of
// its own, as the old sessions had): each request runs in its own context,
// the loop in its own between requests.

aiolocals::local<std::string> session_tag{"session_tag"};

request request_with_id(const std::string& id) {
  auto req = make_request("/s");
  req.set("X-Request-ID", id);
  return req;
}

// Runs `body` as a connection's loop (aiolocals::co_spawn) on a 2-thread
// io_context until everything ends.
template <class Body>
void run_session(const Body& body) {
  asio::io_context io(2);
  aiolocals::co_spawn(io, body(), asio::detached);
  std::thread second([&] { io.run(); });
  io.run();
  second.join();
}

TEST(TrackRequests, ASpanOpenedInOneRequestNeverReachesTheNextOnTheConnection) {
  test_support::span_collector spans;
  std::vector<aiolocals::span_context> seen;  // one coroutine at a time
  auto tracked = aiolocals::track_requests([&](request req) -> asio::awaitable<response> {
    seen.push_back(aiolocals::current_span());
    if (req.target() == "/first") {
      co_await aiolocals::span("inside-first", [&]() -> asio::awaitable<void> {
        co_await asio::post(asio::use_awaitable);
      }());
    }
    co_return response{http::status::ok, req.version()};
  });
  auto connection = [&]() -> asio::awaitable<void> {  // one keep-alive connection
    co_await tracked(make_request("/first"));
    co_await tracked(make_request("/second"));
  };
  run_session(connection);
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_NE(seen[0].trace, seen[1].trace);  // each request its own trace
  const auto* inside = spans.find("inside-first");
  ASSERT_TRUE(inside);
  EXPECT_EQ(inside->parent, seen[0].span);
  EXPECT_NE(seen[1].span, inside->span);
  EXPECT_FALSE(seen[1].parent.is_valid());  // the second is a root, not inside the first
}

TEST(Session, EachRequestRunsInItsOwnContextAndTheLoopInItsOwn) {
  std::vector<std::string> seen;  // written by one coroutine at a time
  auto tracked = aiolocals::track_requests([&](request req) -> asio::awaitable<response> {
    seen.push_back(aiolocals::request.get().id + (session_tag.is_set() ? " +tag" : ""));
    co_await asio::post(asio::use_awaitable);
    seen.push_back(aiolocals::request.get().id);
    asio::steady_timer timer(co_await asio::this_coro::executor, std::chrono::microseconds(20));
    co_await timer.async_wait(asio::use_awaitable);
    seen.push_back(aiolocals::request.get().id);
    co_return response{http::status::ok, req.version()};
  });
  auto spawner = session_tag.scoped("spawner's");
  auto session = [&]() -> asio::awaitable<void> {
    seen.push_back("session sees " + session_tag.get());
    session_tag.set("session's");
    for (const char* id : {"a", "b", "c"}) {
      response res = co_await tracked(request_with_id(id));
      seen.push_back(std::string("echo ") + std::string(res["X-Request-ID"]) +
                     (aiolocals::request.is_set() ? " in a request" : "") + " " +
                     session_tag.get());
    }
  };
  run_session(session);
  EXPECT_EQ(session_tag.get(), "spawner's");  // the session wrote its own copy
  EXPECT_EQ(seen, (std::vector<std::string>{"session sees spawner's", "a", "a", "a",
                                            "echo a session's", "b", "b", "b", "echo b session's",
                                            "c", "c", "c", "echo c session's"}));
}

// Yields to the io_context until `flag` is set (by another coroutine or
// thread): a real signal, without a timer race.
asio::awaitable<void> until(const std::atomic<bool>& flag) {
  while (!flag) co_await asio::post(asio::use_awaitable);
}

TEST(Session, ChildrenStartedInARequestKeepItsContextAfterItEnds) {
  // Request "a" starts children three ways and ends; they run while the
  // session handles "b" and must still see "a" (a shared session context
  // would show "b" here, undetectably).
  std::vector<std::string> children_saw;
  std::mutex mutex;
  std::atomic<bool> go{false}, all_recorded{false};
  asio::any_io_executor kept;  // an executor copied in "a", used in "b"
  auto record = [&](std::string what) {
    std::lock_guard lock(mutex);
    children_saw.push_back(what + " " +
                           (aiolocals::request.is_set() ? aiolocals::request.get().id : "-"));
    if (children_saw.size() == 5) all_recorded = true;
  };
  auto child = [&](std::string name) -> asio::awaitable<void> {
    co_await until(go);
    record(name);
    co_await asio::post(asio::use_awaitable);
    record(name);
  };
  auto tracked = aiolocals::track_requests([&](request req) -> asio::awaitable<response> {
    auto ex = co_await asio::this_coro::executor;
    if (aiolocals::request.get().id == "a") {
      asio::co_spawn(ex, child("plain"), asio::detached);
      aiolocals::co_spawn(ex, child("copy"), asio::detached);
      kept = ex;
    } else {
      go = true;  // the children run now, during "b"
      asio::post(kept, [&] { record("kept executor"); });
      co_await until(all_recorded);
      EXPECT_EQ(aiolocals::request.get().id, "b");
    }
    co_return response{http::status::ok, req.version()};
  });
  auto session = [&]() -> asio::awaitable<void> {
    co_await tracked(request_with_id("a"));
    co_await tracked(request_with_id("b"));
    kept = {};
  };
  run_session(session);
  std::sort(children_saw.begin(), children_saw.end());
  EXPECT_EQ(children_saw, (std::vector<std::string>{"copy a", "copy a", "kept executor a",
                                                    "plain a", "plain a"}));
}

TEST(Session, TasksStartedBetweenRequestsNeverSeeARequest) {
  // A watchdog started by the session before its first request shares the
  // session's context; it runs during a request and calls a tracked
  // handler itself.
  std::vector<std::string> watchdog_saw;  // the watchdog's alone
  std::atomic<bool> wake{false}, done{false};
  auto seen = [] { return aiolocals::request.is_set() ? aiolocals::request.get().id : "-"; };
  auto inner = aiolocals::track_requests([&](request req) -> asio::awaitable<response> {
    watchdog_saw.push_back("inner " + seen());
    co_await asio::post(asio::use_awaitable);
    watchdog_saw.push_back("inner " + seen());
    co_return response{http::status::ok, req.version()};
  });
  auto watchdog = [&]() -> asio::awaitable<void> {
    co_await until(wake);
    watchdog_saw.push_back(seen());
    co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
    watchdog_saw.push_back(seen());
    co_await inner(request_with_id("w"));
    watchdog_saw.push_back(seen());
    done = true;
  };
  auto tracked = aiolocals::track_requests([&](request req) -> asio::awaitable<response> {
    wake = true;
    co_await until(done);  // the watchdog runs meanwhile
    EXPECT_EQ(aiolocals::request.get().id, "a");
    co_return response{http::status::ok, req.version()};
  });
  auto session = [&]() -> asio::awaitable<void> {
    asio::co_spawn(co_await asio::this_coro::executor, watchdog(), asio::detached);
    co_await tracked(request_with_id("a"));
  };
  run_session(session);
  EXPECT_EQ(watchdog_saw, (std::vector<std::string>{"-", "-", "inner w", "inner w", "-"}));
}

TEST(Session, OverAStrandWithAResultDeliveredInTheSpawnersContext) {
  // The handler's task runs on the strand, wrapped in the request's context.
  using strand_type = asio::strand<asio::io_context::executor_type>;
  bool task_path = false;
  auto tracked = aiolocals::track_requests([&](request req) -> asio::awaitable<response> {
    auto ex = co_await asio::this_coro::executor;
    task_path = ex.target<aiolocals::context_executor<strand_type>>() != nullptr;
    co_await asio::post(asio::use_awaitable);
    response res{http::status::ok, req.version()};
    res.body() = aiolocals::request.get().id;
    co_return res;
  });
  auto session = [&]() -> asio::awaitable<std::string> {
    session_tag.set("session's");
    response res = co_await tracked(request_with_id("s-1"));
    co_return res.body() + " " + std::string(res["X-Request-ID"]);
  };
  asio::io_context io(2);
  auto spawner_tag = session_tag.scoped("spawner's");
  std::string result, completion_saw;
  aiolocals::co_spawn(asio::make_strand(io), session(),
                              [&](std::exception_ptr error, std::string value) {
                                result = error ? "error" : value;
                                completion_saw = session_tag.get();
                              });
  std::thread second([&] { io.run(); });
  io.run();
  second.join();
  EXPECT_TRUE(task_path);
  EXPECT_EQ(result, "s-1 s-1");
  EXPECT_EQ(completion_saw, "spawner's");
}

TEST(Session, ATrackedCallNestedInAHandlerRunsInItsOwnContext) {
  std::vector<std::string> seen;
  auto inner = aiolocals::track_requests([&](request req) -> asio::awaitable<response> {
    seen.push_back("inner " + aiolocals::request.get().id);
    co_await asio::post(asio::use_awaitable);
    seen.push_back("inner " + aiolocals::request.get().id);
    co_return response{http::status::ok, req.version()};
  });
  auto outer = aiolocals::track_requests([&](request req) -> asio::awaitable<response> {
    seen.push_back("outer " + aiolocals::request.get().id);
    co_await inner(request_with_id("in"));
    seen.push_back("outer " + aiolocals::request.get().id);
    co_await asio::post(asio::use_awaitable);
    seen.push_back("outer " + aiolocals::request.get().id);
    co_return response{http::status::ok, req.version()};
  });
  auto session = [&]() -> asio::awaitable<void> {
    co_await outer(request_with_id("out"));
    seen.push_back(aiolocals::request.is_set() ? "session in a request" : "session");
  };
  run_session(session);
  EXPECT_EQ(seen, (std::vector<std::string>{"outer out", "inner in", "inner in", "outer out",
                                            "outer out", "session"}));
}

TEST(Session, AnEscapedExceptionBecomesA500AndTheSessionGoesOn) {
  std::vector<std::string> reports;
  aiolocals::tracking_options options;
  options.on_exception = [&](std::exception_ptr) {
    reports.push_back(aiolocals::request.get().id);
  };
  auto tracked = aiolocals::track_requests(
      [](request req) -> asio::awaitable<response> {
        co_await asio::post(asio::use_awaitable);
        if (req.target() == "/boom") throw std::runtime_error("database down");
        co_return response{http::status::ok, req.version()};
      },
      options);
  std::vector<std::string> results;
  auto session = [&]() -> asio::awaitable<void> {
    auto boom = make_request("/boom");
    boom.set("X-Request-ID", "boom-1");
    response first = co_await tracked(std::move(boom));
    results.push_back(std::to_string(first.result_int()) + " " +
                      std::string(first["X-Request-ID"]) +
                      (aiolocals::request.is_set() ? " in a request" : ""));
    response second = co_await tracked(request_with_id("ok-2"));
    results.push_back(std::to_string(second.result_int()) + " " +
                      std::string(second["X-Request-ID"]));
  };
  run_session(session);
  EXPECT_EQ(reports, std::vector<std::string>{"boom-1"});
  EXPECT_EQ(results, (std::vector<std::string>{"500 boom-1", "200 ok-2"}));
}

TEST(Session, DestroyedWithARequestPendingLeavesNothingBehind) {
  // The io_context is destroyed while the handler waits: the frames are torn
  // down without resuming (AddressSanitizer checks that nothing dangles).
  bool started = false;
  auto tracked = aiolocals::track_requests([&](request req) -> asio::awaitable<response> {
    started = true;
    asio::steady_timer never(co_await asio::this_coro::executor,
                             asio::steady_timer::time_point::max());
    co_await never.async_wait(asio::use_awaitable);
    co_return response{http::status::ok, req.version()};
  });
  {
    asio::io_context io(1);
    auto session = [&]() -> asio::awaitable<void> { co_await tracked(request_with_id("pending")); };
    aiolocals::co_spawn(io, session(), asio::detached);
    io.run_for(std::chrono::milliseconds(0));
    while (!started) io.run_one();
  }
  EXPECT_TRUE(started);
  EXPECT_FALSE(aiolocals::request.is_set());
}

// End to end: a 2-thread server, 64 client connections, 10,048 requests, half
// with their own id; each handler logs from 3 resumptions through a sync and
// an async logger, step 2 inside a timed span block, a log field set after
// step 1. Every line must carry the id its client received, the field from
// step 2 on (its own request's value), and step 2's lines the block's span; every
// request records a server span and a block span whose parent is that
// server span, in the same trace; with connections spawned by
// aiolocals::co_spawn and by plain asio::co_spawn.
class EndToEnd : public ::testing::TestWithParam<spawn_as> {};

TEST_P(EndToEnd, EveryLogLineCarriesTheIdTheClientReceived) {
  constexpr int connections = 64;
  constexpr int per_connection = 157;
  constexpr int total = connections * per_connection;

  test_support::span_collector spans;
  auto sync_sink = std::make_shared<capture_sink>();
  auto async_sink = std::make_shared<capture_sink>();
  auto sync_logger = std::make_shared<spdlog::logger>("e2e-sync", sync_sink);
  sync_logger->set_formatter(aiolocals::make_formatter("%U#%q@%K%k %v"));
  auto pool = std::make_shared<aiolocals::async_pool>(8192, 1);
  auto async_logger =
      aiolocals::make_async_logger("e2e-async", {async_sink}, pool, "%U#%q@%K%k %v");

  auto tracked = aiolocals::track_requests([&](request req) -> asio::awaitable<response> {
    co_await asio::post(asio::use_awaitable);  // every line below is after a resumption
    sync_logger->info("step 1");
    async_logger->info("step 1");
    // A log field set mid-request: steps 2 and 3 (and the span block) carry it.
    aiolocals::set_log_field("n", aiolocals::path_without_query(req.target()));
    co_await aiolocals::span("step 2", [&]() -> asio::awaitable<void> {
      co_await asio::post(asio::use_awaitable);
      sync_logger->info("step 2");
      async_logger->info("step 2");
    }());
    asio::steady_timer timer(co_await asio::this_coro::executor, std::chrono::microseconds(50));
    co_await timer.async_wait(asio::use_awaitable);
    sync_logger->info("step 3");
    async_logger->info("step 3");
    response res{http::status::ok, req.version()};
    res.keep_alive(req.keep_alive());
    res.body() = "ok";
    res.prepare_payload();
    co_return res;
  });

  asio::io_context server_io(2);
  tcp::acceptor acceptor(server_io, {asio::ip::make_address("127.0.0.1"), 0});
  asio::co_spawn(server_io, serve(acceptor, tracked, GetParam()), asio::detached);
  std::vector<std::thread> server_threads;
  for (int i = 0; i < 2; ++i) server_threads.emplace_back([&] { server_io.run(); });

  std::mutex mutex;
  std::map<std::string, std::string> received;  // path -> id in the response
  std::atomic<int> echo_mismatches{0};
  asio::io_context client_io(1);
  auto client = [&](int connection) -> asio::awaitable<void> {
    beast::tcp_stream stream(co_await asio::this_coro::executor);
    co_await stream.async_connect(acceptor.local_endpoint(), asio::use_awaitable);
    beast::flat_buffer buffer;
    for (int i = 0; i < per_connection; ++i) {
      const int n = connection * per_connection + i;
      const std::string path = "/r/" + std::to_string(n);
      std::optional<std::string> sent;
      if (n % 2 == 0) sent = "client-" + std::to_string(n);
      response res = co_await get(stream, buffer, path + "?q=1", sent);
      const std::string id(res["X-Request-ID"]);
      if (sent && id != *sent) ++echo_mismatches;
      std::lock_guard lock(mutex);
      received[path] = id;
    }
  };
  for (int c = 0; c < connections; ++c) asio::co_spawn(client_io, client(c), asio::detached);
  client_io.run();
  acceptor.close();
  server_io.stop();
  for (auto& thread : server_threads) thread.join();
  pool.reset();
  async_logger.reset();
  spdlog::drop("e2e-async");  // the registry's reference; the pool drained

  ASSERT_EQ(received.size(), static_cast<std::size_t>(total));
  EXPECT_EQ(echo_mismatches.load(), 0);
  std::set<std::string> distinct_ids;
  for (const auto& [path, id] : received) distinct_ids.insert(id);
  EXPECT_EQ(distinct_ids.size(), static_cast<std::size_t>(total));

  // Spans: per request id, its server span and its block.
  std::map<std::string, aiolocals::span_record> server_spans, blocks;
  int duplicate_records = 0;
  for (const auto& r : spans.records()) {
    auto& into = r.kind == aiolocals::span_kind::server ? server_spans : blocks;
    duplicate_records += !into.emplace(r.request_id, r).second;
  }
  EXPECT_EQ(duplicate_records, 0);
  EXPECT_EQ(server_spans.size(), static_cast<std::size_t>(total));
  EXPECT_EQ(blocks.size(), static_cast<std::size_t>(total));
  int misparented = 0;
  for (const auto& [id, block] : blocks) {
    auto server = server_spans.find(id);
    if (server == server_spans.end() || block.name != "step 2" ||
        block.trace != server->second.trace || block.parent != server->second.span ||
        block.start < server->second.start || block.end > server->second.end) {
      ++misparented;
    }
  }
  EXPECT_EQ(misparented, 0);

  const std::regex shape(R"((/r/\d+)#(\S+)@([0-9a-f]{16})(?: n=(\S+))? step ([123])\n)");
  for (auto* sink : {sync_sink.get(), async_sink.get()}) {
    const auto lines = sink->lines();
    EXPECT_EQ(lines.size(), static_cast<std::size_t>(total * 3));
    int mismatches = 0, without_id = 0, wrong_span = 0, wrong_field = 0;
    for (const auto& line : lines) {
      std::smatch match;
      if (!std::regex_match(line, match, shape) || match[2] == "-") {
        ++without_id;
        continue;
      }
      auto found = received.find(match[1]);
      if (found == received.end() || found->second != match[2].str()) {
        ++mismatches;
        continue;
      }
      // The field: absent before it was set (step 1), the request's own after.
      if (match[5] == "1" ? match[4].matched : match[4].str() != match[1].str()) ++wrong_field;
      // Step 2 runs in the block's span, steps 1 and 3 in the server span.
      const auto& owner = match[5] == "2" ? blocks : server_spans;
      auto span = owner.find(found->second);
      if (span == owner.end() || span->second.span.to_hex() != match[3].str()) ++wrong_span;
    }
    EXPECT_EQ(mismatches, 0);
    EXPECT_EQ(without_id, 0);
    EXPECT_EQ(wrong_span, 0);
    EXPECT_EQ(wrong_field, 0);
  }
}
INSTANTIATE_TEST_SUITE_P(Spawned, EndToEnd, ::testing::Values(spawn_as::copy, spawn_as::task),
                         [](const auto& info) {
                           return info.param == spawn_as::copy ? "WithACopy" : "AsPlainTasks";
                         });

}  // namespace
