// The read-only view of the cluster that placement and cache policies receive. The simulator
// owns this data and keeps it current; policies must not hold on to pointers into it between
// calls. Everything is indexed by dense ids: node ids are positions in `nodes`, model ids are
// positions in the scenario's model list.
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "policies/api/free_gpu_index.hpp"
#include "policies/api/gpu_type.hpp"
#include "policies/api/time.hpp"

namespace fleetsim {

struct GpuSlot {
  double memory_used = 0;       // bytes held by what runs on this GPU
  std::uint32_t holders = 0;    // allocations using this GPU (a whole-GPU one is alone)
  std::uint32_t milli_used = 0; // thousandths of the GPU allocated: 1000 when whole
};

struct CacheEntry {
  std::uint32_t model = 0;
  double bytes = 0;
  SimTime inserted = 0;
  SimTime last_used = 0;
  std::uint64_t hits = 0;
};

struct NodeView {
  std::uint32_t id = 0;
  std::uint32_t pool = 0;
  bool up = true;  // false: a pool slot not provisioned (yet), or released; nothing fits
  const GpuType* gpu_type = nullptr;
  std::vector<GpuSlot> gpus;
  int free_gpus = 0;                  // GPUs with no holder
  double disk_cache_capacity = 0;     // bytes
  double disk_cache_used = 0;         // bytes
  double host_cache_capacity = 0;     // bytes of host memory for model weights
  double host_cache_used = 0;
  double disk_read_bandwidth = 0;     // bytes/s
  double network_bandwidth = 0;       // bytes/s, to the model store and image registry
  std::uint32_t network_transfers = 0;  // transfers now sharing the network link
  std::uint32_t disk_transfers = 0;     // transfers now reading the disk
  std::vector<CacheEntry> disk_cache;  // models whose weights are on the node's disk
  std::vector<CacheEntry> host_cache;  // models whose weights are in the node's host memory
  std::vector<std::uint32_t> images;   // models whose container image the node has pulled
  std::uint32_t replicas = 0;          // replicas placed on the node and not yet stopped
  double cpu_capacity = 0;             // cores (0: not modelled)
  double cpu_used = 0;
  double host_memory_capacity = 0;     // bytes (0: not modelled)
  double host_memory_used = 0;

  bool has_cached(std::uint32_t model) const {  // on disk
    for (const auto& e : disk_cache)
      if (e.model == model) return true;
    return false;
  }
  bool has_in_memory(std::uint32_t model) const {
    for (const auto& e : host_cache)
      if (e.model == model) return true;
    return false;
  }
  bool has_image(std::uint32_t model) const {
    for (auto m : images)
      if (m == model) return true;
    return false;
  }
};

struct ClusterView {
  SimTime now = 0;
  std::span<const NodeView> nodes;
  double model_store_bandwidth = 0;  // aggregate; infinity = no limit
  std::uint32_t model_store_transfers = 0;
  double registry_bandwidth = 0;
  std::uint32_t registry_transfers = 0;
  // The nodes that are up by pool, GPU type and free GPUs (policies/api/free_gpu_index.hpp),
  // current with `nodes`: a policy that wants only the nodes that could host a request visits
  // those (visit_candidates() in policies/placement/placement.hpp) instead of walking `nodes`.
  // nullptr in a view built by hand (tests, benchmarks); `nodes` is always complete.
  const FreeGpuIndex* index = nullptr;
};

}  // namespace fleetsim
