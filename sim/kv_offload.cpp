// KV offload tiers for the prefix cache (README "KV offload tiers"; LMCache's and vLLM's KV
// connectors, Mooncake's KV store, at the level of prefix blocks): prefix blocks evicted from a
// replica's KV cache move down to host memory (per replica), the node's local disk (per node,
// shared by the model's replicas there) and a shared store (cluster-wide), the first tier
// configured; each tier is an LRU (a PrefixCache) and passes its own evictions to the next one.
// At admission, after the KV cache's own prefix hit, the request's following blocks are looked
// up in the tiers (fastest first for each block) and loaded back as far as that beats
// recomputing them.
//
// The cost model is deliberately simple: a block loads at bytes / the tier's bandwidth, alone
// on its link (host memory: the GPUs' host-to-device rate; disk: the node's disk read
// bandwidth; shared store: the node's network bandwidth) — not a transfer on the shared-link
// network, so it neither slows nor is slowed by concurrent weight loads. The loads of the
// requests admitted to a step are added to that step's time (they run before its compute).
//
// Cost: nothing here runs for a model without tiers (one flag test in trim and admission); with
// them, one hash lookup per tier per block evicted or looked up, no allocation once the
// scratch vectors have grown.
#include <algorithm>
#include <cmath>

#include "sim/simulation.hpp"

