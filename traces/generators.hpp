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

#include <limits>
#include <memory>
#include <vector>

namespace fleetsim {

class alignas(64) GeneratedSource final : public RequestSource {
 public:
  // `adapters`: how many LoRA adapters the workload's model has (used with adapter_zipf).
  // `prefix_block_tokens`: its model's prompt tokens per prefix hash (used with prefixes).
  GeneratedSource(const WorkloadSpec& spec, std::uint64_t seed, SimTime duration, std::size_t adapters = 0,
                  std::uint32_t prefix_block_tokens = 512);
  bool next(Arrival& out, Diagnostics& errors) override;

 private:
  // The arrival process's next time into fresh_time_; false when it has ended.
  bool next_fresh_time();

  // What every arrival reads comes first, in the object's first RequestSource::kHotBytes (a
  // fleet has a thousand sources, each one's state a cache miss per arrival: the engine starts
  // loading those lines an event ahead). Hence the process's parameters copied out of the
  // WorkloadSpec (whose names and paths would push the rest back by five lines).
  double clock_ = 0;  // seconds since `start`; for on-off, seconds of on-time
  SimTime fresh_time_ = 0;     // the process's next arrival, drawn ahead of the turns it may follow
  bool fresh_pending_ = false;
  bool fresh_ended_ = false;
  WorkloadSpec::Arrivals kind_;
  std::uint32_t model_;
  double rate_, cv_, amplitude_;
  // Diurnal: the last cosine thinning computed, at clock_ = cos_at_ (next_fresh_time).
  double cos_at_ = -std::numeric_limits<double>::infinity(), cos_value_ = 0;
  SimTime on_, off_, period_, peak_, start_;
  SimTime duration_;
  std::unique_ptr<SyntheticPrefixes> prefixes_;  // null without `prefixes`
  RngStream arrivals_;
  RngStream output_tokens_;
  RngStream input_tokens_;
  TokenLengths input_lengths_, output_lengths_;
  std::vector<double> adapter_cdf_;  // cumulative Zipf weights, empty when requests name none
  RngStream adapters_;  // (past the hot bytes: used only by workloads naming adapters)
};


}  // namespace fleetsim
