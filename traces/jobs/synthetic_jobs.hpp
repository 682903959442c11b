// Synthetic training jobs: Poisson arrivals, run times drawn from an observed distribution (the
// Philly run times, read_philly_runtimes) and gang sizes from a weighted list — for studies
// that need more jobs, or another load, than a public trace has.
//
//   arrivals   exponential gaps with mean 1 / arrival_rate (jobs per second), from t = 0
//   duration   one observed value drawn uniformly (a bootstrap), at least min_duration_s (the
//              Philly file has zeros), as long on every GPU type
//   gang       `gpus` weights: a job of g GPUs is one worker of g GPUs when g <= gpus_per_node,
//              else g / gpus_per_node workers of gpus_per_node GPUs (g must divide evenly)
//   tenant     "t0" .. "t<tenants-1>", uniformly
//   id         "syn-<n>", n from 0
// Draws come from the stream (seed, "jobs/synthetic"): the same options give the same jobs.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "sim/job.hpp"
#include "traces/jobs/job_traces.hpp"

namespace fleetsim {

struct SyntheticJobOptions {
  std::uint64_t jobs = 1000;
  double arrival_rate = 0;                          // jobs per second (> 0)
  std::vector<std::pair<int, double>> gpus = {{1, 1.0}};  // gang GPUs -> weight (> 0)
  int gpus_per_node = 8;
  double min_duration_s = 1;
  int tenants = 1;
  std::uint64_t seed = 1;
};

constexpr std::uint64_t kMaxSyntheticJobs = 10'000'000;
constexpr int kMaxSyntheticTenants = 1'000'000;
constexpr int kMaxSyntheticGangGpus = 1'000'000;

// "" when the options are usable (within the bounds above), else what is wrong.
std::string check(const SyntheticJobOptions& options);

// Parses "1:70,2:10,4:10,8:10" (GPUs:weight); false and `error` on a bad list.
bool parse_gang_weights(const std::string& text, std::vector<std::pair<int, double>>& out, std::string& error);

// The jobs, in submit order (options must pass check(), durations must not be empty).
std::unique_ptr<JobSource> synthetic_jobs(const SyntheticJobOptions& options, EmpiricalDistribution durations);

}  // namespace fleetsim
