// SPDX-License-Identifier: BSL-1.0
// What a function returns when run in a forked child of the test: for ids
// that a child must not repeat from its parent.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <string>

namespace test_support {

// Runs `make()` in a child forked now and returns its result (at most 4 KiB;
// empty if the child failed).
template <class F>
std::string in_forked_child(F make) {
  int pipe_ends[2];
  if (pipe(pipe_ends) != 0) return {};
  const pid_t child = fork();
  if (child < 0) return {};
  if (child == 0) {
    const std::string made = make();
    (void)!write(pipe_ends[1], made.data(), made.size());
    _exit(0);
  }
  close(pipe_ends[1]);
  std::string result;
  char buffer[4096];
  for (ssize_t got; (got = read(pipe_ends[0], buffer, sizeof buffer)) > 0;) result.append(buffer, got);
  close(pipe_ends[0]);
  int status = 0;
  waitpid(child, &status, 0);
  return result;
}

}  // namespace test_support
