// CpuModel: the real-mode worker's model on the `cpu` backend — a decoder-only transformer with
// random weights of a configurable size, computed with Eigen (real/worker/cpu_model.cpp), so
// that a real-mode replica does the arithmetic of LLM inference: a prefill over the prompt and
// decode steps against a KV cache that grows with the context.
//
// The architecture is a plain pre-norm transformer: token embeddings (tied with the output
// projection), then per layer RMSNorm → multi-head causal self-attention (Wq, Wk, Wv, Wo) and
// RMSNorm → a SiLU feed-forward (W1, W2), then a final RMSNorm and the logits. There are no
// positional embeddings: they change no cost, and the tokens carry no meaning here. Weights are
// drawn from a seeded stream (the same seed gives the same model, bit for bit).
//
// Eigen stays inside the .cpp: weights and caches are plain float arrays here.
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace fleetsim::real {

struct ModelShape {
  int layers = 2;
  int hidden = 256;  // model width; a multiple of heads
  int heads = 4;
  int ffn = 1024;    // feed-forward width
  int vocab = 2048;

  // "" when usable, else why not (sizes not positive, hidden not a multiple of heads, ...).
  std::string check() const;
  std::size_t parameters() const;  // weights, counted once (the output projection is tied)
  std::size_t kv_bytes_per_token() const { return 2u * layers * hidden * sizeof(float); }
};

// One sequence's KV cache: per layer, the keys and the values of every position so far, for up
// to `capacity` positions (reserved when the request is admitted: prompt + output).
class KvCache {
 public:
  KvCache() = default;
  KvCache(const ModelShape& shape, int capacity);
  int length() const { return length_; }
  int capacity() const { return capacity_; }
  float* keys(int layer) { return &data_[(2 * static_cast<std::size_t>(layer)) * stride()]; }
  float* values(int layer) { return &data_[(2 * static_cast<std::size_t>(layer) + 1) * stride()]; }
  const float* keys(int layer) const { return &data_[(2 * static_cast<std::size_t>(layer)) * stride()]; }
  const float* values(int layer) const { return &data_[(2 * static_cast<std::size_t>(layer) + 1) * stride()]; }
  void grow(int positions) { length_ += positions; }

 private:
  std::size_t stride() const { return static_cast<std::size_t>(capacity_) * hidden_; }
  std::vector<float> data_;
  int hidden_ = 0;
  int capacity_ = 0;
  int length_ = 0;
};

// Every weight of a model of `shape`, drawn from a seeded stream, in the order of a model file
// (real/worker/model_file.hpp): the embeddings (vocab × hidden); per layer the two norms' gains
// (hidden each), Wq, Wk, Wv, Wo (hidden × hidden each), W1 (hidden × ffn), W2 (ffn × hidden);
// the final norm's gain (hidden). Matrices row-major. Gains are 1, the rest uniform with
// standard deviation 0.02 (GPT-2's initialisation).
std::vector<float> random_weights(const ModelShape& shape, std::uint64_t seed);

class CpuModel {
 public:
  CpuModel(const ModelShape& shape, std::uint64_t seed);
  // From weights in random_weights()'s order (e.g. read from a model file); exactly
  // shape.parameters() of them.
  CpuModel(const ModelShape& shape, std::span<const float> weights);
  ~CpuModel();
  CpuModel(const CpuModel&) = delete;
  CpuModel& operator=(const CpuModel&) = delete;

  const ModelShape& shape() const { return shape_; }
  std::size_t weight_bytes() const;

  // Runs `tokens` through the model after what `cache` holds (a prompt, or its continuation),
  // appends their keys and values to `cache`, and writes the logits of the last position
  // (vocab floats) to `logits`. The cache must have room for them.
  void prefill(KvCache& cache, std::span<const int> tokens, std::span<float> logits) const;

  // One decode step for a batch: sequence i takes token tokens[i] at its next position; the
  // logits of each (row i: vocab floats) go to `logits` (batch × vocab). Batched GEMMs for the
  // projections and the feed-forward, per-sequence attention over its own cache.
  void decode(std::span<KvCache* const> batch, std::span<const int> tokens, std::span<float> logits) const;

  // The most likely next token (greedy) from one row of logits.
  static int argmax(std::span<const float> logits);

 private:
  struct Weights;
  ModelShape shape_;
  Weights* weights_;
};

}  // namespace fleetsim::real
