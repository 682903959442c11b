// Running a validated scenario and writing its results into a directory: result.json,
// timeseries.csv, cold_starts.csv, and from them report.html and result.prom. Used by
// `fleetsim run` and by sweeps; nothing is written unless the run succeeds.
#pragma once
#include <iosfwd>
#include <string>

#include "policies/registry.hpp"
#include "reports/timeline.hpp"
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

// What `fleetsim run` adds around a run; the defaults (sweeps) show and serve nothing.
struct RunOptions {
  bool progress = false;      // live progress on stderr (reports/progress.hpp)
  int metrics_port = -1;      // >= 0: serve live metrics on 127.0.0.1:PORT/metrics (0: any free port)
  double metrics_hold_s = 0;  // keep serving this long after the run, for a last scrape
  std::ostream* log = nullptr;  // progress notes (none: null)
  // Where to say which address serves the metrics; said even when `log` is null (--quiet), since
  // with port 0 nothing else tells the user which port was chosen.
  std::ostream* address = nullptr;
  // Non-empty: also write the run's timeline (Chrome trace-event JSON, reports/timeline.hpp) to
  // this file. It is streamed into a staging file beside it (.NAME.partial-PID) and renamed only
  // when the run and its results succeed, like the result files.
  std::string timeline_path;
  TimelineOptions timeline;
};

// Warnings on `out` about input the run left out: trace rows and jobs after the duration.
void warn_after_duration(const Scenario& scenario, const RunStatus& status, std::ostream& out);

// A metrics port that cannot be bound fails the run before it starts (RunFailure::BadInput).
RunReport run_to_directory(const Scenario& scenario, const PolicyRegistry& registry,
                           const std::string& out_dir, const std::string& version,
                           const RunOptions& options = {});

}  // namespace fleetsim
