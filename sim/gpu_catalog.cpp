#include "sim/gpu_catalog.hpp"

namespace fleetsim {

namespace {
constexpr double GiB = 1073741824.0;
constexpr double TFLOPS = 1e12;
constexpr double GBps = 1e9;
}  // namespace

// Figures are the vendors' datasheet numbers (dense, i.e. without 2:4 sparsity). Host-to-device
// bandwidth is the effective pinned-memory copy rate over the card's PCIe link, about 80% of
// the link's theoretical rate (Gen3 x16 16 GB/s, Gen4 x16 32 GB/s, Gen5 x16 64 GB/s), as
// measured by NVIDIA's bandwidthTest on such systems.
const std::vector<GpuType>& builtin_gpu_types() {
  static const std::vector<GpuType> types = {
      // NVIDIA H100 Tensor Core GPU datasheet (SXM5): 80 GB HBM3, 3.35 TB/s, 989 TFLOPS BF16
      // dense (1,979 with sparsity); PCIe Gen5 x16.
      {"H100-80GB", 80 * GiB, 989 * TFLOPS, 3350 * GBps, 50 * GBps},
      // NVIDIA A100 datasheet (SXM4 80GB): 80 GB HBM2e, 2,039 GB/s, 312 TFLOPS BF16 dense;
      // PCIe Gen4 x16.
      {"A100-80GB", 80 * GiB, 312 * TFLOPS, 2039 * GBps, 25 * GBps},
      // NVIDIA A100 datasheet (SXM4 40GB): 40 GB HBM2, 1,555 GB/s, 312 TFLOPS BF16 dense.
      {"A100-40GB", 40 * GiB, 312 * TFLOPS, 1555 * GBps, 25 * GBps},
      // NVIDIA L40S datasheet: 48 GB GDDR6, 864 GB/s, 362 TFLOPS BF16 dense (733 sparse);
      // PCIe Gen4 x16.
      {"L40S", 48 * GiB, 362 * TFLOPS, 864 * GBps, 25 * GBps},
      // NVIDIA L4 datasheet: 24 GB GDDR6, 300 GB/s, 121 TFLOPS BF16 dense (242 sparse);
      // PCIe Gen4 x16.
      {"L4", 24 * GiB, 121 * TFLOPS, 300 * GBps, 25 * GBps},
      // AWS G5 (A10G): 24 GB GDDR6, 600 GB/s. AWS publishes no tensor figure; 70 TFLOPS BF16
      // dense is the commonly quoted value (the A10 datasheet's 125 TFLOPS is for a higher-
      // clocked part). PCIe Gen4 x16.
      {"A10G", 24 * GiB, 70 * TFLOPS, 600 * GBps, 25 * GBps},
      // NVIDIA V100 datasheet (SXM2 32GB): 32 GB HBM2, 900 GB/s, 125 TFLOPS FP16 tensor (no
      // BF16 on Volta; the FP16 figure stands in). PCIe Gen3 x16.
      {"V100-32GB", 32 * GiB, 125 * TFLOPS, 900 * GBps, 12 * GBps},
      {"V100-16GB", 16 * GiB, 125 * TFLOPS, 900 * GBps, 12 * GBps},
  };
  return types;
}

}  // namespace fleetsim
