// SPDX-License-Identifier: BSL-1.0
#include <aiolocals/local.hpp>
#include <string>

aiolocals::local<std::string> user{"user"};

int main() {
  aiolocals::scope scope;
  user.set("installed");
  return user.get() == "installed" ? 0 : 1;
}
