// GpuType: the figures of one GPU model that placement policies, the performance model and the
// loading model use. Part of the policy API (plain data, nothing from sim/); the built-in
// catalog of common data-centre GPUs is in sim/gpu_catalog.hpp.
#pragma once
#include <string>

namespace fleetsim {

struct GpuType {
  std::string name;
  double memory_bytes = 0;              // HBM / GDDR capacity (0: not modelled, pod replays)
  double bf16_flops = 0;                // dense BF16 tensor FLOP/s (no sparsity)
  double memory_bandwidth = 0;          // bytes/s, device memory
  double host_to_device_bandwidth = 0;  // bytes/s, effective PCIe host->GPU copy rate
};

}  // namespace fleetsim
