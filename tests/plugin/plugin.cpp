// SPDX-License-Identifier: BSL-1.0
// A plugin, loaded with dlopen by host.cpp: reads the host's values and
// writes values the host must see.
#include <thread>

#include "aiolocals/context.hpp"
#include "aiolocals/request.hpp"
#include "shared_local.hpp"

extern "C" int aiolocals_test_plugin_entry() {
  const aiolocals::request_info* request = aiolocals::request.find();
  const int* counter = host_counter.find();
  const bool saw_host =
      request != nullptr && request->id == "host-id" && counter != nullptr && *counter == 41;
  // A copy bound here travels to a thread started here.
  bool thread_saw = false;
  std::thread(aiolocals::bind([&thread_saw] {
    thread_saw = host_counter.find() != nullptr;
  })).join();
  host_counter.set(42);
  aiolocals::request.set({"plugin-id", "POST", "/plugin", aiolocals::request_kind::request});
  return saw_host && thread_saw ? 1 : 0;
}
