#include "real/controller/host.hpp"

#include <sched.h>
#include <sys/utsname.h>

#include <algorithm>
#include <fstream>
#include <thread>

namespace fleetsim::real {

HostInfo describe_host() {
  HostInfo h;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) == 0)
    h.cores = CPU_COUNT(&set);
  else
    h.cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  utsname u{};
  if (::uname(&u) == 0) h.kernel = std::string(u.sysname) + " " + u.release + " " + u.machine;
  std::ifstream cpuinfo("/proc/cpuinfo");
  for (std::string line; std::getline(cpuinfo, line);)
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      if (colon != std::string::npos) h.cpu = line.substr(line.find_first_not_of(" \t", colon + 1));
      break;
    }
  std::ifstream meminfo("/proc/meminfo");
  for (std::string key; meminfo >> key;) {
    double kib = 0;
    meminfo >> kib;
    if (key == "MemTotal:") {
      h.memory_bytes = kib * 1024;
      break;
    }
    meminfo.ignore(1 << 20, '\n');
  }
  return h;
}

}  // namespace fleetsim::real
