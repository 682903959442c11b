// The versioned result of `fleetsim jobs` (result.json, kind "jobs"), in the layout of
// `fleetsim run`'s (result_json.hpp), so that `fleetsim report`, `compare` and the regression
// gate read it as they read a run's:
//   { schema_version, fleetsim_version, kind: "jobs",
//     scenario: {name, description, seed, cluster: {...}, jobs: {...}, sample_interval}
//               (the command's inputs, every default filled in),
//     run: {seed, end_time_s, events, jobs},
//     jobs: {the block `fleetsim run` writes for co-located jobs, plus makespan_s,
//            gpu_seconds_capacity, utilization},
//     by_gpus: [{class, jobs, completed, mean_jct_s, jct_p50_s, jct_p99_s, mean_queueing_s}],
//     tenants: [{tenant, completed_jobs, mean_jct_s, mean_rho, max_rho}],
//     cluster: {nodes, gpus, gpu_seconds_total, utilization} }
// Keys in a fixed order and doubles at full precision: equal inputs give byte-identical files.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "policies/registry.hpp"
#include "sim/job_simulation.hpp"

namespace fleetsim {

// What `fleetsim jobs` was asked to do, as resolved (defaults filled in).
struct JobsInputs {
  std::string name;         // scenario.name: the trace's file name without extension, or "synthetic"
  std::string description;  // one line saying what ran
  std::uint64_t seed = 1;   // --seed (it draws synthetic jobs; a trace replay draws nothing)
  // The jobs: a trace ...
  std::string trace, format, throughputs;
  bool lenient = false;
  std::vector<std::pair<std::string, std::string>> columns;  // generic-csv: key -> column ("": not in the file)
  std::uint64_t rows_read = 0, rows_skipped = 0;            // --lenient: what the reader left out
  std::vector<std::pair<std::string, std::uint64_t>> skipped;  // ... by reason
  // ... or synthetic ones (synthetic > 0).
  std::uint64_t synthetic = 0;
  std::string runtimes, arrival_rate, gang_gpus;
  int tenants = 1;
  // The cluster as given (--cluster text, or --nodes file and format) and as built.
  std::string cluster, nodes_file, node_format;
  std::vector<JobClusterNode> nodes;
  // Scheduling.
  std::string policy, placement;  // placement "": the built-in gang placement
  ParamValues policy_params;      // the queue policy's (--policy-param); unset: its defaults
  SimTime round = 0, restart_overhead = 0, min_run_time = 0, sample_interval = 0, checkpoint_interval = 0;
  bool backfill = false, checkpoint_on_preemption = true;
};

std::string jobs_result_json(const JobsInputs& inputs, const PolicyRegistry& registry, const JobRunResult& result,
                             const std::string& fleetsim_version);

// timeseries.csv in `fleetsim run`'s tidy layout (time_s,model,series,value) for the report's
// chart: model `all` (the cluster), series `busy_gpus` and `utilization`, every sample interval.
std::string jobs_timeseries_csv(const JobRunResult& result, double cluster_gpus);

// The gang-size classes of the summary and of `by_gpus`: label, smallest and largest GPUs (a
// share counts as milli / 1000).
struct JobSizeClass {
  const char* label;
  double min_gpus, max_gpus;
};
const std::vector<JobSizeClass>& job_size_classes();

}  // namespace fleetsim
