// SPDX-License-Identifier: BSL-1.0
// The main of every GoogleTest binary: each test runs in a fresh context of
// its own, entered before it starts and left after it ends, so no test sees
// a value another left behind (as folly's RequestContext tests do in a
// fixture).
#include <gtest/gtest.h>

#include <optional>

#include "aiolocals/context.hpp"

namespace {

class fresh_context_per_test final : public testing::EmptyTestEventListener {
  void OnTestStart(const testing::TestInfo&) override { scope_.emplace(); }
  void OnTestEnd(const testing::TestInfo&) override { scope_.reset(); }
  std::optional<aiolocals::scope> scope_;
};

}  // namespace

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  testing::UnitTest::GetInstance()->listeners().Append(new fresh_context_per_test);
  return RUN_ALL_TESTS();
}
