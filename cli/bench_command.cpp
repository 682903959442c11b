#include "cli/bench_command.hpp"

#include <filesystem>
#include <fstream>
#include <iostream>

#include "bench/gate/gate.hpp"
#include "cli/numeric_flags.hpp"
#include "policies/registry.hpp"

namespace fleetsim {

void add_bench_command(CLI::App& app, const PolicyRegistry& registry, int& exit_code) {
  struct Options {
    std::string baseline = "bench/baseline.json";
    std::string label = "ci";
    bool update = false;
    bool heap_ratio = false;
    std::uint32_t slowdown = 0;
  };
  auto options = std::make_shared<Options>();
  auto* bench = app.add_subcommand(
      "bench", "run the fixed set of scenarios and jobs / saturation command lines and compare it with a baseline");
  bench->add_option("--baseline", options->baseline, "baseline file (default bench/baseline.json)");
  bench->add_option("--label", options->label, "which cases to run: ci (default) or full");
  bench->add_flag("--update", options->update, "rewrite the baseline with what this run measured");
  bench->add_flag("--heap-ratio", options->heap_ratio,
                  "instead of the gate: each timed scenario case's engine events/s divided by a bare event heap's "
                  "at the run's mean pending-event count (issue 14's target: >= 0.5)");
  bench->add_option("--test-slowdown", options->slowdown, "test only: plant a slowdown in the engine")
      ->transform(integer_in(0, 1'000'000))
      ->group("");  // hidden
  bench->callback([options, &registry, &exit_code] {
    Diagnostics errors;
    GateBaseline baseline = load_gate_baseline(options->baseline, errors);
    if (!errors.empty()) {
      std::cerr << errors.to_string();
      exit_code = 2;
      return;
    }
    // Scenario paths are relative to the repository root: the baseline's folder's parent.
    const auto root = std::filesystem::absolute(options->baseline).parent_path().parent_path().string();
    if (options->heap_ratio) {
      std::vector<HeapRatioRow> rows = measure_heap_ratios(baseline, root, registry, options->label, errors);
      std::cout << heap_ratio_table(rows);
      if (!errors.empty()) std::cerr << errors.to_string();
      exit_code = errors.empty() ? 0 : 1;
      return;
    }
    GateOptions gate;
    gate.label = options->label;
    gate.test_slowdown = options->slowdown;
    // Cases of the jobs and saturation front ends run this very program.
    std::error_code self_error;
    gate.fleetsim_binary = std::filesystem::canonical("/proc/self/exe", self_error).string();
    GateResult result = run_gate(baseline, root, registry, gate);
    std::cout << gate_table(result);
    if (!result.errors.empty()) std::cerr << result.errors.to_string();
    if (options->update && result.errors.empty()) {
      std::ofstream(options->baseline) << gate_baseline_json(result.measured);
      std::cout << "baseline rewritten: " << options->baseline << " (review the diff before committing)\n";
      exit_code = 0;
      return;
    }
    exit_code = result.passed ? 0 : 1;
  });
}

}  // namespace fleetsim
