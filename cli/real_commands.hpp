// Real mode's helper commands (the controller, `fleetsim real`, is in real_run_command.hpp):
//
//   fleetsim make-model FILE [--layers L] [--hidden D] [--heads H] [--ffn F] [--vocab V] [--seed S]
//       writes a model file for the cpu backend (real/worker/model_file.hpp): the seeded
//       transformer's weights. Exit 0 written, 2 bad input.
//   fleetsim calibrate [--backend cpu|cuda] [--out PROFILE.yaml] [--name NAME] [--quick] [shape options]
//       measures the cpu backend on this machine and fits the simulator's performance model
//       (real/calibration/calibrate.hpp); prints the table, writes the profile. Exit 0, 2 bad
//       input or a backend this build or machine does not have.
//   fleetsim worker --fd N
//       a replica's worker process, started by the controller with a socket on descriptor N
//       (real/worker/worker.hpp has its messages). Not meant to be run by hand.
#pragma once

namespace CLI {
class App;
}

namespace fleetsim {

class PolicyRegistry;

void add_real_commands(CLI::App& app, const PolicyRegistry& registry, int& exit_code);

}  // namespace fleetsim
