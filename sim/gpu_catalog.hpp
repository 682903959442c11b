// The built-in catalog of common data-centre GPUs (GpuType itself is in the policy API, since
// placement policies read it). A scenario may override any figure or add types.
#pragma once
#include <vector>

#include "policies/api/gpu_type.hpp"

namespace fleetsim {

// The built-in table (sources in gpu_catalog.cpp).
const std::vector<GpuType>& builtin_gpu_types();

}  // namespace fleetsim
