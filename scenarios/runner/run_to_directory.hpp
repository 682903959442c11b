// Running a validated scenario and writing its results into a directory: result.json,
// timeseries.csv, cold_starts.csv, and from them report.html and result.prom. Used by
// `fleetsim run` and by sweeps; nothing is written unless the run succeeds.
#pragma once
#include <string>

#include "policies/registry.hpp"
#include "sim/metrics.hpp"
#include "sim/simulation.hpp"

namespace fleetsim {

enum class RunFailure { None, BadInput, PolicyError, WriteError };

struct RunReport {
  RunStatus status;
  RunMetrics metrics;
  double wall_seconds = 0;
  RunFailure failure = RunFailure::None;
  Diagnostics errors;  // why it failed
  std::string result_path;
};

RunReport run_to_directory(const Scenario& scenario, const PolicyRegistry& registry,
                           const std::string& out_dir, const std::string& version);

}  // namespace fleetsim
