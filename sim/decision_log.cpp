#include "sim/decision_log.hpp"

namespace fleetsim {

void DecisionLog::on_scale(SimTime now, std::uint32_t model, int current, int desired) {
  if (current == desired) return;
  // The same unmet wish again (a scale-up that cannot be placed, asked at every evaluation) is
  // one decision, not one per evaluation.
  if (last_scale_.size() <= model) last_scale_.resize(model + 1, {-1, -1});
  if (last_scale_[model] == std::pair{current, desired}) return;
  last_scale_[model] = {current, desired};
  entries_.push_back({now, "scale " + name(model) + " " + std::to_string(current) + "->" + std::to_string(desired)});
}

void DecisionLog::on_replica_placed(SimTime now, const ReplicaInfo& r) {
  entries_.push_back({now, "place " + name(r.model) + " r" + std::to_string(r.id) + " node " + std::to_string(r.node)});
}

void DecisionLog::on_cold_start(const ColdStartRecord& c) {
  const std::string who = name(c.replica.model) + " r" + std::to_string(c.replica.id);
  entries_.push_back({c.ready, c.aborted ? "abandon " + who : "ready " + who + " from " + weight_source_name(c.source)});
}

void DecisionLog::on_replica_failed(SimTime now, const ReplicaInfo& r) {
  entries_.push_back({now, "fail " + name(r.model) + " r" + std::to_string(r.id)});
}

void DecisionLog::on_cache(SimTime now, std::uint32_t node, std::uint32_t model, CacheEvent event) {
  if (event == CacheEvent::Hit) return;  // a cold start's source says it
  entries_.push_back({now, std::string(event == CacheEvent::Insert ? "cache " : "evict ") + name(model) + " node " +
                               std::to_string(node)});
}

std::vector<std::string> DecisionLog::sequence() const {
  std::vector<std::string> out;
  out.reserve(entries_.size());
  for (const Entry& e : entries_) out.push_back(e.what);
  return out;
}

}  // namespace fleetsim
