// The regression gate: runs a fixed set of cases and compares them with a stored baseline
// (bench/baseline.json). A case is a scenario (`command: run`, the default: loaded with its
// --set overrides and run in this process) or a command line of another front end
// (`command: jobs` or `saturation` with `args`): the fleetsim program runs it into a scratch
// directory and the gate reads the result.json it wrote — the same file, and the only one,
// that reports and `compare` read. Paths in `args` (the values of --trace, --nodes, --pods,
// --runtimes, --throughputs) are relative to the repository root, like `scenario`.
//   - Simulated metrics are deterministic, so they must match exactly (doubles within a
//     relative 1e-9, the round-trip precision of result.json); the event count too. Any
//     change fails: a change in what a policy achieves must be reviewed and committed with
//     --update.
//   - Engine speed is compared as a ratio measured in one process: the case's events per
//     second divided by the operations per second of a fixed reference workload (a plain
//     event-queue loop) run right before it, best of `repetitions`. Machine speed cancels
//     out; a ratio below the baseline's by more than `speed_tolerance` (default 35%: these
//     machines are shared and noisy) fails. Cases under 100,000 events are not timed (a few
//     milliseconds of run time is mostly noise).
//     A command's time includes starting the program: its cases are CI-sized (under 100,000
//     events), so they are checked for their metrics only.
//   - A case may name files it `requires` beyond the repository (a public trace in ../shared,
//     which cannot be copied in): where one is absent, the case is skipped, reported as
//     "skipped: PATH not present", and neither passes nor fails (its baseline stays as it was
//     under --update). Everything else about it is as any case.
// baseline.json: { schema_version: 1, speed_tolerance, repetitions,
//                  cases: [ { name, scenario, set: [...], labels: [...], requires: [...],
//                             events, speed_ratio, metrics: { path: value } },
//                           { name, command: jobs|saturation, args: [...], labels: [...],
//                             events, speed_ratio, metrics: { path: value } } ] }
#pragma once
#include <map>
#include <string>
#include <vector>

#include "policies/registry.hpp"
#include "sim/diagnostics.hpp"

namespace fleetsim {

struct GateCase {
  std::string name;
  std::string command = "run";      // run | jobs | saturation
  std::string scenario;             // run: relative to the repository root (the baseline's folder's parent)
  std::vector<std::string> set;     // run: --set overrides
  std::vector<std::string> args;    // jobs, saturation: the command's arguments, without --out
  std::vector<std::string> labels;  // e.g. ci, full
  std::vector<std::string> requires_files;  // `requires`: files (relative to the root) it needs; absent: skipped
  std::uint64_t events = 0;
  double speed_ratio = 0;
  std::map<std::string, double> metrics;
};

struct GateBaseline {
  double speed_tolerance = 0.35;
  int repetitions = 3;
  std::vector<GateCase> cases;
};

struct GateOptions {
  std::string label = "ci";
  std::uint32_t test_slowdown = 0;  // test-only: plants a slowdown in the engine
  bool update = false;
  bool speed = true;  // false: one run per case, simulated metrics only (golden-summary tests)
  // The fleetsim program, for cases with a command other than run ("": such cases are errors).
  std::string fleetsim_binary;
};

struct GateRow {
  std::string name;
  std::string what;  // metric path, "events" or "speed ratio"
  double baseline = 0;
  double now = 0;
  bool regression = false;
  std::string note;  // "changed", "slower", "faster", "new", "skipped: PATH not present"
};

struct GateResult {
  std::vector<GateRow> rows;       // only what changed or regressed (plus speed, always)
  bool passed = true;
  Diagnostics errors;
  GateBaseline measured;           // the baseline as it would be rewritten by --update
};

// The metrics the gate keeps for every scenario case (result.json paths).
const std::vector<std::string>& gate_metric_paths();
// ... for every case of `command`: run and jobs, a fixed list of paths; saturation, for each
// policy P of the result, `saturation.policies.P.` followed by each of the returned suffixes.
const std::vector<std::string>& gate_metric_paths(const std::string& command);

// The first of the case's `requires` files that is not present under `root` ("" when all are):
// the gate skips such a case, and so do the tests that run every shipped scenario.
std::string missing_requirement(const GateCase& c, const std::string& root);

GateBaseline load_gate_baseline(const std::string& path, Diagnostics& errors);
std::string gate_baseline_json(const GateBaseline& baseline);
// Runs the cases with `options.label`; `root` is where scenario paths are relative to.
GateResult run_gate(const GateBaseline& baseline, const std::string& root, const PolicyRegistry& registry,
                    const GateOptions& options);
std::string gate_table(const GateResult& result);

// Engine speed against a bare event heap (issue 14's target: at least 0.5 on every shipped
// scenario). For each scenario case of `label` with at least 100,000 events: the engine's
// events per second (the run with its metrics observer, as the gate times it) divided by the
// events per second of a bare loop on a 4-ary event heap (sim/event_heap.hpp, the engine's queue
// when the target was set) holding the run's mean pending-event count (sampled every 65,536
// events), where one event of the loop is a pop and a push (the hold model: each popped event
// schedules one a random delay later). Best of `repetitions` each.
struct HeapRatioRow {
  std::string name;
  std::uint64_t events = 0;
  double mean_pending = 0;
  double engine_events_per_s = 0;
  double heap_events_per_s = 0;
  double ratio = 0;
};
std::vector<HeapRatioRow> measure_heap_ratios(const GateBaseline& baseline, const std::string& root,
                                              const PolicyRegistry& registry, const std::string& label,
                                              Diagnostics& errors);
// The bare loop alone: events (pop + push) per second with `pending` events queued.
double bare_heap_events_per_second(std::size_t pending);
std::string heap_ratio_table(const std::vector<HeapRatioRow>& rows);

}  // namespace fleetsim
