// SPDX-License-Identifier: Apache-2.0
// A child program for FakeTimeProcess tests. Prints "ready pid=<pid>", then obeys one
// command per stdin line and exits 0 at end of input:
//   time (or an empty line)  prints "wall=<time(nullptr)> chrono=<system_clock s>
//                            steady_ns=<steady_clock ns>"
//   say <text>               prints <text>
//   err <text>               prints <text> on stderr
//   env <NAME>               prints "NAME=<value>" or "NAME unset"
//   fds                      prints "fds=<open descriptors except the one listing them>"
//   ignore-term              ignores SIGTERM, then prints "ignoring SIGTERM"
//   exit <code>              exits with <code>
#include <dirent.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <string>

int main() {
  std::cout << "ready pid=" << getpid() << std::endl;
  std::string line;
  while (std::getline(std::cin, line)) {
    if (line.empty() || line == "time") {
      auto chrono_wall = std::chrono::duration_cast<std::chrono::seconds>(
          std::chrono::system_clock::now().time_since_epoch());
      auto steady = std::chrono::duration_cast<std::chrono::nanoseconds>(
          std::chrono::steady_clock::now().time_since_epoch());
      std::cout << "wall=" << static_cast<long long>(std::time(nullptr))
                << " chrono=" << chrono_wall.count() << " steady_ns=" << steady.count()
                << std::endl;
    } else if (line.rfind("say ", 0) == 0) {
      std::cout << line.substr(4) << std::endl;
    } else if (line.rfind("err ", 0) == 0) {
      std::cerr << line.substr(4) << std::endl;
    } else if (line.rfind("env ", 0) == 0) {
      std::string name = line.substr(4);
      const char* v = std::getenv(name.c_str());
      std::cout << name << (v ? "=" + std::string(v) : std::string(" unset")) << std::endl;
    } else if (line == "fds") {
      int count = 0;
      if (DIR* d = opendir("/proc/self/fd")) {
        while (dirent* e = readdir(d)) count += e->d_name[0] != '.';
        closedir(d);
        --count;  // the directory stream's own fd
      }
      std::cout << "fds=" << count << std::endl;
    } else if (line == "ignore-term") {
      std::signal(SIGTERM, SIG_IGN);
      std::cout << "ignoring SIGTERM" << std::endl;
    } else if (line.rfind("exit ", 0) == 0) {
      return std::atoi(line.c_str() + 5);
    } else {
      std::cout << "unknown command: " << line << std::endl;
    }
  }
  return 0;
}
