// Validation: the simulator's prediction of a scenario against real mode's measurement of the
// same scenario (`fleetsim validate-real`, README "Validating the simulator"). Both runs are
// read back from their folders — requests.csv (paired by serial), cold_starts.csv (paired in
// order per model), decisions.csv — so the comparison is of what was written, and can be redone
// on any two such folders.
//
// Errors are relative and signed, (simulated − real) / real: positive when the simulator
// predicts more (a slower request, a longer phase) than was measured.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sim/diagnostics.hpp"

namespace fleetsim {

struct ValidationFigure {
  std::string name;  // "TTFT p50", "weight load mean", ...
  double simulated = 0, real = 0;
  double error() const;  // (simulated − real) / real; NaN when real is 0
};

// Request by request, over the requests completed in both runs.
struct PairedError {
  std::string metric;  // "TTFT", "E2E"
  std::uint64_t pairs = 0;
  double mape = 0;         // mean of |sim − real| / real
  double median_ape = 0;   // median of the same
  double pearson_r = 0;    // NaN with fewer than 2 pairs or no variance
};

struct DecisionLine {
  double time_s = 0;
  std::string what;
};

struct DecisionComparison {
  std::vector<DecisionLine> simulated, real;
  bool identical = false;  // the sequences (without times) are equal
  // The first index where they differ (one may have ended); absent when identical.
  std::optional<std::size_t> first_divergence;
  double max_time_offset_s = 0;     // over the common prefix: max |t_real − t_sim|
  double median_time_offset_s = 0;  // ... and the median
};

// The goals issue 12 set, checked on the run (reported, never a pass/fail of the command).
inline constexpr double kGoalMedianError = 0.05;  // |error| of TTFT and E2E p50
inline constexpr double kGoalP99Error = 0.10;     // |error| of TTFT and E2E p99

struct Validation {
  std::string simulated_dir, real_dir;
  std::uint64_t requests_simulated = 0, requests_real = 0;
  std::vector<std::pair<std::string, std::pair<std::uint64_t, std::uint64_t>>> outcomes;  // name -> (sim, real)
  std::uint64_t cold_starts_simulated = 0, cold_starts_real = 0;
  std::vector<ValidationFigure> cold_start_phases;  // means per phase and of the whole
  std::vector<ValidationFigure> latency;            // TTFT and E2E p50 / p90 / p99, TPOT p50
  std::vector<ValidationFigure> throughput;         // completed requests/s, output tokens/s
  PairedError ttft, e2e;
  DecisionComparison decisions;

  bool cold_starts_match() const { return cold_starts_simulated == cold_starts_real; }
  const ValidationFigure* figure(const std::string& name) const;
  bool latency_goals_met() const;  // the p50 and p99 goals on TTFT and E2E
};

// Reads both folders; problems (a missing requests.csv, a malformed row) go to `errors`.
std::optional<Validation> validate_runs(const std::string& simulated_dir, const std::string& real_dir,
                                        Diagnostics& errors);

// A sweep over one scenario key: each value's run in both modes, ranked by mean end-to-end
// latency of completed requests (lower first), in each mode.
struct RankingEntry {
  std::string value;
  double simulated = 0, real = 0;  // mean E2E, seconds
  int simulated_rank = 0, real_rank = 0;  // 1 = best
};
struct PolicyRanking {
  std::string key;
  std::vector<RankingEntry> entries;
  bool identical() const;
};
// Fills the ranks from the values (ties share the better rank).
void rank(PolicyRanking& ranking);
double mean_e2e_completed(const std::string& run_dir, Diagnostics& errors);

std::string validation_table(const Validation& v);
std::string ranking_table(const PolicyRanking& r);
// validation.json: every figure above, the decision logs side by side, the goals; `rankings`
// may be empty.
std::string validation_json(const std::vector<std::pair<std::string, Validation>>& runs,
                            const std::vector<PolicyRanking>& rankings);

}  // namespace fleetsim
