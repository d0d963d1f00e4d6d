# SPDX-License-Identifier: BSL-1.0
# Our own layers, drawn from the #include lines of every header and source:
# fails (naming the edge) if one points the wrong way.
#   core      context.hpp, local.hpp, version.hpp, detail/context_state.hpp,
#             detail/hex.hpp: the standard library alone (checked by
#             include_graph_core) and nothing of ours above them
#   neutral   log/, trace/, http/: the core and each other
#   record    request.hpp, request_tracking.hpp, span.hpp: the core and neutral layers
#   adapters  asio/, beast/ (with beast/detail/, its machinery), spdlog/,
#             and detail/asio_*; a top-level detail/ header never includes a
#             public adapter header; asio never includes beast or spdlog,
#             spdlog never asio or beast; boost_log.hpp (Boost.Log) the
#             core, neutral and record layers only
# Usage: cmake -DROOT=<source dir> [-DINJECT=<file>:<header>] -P check_layers.cmake
# (INJECT adds one edge, so that a test can prove a wrong one is caught.)
cmake_minimum_required(VERSION 3.25)
function(layer_of path out)
  set(p "${path}")
  foreach(prefix include/ src/ aiolocals/)
    string(FIND "${p}" "${prefix}" at)
    if(at EQUAL 0)
      string(LENGTH "${prefix}" n)
      string(SUBSTRING "${p}" ${n} -1 p)
    endif()
  endforeach()
  if(p MATCHES "^(context\\.hpp|local\\.hpp|version\\.hpp|detail/context_state\\.hpp|detail/hex\\.hpp|context\\.cpp)$")
    set(${out} core PARENT_SCOPE)
  elseif(p MATCHES "^(log|trace|http)/" OR p MATCHES "^(entropy|diagnostics)\\.")
    set(${out} neutral PARENT_SCOPE)
  elseif(p MATCHES "^(request|request_tracking|span)\\.(hpp|cpp)$")
    set(${out} record PARENT_SCOPE)
  elseif(p MATCHES "^detail/asio_")
    set(${out} asio_detail PARENT_SCOPE)
  elseif(p MATCHES "^(asio/|asio\\.hpp)")
    set(${out} asio PARENT_SCOPE)
  elseif(p MATCHES "^(beast/|beast\\.hpp)")
    set(${out} beast PARENT_SCOPE)
  elseif(p MATCHES "^(spdlog|json_formatter)")
    set(${out} spdlog PARENT_SCOPE)
  elseif(p MATCHES "^boost_log\\.")
    set(${out} boost_log PARENT_SCOPE)
  else()
    set(${out} unknown PARENT_SCOPE)
  endif()
endfunction()

# What each layer may include (besides itself).
set(allowed_core "")
set(allowed_neutral "core")
set(allowed_record "core;neutral")
set(allowed_asio_detail "core;neutral;record")
set(allowed_asio "core;neutral;record;asio_detail")
set(allowed_beast "core;neutral;record;asio_detail;asio")
set(allowed_spdlog "core;neutral;record")
set(allowed_boost_log "core;neutral;record")

file(GLOB_RECURSE files RELATIVE "${ROOT}" "${ROOT}/include/aiolocals/*.hpp" "${ROOT}/src/*.cpp"
     "${ROOT}/src/*.hpp")
set(errors "")
foreach(file IN LISTS files)
  layer_of("${file}" from)
  if(from STREQUAL "unknown")
    string(APPEND errors "  ${file}: in no layer (add it to check_layers.cmake)\n")
    continue()
  endif()
  file(STRINGS "${ROOT}/${file}" lines REGEX "^#include \"")
  if(DEFINED INJECT AND INJECT MATCHES "^${file}:(.*)$")
    list(APPEND lines "#include \"${CMAKE_MATCH_1}\"")
  endif()
  foreach(line IN LISTS lines)
    string(REGEX REPLACE "^#include \"([^\"]*)\".*" "\\1" header "${line}")
    if(NOT header MATCHES "aiolocals/" AND NOT file MATCHES "^src/")
      continue()
    endif()
    string(REGEX REPLACE "^(\\.\\./)+" "" header "${header}")
    layer_of("${header}" to)
    if(to STREQUAL from OR to STREQUAL "unknown")
      continue()
    endif()
    if(NOT to IN_LIST allowed_${from})
      string(APPEND errors "  ${file} (${from}) includes ${header} (${to})\n")
    endif()
  endforeach()
endforeach()
if(errors)
  message(FATAL_ERROR "include edges that point the wrong way:\n${errors}")
endif()
message(STATUS "layers: ${CMAKE_CURRENT_LIST_FILE}: every edge points one way")
