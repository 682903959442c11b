#include "sim/cluster_state.hpp"

#include <algorithm>

namespace fleetsim {

ClusterState::ClusterState(std::vector<GpuType> catalog) : catalog_(std::move(catalog)) {}

ClusterState& ClusterState::operator=(const ClusterState& other) {
  if (this == &other) return *this;
  catalog_ = other.catalog_;
  nodes_ = other.nodes_;
  version_ = other.version_;
  index_ = other.index_;
  stale_ = other.stale_;
  stale_nodes_ = other.stale_nodes_;
  for (NodeView& n : nodes_) n.gpu_type = catalog_.data() + (n.gpu_type - other.catalog_.data());
  return *this;
}

void ClusterState::index_node(std::uint32_t n) const {
  const NodeView& node = nodes_[n];
  const FreeGpuIndex::Group& group = index_.groups()[index_.group_of(n)];
  if (group.pool != node.pool || group.gpu_type != type_index(node)) {  // moved to another group
    rebuild_index();
    return;
  }
  index_.set(n, node.up, node.free_gpus);
}

void ClusterState::refresh_index() const {
  for (std::uint32_t n : stale_nodes_) {
    stale_[n] = 0;
    index_node(n);
  }
  stale_nodes_.clear();
}

void ClusterState::rebuild_index() const {
  index_ = FreeGpuIndex{};
  for (const NodeView& node : nodes_) {
    index_.add_node(node.id, node.pool, type_index(node), static_cast<int>(node.gpus.size()));
    index_.set(node.id, node.up, node.free_gpus);
  }
}

std::uint32_t ClusterState::add_node(NodeView node) {
  node.id = static_cast<std::uint32_t>(nodes_.size());
  node.free_gpus = 0;
  for (const GpuSlot& g : node.gpus) node.free_gpus += g.holders == 0;
  nodes_.push_back(std::move(node));
  version_.push_back(1);
  stale_.push_back(0);
  const NodeView& added = nodes_.back();
  index_.add_node(added.id, added.pool, type_index(added), static_cast<int>(added.gpus.size()));
  index_.set(added.id, added.up, added.free_gpus);
  return added.id;
}

std::uint32_t ClusterState::add_node(std::uint32_t pool, std::uint32_t gpu_type, int gpus, bool up) {
  NodeView node;
  node.pool = pool;
  node.up = up;
  node.gpu_type = &catalog_[gpu_type];
  node.gpus.assign(static_cast<std::size_t>(std::max(gpus, 0)), GpuSlot{});
  return add_node(std::move(node));
}

Status ClusterState::check(const PlacementRequest& r, const Placement& p, std::string_view subject) const {
  // The names in the messages are built only for a message: check() runs at every placement.
  auto what = [&] { return std::string(subject); };
  if (p.node >= nodes_.size())
    return Status::wrong("chose node " + std::to_string(p.node) + ", which does not exist (" +
                         std::to_string(nodes_.size()) + " nodes)");
  const NodeView& node = nodes_[p.node];
  auto where = [&] { return "node " + std::to_string(node.id); };
  if (!node.up) return Status::wrong("chose " + where() + ", which is not up");
  if (!in_allowed_pool(node.pool, r))
    return Status::wrong("put " + what() + " on " + where() + ", outside its allowed pools");
  if (!of_allowed_type(*node.gpu_type, r))
    return Status::wrong("put " + what() + ", which may not run on " +
                         (node.gpu_type->name.empty() ? std::string("nodes without GPUs") : node.gpu_type->name + " GPUs") +
                         ", on " + where());
  const int needed = r.milli_gpu > 0 ? 1 : r.gpus;
  if (static_cast<int>(p.gpus.size()) != needed)
    return Status::wrong("gave " + std::to_string(p.gpus.size()) + " GPUs to " + what() + ", which needs " +
                         std::to_string(needed) + (r.milli_gpu > 0 ? " (a share of one)" : ""));
  if (needed > 0 && node.gpu_type->memory_bytes < r.min_gpu_memory)
    return Status::wrong("put " + what() + " on " + where() + ", whose GPUs are too small for it");
  const double claim = memory_claim(node, r);
  for (std::size_t i = 0; i < p.gpus.size(); ++i) {
    const int g = p.gpus[i];
    auto gpu = [&] { return "GPU " + std::to_string(g) + " of " + where(); };
    if (g < 0 || g >= static_cast<int>(node.gpus.size()))
      return Status::wrong("chose " + gpu() + ", which has " + std::to_string(node.gpus.size()));
    if (std::find(p.gpus.begin(), p.gpus.begin() + static_cast<std::ptrdiff_t>(i), g) !=
        p.gpus.begin() + static_cast<std::ptrdiff_t>(i))
      return Status::wrong("chose " + gpu() + " twice");
    const GpuSlot& slot = node.gpus[static_cast<std::size_t>(g)];
    if (r.milli_gpu > 0) {
      if (slot.milli_used + static_cast<std::uint32_t>(r.milli_gpu) > 1000)
        return Status::wrong("over-committed " + gpu() + ": " + std::to_string(slot.milli_used) + " + " +
                             std::to_string(r.milli_gpu) + " milli > 1000");
    } else if (slot.holders > 0 || slot.milli_used > 0) {
      return Status::wrong("over-committed " + gpu() + ": it is already allocated");
    }
    if (slot.memory_used + claim > node.gpu_type->memory_bytes)
      return Status::wrong("over-committed the memory of " + gpu());
  }
  if (node.cpu_capacity > 0 && node.cpu_used + r.cpu > node.cpu_capacity + 1e-9)
    return Status::wrong("over-committed the CPU of " + where());
  if (node.host_memory_capacity > 0 && node.host_memory_used + r.host_memory > node.host_memory_capacity)
    return Status::wrong("over-committed the host memory of " + where());
  return Status::fine();
}

Allocation ClusterState::allocation_for(const PlacementRequest& r, const Placement& p) const {
  Allocation a;
  const NodeView& node = nodes_[p.node];
  const double claim = memory_claim(node, r);
  for (int g : p.gpus)
    a.gpus.push_back({p.node, static_cast<std::uint32_t>(g), r.milli_gpu > 0 ? r.milli_gpu : 1000, claim});
  a.hosts.push_back({p.node, r.cpu, r.host_memory});
  return a;
}

void ClusterState::change(const Allocation& a, int sign) {
  std::uint32_t last = FreeGpuIndex::kNotIndexed;  // the node of the pieces before, to re-index
  for (const Allocation::Gpu& piece : a.gpus) {
    if (piece.node != last && last != FreeGpuIndex::kNotIndexed) index_.set(last, nodes_[last].up, nodes_[last].free_gpus);
    last = piece.node;
    NodeView& node = nodes_[piece.node];
    ++version_[piece.node];
    GpuSlot& slot = node.gpus[piece.gpu];
    if (sign > 0) {
      if (slot.holders == 0) --node.free_gpus;
      ++slot.holders;
      slot.milli_used += static_cast<std::uint32_t>(piece.milli);
      slot.memory_used += piece.memory;
    } else {
      --slot.holders;
      slot.milli_used -= static_cast<std::uint32_t>(piece.milli);
      slot.memory_used -= piece.memory;
      if (slot.holders == 0) {
        ++node.free_gpus;
        slot.milli_used = 0;
        slot.memory_used = 0;
      }
    }
  }
  if (last != FreeGpuIndex::kNotIndexed) index_.set(last, nodes_[last].up, nodes_[last].free_gpus);
  for (const Allocation::Host& host : a.hosts) {
    NodeView& node = nodes_[host.node];
    ++version_[host.node];
    node.cpu_used += sign * host.cpu;
    node.host_memory_used += sign * host.memory;
    if (a.counts_as_replica) node.replicas += static_cast<std::uint32_t>(sign);
  }
}

void ClusterState::reserve(const Allocation& a) {
  change(a, +1);
  if (watcher_) watcher_(a, true);
}

void ClusterState::release(const Allocation& a) {
  change(a, -1);
  if (watcher_) watcher_(a, false);
}

void ClusterState::Transaction::reserve(const Allocation& a) {
  state_.reserve(a);
  log_.push_back({a, true});
}

void ClusterState::Transaction::release(const Allocation& a) {
  state_.release(a);
  log_.push_back({a, false});
}

void ClusterState::Transaction::rollback() {
  for (auto step = log_.rbegin(); step != log_.rend(); ++step) {
    if (step->reserved) state_.release(step->allocation);
    else state_.reserve(step->allocation);
  }
  log_.clear();
}

}  // namespace fleetsim
