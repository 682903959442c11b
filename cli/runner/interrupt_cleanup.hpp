// Temporary output that must not outlive an interrupted command: a trace import's `.part`
// file, a run's hidden staging folder. While a RemoveOnInterrupt lives, SIGINT or SIGTERM
// removes its paths (files first, then folders that are empty by then, in the order given) and
// the process then dies of the same signal, as it would have without the handler.
// Registrations from several threads (a sweep's points) coexist; the handler only unlinks and
// removes folders, so it is async-signal-safe.
#pragma once
#include <string>
#include <vector>

namespace fleetsim {

class RemoveOnInterrupt {
 public:
  // `files` are unlinked, then each of `folders` is removed if empty; missing ones are ignored.
  explicit RemoveOnInterrupt(const std::vector<std::string>& files, const std::vector<std::string>& folders = {});
  ~RemoveOnInterrupt();
  RemoveOnInterrupt(const RemoveOnInterrupt&) = delete;
  RemoveOnInterrupt& operator=(const RemoveOnInterrupt&) = delete;

 private:
  int slot_ = -1;  // -1: no slot was free (more registrations than slots): nothing is removed
};

}  // namespace fleetsim
