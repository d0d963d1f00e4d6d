// SPDX-License-Identifier: BSL-1.0
// Loads the plugin given on the command line with dlopen (RTLD_LOCAL, as
// plugin hosts do) and checks that both sides share one set of contexts:
// the plugin reads the host's values, the host reads the plugin's writes.
#include <dlfcn.h>

#include <cstdio>

#include "aiolocals/context.hpp"
#include "aiolocals/request.hpp"
#include "shared_local.hpp"

aiolocals::local<int> host_counter{"host_counter"};

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  void* plugin = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (plugin == nullptr) {
    std::fprintf(stderr, "dlopen: %s\n", dlerror());
    return 2;
  }
  auto entry = reinterpret_cast<plugin_entry>(dlsym(plugin, "aiolocals_test_plugin_entry"));
  if (entry == nullptr) return 2;

  aiolocals::scope request_scope;
  aiolocals::request.set({"host-id", "GET", "/host", aiolocals::request_kind::request});
  host_counter.set(41);
  const bool plugin_saw_host = entry() == 1;
  const bool host_sees_plugin =
      host_counter.get() == 42 && aiolocals::request.get().id == "plugin-id";
  std::printf("plugin saw the host's values: %s; host sees the plugin's writes: %s\n",
              plugin_saw_host ? "yes" : "NO", host_sees_plugin ? "yes" : "NO");
  return plugin_saw_host && host_sees_plugin ? 0 : 1;
}
