// The machine a real-mode run ran on, as result.json records it: what its timings mean depends
// on it (real mode assumes each computing worker has a core of its own; the result says when it
// did not).
#pragma once
#include <string>

namespace fleetsim::real {

struct HostInfo {
  std::string cpu;     // /proc/cpuinfo's model name
  std::string kernel;  // uname: "Linux 6.8.0 x86_64"
  int cores = 1;       // CPUs this process may run on (its affinity mask)
  double memory_bytes = 0;
};

HostInfo describe_host();

}  // namespace fleetsim::real
