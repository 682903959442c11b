// The cpu backend's adapter to ModelBackend, and the choice by name.
#include "real/worker/model_backend.hpp"

#include <vector>

namespace fleetsim::real {

namespace {

class CpuSequence final : public SequenceState {
 public:
  CpuSequence(const ModelShape& shape, int capacity) : cache(shape, capacity) {}
  int length() const override { return cache.length(); }
  int capacity() const override { return cache.capacity(); }
  std::unique_ptr<SequenceState> clone() const override { return std::make_unique<CpuSequence>(*this); }
  KvCache cache;
};

class CpuBackend final : public ModelBackend {
 public:
  CpuBackend(const ModelShape& shape, std::span<const float> weights) : model_(shape, weights) {}
  const char* name() const override { return "cpu"; }
  const ModelShape& shape() const override { return model_.shape(); }
  std::unique_ptr<SequenceState> new_sequence(int capacity) const override {
    return std::make_unique<CpuSequence>(model_.shape(), capacity);
  }
  void prefill(SequenceState& sequence, std::span<const int> tokens, std::span<float> logits) const override {
    model_.prefill(static_cast<CpuSequence&>(sequence).cache, tokens, logits);
  }
  void decode(std::span<SequenceState* const> batch, std::span<const int> tokens, std::span<float> logits) const override {
    caches_.clear();
    for (SequenceState* s : batch) caches_.push_back(&static_cast<CpuSequence*>(s)->cache);
    model_.decode(caches_, tokens, logits);
  }

 private:
  CpuModel model_;
  mutable std::vector<KvCache*> caches_;  // reused across steps
};

}  // namespace

std::unique_ptr<ModelBackend> make_cpu_backend(const ModelShape& shape, std::span<const float> weights) {
  return std::make_unique<CpuBackend>(shape, weights);
}

#ifndef FLEETSIM_HAS_CUDA
std::unique_ptr<ModelBackend> make_cuda_backend(const ModelShape&, std::span<const float>, std::string& why) {
  why = "this fleetsim was built without CUDA (no nvcc at configure time)";
  return nullptr;
}
#endif

std::unique_ptr<ModelBackend> make_backend(const std::string& name, const ModelShape& shape,
                                           std::span<const float> weights, std::string& why) {
  if (name == "cpu") return make_cpu_backend(shape, weights);
  if (name == "cuda") return make_cuda_backend(shape, weights, why);
  why = "unknown backend \"" + name + "\" (cpu or cuda)";
  return nullptr;
}

}  // namespace fleetsim::real