namespace fleetsim {

namespace {

// Bytes of one prefix block of `spec`'s KV cache.
double block_bytes(const ModelSpec& spec) { return spec.prefix_block_tokens * spec.kv_bytes_per_token; }

// Blocks a tier of `bytes` holds.
std::size_t tier_blocks(const ModelSpec& spec, double bytes) {
  return static_cast<std::size_t>(std::floor(bytes / block_bytes(spec)));
}

double tier_bytes(const ModelSpec& spec, KvTier tier) {
  switch (tier) {
    case kTierHostMemory: return spec.kv_offload_host_bytes;
    case kTierDisk: return spec.kv_offload_disk_bytes;
    case kTierSharedStore: return spec.kv_offload_store_bytes;
  }
  return 0;
}

constexpr KvTier kTiers[] = {kTierHostMemory, kTierDisk, kTierSharedStore};

}  // namespace

void Simulation::set_up_kv_offload() {
  const Scenario& sc = setup_.scenario;
  offload_disk_.resize(sc.models.size());
  offload_store_.resize(sc.models.size());
  for (std::size_t m = 0; m < sc.models.size(); ++m)
    if (sc.models[m].kv_offload_disk_bytes > 0) offload_disk_[m].resize(cluster_.size());
}

// The tier's cache that `rep` uses (nullptr: the model has no such tier).
PrefixCache* Simulation::offload_tier(Replica& rep, KvTier tier) {
  const ModelSpec& spec = setup_.scenario.models[rep.info.model];
  if (tier_bytes(spec, tier) <= 0) return nullptr;
  switch (tier) {
    case kTierHostMemory: return &rep.offload_host;
    case kTierDisk: return &offload_disk_[rep.info.model][rep.info.node];
    case kTierSharedStore: return &offload_store_[rep.info.model];
  }
  return nullptr;
}

// Bytes/s a load from the tier into `rep`'s GPUs gets. Host memory: each GPU copies its shard
// of the KV over its own PCIe link, at the GPU type's host-to-device rate (sim/gpu_catalog.cpp:
// ~80% of the link's theoretical rate, e.g. 50 GB/s for H100 on PCIe Gen5 x16, 25 GB/s Gen4).
double Simulation::offload_tier_bandwidth(const Replica& rep, KvTier tier) const {
  const ModelSpec& spec = setup_.scenario.models[rep.info.model];
  const NodeView& node = cluster_.node(rep.info.node);
  switch (tier) {
    case kTierHostMemory: return spec.gpus_per_replica * node.gpu_type->host_to_device_bandwidth;
    case kTierDisk: return node.disk_read_bandwidth;
    case kTierSharedStore: return node.network_bandwidth;
  }
  return 0;
}

// The blocks in offload_evicted_ (least recently used first) left `rep`'s KV cache: each enters
// the first tier, which passes what it must evict to the next, and so on; what the last evicts
// is dropped.
void Simulation::offload_evicted(Replica& rep) {
  const ModelSpec& spec = setup_.scenario.models[rep.info.model];
  KvCounts& counts = kv_counts_[rep.info.model];
  for (KvTier tier : kTiers) {
    if (offload_evicted_.empty()) return;
    PrefixCache* cache = offload_tier(rep, tier);
    if (!cache) continue;
    // One at a time, in eviction order: the last evicted (the most recently used) ends newest.
    for (std::uint64_t hash : offload_evicted_)
      counts.offload[tier].offloaded_blocks += cache->insert(std::span<const std::uint64_t>(&hash, 1));
    offload_passed_.clear();
    cache->shrink_to(tier_blocks(spec, tier_bytes(spec, tier)), &offload_passed_);
    offload_evicted_.swap(offload_passed_);
  }
}

// At admission: `prefix` is the request's cacheable blocks, the first `gpu_hit` of them found in
// the KV cache. Returns how many of the following blocks are loaded back from the tiers: the
// count k that minimises load(k) + prefill(prompt tokens left after k), the prefill priced by
// the replica's performance model for this request alone (ties: the fewer blocks). The chosen
// loads are counted per tier, touched there, and their time added to the step being formed.
std::size_t Simulation::load_offloaded(Replica& rep, const Request& r, std::span<const std::uint64_t> prefix,
                                       std::size_t gpu_hit) {
  const ModelSpec& spec = setup_.scenario.models[rep.info.model];
  const double bytes = block_bytes(spec);
  const std::uint64_t prompt = std::uint64_t{r.input_tokens} + r.generated;
  // Prompt tokens computed with `blocks` prefix blocks cached (at least one is always computed).
  auto computed = [&](std::size_t blocks) {
    const std::uint64_t cached = std::min<std::uint64_t>(blocks * spec.prefix_block_tokens, prompt - 1);
    return static_cast<double>(prompt - cached);
  };
  auto fastest_holder = [&](std::uint64_t hash) -> int {
    for (KvTier tier : kTiers)
      if (PrefixCache* cache = offload_tier(rep, tier); cache && cache->contains(hash)) return tier;
    return -1;
  };
  double load = 0, best_cost = rep.perf->prefill_seconds(computed(gpu_hit)), best_load = 0;
  std::size_t found = 0, best = 0;
  for (std::size_t i = gpu_hit; i < prefix.size(); ++i) {
    const int tier = fastest_holder(prefix[i]);
    if (tier < 0) break;
    ++found;
    load += bytes / offload_tier_bandwidth(rep, static_cast<KvTier>(tier));
    const double cost = load + rep.perf->prefill_seconds(computed(gpu_hit + found));
    if (cost < best_cost) best_cost = cost, best = found, best_load = load;
  }
  if (found == 0) return 0;
  KvCounts& counts = kv_counts_[rep.info.model];
  counts.offload_declined_tokens +=
      static_cast<std::uint64_t>(computed(gpu_hit + best) - computed(gpu_hit + found));
  for (std::size_t i = gpu_hit; i < gpu_hit + best; ++i) {
    const auto tier = static_cast<KvTier>(fastest_holder(prefix[i]));
    KvCounts::Tier& t = counts.offload[tier];
    t.hit_tokens += static_cast<std::uint64_t>(computed(i) - computed(i + 1));
    ++t.loaded_blocks;
    t.bytes_loaded += bytes;
    t.load_seconds += bytes / offload_tier_bandwidth(rep, tier);
    offload_tier(rep, tier)->insert(prefix.subspan(i, 1));  // used now
  }
  rep.step_load_seconds += best_load;
  return best;
}

// A node went back to its pool: its disks come back empty.
void Simulation::clear_node_kv_offload(std::uint32_t node) {
  for (std::vector<PrefixCache>& disks : offload_disk_)
    if (node < disks.size()) disks[node].clear();
}

}  // namespace fleetsim
