// Fitting the simulator's performance model (sim/llm_perf_model.hpp) to measured batch steps of
// a real backend, so that a simulated "GPU" behaves like this machine's. With the achieved
// efficiencies taken as 1, the model's step times are linear in three unknowns — 1/F (seconds
// per FLOP), 1/B (seconds per byte) and the per-step overhead o:
//
//   prefill(P tokens)        = 2·N·P · (1/F) + o                   (compute-bound)
//   decode step(b seqs, C)   = (W + kv·C) · (1/B) + 2·N·b · (1/F) + o
//
// (N parameters, W weight bytes, kv KV bytes per token; C the context tokens in the batch), so a
// linear least-squares fit (Eigen) over every sample gives F, B and o, each kept non-negative.
#pragma once
#include <string>
#include <vector>

namespace fleetsim::real {

struct StepSample {
  bool prefill = false;
  double tokens = 0;   // prefill: prompt tokens
  double batch = 0;    // decode: sequences
  double context = 0;  // decode: KV tokens in the batch
  double seconds = 0;  // measured
};

struct ModelFigures {
  double parameters = 0;     // N
  double weight_bytes = 0;   // W
  double kv_bytes_per_token = 0;
};

struct StepFit {
  double flops = 0;       // F, FLOP/s
  double bandwidth = 0;   // B, bytes/s
  double overhead_s = 0;  // o
  // Signed relative errors (predicted − measured) / measured, per sample, and their mean
  // absolute value per kind.
  std::vector<double> errors;
  double prefill_mape = 0;
  double decode_mape = 0;
  std::string problem;  // non-empty: no fit (too few samples, a degenerate set)
};

double predict(const StepFit& fit, const ModelFigures& model, const StepSample& s);
StepFit fit_steps(const std::vector<StepSample>& samples, const ModelFigures& model);

}  // namespace fleetsim::real
