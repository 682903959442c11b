// Seeded synthetic request streams, one per workload entry of a scenario:
//   poisson   exponential inter-arrival times at `rate`
//   gamma     Gamma inter-arrival times with mean 1/rate and coefficient of variation `cv`
//             (cv > 1 is burstier than Poisson, cv < 1 more regular)
//   on-off    Poisson at `rate` during `on` periods, nothing during `off` periods, starting
//             with an on period at `start`
// Token lengths are drawn per request from the workload's distributions. Each workload draws
// from its own named streams (arrivals/<name>, input_tokens/<name>, output_tokens/<name>), so
// adding a workload never changes another's requests.
#pragma once
#include "sim/request_source.hpp"
#include "sim/rng.hpp"
#include "sim/scenario.hpp"

namespace fleetsim {

class GeneratedSource final : public RequestSource {
 public:
  GeneratedSource(const WorkloadSpec& spec, std::uint64_t seed, SimTime duration);
  bool next(Arrival& out, Diagnostics& errors) override;

 private:
  WorkloadSpec spec_;
  SimTime duration_;
  RngStream arrivals_;
  RngStream input_tokens_;
  RngStream output_tokens_;
  double clock_ = 0;  // seconds since `start`; for on-off, seconds of on-time
};

// A token count drawn from `d` (rounded, at least 1).
std::uint32_t draw_tokens(const Distribution& d, RngStream& rng);

}  // namespace fleetsim
