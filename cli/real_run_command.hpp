// `fleetsim real SCENARIO [--out DIR] [--speedup K] [--token-scale F] [--max-parameters P]
//                        [--profile PROFILE.yaml] [--seed N] [--set K=V]... [--kill-worker N@T]... [--simulated]
//                        [--metrics-port N] [--keep-files] [--force] [-q]`
//
// The scenario's run with the simulator's engine on a wall clock: the same loader, policies and
// decision paths as `fleetsim run`, with every replica a `fleetsim worker` process that really
// loads (from the model store into its node's cache folder) and really computes
// (real/controller/worker_backend.hpp). Writes the same files as `fleetsim run` into DIR
// (default out/<scenario>-real), result.json saying "mode": "real" with the host and the
// scaling, plus decisions.csv (the decision sequence) and requests.csv (every request's times),
// for comparing with the simulator. --simulated runs the same prepared scenario (scaled tokens)
// on the simulator instead ("mode": "simulated", default out/<scenario>-simulated): the other
// side of a comparison (`fleetsim validate-real` runs both and compares them).
//
// Exit codes: 0 done; 2 bad input (the scenario, or something real mode cannot run yet);
// 1 a policy broke its contract or a worker failed (a worker failure writes a partial result);
// 130 interrupted (SIGINT/SIGTERM: workers stopped, partial result written).
#pragma once
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace fleetsim {

class PolicyRegistry;

struct RealRunArgs {
  std::string scenario;
  std::string out;
  std::string profile;  // a `fleetsim calibrate` profile applied to the scenario (see below)
  std::string backend = "cpu";  // the workers' model backend: cpu or cuda
  double speedup = 1;
  double token_scale = 1;
  double max_parameters = 2.5e7;
  std::uint64_t seed = 0;
  std::vector<std::string> overrides;
  std::vector<std::string> kill_workers;  // --kill-worker REPLICA@TIME
  int metrics_port = -1;
  bool progress = false;
  bool simulated = false;
  bool keep_files = false;
  bool force = false;
  bool quiet = false;
};

// One run of `fleetsim real` (or --simulated); returns the exit code. Messages go to stderr,
// the summary to `out` (nothing with quiet).
int run_real(const RealRunArgs& args, const PolicyRegistry& registry,
             const std::function<std::string(const std::string&)>& load_plugin, std::ostream& out);

// A calibrated profile (`fleetsim calibrate --out PROFILE.yaml`: one GPU type and a
// `performance:` block) as --set overrides of the scenario file: the profile's GPU type replaces
// the figures of the scenario's GPU type of the same name, or, when no type has that name and
// the scenario has only one, of that one (keeping its name, which the pools refer to); each
// `performance:` key replaces the scenario's. Returns "" or why the profile does not apply.
std::string profile_overrides(const std::string& profile_path, const std::string& scenario_path,
                              std::vector<std::string>& overrides);

// The options `fleetsim real` and `fleetsim validate-real` share: the scenario, --backend,
// --profile, --speedup, --token-scale, --max-parameters, --seed, --set, --force, --quiet.
void add_real_run_options(CLI::App& command, RealRunArgs& args);

void add_real_run_command(CLI::App& app, const PolicyRegistry& registry,
                          std::function<std::string(const std::string& path)> load_plugin, int& exit_code);

}  // namespace fleetsim
