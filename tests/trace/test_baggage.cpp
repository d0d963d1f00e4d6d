// SPDX-License-Identifier: BSL-1.0
// W3C Baggage: the spec's grammar cases (OWS, properties, `=` in values,
// percent-encoded bytes, empty values, invalid members among valid ones,
// duplicates), the limits, round trips, and the baggage a task carries.
#include "aiolocals/trace/baggage.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "aiolocals/context.hpp"

namespace {

using aiolocals::baggage;
using aiolocals::baggage_entry;
using aiolocals::format_baggage;
using aiolocals::parse_baggage;

std::vector<baggage_entry> entries_of(const baggage& b) {
  return {b.entries().begin(), b.entries().end()};
}

// The spec's own examples (HTTP_HEADER_FORMAT.md, "Example" and "Examples
// of HTTP headers").
TEST(Baggage, TheSpecsExamplesParse) {
  EXPECT_EQ(entries_of(parse_baggage(
                "key1=value1;property1;property2, key2 = value2, key3=value3; "
                "propertyKey=propertyValue")),
            (std::vector<baggage_entry>{{"key1", "value1", "property1;property2"},
                                        {"key2", "value2", ""},
                                        {"key3", "value3", "propertyKey=propertyValue"}}));
  const std::vector<baggage_entry> alice{
      {"userId", "alice", ""}, {"serverNode", "DF 28", ""}, {"isProduction", "false", ""}};
  EXPECT_EQ(entries_of(parse_baggage("userId=alice,serverNode=DF%2028,isProduction=false")), alice);
  const std::vector<std::string_view> split{"userId=alice", "serverNode=DF%2028,isProduction=false"};
  EXPECT_EQ(entries_of(parse_baggage(split)), alice);
  const std::vector<std::string_view> spaced{"userId =   alice",
                                             "serverNode = DF%2028, isProduction = false"};
  EXPECT_EQ(entries_of(parse_baggage(spaced)), alice);
}

TEST(Baggage, ValuesMayHoldEqualsSignsBeEmptyAndArePercentDecoded) {
  EXPECT_EQ(parse_baggage("a=b=c==").entries()[0].value, "b=c==");
  EXPECT_EQ(parse_baggage("a=").entries()[0].value, "");
  EXPECT_EQ(parse_baggage("a= \t ").entries()[0].value, "");
  EXPECT_EQ(parse_baggage("a=%E2%9C%93%2c%3B").entries()[0].value, "\xE2\x9C\x93,;");
  // A stray `%` stays; bytes that decode to ill-formed UTF-8 become U+FFFD.
  EXPECT_EQ(parse_baggage("a=100%,b=%zz%4").entries()[0].value, "100%");
  EXPECT_EQ(parse_baggage("b=%zz%4").entries()[0].value, "%zz%4");
  EXPECT_EQ(parse_baggage("a=%FF%C3x").entries()[0].value, "\xEF\xBF\xBD\xEF\xBF\xBDx");
  // `+` is a baggage-octet, not an encoded space.
  EXPECT_EQ(parse_baggage("a=1+1").entries()[0].value, "1+1");
}

TEST(Baggage, AnInvalidMemberIsDroppedAndTheOthersKept) {
  const baggage b = parse_baggage(
      "ok1=1, no-equals, bad key=2, k=bad\"quote, k2=back\\slash, =novalue, ok2=2 ,"
      "p=1;, q=1;=x, r=1;a b=c, ok3=3;prop ; x = y ,,  , \t,ok4=\x01, ok5=5");
  std::vector<std::string> keys;
  for (const baggage_entry& entry : b.entries()) keys.push_back(entry.key);
  EXPECT_EQ(keys, (std::vector<std::string>{"ok1", "ok2", "ok3", "ok5"}));
  EXPECT_EQ(b.find("ok3")->properties, "prop;x=y");
  EXPECT_TRUE(parse_baggage("").empty());
  EXPECT_TRUE(parse_baggage(" ,\t, ").empty());
  // Keys are RFC 7230 tokens, punctuation included.
  EXPECT_EQ(parse_baggage("!#$%&'*+-.^_`|~09AZaz=v").entries()[0].key,
            "!#$%&'*+-.^_`|~09AZaz");
}

TEST(Baggage, ADuplicateKeysLastValueWinsAtTheFirstsPlace) {
  EXPECT_EQ(entries_of(parse_baggage("a=1,b=2,a=3;p")),
            (std::vector<baggage_entry>{{"a", "3", "p"}, {"b", "2", ""}}));
}

TEST(Baggage, LimitsKeepTheSpecsMinimumAndDropTheRest) {
  // 180 members are kept (the grammar's most; the spec's minimum is 64).
  std::string many;
  for (int i = 0; i < 200; ++i) many += (i ? "," : "") + std::string("k") + std::to_string(i) + "=v";
  const baggage b = parse_baggage(many);
  EXPECT_EQ(b.size(), aiolocals::max_baggage_members);
  EXPECT_EQ(b.entries().back().key, "k179");
  // 8,192 bytes are kept; the member that would pass them and all after are dropped.
  const std::string big(4000, 'x');
  const baggage sized = parse_baggage("a=" + big + ",b=" + big + ",c=" + big + ",d=1");
  EXPECT_EQ(sized.size(), 2u);
  EXPECT_LE(format_baggage(sized).size(), aiolocals::max_baggage_bytes);
  // Exactly 8,192 bytes fit.
  const std::string exact = "a=" + std::string(aiolocals::max_baggage_bytes - 2, 'y');
  EXPECT_EQ(format_baggage(parse_baggage(exact)), exact);
  EXPECT_TRUE(parse_baggage(exact + "y").empty());
  // Adding past the limits throws, naming them.
  EXPECT_THROW((void)b.with("one-more", "v"), std::length_error);
  EXPECT_NO_THROW((void)b.with("k0", "replaced"));
}

TEST(Baggage, FormatEncodesWhatMustBeAndRoundTrips) {
  baggage b;
  b = b.with("user", "alice smith, \"jr\"; 100%\\").with("emoji", "\xF0\x9F\x98\x80")
          .with("flag", "on", " p1 ;p2 = v2")
          .with("ctl", std::string("a\nb\0c", 5));
  const std::string text = format_baggage(b);
  EXPECT_EQ(text,
            "user=alice%20smith%2C%20%22jr%22%3B%20100%25%5C,emoji=%F0%9F%98%80,flag=on;p1;p2=v2,"
            "ctl=a%0Ab%00c");
  EXPECT_EQ(text.size(), b.formatted_size());
  EXPECT_EQ(parse_baggage(text), b);
  // Setting a value that is not UTF-8 stores U+FFFD, so the round trip holds.
  EXPECT_EQ(baggage().with("k", "\xFF").find("k")->value, "\xEF\xBF\xBD");
}

TEST(Baggage, KeysAndPropertiesAreCheckedWhereTheyAreMade) {
  for (std::string_view key : {"", "a b", "a,b", "a;b", "a=b", "\xC3\xA9", "(x)"}) {
    try {
      (void)baggage().with(key, "v");
      ADD_FAILURE() << key;
    } catch (const std::invalid_argument& error) {
      EXPECT_NE(std::string(error.what()).find("RFC 7230 token"), std::string::npos);
    }
  }
  EXPECT_THROW((void)baggage().with("k", "v", ";"), std::invalid_argument);
  EXPECT_THROW((void)baggage().with("k", "v", "a=\"q\""), std::invalid_argument);
  EXPECT_THROW((void)baggage().with("k", "v", "a,b"), std::invalid_argument);
}

TEST(Baggage, ATaskCarriesItsOwnAndItsChildrenACopy) {
  EXPECT_TRUE(aiolocals::current_baggage().empty());
  aiolocals::context().run([] {
    aiolocals::set_baggage("tenant", "acme");
    aiolocals::set_baggage("region", "eu");
    aiolocals::context::current().child().run([] {
      EXPECT_EQ(aiolocals::current_baggage().find("tenant")->value, "acme");
      aiolocals::set_baggage("tenant", "child");
      aiolocals::remove_baggage("region");
    });
    EXPECT_EQ(format_baggage(aiolocals::current_baggage()), "tenant=acme,region=eu");
    aiolocals::remove_baggage("tenant");
    aiolocals::remove_baggage("absent");
    EXPECT_EQ(format_baggage(aiolocals::current_baggage()), "region=eu");
    aiolocals::set_current_baggage(parse_baggage("x=1"));
    EXPECT_EQ(format_baggage(aiolocals::current_baggage()), "x=1");
  });
  EXPECT_TRUE(aiolocals::current_baggage().empty());
}

}  // namespace
