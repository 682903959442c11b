// LlmPerfModel: how long a replica of one LLM on one GPU type takes to run a prefill batch and
// a decode step, and how many tokens of KV cache it can hold. Analytical (roofline-style):
//
//   W  = weight bytes, N = parameters, tp = GPUs per replica, F = peak FLOP/s per GPU,
//   B  = peak memory bandwidth per GPU, mfu / mbu = achieved fractions of F and B,
//   kv = KV-cache bytes per token, o = per-step overhead = iteration_overhead
//   + (tp − 1) · tensor_parallel_overhead (the all-reduces of tensor parallelism do not shrink
//   with more GPUs; measured decode steps show it, see README "Performance model accuracy").
//
//   prefill(P tokens)      = max(2·N·P / (tp·F·mfu),  W / (tp·B·mbu)) + o
//                            (compute-bound; never faster than one pass over the weights)
//   decode step(b seqs, C context tokens in the batch)
//                          = (W + kv·C) / (tp·B·mbu) + 2·N·b / (tp·F·mfu) + o
//                          = base + per_seq·b + per_token·C
//                            (memory-bound: read all weights and the batch's KV cache once
//                             per step, plus the step's small matrix work)
//   KV capacity (tokens)   = (tp · GPU memory · gpu_memory_utilization − W) / kv
//
// Assumptions: attention's quadratic prefill cost and tensor-parallel communication are folded
// into the efficiencies; activations are not counted against memory.
// Between two changes of a batch the context grows by b tokens per step, so the time to run
// ΔP steps has the closed form  T(ΔP) = (base + per_seq·b + per_token·C)·ΔP
//                                       + per_token·b·ΔP²/2,
// and its inverse gives the progress after a given time. The simulator uses those two
// functions instead of one event per token.
//
// With a measured table (PerfTable, sim/perf_table.hpp; a model's `performance_table` for this
// GPU type) prefill and decode times come from the table instead; the KV capacity stays the
// formula above (the profiles measure time, not memory).
#pragma once
#include <cmath>

#include "sim/gpu_catalog.hpp"
#include "sim/perf_table.hpp"
#include "sim/scenario.hpp"
#include "sim/time.hpp"

namespace fleetsim {

// One cache line (its eight fields; aligned so that none straddles two): every batch step of
// a replica reads it, and a fleet's replicas share a thousand of them.
class alignas(64) LlmPerfModel {
 public:
  // `table`, when given, must outlive the model (the Scenario holds it).
  LlmPerfModel(const ModelSpec& model, const GpuType& gpu, const PerfSpec& perf, const PerfTable* table = nullptr);

  // (These three inline: each request and each batch step asks them.)
  double prefill_seconds(double prompt_tokens) const {
    if (table_) return table_->prefill_seconds(prompt_tokens);
    const double flop_bound = prefill_flop_seconds_per_token_ * prompt_tokens;
    return (flop_bound < weight_pass_seconds_ ? weight_pass_seconds_ : flop_bound) + overhead_;
  }
  // Seconds to run `steps` decode steps starting with `batch` sequences holding `context`
  // tokens in total (the context grows by `batch` each step).
  double decode_seconds(double steps, double batch, double context) const {
    if (table_) return table_->decode_seconds(steps, batch, context);
    const double linear = base_ + per_seq_ * batch + per_token_ * context;
    return linear * steps + 0.5 * per_token_ * batch * steps * steps;
  }
  // Inverse of decode_seconds: steps completed after `seconds`.
  double decode_steps_in(double seconds, double batch, double context) const {
    if (seconds <= 0) return 0;
    if (table_) return table_->decode_steps_in(seconds, batch, context);
    const double linear = base_ + per_seq_ * batch + per_token_ * context;
    const double quadratic = 0.5 * per_token_ * batch;
    // Solve quadratic·x² + linear·x − seconds = 0 in the cancellation-free form.
    return 2.0 * seconds / (linear + std::sqrt(linear * linear + 4.0 * quadratic * seconds));
  }
  // A chunked-prefill step: `prompt_tokens` of prompt chunks and `batch` decoding sequences
  // holding `context` tokens, in one pass: the prefill of prompt + batch tokens (the decodes'
  // new tokens ride in the same matrix multiplications, Sarathi-Serve's piggybacking) plus
  // reading the decodes' KV cache, i.e. decode step(batch, context) − decode step(batch, 0).
  double mixed_step_seconds(double prompt_tokens, double batch, double context) const;
  double kv_capacity_tokens() const { return kv_capacity_tokens_; }
  const PerfTable* table() const { return table_; }

  // The same coefficients bit for bit (and the same table): the two give the same times and
  // capacity for every argument, so replicas of either may share one.
  bool same_as(const LlmPerfModel& other) const;

  double step_base_seconds() const { return base_; }
  double step_per_seq_seconds() const { return per_seq_; }
  double step_per_token_seconds() const { return per_token_; }

 private:
  double prefill_flop_seconds_per_token_;  // 2N / (tp·F·mfu)
  double weight_pass_seconds_;             // W / (tp·B·mbu)
  double overhead_;
  double base_;       // weight pass + overhead
  double per_seq_;    // 2N / (tp·F·mfu)
  double per_token_;  // kv / (tp·B·mbu)
  double kv_capacity_tokens_;
  const PerfTable* table_ = nullptr;
};

}  // namespace fleetsim
