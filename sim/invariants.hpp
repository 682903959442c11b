// InvariantChecker: an observer that checks, on every signal, the rules every run must keep
// whatever its policies decide — time never goes back; no GPU holds more than a whole GPU's
// worth of allocations or more memory than it has, and the free-GPU count matches the slots;
// every request ends exactly once (serials 0..n-1, each once), and not before it arrived; no
// LLM replica holds more KV blocks than its cache has (checked as each request ends); no
// replica's outstanding tokens (what the routers read) go below 0, a replica without a request
// has none (checked as each request ends, as a replica goes idle and at the run's end), and they
// add up to what its requests have left (recounted as each request arrives).
// The tests attach it to every run (tests/support), and `fleetsim check-policy` to every run of
// a policy under test.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "sim/observer.hpp"
#include "sim/simulation.hpp"

namespace fleetsim {

class InvariantChecker : public SimObserver {
 public:
  explicit InvariantChecker(const Simulation& sim) : sim_(sim) {}
  void on_request_arrived(SimTime now, std::uint32_t model, bool buffered) override;
  void on_request_end(const RequestResult& r) override;
  void on_replica_placed(SimTime now, const ReplicaInfo&) override;
  void on_replica_phase(SimTime now, const ReplicaInfo&, ReplicaPhase) override;
  void on_replica_busy(SimTime now, const ReplicaInfo&, bool busy) override;
  void on_run_end(SimTime end) override;

  std::vector<std::string> violations;
  std::uint64_t ended = 0;

 private:
  void tick(SimTime now);
  void check_gpus();
  const Simulation& sim_;
  SimTime last_ = 0;
  std::vector<std::uint8_t> seen_;
};

}  // namespace fleetsim
