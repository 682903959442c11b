#include "policies/placement/placement.hpp"

#include <algorithm>

namespace fleetsim {

bool in_allowed_pool(std::uint32_t pool, const PlacementRequest& request) {
  return request.pools.empty() || std::find(request.pools.begin(), request.pools.end(), pool) != request.pools.end();
}

bool of_allowed_type(const GpuType& type, const PlacementRequest& request) {
  if (request.gpu_types.empty() || request.catalog.empty()) return true;
  for (std::uint32_t t : request.gpu_types)
    if (t < request.catalog.size() && request.catalog[t].name == type.name) return true;
  return false;
}

bool gpu_fits(const NodeView& node, const GpuSlot& slot, const PlacementRequest& request) {
  const double claim = memory_claim(node, request);
  if (slot.memory_used + claim > node.gpu_type->memory_bytes) return false;
  if (request.milli_gpu > 0) return slot.milli_used + static_cast<std::uint32_t>(request.milli_gpu) <= 1000;
  return slot.holders == 0 && slot.milli_used == 0;
}

bool node_fits(const NodeView& node, const PlacementRequest& request) {
  if (!node.up) return false;
  if (!in_allowed_pool(node.pool, request) || !of_allowed_type(*node.gpu_type, request)) return false;
  if (node.cpu_capacity > 0 && node.cpu_used + request.cpu > node.cpu_capacity + 1e-9) return false;
  if (node.host_memory_capacity > 0 && node.host_memory_used + request.host_memory > node.host_memory_capacity)
    return false;
  const int needed = request.milli_gpu > 0 ? 1 : request.gpus;
  if (needed == 0) return true;
  if ((request.milli_gpu == 0 && node.free_gpus < request.gpus) ||
      node.gpu_type->memory_bytes < request.min_gpu_memory)
    return false;
  int available = 0;
  for (const GpuSlot& slot : node.gpus)
    if (gpu_fits(node, slot, request)) ++available;
  return available >= needed;
}

bool node_could_fit(const NodeView& node, const PlacementRequest& request) {
  if (!in_allowed_pool(node.pool, request) || !of_allowed_type(*node.gpu_type, request)) return false;
  if (node.cpu_capacity > 0 && request.cpu > node.cpu_capacity + 1e-9) return false;
  if (node.host_memory_capacity > 0 && request.host_memory > node.host_memory_capacity) return false;
  const int needed = request.milli_gpu > 0 ? 1 : request.gpus;
  if (needed == 0) return true;
  return static_cast<int>(node.gpus.size()) >= needed && node.gpu_type->memory_bytes >= request.min_gpu_memory &&
         memory_claim(node, request) <= node.gpu_type->memory_bytes;
}

PlacementAnswer nothing_fits(const PlacementRequest& request, const ClusterView& cluster) {
  for (const NodeView& node : cluster.nodes)
    if (node_could_fit(node, request)) return std::nullopt;  // not now
  return PlacementAnswer::never("no node of the cluster could host it, even empty");
}

std::vector<int> lowest_free_gpus(const NodeView& node, const PlacementRequest& request) {
  std::vector<int> gpus;
  const int needed = request.milli_gpu > 0 ? 1 : request.gpus;
  for (std::size_t g = 0; g < node.gpus.size() && static_cast<int>(gpus.size()) < needed; ++g)
    if (gpu_fits(node, node.gpus[g], request)) gpus.push_back(static_cast<int>(g));
  return gpus;
}

}  // namespace fleetsim
