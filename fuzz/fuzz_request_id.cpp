// SPDX-License-Identifier: BSL-1.0
// libFuzzer target: choosing the request id from a client's header values.
// Input: a flags byte, then header values separated by '\n' (each becomes
// one X-Request-ID field, as duplicate headers would).
// The same values also go through describe_request's one-pass scan of a
// whole request (as X-Request-ID, traceparent and tracestate).
// Invariants: the id is 1-128 printable ASCII bytes under the default rules
// (at most max_request_id_size, still printable, under a permissive
// validator), never a marker (`-`, `(unknown)`) nor job-shaped; a single
// safe client id is kept verbatim; anything else gets a v4 UUID.
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/message.hpp>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "aiolocals/beast.hpp"
#include "fuzz_support.hpp"

namespace {

using fuzz::require;

bool is_uuid_v4(std::string_view id) {
  if (id.size() != 36) return false;
  for (std::size_t i = 0; i < id.size(); ++i) {
    const char c = id[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return false;
    }
  }
  return id[14] == '4' && (id[19] == '8' || id[19] == '9' || id[19] == 'a' || id[19] == 'b');
}

// A job id's shape, checked here by hand: a name, '-', 16 lowercase hex.
bool is_job_shaped(std::string_view id) {
  if (id.size() < 17 || id[id.size() - 17] != '-') return false;
  for (char c : id.substr(id.size() - 16)) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

bool is_reserved(std::string_view id) { return id == "-" || id == "(unknown)" || is_job_shaped(id); }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const bool permissive = data[0] & 1;
  const std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  const std::vector<std::string_view> values = fuzz::split_values(input, 8);

  boost::beast::http::fields headers;
  for (std::string_view value : values) {
    try {
      headers.insert("X-Request-ID", value);
    } catch (...) {
      return 0;  // Beast refuses some values itself (too long): not our input
    }
  }
  aiolocals::tracking_options options;
  if (permissive) options.is_acceptable = [](std::string_view) { return true; };
  const std::string id = aiolocals::choose_request_id(headers, options);

  require(!id.empty());
  for (char c : id)
    require(static_cast<unsigned char>(c) >= 0x20 && static_cast<unsigned char>(c) < 0x7f);
  require(id.size() <= (permissive ? aiolocals::max_request_id_size : 128));
  require(!is_reserved(id));

  // What Beast stored is what the client sent (it may trim whitespace).
  std::vector<std::string_view> stored;
  for (auto it = headers.find("X-Request-ID");
       it != headers.end() && it->name_string() == "X-Request-ID"; ++it) {
    stored.push_back(it->value());
  }
  bool agree = !stored.empty();
  for (std::string_view value : stored) agree = agree && value == stored.front();
  const bool keep = agree && (permissive ? true : aiolocals::is_safe_request_id(stored.front()));
  if (!stored.empty()) {
    require(aiolocals::is_reserved_request_id(stored.front()) == is_reserved(stored.front()));
  }
  bool printable = agree;
  if (agree) {
    for (char c : stored.front()) {
      printable = printable && static_cast<unsigned char>(c) >= 0x20 &&
                  static_cast<unsigned char>(c) < 0x7f;
    }
    printable = printable && !stored.front().empty() &&
                stored.front().size() <= aiolocals::max_request_id_size &&
                !is_reserved(stored.front());
  }
  if (keep && printable) {
    require(id == stored.front());  // a valid client id is kept verbatim
  } else {
    require(is_uuid_v4(id));
  }

  // The same values through describe_request's one-pass scan of a whole
  // request, the field names in another case, the values also sent as
  // traceparent and tracestate: the same id (or a fresh UUID), and a trace
  // continued exactly when one valid traceparent came.
  boost::beast::http::request<boost::beast::http::empty_body> req{
      boost::beast::http::verb::get, "/", 11};
  req.set(boost::beast::http::field::host, "h");
  for (std::string_view value : stored) {
    req.insert((data[0] & 2) != 0 ? "x-request-ID" : "X-Request-ID", value);
    req.insert((data[0] & 4) != 0 ? "TraceParent" : "traceparent", value);
    req.insert("tracestate", value);
  }
  const aiolocals::request_info info = aiolocals::describe_request(req, options);
  if (keep && printable) {
    require(info.id == id);
  } else {
    require(is_uuid_v4(info.id));
  }
  require(info.trace.is_valid());
  const auto parent = aiolocals::parse_traceparent(std::span<const std::string_view>(stored));
  require(parent.has_value() == info.trace.parent.is_valid());
  if (parent) require(parent->trace == info.trace.trace && parent->parent == info.trace.parent);
  return 0;
}
