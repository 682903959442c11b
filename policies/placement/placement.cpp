#include "policies/placement/placement.hpp"

#include <algorithm>

namespace fleetsim {

namespace {
bool gpu_available(const NodeView& node, const GpuSlot& slot, double claim) {
  return slot.holders == 0 && slot.memory_used + claim <= node.gpu_type->memory_bytes;
}
}  // namespace

bool node_fits(const NodeView& node, const PlacementRequest& request) {
  if (!node.up) return false;
  if (!request.pools.empty() &&
      std::find(request.pools.begin(), request.pools.end(), node.pool) == request.pools.end())
    return false;
  if (node.free_gpus < request.gpus || node.gpu_type->memory_bytes < request.min_gpu_memory)
    return false;
  const double claim = memory_claim(node, request);
  int available = 0;
  for (const GpuSlot& slot : node.gpus)
    if (gpu_available(node, slot, claim)) ++available;
  return available >= request.gpus;
}

std::vector<int> lowest_free_gpus(const NodeView& node, const PlacementRequest& request) {
  std::vector<int> gpus;
  const double claim = memory_claim(node, request);
  for (std::size_t g = 0; g < node.gpus.size() && static_cast<int>(gpus.size()) < request.gpus; ++g)
    if (gpu_available(node, node.gpus[g], claim)) gpus.push_back(static_cast<int>(g));
  return gpus;
}

}  // namespace fleetsim
