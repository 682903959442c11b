// GpuType: the figures of one GPU model that the performance and loading models use, and the
// built-in catalog of common data-centre GPUs. A scenario may override any figure or add types.
#pragma once
#include <string>
#include <vector>

namespace fleetsim {

struct GpuType {
  std::string name;
  double memory_bytes = 0;           // HBM / GDDR capacity
  double bf16_flops = 0;             // dense BF16 tensor FLOP/s (no sparsity)
  double memory_bandwidth = 0;       // bytes/s, device memory
  double host_to_device_bandwidth = 0;  // bytes/s, effective PCIe host->GPU copy rate
};

// The built-in table (sources in gpu_catalog.cpp).
const std::vector<GpuType>& builtin_gpu_types();

}  // namespace fleetsim
