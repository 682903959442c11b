// Moving bytes: transfers on the shared links (image pulls, weight loads, prefetches, adapter
// loads) and what happens when they finish, and the nodes' weight caches (disk, host memory)
// that the cache policy fills, prefetches into and evicts from.
#include "sim/simulation.hpp"

#include <algorithm>
#include <span>
#include <string>

#include "sim/simulation_internal.hpp"

namespace fleetsim {

using namespace simulation_internal;

namespace {

constexpr std::uint32_t kNoModel = 0xFFFFFFFFu;

}  // namespace

void Simulation::start_transfer(std::uint64_t owner, double bytes, double cap,
                                std::initializer_list<TransferNetwork::LinkId> links,
                                std::uint32_t replica) {
  auto id = network_.start(now_, bytes, cap, std::span<const TransferNetwork::LinkId>(links.begin(), links.size()), owner);
  last_transfer_ = id;
  if (replica != TransferNetwork::kNone) holdings_[replica].transfer = id;
  reschedule_transfers();
}

void Simulation::reschedule_transfers() {
  ++transfer_epoch_;
  const SimTime next = network_.next_completion();
  if (next != kNever) schedule(std::max(next, now_), EventKind::TransferDone, 0, transfer_epoch_);
}

void Simulation::on_transfer_done() {
  finished_transfers_.clear();
  network_.complete_until(now_, finished_transfers_);
  // Handle in a stable order (owners by public replica id, ascending), whatever order the
  // network listed them; an owner names a replica by its slot.
  if (finished_transfers_.size() > 1) {
    auto key = [&](std::uint64_t owner) -> std::uint64_t {
      if (owner >= kAdapterOwner)
        return kAdapterOwner + (static_cast<std::uint64_t>(replicas_[(owner - kAdapterOwner) >> 20].info.id) << 20) +
               ((owner - kAdapterOwner) & 0xFFFFF);
      return owner >= kPrefetchOwner ? owner : replicas_[owner].info.id;
    };
    std::sort(finished_transfers_.begin(), finished_transfers_.end(),
              [&](std::uint64_t a, std::uint64_t b) { return key(a) < key(b); });
  }
  const std::vector<std::uint64_t> finished = finished_transfers_;
  for (std::uint64_t owner : finished) {
    if (owner >= kAdapterOwner) {
      const auto rep_id = static_cast<std::uint32_t>((owner - kAdapterOwner) >> 20);
      const auto adapter = static_cast<std::uint32_t>((owner - kAdapterOwner) & 0xFFFFF);
      Replica& rep = replicas_[rep_id];
      const std::uint64_t key = (static_cast<std::uint64_t>(rep.info.model) << 20) | adapter;
      auto& on_node = node_adapters_[rep.info.node];
      if (std::find(on_node.begin(), on_node.end(), key) == on_node.end()) on_node.push_back(key);
      for (AdapterSlot& slot : holdings(rep).adapters)
        if (slot.adapter == adapter) slot.loading = false, slot.transfer = TransferNetwork::kNone;
      if (rep.phase == ReplicaPhase::Ready || rep.phase == ReplicaPhase::Draining) llm_try_schedule(rep, rep_id);
      route_load_changed(rep_id);
      continue;
    }
    if (owner >= kKvOwner) {
      on_kv_transfer_done(static_cast<std::uint32_t>(owner - kKvOwner));
      continue;
    }
    if (owner >= kOffloadOwner) {  // a KV offload load (kv_offload.cpp)
      on_offload_load_done(owner - kOffloadOwner);
      continue;
    }
    if (owner >= kPrefetchOwner) {
      Prefetch& p = prefetches_[owner - kPrefetchOwner];
      if (!node_at(p.node).has_cached(p.model)) cache_admit(node_at(p.node), CacheTier::Disk, p.model);
      p.model = kNoModel;
      continue;
    }
    holdings_[owner].transfer = TransferNetwork::kNone;
    end_phase(static_cast<std::uint32_t>(owner));
  }
  reschedule_transfers();
}

// What the cache policy keeps on a node's disk from the moment it is up (pinned models).
void Simulation::prefetch_at_start(NodeView& node) {
  for (std::uint32_t model : setup_.cache->prefetch_at_start(node))
    if (model < models_.size() && !node.has_cached(model)) cache_admit(node, CacheTier::Disk, model);
}

// The cache policy may ask to warm other nodes' disks when a replica of `model` starts.
void Simulation::prefetch(std::uint32_t model) {
  for (std::uint32_t n : setup_.cache->prefetch_on_scale_up(model, cluster_view())) {
    if (n >= cluster_.size())
      throw PolicyError{"cache policy '" + setup_.scenario.cache.impl + "' asked to prefetch onto node " +
                        std::to_string(n) + ", which does not exist"};
    if (node_at(n).has_cached(model)) continue;
    bool in_flight = false;
    for (const Prefetch& p : prefetches_) in_flight = in_flight || (p.node == n && p.model == model);
    if (in_flight) continue;
    std::size_t slot = prefetches_.size();
    for (std::size_t i = 0; i < prefetches_.size(); ++i)
      if (prefetches_[i].model == kNoModel) slot = i;
    if (slot == prefetches_.size()) prefetches_.push_back({});
    prefetches_[slot] = Prefetch{n, model};
    start_transfer(kPrefetchOwner + slot, setup_.scenario.models[model].weight_bytes(),
                   TransferNetwork::kUnlimited, {node_network_link_[n], store_link_}, TransferNetwork::kNone);
  }
}

void Simulation::cache_admit(NodeView& node, CacheTier tier, std::uint32_t model) {
  const bool disk = tier == CacheTier::Disk;
  std::vector<CacheEntry>& entries = disk ? node.disk_cache : node.host_cache;
  double& used = disk ? node.disk_cache_used : node.host_cache_used;
  const double capacity = disk ? node.disk_cache_capacity : node.host_cache_capacity;
  const double bytes = setup_.scenario.models[model].weight_bytes();
  if (bytes <= 0 || bytes > capacity) return;
  if (!setup_.cache->admit(tier, model, bytes, node)) return;
  while (used + bytes > capacity) {
    std::size_t v = setup_.cache->victim(tier, entries, node);
    if (v == CachePolicy::kKeepAll) return;
    if (v >= entries.size())
      throw PolicyError{"cache policy '" + setup_.scenario.cache.impl + "' chose victim " +
                        std::to_string(v) + " of " + std::to_string(entries.size())};
    used -= entries[v].bytes;
    setup_.cache->on_evict(tier, entries[v], node);
    for (auto* o : observers_) o->on_cache(now_, node.id, entries[v].model, CacheEvent::Evict);
    if (setup_.backend) setup_.backend->cache_changed(node.id, entries[v].model, tier, CacheEvent::Evict);
    entries.erase(entries.begin() + static_cast<std::ptrdiff_t>(v));
  }
  entries.push_back(CacheEntry{model, bytes, now_, now_, 0});
  used += bytes;
  setup_.cache->on_insert(tier, entries.back(), node);
  for (auto* o : observers_) o->on_cache(now_, node.id, model, CacheEvent::Insert);
  if (setup_.backend) setup_.backend->cache_changed(node.id, model, tier, CacheEvent::Insert);
}

}  // namespace fleetsim
