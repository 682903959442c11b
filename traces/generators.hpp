// Seeded synthetic request streams, one per workload entry of a scenario:
//   poisson   exponential inter-arrival times at `rate`
//   gamma     Gamma inter-arrival times with mean 1/rate and coefficient of variation `cv`
//             (cv > 1 is burstier than Poisson, cv < 1 more regular)
//   on-off    Poisson at `rate` during `on` periods, nothing during `off` periods, starting
//             with an on period at `start`
//   diurnal   Poisson with a rate that follows a day: rate · (1 + amplitude · cos(2π (t − peak)
//             / period)), mean `rate`, highest at `peak` (time into the period), drawn by
//             thinning (Lewis & Shedler): candidates at the peak rate, each kept with
//             probability rate(t) / peak rate
// Token lengths are drawn per request from the workload's distributions; with adapter_zipf,
// each request names one of the model's LoRA adapters, adapter k (from 1) with weight 1/k^s.
// Each workload draws from its own named streams (arrivals/<name>, input_tokens/<name>,
// output_tokens/<name>, adapters/<name>), so adding a workload never changes another's requests.
// With `prefixes`, requests carry prefix hashes (traces/prefix_workload.hpp); with conversations,
// an arrival of the process above starts a conversation and its later turns are merged in.
#pragma once
#include "sim/request_source.hpp"
#include "sim/rng.hpp"
#include "sim/scenario.hpp"
#include "traces/prefix_workload.hpp"
#include "traces/token_lengths.hpp"

#include <optional>
#include <vector>

namespace fleetsim {

class GeneratedSource final : public RequestSource {
 public:
  // `adapters`: how many LoRA adapters the workload's model has (used with adapter_zipf).
  // `prefix_block_tokens`: its model's prompt tokens per prefix hash (used with prefixes).
  GeneratedSource(const WorkloadSpec& spec, std::uint64_t seed, SimTime duration, std::size_t adapters = 0,
                  std::uint32_t prefix_block_tokens = 512);
  bool next(Arrival& out, Diagnostics& errors) override;

 private:
  // The arrival process's next time into fresh_time_; false when it has ended.
  bool next_fresh_time();

  WorkloadSpec spec_;
  SimTime duration_;
  RngStream arrivals_;
  RngStream input_tokens_;
  RngStream output_tokens_;
  RngStream adapters_;
  TokenLengths input_lengths_, output_lengths_;
  std::vector<double> adapter_cdf_;  // cumulative Zipf weights, empty when requests name none
  double clock_ = 0;  // seconds since `start`; for on-off, seconds of on-time
  SimTime fresh_time_ = 0;     // the process's next arrival, drawn ahead of the turns it may follow
  bool fresh_pending_ = false;
  bool fresh_ended_ = false;
  std::optional<SyntheticPrefixes> prefixes_;
};


}  // namespace fleetsim
