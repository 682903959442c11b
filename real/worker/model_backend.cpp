// The cpu backend's adapter to ModelBackend, and the choice by name.
#include "real/worker/model_backend.hpp"

#include <dlfcn.h>

#include <vector>

#include "sim/program_files.hpp"

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

// The cuda backend lives in a module of its own, opened on first use (real/worker/cuda_backend.cu).
std::unique_ptr<ModelBackend> make_cuda_backend(const ModelShape& shape, std::span<const float> weights,
                                                std::string& why) {
  using Make = ModelBackend* (*)(const ModelShape*, const float*, std::size_t, std::string*);
  static Make make = nullptr;
  static std::string missing;
  if (!make && missing.empty()) {
#ifdef FLEETSIM_CUDA_MODULE_INSTALLED
    const std::string installed = FLEETSIM_CUDA_MODULE_INSTALLED;
#else
    const std::string installed;
#endif
    const std::string module = find_program_file("libfleetsim_cuda.so", "FLEETSIM_CUDA_BACKEND", installed);
    void* handle = module.empty() ? nullptr : dlopen(module.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (module.empty()) {
      missing = "this fleetsim was built without CUDA (no nvcc at configure time: no libfleetsim_cuda.so)";
    } else if (!handle) {
      const char* e = dlerror();
      missing = "cannot load " + module + ": " + (e ? e : "unknown error");
    } else if (!(make = reinterpret_cast<Make>(dlsym(handle, "fleetsim_make_cuda_backend")))) {
      missing = module + " has no fleetsim_make_cuda_backend";
    }
  }
  if (!make) {
    why = missing;
    return nullptr;
  }
  return std::unique_ptr<ModelBackend>(make(&shape, weights.data(), weights.size(), &why));
}

std::unique_ptr<ModelBackend> make_backend(const std::string& name, const ModelShape& shape,
                                           std::span<const float> weights, std::string& why) {
  if (name == "cpu") return make_cpu_backend(shape, weights);
  if (name == "cuda") return make_cuda_backend(shape, weights, why);
  why = "unknown backend \"" + name + "\" (cpu or cuda)";
  return nullptr;
}

}  // namespace fleetsim::real
