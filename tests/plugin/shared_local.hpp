// SPDX-License-Identifier: BSL-1.0
// A local defined by the host program and used by the plugin it loads.
#pragma once

#include "aiolocals/local.hpp"

extern aiolocals::local<int> host_counter;  // defined in host.cpp (exported)

// The plugin's entry point: returns 1 if it saw the host's values, after
// writing its own (host_counter + 1, request id "plugin-id").
extern "C" int aiolocals_test_plugin_entry();
using plugin_entry = int (*)();
