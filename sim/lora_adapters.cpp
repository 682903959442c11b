// LoRA adapters on LLM replicas: which adapters a replica holds, and loading one (from the
// node's disk or the model store) into a slot, evicting the least recently used idle adapter.
#include "sim/simulation.hpp"

#include <algorithm>

#include "sim/simulation_internal.hpp"

namespace fleetsim {

using namespace simulation_internal;

bool Simulation::holds_adapter(const Replica& rep, std::uint32_t adapter) const {
  for (const AdapterSlot& slot : holdings(rep).adapters)
    if (slot.adapter == adapter && !slot.loading) return true;
  return false;
}

// True when `adapter` is resident on the replica. Otherwise starts loading it (from the node's
// disk if a replica on this node loaded it before, else from the model store, at most at the
// replica's host-to-device rate), evicting the least recently used adapter no admitted request
// uses; when every slot is busy, the request waits for one to free up.
bool Simulation::adapter_ready(Replica& rep, std::uint32_t rep_id, std::uint32_t adapter) {
  ReplicaHoldings& held = holdings(rep);
  for (const AdapterSlot& slot : held.adapters)
    if (slot.adapter == adapter) return !slot.loading;
  const ModelSpec& spec = setup_.scenario.models[rep.info.model];
  if (static_cast<int>(held.adapters.size()) >= spec.max_adapters) {
    std::size_t victim = held.adapters.size();
    for (std::size_t i = 0; i < held.adapters.size(); ++i) {
      const AdapterSlot& s = held.adapters[i];
      if (s.in_use > 0 || s.loading) continue;
      if (victim == held.adapters.size() || s.last_used < held.adapters[victim].last_used) victim = i;
    }
    if (victim == held.adapters.size()) return false;
    held.adapters.erase(held.adapters.begin() + static_cast<std::ptrdiff_t>(victim));
  }
  held.adapters.push_back(AdapterSlot{adapter, now_, 0, true, TransferNetwork::kNone});
  NodeView& node = node_at(rep.info.node);
  const double cap = spec.gpus_per_replica * node.gpu_type->host_to_device_bandwidth;
  const std::uint64_t key = (static_cast<std::uint64_t>(rep.info.model) << 20) | adapter;
  const bool on_disk = std::find(node_adapters_[node.id].begin(), node_adapters_[node.id].end(), key) !=
                       node_adapters_[node.id].end();
  const std::uint64_t owner = kAdapterOwner + (static_cast<std::uint64_t>(rep_id) << 20) + adapter;
  const double bytes = spec.adapters[adapter].bytes;
  if (on_disk)
    start_transfer(owner, bytes, cap, {node_disk_link_[node.id]}, TransferNetwork::kNone);
  else
    start_transfer(owner, bytes, cap, {node_network_link_[node.id], store_link_}, TransferNetwork::kNone);
  held.adapters.back().transfer = last_transfer_;
  for (auto* o : observers_) o->on_adapter_load(now_, rep.info, on_disk);
  return false;
}

}  // namespace fleetsim
