// `fleetsim real SCENARIO [--out DIR] [--speedup K] [--token-scale F] [--max-parameters P]
//                        [--seed N] [--set K=V]... [--simulated] [--keep-files] [--force] [-q]`
//
// The scenario's run with the simulator's engine on a wall clock: the same loader, policies and
// decision paths as `fleetsim run`, with every replica a `fleetsim worker` process that really
// loads (from the model store folder into its node's cache folder) and really computes
// (real/controller/worker_backend.hpp). Writes the same files as `fleetsim run` into DIR
// (default out/<scenario>-real), result.json saying "mode": "real" with the host and the
// scaling, plus decisions.csv (the decision sequence, for comparing with the simulator).
// --simulated runs the same prepared scenario (scaled tokens) on the simulator instead
// ("mode": "simulated", default out/<scenario>-simulated): the other side of a comparison.
//
// Exit codes: 0 done; 2 bad input (the scenario, or something real mode cannot run yet);
// 1 a policy broke its contract or a worker failed (a worker failure writes a partial result);
// 130 interrupted (SIGINT/SIGTERM: workers stopped, partial result written).
#pragma once
#include <functional>
#include <string>

namespace CLI {
class App;
}

namespace fleetsim {

class PolicyRegistry;

void add_real_run_command(CLI::App& app, const PolicyRegistry& registry,
                          std::function<std::string(const std::string& path)> load_plugin, int& exit_code);

}  // namespace fleetsim
