// The versioned JSON result of a run (`result.json`). Reports and the regression gate read only
// this. schema_version 1 layout:
//   { schema_version, fleetsim_version, scenario: {...echo with defaults...},
//     run: {seed, end_time_s, events, requests},
//     overall: {metrics}, models: {name: {metrics}} }
// Doubles are written with full round-trip precision, keys in a fixed order, so equal runs
// give byte-identical files. `fleetsim jobs` and `fleetsim saturation` write the same
// schema_version and top-level layout with a `kind` ("jobs", "saturation"; absent: a run) and
// their own blocks in place of overall/models (jobs_result.hpp, saturation_result.hpp).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "policies/registry.hpp"
#include "sim/metrics.hpp"
#include "sim/scenario.hpp"
#include "sim/simulation.hpp"

namespace fleetsim {

inline constexpr int kResultSchemaVersion = 1;

// What `fleetsim real` adds to result.json: "mode" ("real", or "simulated" for its simulated
// counterpart, `fleetsim real --simulated`), `run.partial` (and `run.stop_reason`), and a
// "real" block: the scaling, the host and what the workers did. Simulated runs of `fleetsim
// run` have none of these keys (their files are as they always were).
struct RealRunInfo {
  std::string mode = "real";
  double speedup = 1;
  double token_scale = 1;
  double parameter_scale = 1;  // scenario parameters per worker parameter
  std::string backend = "cpu";
  struct Model {
    std::string name;
    double parameters = 0;  // the scenario's
    std::uint64_t worker_parameters = 0;
    int layers = 0, hidden = 0, heads = 0, ffn = 0, vocab = 0;
    std::uint64_t file_bytes = 0;
  };
  std::vector<Model> models;
  // Real runs only:
  std::string host_cpu, host_kernel;
  int host_cores = 0;
  double host_memory_bytes = 0;
  int workers_spawned = 0, peak_workers = 0, peak_computing = 0;
  double contended_seconds = 0;  // wall-clock time with more computing workers than cores
  int loads = 0;
  std::uint64_t fetched_bytes = 0, read_bytes = 0;
  bool direct_io = true;
  double fetch_seconds = 0, read_seconds = 0;
  std::uint64_t prefill_steps = 0, decode_steps = 0;
  std::uint64_t cache_files_written = 0, cache_files_deleted = 0;
  double wall_seconds = 0;
};

std::string result_json(const Scenario& scenario, const PolicyRegistry& registry,
                        const RunMetrics& metrics, const RunStatus& status,
                        const std::string& fleetsim_version, const RealRunInfo* real = nullptr);

// The scenario as resolved, every default filled in, as JSON text.
std::string scenario_json(const Scenario& scenario, const PolicyRegistry& registry);

}  // namespace fleetsim
