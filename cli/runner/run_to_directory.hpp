// Running a validated scenario and writing its results into a directory: result.json,
// timeseries.csv, cold_starts.csv, and from them report.html and result.prom. Used by
// `fleetsim run` and by sweeps; nothing is written unless the run succeeds.
#pragma once
#include <functional>
#include <iosfwd>
#include <string>
#include <utility>
#include <vector>

#include "policies/registry.hpp"
#include "reports/result_json.hpp"
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
  // Real mode (`fleetsim real`, cli/real_commands.cpp) around the same run:
  // changes the setup before the run (attaches the worker backend, scales the tokens) ...
  std::function<void(SimulationSetup&)> prepare;
  // ... attaches more observers ...
  std::vector<SimObserver*> observers;
  // ... catches SIGINT/SIGTERM itself (stops its workers, writes a partial result), so the run
  // installs no remove-on-interrupt handler ...
  bool handles_interrupts = false;
  // ... says in result.json what mode it ran in and how (asked once the run is over) ...
  std::function<RealRunInfo()> real_info;
  // ... and writes more files beside the others (name, then the text, asked after the run).
  std::vector<std::pair<std::string, std::function<std::string()>>> extra_files;
};

// Warnings on `out` about input the run left out: trace rows and jobs after the duration,
// faults that could not be applied.
void warn_after_duration(const Scenario& scenario, const RunStatus& status, std::ostream& out);

// A metrics port that cannot be bound fails the run before it starts (RunFailure::BadInput).
RunReport run_to_directory(const Scenario& scenario, const PolicyRegistry& registry,
                           const std::string& out_dir, const std::string& version,
                           const RunOptions& options = {});

}  // namespace fleetsim
