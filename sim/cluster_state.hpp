// ClusterState: the one model of a cluster's resources that every driver keeps — the serving
// Simulation, the job scheduler, the pod replays and (later) the real-mode controller. It owns
// the nodes with their GPU slots (whole and fractional), GPU memory, CPU and host memory,
// node caches and allocations, checks placement decisions against one rule set, and produces
// the read-only views policies see.
//
// Resources change only through reserve() and release() of an Allocation (what one replica,
// pod or job worker gang holds), so the accounting rules live here once:
//   GPU slot   holders counts the allocations using it; milli_used their shares (1000: a whole
//              GPU); memory_used their bytes. A whole-GPU allocation is alone on its GPU.
//              When the last holder leaves, the slot is reset to empty (no float drift).
//   node       free_gpus counts slots with no holder; cpu_used and host_memory_used add up the
//              host pieces; replicas counts allocations that say they are replicas or pods.
// Capacities of 0 for CPU or host memory mean "not modelled" (no limit).
//
// check() is the placement contract of policies/placement/placement.hpp, the union of the
// rules the drivers used to check separately; every rule has a test (tests/test_cluster_state).
// Node life (up/down) and cache contents are changed by the drivers through node_for_update();
// resources never are.
#pragma once
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "policies/api/cluster_view.hpp"
#include "policies/placement/placement.hpp"

namespace fleetsim {

// What one placement holds: GPU pieces and, per worker (or replica, or pod), CPU and host
// memory on its node.
struct Allocation {
  struct Gpu {
    std::uint32_t node = 0, gpu = 0;  // gpu: index on the node
    int milli = 1000;                 // 1000: the whole GPU
    double memory = 0;                // bytes of its memory
  };
  struct Host {
    std::uint32_t node = 0;
    double cpu = 0, memory = 0;
  };
  std::vector<Gpu> gpus;
  std::vector<Host> hosts;    // one per worker
  bool counts_as_replica = false;  // each host piece counts in NodeView::replicas
  void clear() {
    gpus.clear();
    hosts.clear();
  }
};

// The answer of check(): ok, or what is wrong in words that follow "placement policy 'X' ".
struct Status {
  bool ok = true;
  std::string message;
  static Status fine() { return {}; }
  static Status wrong(std::string m) { return Status{false, std::move(m)}; }
};

class ClusterState {
 public:
  ClusterState() = default;
  // The GPU types the nodes point into; set before adding nodes (it is not copied per node).
  explicit ClusterState(std::vector<GpuType> catalog);
  ClusterState(const ClusterState& other) { *this = other; }
  ClusterState& operator=(const ClusterState& other);

  // Adds a node (its id becomes its position; gpu_type must point into catalog()).
  std::uint32_t add_node(NodeView node);
  std::uint32_t add_node(std::uint32_t pool, std::uint32_t gpu_type, int gpus, bool up = true);

  std::size_t size() const { return nodes_.size(); }
  const NodeView& node(std::uint32_t n) const { return nodes_[n]; }
  std::span<const NodeView> nodes() const { return nodes_; }
  const std::vector<GpuType>& catalog() const { return catalog_; }
  std::uint32_t type_index(const NodeView& node) const {
    return static_cast<std::uint32_t>(node.gpu_type - catalog_.data());
  }
  // For the drivers: node life, caches, links. Not for GPU, CPU or memory accounting. Marks
  // the node changed when called: make the change before anything reads the state again.
  NodeView& node_for_update(std::uint32_t n) {
    ++version_[n];
    if (!stale_[n]) {  // its place in the index is checked at the next view()
      stale_[n] = 1;
      stale_nodes_.push_back(n);
    }
    return nodes_[n];
  }
  // Grows whenever node n may have changed: a reader that keeps a copy of what it needs
  // refreshes only the nodes whose version moved.
  std::uint64_t version(std::uint32_t n) const { return version_[n]; }

  // The read-only view a policy receives (the link figures are the driver's to fill in), with
  // the index of free GPUs brought up to date with what node_for_update() changed.
  ClusterView view(SimTime now) const {
    if (!stale_nodes_.empty()) refresh_index();
    ClusterView v;
    v.now = now;
    v.nodes = nodes_;
    v.index = &index_;
    return v;
  }
  // The index alone, up to date (for tests).
  const FreeGpuIndex& index() const {
    if (!stale_nodes_.empty()) refresh_index();
    return index_;
  }

  // Whether `placement` keeps the placement contract for `request` (see placement.hpp);
  // `subject` names what is placed in the message ("model 'x'", "pod p-1", "a worker of job 7").
  Status check(const PlacementRequest& request, const Placement& placement, std::string_view subject) const;
  // What a checked placement holds: on each chosen GPU its share (1000 when whole) and its
  // memory claim; CPU and host memory on the node.
  Allocation allocation_for(const PlacementRequest& request, const Placement& placement) const;

  void reserve(const Allocation& allocation);
  void release(const Allocation& allocation);

  // Called after every reserve (true) and release (false) of this state, not of copies: for
  // invariant checkers and, later, real-mode bookkeeping.
  void watch(std::function<void(const Allocation&, bool reserved)> watcher) { watcher_ = std::move(watcher); }

  // Reserves and releases made through a Transaction are undone when it is rolled back (or
  // destroyed without commit()): a scheduler plans on the live state and keeps only what it
  // decides.
  class Transaction {
   public:
    explicit Transaction(ClusterState& state) : state_(state) {}
    ~Transaction() { rollback(); }
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;
    void reserve(const Allocation& a);
    void release(const Allocation& a);
    void commit() { log_.clear(); }
    void rollback();

   private:
    struct Step {
      Allocation allocation;
      bool reserved;
    };
    ClusterState& state_;
    std::vector<Step> log_;
  };

 private:
  void change(const Allocation& allocation, int sign);
  void index_node(std::uint32_t n) const;
  void refresh_index() const;
  void rebuild_index() const;
  std::vector<GpuType> catalog_;
  std::vector<NodeView> nodes_;
  std::vector<std::uint64_t> version_;  // per node
  // The free-GPU index (policies/api/free_gpu_index.hpp). GPU changes (reserve, release) move a
  // node at once; what a driver may change through node_for_update() (up/down, and in principle
  // pool, GPU type or GPU count) is looked at lazily, at the next view(), for the nodes handed out
  // since — which is why these are mutable: a view() is still a read of the state.
  mutable FreeGpuIndex index_;
  mutable std::vector<std::uint8_t> stale_;       // per node: in stale_nodes_
  mutable std::vector<std::uint32_t> stale_nodes_;
  std::function<void(const Allocation&, bool)> watcher_;  // not copied
};

}  // namespace fleetsim
