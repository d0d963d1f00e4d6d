# SPDX-License-Identifier: BSL-1.0
# Installs the build tree into a scratch prefix, then configures, builds and
# runs tests/consumer against it with find_package(aiolocals CONFIG), once
# per set of components, and checks the pkg-config file.
set(prefix "${BINARY_DIR}/consumer-prefix")
file(REMOVE_RECURSE "${prefix}")
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE result)
  if(NOT result EQUAL 0)
    message(FATAL_ERROR "failed (${result}): ${ARGN}")
  endif()
endfunction()
run(${CMAKE_COMMAND} --install "${BINARY_DIR}" --prefix "${prefix}")
foreach(consumer core asio logging boost_log missing)
  set(build "${BINARY_DIR}/consumer-build-${consumer}")
  file(REMOVE_RECURSE "${build}")
  run(${CMAKE_COMMAND} -S "${SOURCE_DIR}/tests/consumer" -B "${build}"
      -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_BUILD_TYPE=Release
      -DCMAKE_CXX_FLAGS=${CXX_FLAGS} -DAIOLOCALS_CONSUMER=${consumer})
  if(NOT consumer STREQUAL "missing")
    run(${CMAKE_COMMAND} --build "${build}" -j2)
    run("${build}/consumer")
  endif()
endforeach()
file(READ "${prefix}/lib/pkgconfig/aiolocals.pc" pc)
if(NOT pc MATCHES "Libs: -L[^\n]*-laiolocals" OR NOT pc MATCHES "Version: [0-9]")
  message(FATAL_ERROR "aiolocals.pc is incomplete:\n${pc}")
endif()
message(STATUS "consumers built and ran against ${prefix}")
