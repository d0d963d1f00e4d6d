// The compiled part of aiolocals::beast: id validation and generation.
#include "aiolocals/beast.hpp"

#include <boost/uuid/random_generator.hpp>
#include <boost/uuid/uuid_io.hpp>
#include <cstdio>

namespace aiolocals::beast {

bool is_safe_request_id(std::string_view id) noexcept {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    const bool safe = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                      c == '.' || c == '_' || c == ':' || c == '-';
    if (!safe) return false;
  }
  return true;
}

std::string generate_request_id() {
  // Seeded once per thread from the OS; not shared, so no lock.
  thread_local boost::uuids::random_generator generator;
  return boost::uuids::to_string(generator());
}

std::string_view path_without_query(std::string_view target) noexcept {
  return target.substr(0, target.find_first_of("?#"));
}

std::string choose_request_id(const boost::beast::http::fields& headers,
                              const tracking_options& options) {
  auto [first, last] = headers.equal_range(options.header_name);
  if (first != last) {
    const std::string_view candidate = first->value();
    bool agree = true;
    for (auto it = std::next(first); it != last; ++it) agree = agree && it->value() == candidate;
    if (agree && options.is_acceptable && options.is_acceptable(candidate)) {
      return std::string(candidate);
    }
  }
  return options.generate ? options.generate() : generate_request_id();
}

void tracking_options::report_to_stderr(std::exception_ptr error) {
  std::string what = "unknown exception";
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    what = e.what();
  } catch (...) {
  }
  const request_info* current = request.find();
  std::string line = "aiolocals: unhandled exception in request ";
  if (current != nullptr) {
    line += current->id + " " + current->method + " ";
    append_escaped(line, current->path);
  }
  line += ": ";
  append_escaped(line, what);
  line += '\n';
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace aiolocals::beast
