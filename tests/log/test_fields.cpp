// SPDX-License-Identifier: BSL-1.0
// Log fields: set, overwrite, remove, inheritance by copies, keys checked
// where they are made, and both formats safe for any value (the JSON one
// parsed back by Boost.JSON).
#include "aiolocals/log/fields.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <atomic>
#include <limits>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "aiolocals/context.hpp"
#include "json_parse.hpp"

namespace {

using aiolocals::current_log_fields;
using aiolocals::remove_log_field;
using aiolocals::set_log_field;

std::string text_of(const aiolocals::log_fields& fields) {
  std::string out;
  aiolocals::append_log_fields_text(out, fields);
  return out;
}

std::string json_of(const aiolocals::log_fields& fields) {
  std::string out = R"({"message":"m")";
  aiolocals::append_log_fields_json(out, fields);
  out.push_back('}');
  return out;
}

TEST(LogFields, SetOverwriteAndRemoveKeepTheOrderOfFirstSetting) {
  aiolocals::context().run([] {
    EXPECT_TRUE(current_log_fields().empty());
    set_log_field("tenant", "acme");
    set_log_field("order_id", 42);
    set_log_field("ratio", 0.5);
    set_log_field("beta", true);
    EXPECT_EQ(text_of(current_log_fields()), " tenant=acme order_id=42 ratio=0.5 beta=true");
    set_log_field("tenant", std::string("globex"));  // overwritten in place
    EXPECT_EQ(text_of(current_log_fields()), " tenant=globex order_id=42 ratio=0.5 beta=true");
    remove_log_field("order_id");
    remove_log_field("absent");  // nothing
    EXPECT_EQ(text_of(current_log_fields()), " tenant=globex ratio=0.5 beta=true");
    ASSERT_NE(current_log_fields().find("beta"), nullptr);
    EXPECT_EQ(std::get<bool>(*current_log_fields().find("beta")), true);
  });
}

TEST(LogFields, TypesAreKept) {
  aiolocals::context().run([] {
    set_log_field("i", static_cast<unsigned short>(7));
    set_log_field("l", -9'000'000'000LL);
    set_log_field("f", 1.5F);
    set_log_field("s", std::string_view("v"));
    const auto& fields = current_log_fields();
    EXPECT_EQ(std::get<std::int64_t>(*fields.find("i")), 7);
    EXPECT_EQ(std::get<std::int64_t>(*fields.find("l")), -9'000'000'000LL);
    EXPECT_EQ(std::get<double>(*fields.find("f")), 1.5);
    EXPECT_EQ(std::get<std::string>(*fields.find("s")), "v");
    EXPECT_THROW(set_log_field("u", std::numeric_limits<std::uint64_t>::max()),
                 std::invalid_argument);
  });
}

TEST(LogFields, ACopyInheritsAndItsAdditionsNeverFlowBack) {
  aiolocals::context().run([] {
    set_log_field("tenant", "acme");
    const aiolocals::context child = aiolocals::context::current().copy();
    child.run([] {
      EXPECT_EQ(text_of(current_log_fields()), " tenant=acme");
      set_log_field("step", "child");
      set_log_field("tenant", "other");
      EXPECT_EQ(text_of(current_log_fields()), " tenant=other step=child");
    });
    EXPECT_EQ(text_of(current_log_fields()), " tenant=acme");
    set_log_field("late", 1);  // set after the copy: the copy does not see it
    child.run([] { EXPECT_EQ(current_log_fields().find("late"), nullptr); });
  });
  EXPECT_TRUE(current_log_fields().empty());  // never leaked to the caller
}

TEST(LogFields, EachThreadsTaskSeesOnlyItsOwn) {
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([t, &wrong] {
      for (int i = 0; i < 2000; ++i) {
        aiolocals::context().run([&] {
          set_log_field("n", t * 10000 + i);
          if (std::get<std::int64_t>(*current_log_fields().find("n")) != t * 10000 + i) ++wrong;
        });
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(wrong.load(), 0);
}

TEST(LogFields, KeysAreCheckedWhereTheyAreMadeAndTheErrorSaysTheRule) {
  aiolocals::context().run([] {
    for (std::string_view bad : {"", "1abc", "a b", "a=b", "tenant\n", "ünï", "a\"b"}) {
      EXPECT_FALSE(aiolocals::is_valid_log_field_key(bad)) << bad;
      EXPECT_THROW(set_log_field(bad, "v"), std::invalid_argument) << bad;
    }
    EXPECT_FALSE(aiolocals::is_valid_log_field_key(std::string(65, 'a')));
    EXPECT_TRUE(aiolocals::is_valid_log_field_key(std::string(64, 'a')));
    for (std::string_view good : {"tenant", "_x", "app.user-id", "A9"})
      EXPECT_TRUE(aiolocals::is_valid_log_field_key(good)) << good;
    try {
      set_log_field("bad key", 1);
      FAIL();
    } catch (const std::invalid_argument& error) {
      EXPECT_NE(std::string(error.what()).find("A-Z a-z 0-9 _ . -"), std::string::npos);
    }
    // The JSON line's own members cannot be overridden by a field.
    for (std::string_view ours : aiolocals::reserved_log_field_keys) {
      try {
        set_log_field(ours, "forged");
        ADD_FAILURE() << ours;
      } catch (const std::invalid_argument& error) {
        EXPECT_NE(std::string(error.what()).find("own members"), std::string::npos);
      }
    }
    EXPECT_TRUE(current_log_fields().empty());
  });
}

TEST(LogFields, TextValuesCannotForgeAFieldOrBreakTheLine) {
  aiolocals::context().run([] {
    set_log_field("user", "bob admin=true\nFAKE LINE \x1b[31m\\ é");
    set_log_field("empty", "");
    EXPECT_EQ(text_of(current_log_fields()),
              " user=bob\\x20admin\\x3dtrue\\x0aFAKE\\x20LINE\\x20\\x1b[31m\\x5c\\x20\\xc3\\xa9"
              " empty=");
  });
}

TEST(LogFields, JsonMembersAreTypedAndParseBackWhateverTheValue) {
  aiolocals::context().run([] {
    set_log_field("tenant", "a\"c\\me\n\x01\xff");
    set_log_field("order_id", 42);
    set_log_field("ratio", 0.1);
    set_log_field("big", 1e300);
    set_log_field("neg", -3);
    set_log_field("on", false);
    set_log_field("nan", std::nan(""));
    set_log_field("inf", -std::numeric_limits<double>::infinity());
    const std::string line = json_of(current_log_fields());
    const auto parsed = aiolocals::testing::parse_json(line);
    ASSERT_TRUE(parsed) << line;
    const auto& object = parsed->as_object();
    EXPECT_EQ(object.at("tenant").as_string(), "a\"c\\me\n\x01\xef\xbf\xbd");  // U+FFFD
    EXPECT_EQ(object.at("order_id").as_int64(), 42);
    EXPECT_EQ(object.at("ratio").as_double(), 0.1);
    EXPECT_EQ(object.at("big").as_double(), 1e300);
    EXPECT_EQ(object.at("neg").as_int64(), -3);
    EXPECT_EQ(object.at("on").as_bool(), false);
    EXPECT_EQ(object.at("nan").as_string(), "NaN");
    EXPECT_EQ(object.at("inf").as_string(), "-Infinity");
    EXPECT_EQ(object.at("message").as_string(), "m");
  });
}

}  // namespace
