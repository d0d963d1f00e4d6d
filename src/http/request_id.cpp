// SPDX-License-Identifier: BSL-1.0
// The framework-neutral request-id rules: validation, generation from OS
// entropy, choosing among a client's header values, diagnostics.
#include "aiolocals/http/request_id.hpp"

#include <array>
#include <atomic>
#include <cstdio>
#include <exception>
#include <span>
#include <string>

#include "../diagnostics.hpp"
#include "../entropy.hpp"
#include "aiolocals/log/escape.hpp"

namespace aiolocals {

namespace {

// [A-Za-z0-9._:-], by byte value.
constexpr std::array<bool, 256> safe_id_bytes = [] {
  std::array<bool, 256> safe{};
  for (int c = 0; c < 256; ++c) {
    safe[static_cast<std::size_t>(c)] = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                                        (c >= '0' && c <= '9') || c == '.' || c == '_' ||
                                        c == ':' || c == '-';
  }
  return safe;
}();

}  // namespace

bool is_safe_request_id(std::string_view id) noexcept {
  if (id.empty() || id.size() > 128) return false;
  // One table load a byte and no branch: ids are short and nearly always safe.
  bool safe = true;
  for (char c : id) safe &= safe_id_bytes[static_cast<unsigned char>(c)];
  return safe;
}

namespace {

// Whatever a user's validator accepts or generator makes, the id is echoed
// in a response header and printed in diagnostics: printable ASCII only
// (no CR, LF, NUL or other control byte can split the response). The log
// flags' check, 16 bytes at a time (a byte loop cost several times as much:
// docs/benchmarks.md); NUL as its extra byte adds nothing, being a control
// byte.
bool is_printable_ascii(std::string_view text) noexcept {
  return !text.empty() && !detail::needs_escaping<'\0'>(text);
}

}  // namespace

std::string generate_request_id() {
  std::array<unsigned char, 16> bits;
  detail::random_bytes(bits.data(), bits.size());
  bits[6] = static_cast<unsigned char>((bits[6] & 0x0f) | 0x40);  // version 4
  bits[8] = static_cast<unsigned char>((bits[8] & 0x3f) | 0x80);  // RFC 4122 variant
  // Written into a stack buffer, then copied into the string once: 36
  // push_backs, each with its own capacity check and terminator, cost
  // several times as much (docs/benchmarks.md).
  std::array<char, 36> text;
  char* at = text.data();
  const std::span<const std::uint8_t> bytes(bits);
  at = detail::write_hex(bytes.subspan(0, 4), at);  // 8-4-4-4-12 digits
  for (const std::size_t from : {std::size_t{4}, std::size_t{6}, std::size_t{8}}) {
    *at++ = '-';
    at = detail::write_hex(bytes.subspan(from, 2), at);
  }
  *at++ = '-';
  at = detail::write_hex(bytes.subspan(10, 6), at);
  return std::string(text.data(), text.size());
}

std::string_view path_without_query(std::string_view target) noexcept {
  // A plain scan: libstdc++'s find_first_of calls memchr over the two
  // delimiters once per character of the target (14 % of describe_request).
  std::size_t end = 0;
  while (end < target.size() && target[end] != '?' && target[end] != '#') ++end;
  return target.substr(0, end);
}

bool is_reserved_request_id(std::string_view id) noexcept {
  if (id == "-" || id == "(unknown)") return true;
  // make_job_id's shape: a name, '-', 16 lowercase hex digits.
  constexpr std::size_t hex_digits = 16;
  if (id.size() < hex_digits + 1 || id[id.size() - hex_digits - 1] != '-') return false;
  for (char c : id.substr(id.size() - hex_digits)) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

namespace {

// What may be echoed and logged as an id, whoever made it.
bool is_usable_id(std::string_view id) noexcept {
  return id.size() <= max_request_id_size && is_printable_ascii(id) && !is_reserved_request_id(id);
}

// A user callback of tracking_options failed: said once per kind of
// failure on stderr (the request is still answered, with a generated id),
// `detail` escaped and cut to 64 bytes so that no callback can flood or
// forge the report.
enum class callback_failure { validator_threw, generator_threw, generator_unusable, count };

void report_once(callback_failure failure, std::string_view detail) noexcept {
  static std::atomic<bool> said[static_cast<std::size_t>(callback_failure::count)];
  if (said[static_cast<std::size_t>(failure)].exchange(true, std::memory_order_relaxed)) return;
  try {
    std::string line = "aiolocals: tracking_options::";
    switch (failure) {
      case callback_failure::validator_threw:
        line += "is_acceptable threw (the client's id is rejected): ";
        break;
      case callback_failure::generator_threw:
        line += "generate threw (a UUID is used instead): ";
        break;
      case callback_failure::generator_unusable:
        line +=
            "generate made an id that is empty, too long, not printable ASCII, or reserved (a "
            "marker or a job's id); a UUID is used instead: ";
        break;
      case callback_failure::count:
        break;
    }
    constexpr std::size_t shown = 64;
    append_escaped(line, detail.substr(0, shown));
    if (detail.size() > shown) line += "... (" + std::to_string(detail.size()) + " bytes)";
    line += " (said once)\n";
    std::fwrite(line.data(), 1, line.size(), stderr);
  } catch (...) {
  }
}

using detail::what_of;

bool client_id_is_acceptable(std::string_view candidate, const tracking_options& options) {
  if (!options.is_acceptable) return false;
  try {
    return options.is_acceptable(candidate);
  } catch (...) {
    report_once(callback_failure::validator_threw, what_of(std::current_exception()));
    return false;
  }
}

std::string generated_id(const tracking_options& options) {
  if (options.generate) {
    try {
      std::string generated = options.generate();
      if (is_usable_id(generated)) return generated;
      report_once(callback_failure::generator_unusable, generated);
    } catch (...) {
      report_once(callback_failure::generator_threw, what_of(std::current_exception()));
    }
  }
  return generate_request_id();
}

}  // namespace

std::string choose_request_id(std::span<const std::string_view> header_values,
                              const tracking_options& options) {
  if (!header_values.empty() && options.trust_incoming_request_id) {
    const std::string_view candidate = header_values.front();
    bool agree = true;
    for (std::string_view value : header_values) agree = agree && value == candidate;
    if (agree && is_usable_id(candidate) && client_id_is_acceptable(candidate, options)) {
      return std::string(candidate);
    }
  }
  return generated_id(options);
}

}  // namespace aiolocals
