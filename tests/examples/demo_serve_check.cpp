// SPDX-License-Identifier: BSL-1.0
// Runs `demo --serve 0` as a newcomer would (README walkthrough): waits for
// "serving on http://127.0.0.1:PORT", sends one request with an id and one
// without, checks the responses and the log lines, sends SIGTERM and
// expects exit status 0. Usage: demo_serve_check PATH_TO_DEMO
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <regex>
#include <string>

namespace {

int failures = 0;
void check(bool ok, const std::string& what) {
  std::printf("%s: %s\n", ok ? "ok" : "FAILED", what.c_str());
  if (!ok) ++failures;
}

// Reads from `fd` until `text` holds a full line matching `pattern` (or EOF).
bool read_until(int fd, std::string& text, const std::regex& pattern, std::smatch& match) {
  char buffer[4096];
  for (;;) {
    if (std::regex_search(text, match, pattern)) return true;
    const ssize_t got = read(fd, buffer, sizeof buffer);
    if (got <= 0) return false;
    text.append(buffer, static_cast<std::size_t>(got));
  }
}

// One HTTP/1.1 exchange over a fresh connection; returns the raw response.
std::string exchange(int port, const std::string& request) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string response;
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
      write(fd, request.data(), request.size()) == static_cast<ssize_t>(request.size())) {
    char buffer[4096];
    for (ssize_t got; (got = read(fd, buffer, sizeof buffer)) > 0;) {
      response.append(buffer, static_cast<std::size_t>(got));
    }
  }
  close(fd);
  return response;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  int output[2];
  if (pipe(output) != 0) return 2;
  const pid_t demo = fork();
  if (demo == 0) {
    dup2(output[1], STDOUT_FILENO);
    close(output[0]);
    close(output[1]);
    execl(argv[1], argv[1], "--serve", "0", static_cast<char*>(nullptr));
    _exit(127);
  }
  close(output[1]);

  std::string log;
  std::smatch match;
  const bool serving =
      read_until(output[0], log, std::regex("serving on http://127\\.0\\.0\\.1:([0-9]+)"), match);
  check(serving, "demo --serve 0 says where it serves");
  if (!serving) {
    kill(demo, SIGKILL);
    waitpid(demo, nullptr, 0);
    return 1;
  }
  const int port = std::stoi(match[1]);

  const std::string with_id = exchange(
      port,
      "GET /hello HTTP/1.1\r\nHost: x\r\nX-Request-ID: walkthrough-1\r\nConnection: close\r\n\r\n");
  check(with_id.rfind("HTTP/1.1 200", 0) == 0, "a request with an id gets 200");
  check(with_id.find("X-Request-ID: walkthrough-1\r\n") != std::string::npos, "and its id echoed");
  check(with_id.find("hello, walkthrough-1") != std::string::npos, "the handler saw the id");

  const std::string without_id =
      exchange(port, "GET /hello?token=secret HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  const std::regex generated(
      "X-Request-ID: ([0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12})\r\n");
  std::smatch id_match;
  const bool has_generated = std::regex_search(without_id, id_match, generated);
  check(without_id.rfind("HTTP/1.1 200", 0) == 0 && has_generated,
        "a request without an id gets 200 and a generated v4 UUID");

  check(kill(demo, SIGTERM) == 0, "SIGTERM sent");
  char buffer[4096];
  for (ssize_t got; (got = read(output[0], buffer, sizeof buffer)) > 0;) {
    log.append(buffer, static_cast<std::size_t>(got));
  }
  int status = 0;
  waitpid(demo, &status, 0);
  check(WIFEXITED(status) && WEXITSTATUS(status) == 0, "demo exits 0 on SIGTERM");
  check(log.find("[GET /hello#walkthrough-1] handling") != std::string::npos,
        "the log line of the first request carries its id and path");
  check(has_generated &&
            log.find("[GET /hello#" + id_match[1].str() + "] handling") != std::string::npos,
        "the log line of the second carries the generated id, without the query");
  check(log.find("secret") == std::string::npos, "the query string is never logged");
  if (failures != 0) std::printf("demo output:\n%s\n", log.c_str());
  return failures == 0 ? 0 : 1;
}
