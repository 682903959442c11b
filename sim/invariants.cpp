#include "sim/invariants.hpp"

#include <string>

namespace fleetsim {

void InvariantChecker::tick(SimTime now) {
  if (now < last_) violations.push_back("time went back from " + std::to_string(last_) + " to " + std::to_string(now));
  last_ = now;
}

void InvariantChecker::check_gpus() {
  for (const NodeView& node : sim_.nodes()) {
    int free = 0;
    for (const GpuSlot& g : node.gpus) {
      // Shares (co-located jobs' fractional workers) may stack up to a whole GPU; a replica or a
      // whole-GPU job counts 1000 alone.
      if (g.milli_used > 1000) violations.push_back("GPU over-committed: " + std::to_string(g.milli_used) + " milli");
      if (g.holders > 1 && g.milli_used == 0) violations.push_back("GPU shared with nothing allocated");
      if (g.memory_used > node.gpu_type->memory_bytes + 1) violations.push_back("GPU memory over-committed");
      if (g.holders == 0) ++free;
    }
    if (free != node.free_gpus) violations.push_back("free GPU count out of step");
  }
}

void InvariantChecker::on_request_end(const RequestResult& r) {
  tick(r.end);
  if (r.end < r.arrival) violations.push_back("request ended before it arrived");
  if (seen_.size() <= r.serial) seen_.resize(r.serial + 1, 0);
  if (seen_[r.serial]++) violations.push_back("request " + std::to_string(r.serial) + " ended twice");
  ++ended;
  if (std::string kv = sim_.kv_cache_violation(); !kv.empty()) violations.push_back(kv);
  if (std::string tokens = sim_.routing_tokens_violation(); !tokens.empty()) violations.push_back(tokens);
}

// A request about to be routed: no event is half handled, so the counts can be recounted.
void InvariantChecker::on_request_arrived(SimTime now, std::uint32_t, bool) {
  tick(now);
  if (std::string tokens = sim_.routing_tokens_violation(true); !tokens.empty()) violations.push_back(tokens);
}

void InvariantChecker::on_replica_busy(SimTime now, const ReplicaInfo&, bool busy) {
  tick(now);
  // Idle: its last request has left, and with it every outstanding token.
  if (!busy)
    if (std::string tokens = sim_.routing_tokens_violation(); !tokens.empty()) violations.push_back(tokens);
}

void InvariantChecker::on_replica_placed(SimTime now, const ReplicaInfo&) {
  tick(now);
  check_gpus();
}

void InvariantChecker::on_replica_phase(SimTime now, const ReplicaInfo&, ReplicaPhase) {
  tick(now);
  check_gpus();
}

void InvariantChecker::on_run_end(SimTime end) {
  tick(end);
  if (std::string tokens = sim_.routing_tokens_violation(); !tokens.empty()) violations.push_back(tokens);
  for (std::size_t i = 0; i < seen_.size(); ++i)
    if (seen_[i] != 1) violations.push_back("request " + std::to_string(i) + " never ended");
}

}  // namespace fleetsim
