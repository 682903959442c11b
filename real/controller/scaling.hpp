// What a scenario's models and workload become so that real mode runs them on this machine
// (README "Real mode"). Both rules are deterministic and written into result.json.
//
// Model size. A scenario model of P parameters is served by a CpuModel of one family: width H
// (a multiple of 64, 64 to 4096), max(1, round(H / 128)) layers (Llama's depth-to-width ratio),
// H / 64 heads (head size 64), a feed-forward of 4H and a vocabulary of 8H; it has
// L·(12H² + 2H) + 8H² + H parameters. The largest model of the scenario maps to
// min(its P, max_parameters) and every model is divided by that same factor, so their size
// ratios hold; each gets the shape whose parameter count is nearest (by ratio) to its scaled P.
// The engine keeps accounting the scenario's own sizes (GPU memory, cache capacity, what the
// simulator would load): only the worker's file and arithmetic are scaled.
//
// Tokens. Each request's prompt and output token counts are divided by the token scale
// (rounded to nearest, at least 1), in real mode and in its simulated counterpart
// (`fleetsim real --simulated`) alike, so the two see the same workload.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "real/worker/cpu_model.hpp"
#include "sim/request_source.hpp"
#include "sim/scenario.hpp"

namespace fleetsim {
struct SimulationSetup;
}

namespace fleetsim::real {

// The family's shape nearest to `parameters` (by ratio).
ModelShape shape_for(double parameters);

struct ScaledModel {
  std::string name;          // the scenario's
  double parameters = 0;     // the scenario's
  ModelShape shape;          // what the worker computes
  std::string file;          // its model file's name in the store ("m0.bin", ...)
  std::uint64_t seed = 1;    // its weights' seed
  std::uint64_t file_bytes = 0;
};

struct ModelScaling {
  double factor = 1;  // scenario parameters per worker parameter (before rounding to a shape)
  std::vector<ScaledModel> models;  // in the scenario's model order
};

ModelScaling scale_models(const Scenario& scenario, double max_parameters);

std::uint32_t scale_token_count(std::uint32_t tokens, double token_scale);

// Wraps every request source of `setup` (and the oracle's lookahead copies) so that token
// counts are divided by `token_scale`; nothing changes when it is 1.
void scale_tokens(SimulationSetup& setup, double token_scale);

}  // namespace fleetsim::real
