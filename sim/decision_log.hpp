// DecisionLog: an observer that keeps a run's decisions in order, each with its time: scale
// changes (current -> desired, when they differ, once while the same wish stays unmet), placements, cold starts (where the weights
// came from, or abandoned), replica failures ("fail chat r3": an injected fault or a worker that
// died) and cache insertions and evictions. Two runs of one scenario — the
// simulator and real mode — made the same decisions when their sequences (the log without the
// times) are equal; the times show where they diverged.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "sim/observer.hpp"
#include "sim/scenario.hpp"

namespace fleetsim {

class DecisionLog : public SimObserver {
 public:
  struct Entry {
    SimTime time = 0;
    std::string what;  // "scale chat 0->1", "place chat r0 node 0", "ready chat r0 disk-cache", ...
  };
  explicit DecisionLog(const Scenario& scenario) : scenario_(scenario) {}
  void on_scale(SimTime now, std::uint32_t model, int current, int desired) override;
  void on_replica_placed(SimTime now, const ReplicaInfo& replica) override;
  void on_cold_start(const ColdStartRecord& record) override;
  void on_replica_failed(SimTime now, const ReplicaInfo& replica) override;
  void on_cache(SimTime now, std::uint32_t node, std::uint32_t model, CacheEvent event) override;

  const std::vector<Entry>& entries() const { return entries_; }
  std::vector<std::string> sequence() const;

 private:
  const std::string& name(std::uint32_t model) const { return scenario_.models[model].name; }
  const Scenario& scenario_;
  std::vector<Entry> entries_;
  std::vector<std::pair<int, int>> last_scale_;  // per model: the last scale line logged
};

}  // namespace fleetsim
