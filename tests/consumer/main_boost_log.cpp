// SPDX-License-Identifier: BSL-1.0
// An installed aiolocals::boost_log: a record made inside a context with a
// request carries its id.
#include <aiolocals/boost_log.hpp>
#include <aiolocals/request.hpp>
#include <boost/core/null_deleter.hpp>
#include <boost/log/expressions.hpp>
#include <boost/log/sinks/sync_frontend.hpp>
#include <boost/log/sinks/text_ostream_backend.hpp>
#include <boost/log/sources/logger.hpp>
#include <boost/log/sources/record_ostream.hpp>
#include <sstream>

int main() {
  namespace logging = boost::log;
  auto out = boost::make_shared<std::ostringstream>();
  auto sink = boost::make_shared<logging::sinks::synchronous_sink<logging::sinks::text_ostream_backend>>();
  sink->locked_backend()->add_stream(out);
  sink->set_formatter(logging::expressions::stream << aiolocals::boost_log::request_id << " "
                                                   << logging::expressions::smessage);
  logging::core::get()->add_sink(sink);
  aiolocals::configure_boost_log();
  logging::sources::logger log;
  aiolocals::context().run([&] {
    aiolocals::request.set({"consumer-1", "GET", "/", aiolocals::request_kind::request, {}});
    BOOST_LOG(log) << "hello";
  });
  sink->flush();
  return out->str() == "consumer-1 hello\n" ? 0 : 1;
}
