#include "cli/real_commands.hpp"

#include <CLI/CLI.hpp>

#include <fcntl.h>

#include <iostream>
#include <memory>

#include "cli/numeric_flags.hpp"
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
