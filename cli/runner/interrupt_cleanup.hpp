// Temporary output that must not outlive an interrupted command: a trace import's `.part`
// file, a run's hidden staging folder. While a RemoveOnInterrupt lives, SIGINT or SIGTERM
// removes its paths (files first, then folders, in the order given) and the process then dies
// of the same signal, as it would have without the handler. Registrations from several
// threads (a sweep's points) coexist; the handler only unlinks, so it is async-signal-safe.
#pragma once
#include <string>
#include <vector>

namespace fleetsim {

class RemoveOnInterrupt {
 public:
  // `files` are unlinked, then `folder` (if not empty) is removed; missing ones are ignored.
  explicit RemoveOnInterrupt(const std::vector<std::string>& files, const std::string& folder = "");
  ~RemoveOnInterrupt();
  RemoveOnInterrupt(const RemoveOnInterrupt&) = delete;
  RemoveOnInterrupt& operator=(const RemoveOnInterrupt&) = delete;

 private:
  int slot_ = -1;  // -1: no slot was free (more registrations than slots): nothing is removed
};

}  // namespace fleetsim
