# Installs the build tree into a scratch prefix, then configures, builds and
# runs tests/consumer against it with find_package(aiolocals CONFIG).
set(prefix "${BINARY_DIR}/consumer-prefix")
set(build "${BINARY_DIR}/consumer-build")
file(REMOVE_RECURSE "${prefix}" "${build}")
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE result)
  if(NOT result EQUAL 0)
    message(FATAL_ERROR "failed (${result}): ${ARGN}")
  endif()
endfunction()
run(${CMAKE_COMMAND} --install "${BINARY_DIR}" --prefix "${prefix}")
run(${CMAKE_COMMAND} -S "${SOURCE_DIR}/tests/consumer" -B "${build}"
    -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_BUILD_TYPE=Release
    -DCMAKE_CXX_FLAGS=${CXX_FLAGS})
run(${CMAKE_COMMAND} --build "${build}" -j2)
run("${build}/consumer")
run("${build}/consumer_asio")
run("${build}/consumer_logging")
message(STATUS "consumer built and ran against ${prefix}")
