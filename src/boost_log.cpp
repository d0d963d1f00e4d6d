// SPDX-License-Identifier: BSL-1.0
// Boost.Log attributes that read the task making a record: each value
// holds a snapshot of that task's context and builds its text when a
// formatter asks.
#include "aiolocals/boost_log.hpp"

#include <boost/log/attributes/attribute.hpp>
#include <boost/log/attributes/attribute_value.hpp>
#include <boost/log/utility/type_dispatch/type_dispatcher.hpp>
#include <boost/type_index.hpp>
#include <mutex>
#include <ostream>
#include <string_view>

#include "aiolocals/context.hpp"
#include "aiolocals/log/escape.hpp"
#include "aiolocals/request.hpp"
#include "aiolocals/span.hpp"

namespace aiolocals {
namespace {

namespace logging = boost::log;

// What each attribute reads from the record's snapshot. Read without
// entering it: two sinks may format one record on two threads at once.
enum class field { request_id, method, path, trace_id, span_id };

std::string text_of(field which, const context& snapshot) {
  if (which == field::trace_id || which == field::span_id) {
    const span_context current = current_span(snapshot);
    if (!current.is_valid()) return "-";
    return which == field::trace_id ? current.trace.to_hex() : current.span.to_hex();
  }
  const request_info* info = snapshot.find(request);
  if (info == nullptr) return "-";
  const std::string& raw =
      which == field::request_id ? info->id : which == field::method ? info->method : info->path;
  if (raw.empty()) return "-";
  if (which == field::request_id) return raw;  // ids are checked where they are made
  std::string escaped;
  append_escaped(escaped, raw);
  return escaped;
}

// A record's value: the snapshot taken when the record was made.
class text_value final : public logging::attribute_value::impl {
 public:
  text_value(field which, context snapshot) : which_(which), snapshot_(std::move(snapshot)) {}
  bool dispatch(logging::type_dispatcher& dispatcher) override {
    auto callback = dispatcher.get_callback<std::string>();
    if (!callback) return false;
    // Boost.Log's value_ref keeps a reference to what is dispatched, so the
    // text lives in the value; built once, by whichever sink asks first.
    std::call_once(built_, [this] { text_ = text_of(which_, snapshot_); });
    callback(text_);
    return true;
  }
  boost::typeindex::type_index get_type() const override {
    return boost::typeindex::type_id<std::string>();
  }

 private:
  field which_;
  context snapshot_;
  std::once_flag built_;
  std::string text_;
};

class fields_value final : public logging::attribute_value::impl {
 public:
  explicit fields_value(context snapshot) : snapshot_(std::move(snapshot)) {}
  bool dispatch(logging::type_dispatcher& dispatcher) override {
    auto callback = dispatcher.get_callback<log_fields>();
    if (!callback) return false;
    // The snapshot is never written, so the reference stays valid.
    callback(log_fields_of(snapshot_));
    return true;
  }
  boost::typeindex::type_index get_type() const override {
    return boost::typeindex::type_id<log_fields>();
  }

 private:
  context snapshot_;
};

class text_attribute final : public logging::attribute::impl {
 public:
  explicit text_attribute(field which) : which_(which) {}
  logging::attribute_value get_value() override {
    return logging::attribute_value(new text_value(which_, context::current().copy()));
  }

 private:
  field which_;
};

class fields_attribute final : public logging::attribute::impl {
 public:
  logging::attribute_value get_value() override {
    return logging::attribute_value(new fields_value(context::current().copy()));
  }
};

}  // namespace

void configure_boost_log(const boost::log::core_ptr& core) {
  const auto put = [&core](const char* name, logging::attribute::impl* impl) {
    const logging::attribute attribute(impl);
    auto [existing, added] = core->add_global_attribute(name, attribute);
    if (!added) {
      core->remove_global_attribute(existing);
      core->add_global_attribute(name, attribute);
    }
  };
  put("RequestID", new text_attribute(field::request_id));
  put("Method", new text_attribute(field::method));
  put("Path", new text_attribute(field::path));
  put("TraceID", new text_attribute(field::trace_id));
  put("SpanID", new text_attribute(field::span_id));
  put("LogFields", new fields_attribute());
}

std::ostream& operator<<(std::ostream& out, const log_fields& fields) {
  std::string text;
  append_log_fields_text(text, fields);
  return out << text;
}

}  // namespace aiolocals
