// SPDX-License-Identifier: BSL-1.0
// What the two-service example reads from a client besides what Beast and
// aiolocals parse: the W3C validation-service request body and the numbers
// in its targets. Needs Boost.JSON and Boost.URL (the including program
// compiles them once, header-only). Fuzzed: fuzz/fuzz_client_input.cpp.
#pragma once

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <boost/url/parse.hpp>
#include <charconv>
#include <cmath>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "aiolocals/http/request_id.hpp"  // path_without_query

namespace two_services {

/// An http:// URL on this machine (127.0.0.1 or localhost) as {port,
/// target}, or nothing: the validation endpoint is a test endpoint, not an
/// open proxy.
inline std::optional<std::pair<unsigned short, std::string>> loopback_url(std::string_view text) {
  auto url = boost::urls::parse_uri(text);
  if (!url || url->scheme() != "http") return std::nullopt;
  const std::string host = url->host();
  if (host != "127.0.0.1" && host != "localhost") return std::nullopt;
  unsigned short port = 80;
  if (url->has_port()) {
    const std::string_view digits = url->port();
    auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
    if (error != std::errc() || end != digits.data() + digits.size() || port == 0) {
      return std::nullopt;
    }
  }
  // Boost.URL 1.81 reads "http://127.0.0.1:777e7/x" as port 777 and the
  // rest as the path (found by fuzz_client_input): the authority must be
  // exactly the host and the port, and the target must start with '/'.
  const std::string authority(url->encoded_authority());
  if (authority != host + (url->has_port() ? ":" + std::string(url->port()) : "")) return std::nullopt;
  std::string target(url->encoded_target());
  if (target.empty()) target = "/";
  if (target.front() != '/') return std::nullopt;
  return std::pair{port, std::move(target)};
}

/// One call the validation protocol asks for: POST `body` to
/// http://127.0.0.1:`port``target` (`url` as the client wrote it).
struct validation_call {
  std::string url;
  unsigned short port = 0;
  std::string target;
  std::string body;  // the element's "arguments", serialised
};

/// A validation-service request body: a JSON array of {"url",
/// "arguments"}. Nothing if the body is not a JSON array; elements without
/// a loopback http URL or without arguments, or whose arguments hold a
/// number beyond a double's range, are counted in `skipped`.
struct validation_request {
  std::vector<validation_call> calls;
  std::size_t skipped = 0;
};

/// True if `value` holds a non-finite number: Boost.JSON 1.81 reads `1e400`
/// as infinity and writes it back as `Infinity`, which is not JSON
/// (found by fuzz_client_input).
inline bool holds_non_finite(const boost::json::value& value) {
  if (const double* number = value.if_double()) return !std::isfinite(*number);
  if (const boost::json::array* array = value.if_array()) {
    for (const boost::json::value& element : *array)
      if (holds_non_finite(element)) return true;
  } else if (const boost::json::object* object = value.if_object()) {
    for (const auto& member : *object)
      if (holds_non_finite(member.value())) return true;
  }
  return false;
}
inline std::optional<validation_request> parse_validation_request(std::string_view body) {
  boost::json::error_code error;
  const boost::json::value document = boost::json::parse(body, error);
  if (error || !document.is_array()) return std::nullopt;
  validation_request request;
  for (const boost::json::value& element : document.as_array()) {
    const boost::json::object* spec = element.if_object();
    const boost::json::value* url = spec ? spec->if_contains("url") : nullptr;
    const boost::json::value* arguments = spec ? spec->if_contains("arguments") : nullptr;
    auto where = url && url->is_string() ? loopback_url(url->as_string()) : std::nullopt;
    if (!where || arguments == nullptr || holds_non_finite(*arguments)) {
      ++request.skipped;
      continue;
    }
    request.calls.push_back({std::string(url->as_string()), where->first, std::move(where->second),
                             boost::json::serialize(*arguments)});
  }
  return request;
}

/// The number after `prefix` in `target` (its query ignored), or nothing.
inline std::optional<int> number_after(std::string_view target, std::string_view prefix) {
  if (target.substr(0, prefix.size()) != prefix) return std::nullopt;
  const std::string_view rest = aiolocals::path_without_query(target).substr(prefix.size());
  int n = 0;
  auto [end, error] = std::from_chars(rest.data(), rest.data() + rest.size(), n);
  if (error != std::errc() || end != rest.data() + rest.size()) return std::nullopt;
  return n;
}

}  // namespace two_services
