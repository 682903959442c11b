#include "cli/real_commands.hpp"

#include <CLI/CLI.hpp>

#include <fcntl.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>

#include "cli/numeric_flags.hpp"
#include "real/calibration/calibrate.hpp"
#include "real/worker/model_file.hpp"
#include "real/worker/worker.hpp"

namespace fleetsim {

namespace {

struct MakeModelArgs {
  std::string file;
  real::ModelShape shape;
  std::uint64_t seed = 1;
};

}  // namespace

void add_real_commands(CLI::App& app, const PolicyRegistry& registry, int& exit_code) {
  auto make = std::make_shared<MakeModelArgs>();
  auto* make_model = app.add_subcommand("make-model", "write a model file for real mode's cpu backend (seeded weights)");
  make_model->add_option("file", make->file, "the model file to write")->required();
  make_model->add_option("--layers", make->shape.layers, "transformer layers (default 2)")->transform(integer_in(1, 1024));
  make_model->add_option("--hidden", make->shape.hidden, "model width, a multiple of --heads (default 256)")
      ->transform(integer_in(1, 1 << 16));
  make_model->add_option("--heads", make->shape.heads, "attention heads (default 4)")->transform(integer_in(1, 1 << 16));
  make_model->add_option("--ffn", make->shape.ffn, "feed-forward width (default 1024)")->transform(integer_in(1, 1 << 18));
  make_model->add_option("--vocab", make->shape.vocab, "vocabulary (default 2048)")->transform(integer_in(2, 1 << 22));
  make_model->add_option("--seed", make->seed, "the weights' seed (default 1)")->transform(integer_in(0, (std::int64_t{1} << 53) - 1));
  make_model->callback([make, &exit_code] {
    const std::string why = real::write_model_file(make->file, make->shape, make->seed);
    if (!why.empty()) {
      std::cerr << "make-model: " << why << "\n";
      exit_code = 2;
      return;
    }
    std::cout << "wrote " << make->file << " (" << make->shape.parameters() << " parameters, "
              << make->shape.parameters() * 4 + real::kModelFileHeader << " bytes)\n";
    exit_code = 0;
  });

  auto calibration = std::make_shared<real::CalibrateOptions>();
  auto profile = std::make_shared<std::string>();
  auto name = std::make_shared<std::string>("cpu-calibrated");
  auto backend = std::make_shared<std::string>("cpu");
  auto quick = std::make_shared<bool>(false);
  auto* calibrate = app.add_subcommand(
      "calibrate", "measure this machine's real-mode backend and fit the simulator's performance model to it");
  calibrate->add_option("--backend", *backend, "cpu (default) or cuda")->check(CLI::IsMember({"cpu", "cuda"}));
  calibrate->add_option("--out", *profile, "write the profile (a scenario fragment: a GPU type and performance) here");
  calibrate->add_option("--name", *name, "the GPU type's name in the profile (default cpu-calibrated)");
  calibrate->add_option("--layers", calibration->shape.layers, "the measured model's layers (default 4)")
      ->transform(integer_in(1, 1024));
  calibrate->add_option("--hidden", calibration->shape.hidden, "its width (default 512)")->transform(integer_in(1, 1 << 16));
  calibrate->add_option("--heads", calibration->shape.heads, "its heads (default 8)")->transform(integer_in(1, 1 << 16));
  calibrate->add_option("--ffn", calibration->shape.ffn, "its feed-forward width (default 2048)")
      ->transform(integer_in(1, 1 << 18));
  calibrate->add_option("--vocab", calibration->shape.vocab, "its vocabulary (default 8192)")->transform(integer_in(2, 1 << 22));
  calibrate->add_option("--repetitions", calibration->repetitions, "each figure is the median of this many (default 3)")
      ->transform(integer_in(1, 1000));
  calibrate->add_flag("--quick", *quick, "a few steps only (prompts 16 and 64, batches 1 and 4, one context): seconds");
  calibrate->callback([calibration, profile, name, backend, quick, &exit_code] {
    if (const std::string why = calibration->shape.check(); !why.empty()) {
      std::cerr << "calibrate: model shape: " << why << "\n";
      exit_code = 2;
      return;
    }
    real::CalibrateOptions o = *calibration;
    o.backend = *backend;
    if (*quick) {
      o.prompts = {16, 64};
      o.batches = {1, 4};
      o.contexts = {64};
    }
    o.work_dir = profile->empty() ? std::filesystem::temp_directory_path().string()
                                  : std::filesystem::absolute(*profile).parent_path().string();
    const real::Calibration c = real::calibrate(o);
    if (!c.error.empty()) {
      std::cerr << "calibrate: " << c.error << "\n";
      exit_code = 2;
      return;
    }
    std::cout << real::calibration_table(c);
    const std::string yaml = real::profile_yaml(c, o, *name);
    if (profile->empty()) {
      std::cout << "\n" << yaml;
    } else {
      std::ofstream out(*profile);
      out << yaml;
      if (!out) {
        std::cerr << "calibrate: cannot write " << *profile << "\n";
        exit_code = 2;
        return;
      }
      std::cout << "wrote " << *profile << "\n";
    }
    exit_code = 0;
  });

  auto fd = std::make_shared<int>(-1);
  auto* worker = app.add_subcommand("worker", "a real-mode replica's worker process (started by the controller)");
  worker->add_option("--fd", *fd, "the socket to the controller")->required()->transform(integer_in(0, 1 << 20));
  worker->callback([fd, &registry, &exit_code] {
    if (::fcntl(*fd, F_GETFD) < 0) {
      std::cerr << "worker: --fd " << *fd << " is not an open descriptor\n";
      exit_code = 2;
      return;
    }
    exit_code = real::run_worker(*fd, registry);
  });
}

}  // namespace fleetsim
