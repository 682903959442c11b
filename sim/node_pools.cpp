// Node pools: growing a pool by one node when a model finds no room (provisioning time), the
// node coming up, releasing a grown node after it stood idle, and each pool's node-seconds.
#include "sim/simulation.hpp"

#include <algorithm>
#include <cmath>

#include "sim/simulation_internal.hpp"

namespace fleetsim {

using namespace simulation_internal;

std::uint32_t Simulation::pool_first_node(std::uint32_t pool) const {
  std::uint32_t first = 0;
  for (std::uint32_t p = 0; p < pool; ++p)
    first += static_cast<std::uint32_t>(std::max(setup_.scenario.pools[p].nodes, setup_.scenario.pools[p].max_nodes));
  return first;
}

void Simulation::count_nodes(std::uint32_t pool, int delta) {
  PoolState& p = pools_[pool];
  p.usage.node_seconds += p.up * to_seconds(now_ - p.usage_since);
  p.usage_since = now_;
  p.up += delta;
  p.usage.peak_nodes = std::max(p.usage.peak_nodes, p.up);
}

// Grow a pool for `model`: the placement policy chooses which (choose_pool; by default the first
// of its allowed pools with room to grow whose GPUs can host it). One node at a time per model:
// a model waiting for a node asks for no other.
bool Simulation::request_node(std::uint32_t model) {
  ModelState& m = models_[model];
  // One node at a time per model, while it is on its way up; once up it may have gone to
  // another model, and this one may ask again.
  if (m.awaited_node != kNoNode && node_epoch_[m.awaited_node] == kProvisioning) return false;
  const PlacementRequest request = placement_request(model);
  pool_views_.clear();
  for (std::uint32_t p = 0; p < setup_.scenario.pools.size(); ++p) {
    const PoolSpec& pool = setup_.scenario.pools[p];
    pool_views_.push_back(PoolView{p, &cluster_.catalog()[pool.gpu_type], pool.gpus_per_node, pools_[p].up,
                                   pools_[p].pending, pool.max_nodes});
  }
  const std::optional<std::uint32_t> chosen = setup_.placement->choose_pool(request, pool_views_);
  if (!chosen) return false;
  const std::uint32_t p = *chosen;
  if (p >= pool_views_.size() || !PlacementPolicy::pool_can_grow_for(pool_views_[p], request))
    throw PolicyError{"placement policy '" + setup_.scenario.placement.impl + "' chose to grow pool " +
                      std::to_string(p) + ", which is not allowed for model '" + setup_.scenario.models[model].name +
                      "', has no room to grow, or whose nodes cannot host it"};
  const PoolSpec& pool = setup_.scenario.pools[p];
  const std::uint32_t first = pool_first_node(p);
  for (std::uint32_t n = first; n < first + static_cast<std::uint32_t>(pool.max_nodes); ++n) {
    if (node_at(n).up || node_epoch_[n] == kProvisioning) continue;
    node_epoch_[n] = kProvisioning;
    ++pools_[p].pending;
    m.awaited_node = n;
    m.node_requested = now_;
    const Distribution& d = pool.provisioning_time;
    RngStream& rng = pools_[p].provisioning;
    double seconds = d.a;
    if (d.kind == Distribution::Kind::Uniform) seconds = rng.uniform(d.a, d.b);
    if (d.kind == Distribution::Kind::Lognormal) seconds = rng.lognormal(std::log(d.a), d.b);
    if (d.kind == Distribution::Kind::Exponential) seconds = rng.exponential(d.a);
    if (d.max > 0) seconds = std::min(seconds, d.max);
    schedule(now_ + ceil_ns(seconds), EventKind::NodeUp, n, 0, model);
    return true;
  }
  return false;
}

void Simulation::on_node_up(std::uint32_t n, std::uint32_t model) {
  NodeView& node = node_at(n);
  node.up = true;
  if (jobs_) jobs_->capacity_added();  // jobs that did not fit may now
  node_epoch_[n] = 0;
  prefetch_at_start(node);
  --pools_[node.pool].pending;
  ++pools_[node.pool].usage.provisioned;
  count_nodes(node.pool, +1);
  for (auto* o : observers_) o->on_node(now_, n, true);
  // Idle until a replica lands on it.
  schedule(now_ + setup_.scenario.pools[node.pool].node_idle_timeout, EventKind::NodeIdle, n, node_epoch_[n]);
  request_evaluation(model, now_);
}

void Simulation::on_node_idle(std::uint32_t n) {
  NodeView& node = node_at(n);
  if (!node.up || node.replicas > 0) return;
  // Co-located jobs keep a grown node up while they run on it: look again a timeout later.
  const bool jobs_on_it = std::any_of(node.gpus.begin(), node.gpus.end(), [](const GpuSlot& g) { return g.holders > 0; }) ||
                          node.cpu_used > 1e-9 || node.host_memory_used > 1.0;
  if (jobs_on_it) {
    // (at least a minute later: a timeout of 0 must not re-check at the same instant for ever)
    schedule(now_ + std::max(setup_.scenario.pools[node.pool].node_idle_timeout, 60 * kSecond), EventKind::NodeIdle,
             node.id, node_epoch_[node.id]);
    return;
  }
  // A fresh machine next time: nothing cached, no images, no adapters.
  node.up = false;
  for (const CacheEntry& e : node.disk_cache) setup_.cache->on_evict(CacheTier::Disk, e, node);
  for (const CacheEntry& e : node.host_cache) setup_.cache->on_evict(CacheTier::HostMemory, e, node);
  node.disk_cache.clear();
  node.host_cache.clear();
  node_adapters_[n].clear();
  clear_node_kv_offload(n);
  node.disk_cache_used = node.host_cache_used = 0;
  node.images.clear();
  ++pools_[node.pool].usage.released;
  count_nodes(node.pool, -1);
  for (auto* o : observers_) o->on_node(now_, n, false);
  for (ModelState& m : models_)
    if (m.awaited_node == n) m.awaited_node = kNoNode;
}

}  // namespace fleetsim
