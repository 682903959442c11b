// PerfTable: the measured performance model. Prefill time by the step's prompt tokens and
// decode-step time by batch size and context, for one LLM at one tensor-parallel degree on one
// GPU type, read from a profile in the Splitwise format (../shared/profiles/splitwise-llm-perf/,
// columns model, hardware, prompt_size, batch_size, token_size, ..., prompt_time, token_time, ...,
// tensor_parallel; times in ms) and interpolated. For users who have profiled their own hardware:
// the analytical model (llm_perf_model.hpp) is 15–25% off these profiles, the table is exact at
// every measured point (README "Performance model accuracy").
//
// What a row measures (repeated rows of one point are averaged, in file order):
//   prefill point   tokens = batch_size · prompt_size     → prompt_time
//                   (the profiles' prefill follows the step's total tokens, however split)
//   decode point    (batch = batch_size, context = prompt_size + token_size / 2) → token_time
//                   (context per sequence, the mean over the measured run of token_size steps)
// Rows may come in any order (the Splitwise file is grouped by experiment). A row may leave
// prompt_time or token_time empty: it measures only the other (`fleetsim calibrate` writes its
// prefill and decode steps so); the rows selected must measure both somewhere.
//
// Interpolation:
//   prefill: piecewise linear in tokens.
//   decode step: bilinear on the grid of measured batch sizes × measured contexts. A profile
//   need not measure every cell (Splitwise varies context at batch 1 and batch at one prompt
//   size); a missing cell (b, c) takes its batch's own measurements, linear in context, where
//   they cover c, and beyond them the nearest measured value of batch b times the ratio the
//   reference batch r (the one with the most measured contexts, the smallest on a tie) shows
//   between the same two contexts. A ratio, not a difference scaled by b / r (which a step's
//   KV reads would suggest): in the Splitwise profiles batch 1's context curve is mostly noise
//   (±5 ms on 55 ms), and multiplied by 64 that noise alone made a step 7× slower.
//   Outside the measured range, on every axis: below the first point the first value (clamp);
//   above the last point linear extrapolation from the last two points, never decreasing (a
//   slope below zero, measurement noise, is taken as zero), so a prompt longer than any measured
//   costs more, not less. With one point on an axis the value is constant along it.
//
// Decode between two changes of the batch: the context per sequence grows by one token per step;
// as in LlmPerfModel the time for k steps is the integral of the step time over the progress,
// here piecewise quadratic (the step time is piecewise linear in context at a fixed batch), and
// its inverse walks the same pieces. Both use the grids built at load: no allocation per call.
#pragma once
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "sim/diagnostics.hpp"

namespace fleetsim {

class PerfTable {
 public:
  struct PrefillPoint {
    double tokens = 0, seconds = 0;
  };
  struct DecodePoint {
    double batch = 0, context = 0, seconds = 0;  // context: tokens per sequence
  };

  // Built from measured points (seconds). Points at the same tokens / (batch, context) are
  // averaged in the given order. Both lists must be non-empty, every value positive and finite
  // (load() checks this for files; here it is the caller's contract).
  PerfTable(std::vector<PrefillPoint> prefill, std::vector<DecodePoint> decode);

  // One row of a profile file, as read.
  struct Row {
    std::string model, hardware;
    int tensor_parallel = 0, prompt_size = 0, batch_size = 0, token_size = 0;
    double prompt_ms = 0, token_ms = 0;
  };
  // Reads every row of `path` (plain comma-separated values, a header naming the columns, no
  // quoted fields) and checks it: the header's field count, numbers where numbers belong,
  // prompt_size / batch_size / token_size / tensor_parallel whole numbers ≥ 1, prompt_time and
  // token_time > 0 ms. Problems go to `errors` with the file and line (at most kMaxRowErrors,
  // then one saying how many more) and the scenario key path `key`; nullopt if there were any.
  static std::optional<std::vector<Row>> read_rows(const std::string& path, const std::string& key,
                                                   Diagnostics& errors);
  // The table of the rows whose model, hardware and tensor_parallel match; a selection that
  // matches no row is an error listing what the file holds.
  static std::optional<PerfTable> select(const std::vector<Row>& rows, const std::string& model,
                                         const std::string& hardware, int tensor_parallel,
                                         const std::string& path, const std::string& key, Diagnostics& errors);
  // read_rows, then select.
  static std::optional<PerfTable> load(const std::string& path, const std::string& model,
                                       const std::string& hardware, int tensor_parallel,
                                       const std::string& key, Diagnostics& errors);
  static constexpr int kMaxRowErrors = 10;

  double prefill_seconds(double tokens) const;
  // One decode step of `batch` sequences with `context` tokens each.
  double step_seconds(double batch, double context) const;
  // As LlmPerfModel: `steps` decode steps from `batch` sequences holding `context` tokens in
  // total (growing by `batch` per step), and its inverse.
  double decode_seconds(double steps, double batch, double context) const;
  double decode_steps_in(double seconds, double batch, double context) const;

  // The grids after averaging and filling (seconds), for tests and the calibration tool.
  const std::vector<double>& prefill_tokens() const { return prefill_tokens_; }
  const std::vector<double>& prefill_values() const { return prefill_seconds_; }
  const std::vector<double>& batches() const { return batches_; }
  const std::vector<double>& contexts() const { return contexts_; }
  double cell(std::size_t batch, std::size_t context) const { return grid_[batch * contexts_.size() + context]; }
  bool measured(std::size_t batch, std::size_t context) const {
    return measured_[batch * contexts_.size() + context] != 0;
  }

 private:
  // The batch axis at `batch`: rows i0, i1 and weight w (value = row i0 + w·(row i1 − row i0),
  // w in [0, 1] inside, > 1 above the last batch; floor_slope: the extrapolation never decreases).
  struct BatchWeights {
    std::size_t i0 = 0, i1 = 0;
    double w = 0;
  };
  BatchWeights batch_weights(double batch) const;
  double column(const BatchWeights& bw, std::size_t j) const;  // step seconds at contexts_[j]

  std::vector<double> prefill_tokens_, prefill_seconds_;
  std::vector<double> batches_, contexts_;
  std::vector<double> grid_;               // [batch · contexts + context], seconds
  std::vector<unsigned char> measured_;    // same shape: 1 where a row measured the cell
};

}  // namespace fleetsim
