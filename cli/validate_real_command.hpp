// `fleetsim validate-real SCENARIO [--out DIR] [--profile PROFILE.yaml] [--vary KEY=V1,V2,...]
//                                 [--speedup K] [--token-scale F] [--max-parameters P]
//                                 [--seed N] [--set K=V]... [--force] [-q]`
//
// Runs the scenario twice — on the simulator (`fleetsim real --simulated`) and on real workers
// (`fleetsim real`), with the same profile and scaling — into DIR/simulated and DIR/real, then
// compares them (reports/validation.hpp) and prints the table and writes DIR/validation.json:
// cold starts (count, phases), TTFT / E2E percentiles with their relative errors, per-request
// errors (paired by serial), throughput and the decision logs side by side. --vary runs that
// pair for each value of one scenario key (DIR/<value>/...) and says whether the two modes rank
// the values the same way by mean end-to-end latency.
//
// Exit codes: those of `fleetsim real` when a run fails (nothing compared); 2 when the runs'
// files cannot be read back; 0 otherwise, whatever the errors: the goals are reported, not
// enforced.
#pragma once
#include <functional>
#include <string>

namespace CLI {
class App;
}

namespace fleetsim {

class PolicyRegistry;

void add_validate_real_command(CLI::App& app, const PolicyRegistry& registry,
                               std::function<std::string(const std::string& path)> load_plugin, int& exit_code);

}  // namespace fleetsim
