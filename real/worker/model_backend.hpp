// ModelBackend: what a real-mode worker computes with — the `cpu` backend (CpuModel, Eigen,
// always built) or the `cuda` backend (cuBLAS, built when nvcc is found; cuda_backend.cu). Both
// run the same transformer (real/worker/cpu_model.hpp describes it) from the same weights, so a
// worker, the batch engine and calibration do not care which one they have.
#pragma once
#include <memory>
#include <span>
#include <string>

#include "real/worker/cpu_model.hpp"

namespace fleetsim::real {

// One sequence's KV cache, wherever the backend keeps it (host memory, GPU memory).
class SequenceState {
 public:
  virtual ~SequenceState() = default;
  virtual int length() const = 0;
  virtual int capacity() const = 0;
  virtual std::unique_ptr<SequenceState> clone() const = 0;
};

class ModelBackend {
 public:
  virtual ~ModelBackend() = default;
  virtual const char* name() const = 0;  // "cpu", "cuda"
  virtual const ModelShape& shape() const = 0;
  // A sequence with room for `capacity` positions (prompt + output).
  virtual std::unique_ptr<SequenceState> new_sequence(int capacity) const = 0;
  // As CpuModel::prefill / decode; logits always come back to host memory.
  virtual void prefill(SequenceState& sequence, std::span<const int> tokens, std::span<float> logits) const = 0;
  virtual void decode(std::span<SequenceState* const> batch, std::span<const int> tokens,
                      std::span<float> logits) const = 0;
};

// The cpu backend: a CpuModel from these weights (random_weights()'s order).
std::unique_ptr<ModelBackend> make_cpu_backend(const ModelShape& shape, std::span<const float> weights);

// The cuda backend: the weights copied to the GPU through a pinned host buffer. Null, with the
// reason in `why`, when this fleetsim was built without CUDA or no GPU is usable.
std::unique_ptr<ModelBackend> make_cuda_backend(const ModelShape& shape, std::span<const float> weights,
                                                std::string& why);

// By name ("cpu" or "cuda"); null with the reason in `why` when unknown or not available.
std::unique_ptr<ModelBackend> make_backend(const std::string& name, const ModelShape& shape,
                                           std::span<const float> weights, std::string& why);

}  // namespace fleetsim::real
