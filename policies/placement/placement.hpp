// PlacementPolicy: chooses the node and GPUs for a new replica.
//
// Contract
//   input   a PlacementRequest (model, GPUs needed, memory per GPU, allowed pools) and the
//           current ClusterView.
//   output  a PlacementAnswer: a Placement — one node and exactly `request.gpus` distinct GPU
//           indices on it, each with no holder and with `memory_per_gpu` bytes free (for a
//           fractional request, `milli_gpu` > 0: exactly one GPU with that much of it
//           unallocated) —, or no placement: "not now" (std::nullopt: nothing fits the cluster
//           as it is; the caller tries again later) or "never" (PlacementAnswer::never(why):
//           no node of the cluster could host it even empty, up or not; the caller rejects
//           the request — a job is rejected, a pod fails, a replica is reported
//           unschedulable without asking for a node). nothing_fits() answers for the built-ins.
//   state   may keep state between calls (e.g. a cursor), but must not read anything except its
//           arguments.
//   ties    each built-in documents its tie-break; all fall back to the lowest node id and the
//           lowest GPU indices, so results are deterministic.
//   invalid a decision that breaks the contract (GPU taken, memory over-committed, wrong count,
//           node outside the allowed pools) stops the run with an error naming the policy.
#pragma once
#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <span>
#include <vector>

#include "policies/api/cluster_view.hpp"
#include "policies/api/policy.hpp"

namespace fleetsim {

struct PlacementRequest {
  std::uint32_t model = 0;
  int gpus = 1;                          // GPUs per replica (tensor parallel degree)
  double memory_per_gpu = 0;             // bytes the replica claims on each GPU ...
  double memory_fraction = 0;            // ... plus this fraction of each GPU's memory
  double min_gpu_memory = 0;             // GPUs with less memory cannot host it at all
  std::span<const std::uint32_t> pools;  // allowed pools; empty means any
  double weight_bytes = 0;               // what a cold start must load ...
  double image_bytes = 0;                // ... and pull
  // Training / batch workers (and pods): a share of one GPU instead of whole GPUs, CPU and
  // host memory, and the GPU types allowed (indices into the scenario's GPU types; empty: any).
  int milli_gpu = 0;                     // 1..999 with gpus == 0: a fraction of one GPU
  double cpu = 0;                        // cores
  double host_memory = 0;                // bytes
  std::span<const std::uint32_t> gpu_types;
  std::span<const GpuType> catalog;      // to map gpu_types to names; empty when unused
  // The same request again (a job still waiting, asked at every scheduling pass): a policy that
  // learns the workload from its requests should not count it again.
  bool asked_before = false;
};

struct Placement {
  std::uint32_t node = 0;
  std::vector<int> gpus;
};

// What place() answers: a placement, "not now" or "never" (see the contract above). Converts
// from a Placement and from std::nullopt / std::optional<Placement> ("not now").
class PlacementAnswer {
 public:
  PlacementAnswer(std::nullopt_t) {}
  PlacementAnswer(Placement placement) : placement_(std::move(placement)) {}
  PlacementAnswer(std::optional<Placement> placement) : placement_(std::move(placement)) {}
  static PlacementAnswer never(std::string why) {
    PlacementAnswer a(std::nullopt);
    a.never_ = true;
    a.why_ = std::move(why);
    return a;
  }
  bool has_value() const { return placement_.has_value(); }
  explicit operator bool() const { return placement_.has_value(); }
  const Placement& operator*() const { return *placement_; }
  const Placement* operator->() const { return &*placement_; }
  bool never() const { return never_; }
  const std::string& why() const { return why_; }  // for never()

 private:
  std::optional<Placement> placement_;
  bool never_ = false;
  std::string why_;
};

// Whether the request allows `pool` (its pools, empty: any), and GPUs of `type` (its
// gpu_types, by name in its catalog; empty: any).
bool in_allowed_pool(std::uint32_t pool, const PlacementRequest& request);
bool of_allowed_type(const GpuType& type, const PlacementRequest& request);

// A node pool as choose_pool() sees it.
struct PoolView {
  std::uint32_t pool = 0;          // index in the scenario's pools
  const GpuType* gpu_type = nullptr;
  int gpus_per_node = 0;
  int up = 0;                      // nodes up
  int pending = 0;                 // nodes being provisioned
  int max_nodes = 0;               // up + pending never exceed it
};

class PlacementPolicy : public Policy {
 public:
  virtual ~PlacementPolicy() = default;
  // Which pool grows by one node when a replica found no room (serving engine; pools with
  // max_nodes > nodes). `pools` lists every pool of the scenario. Returns a pool that the
  // request allows, with room to grow (up + pending < max_nodes) and whose nodes could host it,
  // or std::nullopt for none; anything else stops the run. Default: the first such pool.
  virtual std::optional<std::uint32_t> choose_pool(const PlacementRequest& request, std::span<const PoolView> pools) {
    for (const PoolView& p : pools)
      if (pool_can_grow_for(p, request)) return p.pool;
    return std::nullopt;
  }
  // Whether `pool` is allowed for the request, has room to grow, and its nodes could host it.
  static bool pool_can_grow_for(const PoolView& pool, const PlacementRequest& request) {
    return in_allowed_pool(pool.pool, request) && pool.up + pool.pending < pool.max_nodes &&
           pool.gpus_per_node >= request.gpus && pool.gpu_type->memory_bytes >= request.min_gpu_memory;
  }
  virtual PlacementAnswer place(const PlacementRequest& request,
                                         const ClusterView& cluster) = 0;
};

// Shared by the engine and the built-ins: the bytes a replica claims on each GPU of `node`,
// whether `node` can host the request, and its lowest free GPUs that can.
inline double memory_claim(const NodeView& node, const PlacementRequest& request) {
  return request.memory_per_gpu + request.memory_fraction * node.gpu_type->memory_bytes;
}
bool node_fits(const NodeView& node, const PlacementRequest& request);
// Whether `node` could host the request if it were up and empty (pools, GPU type, GPU count,
// GPU memory, CPU and host memory capacity).
bool node_could_fit(const NodeView& node, const PlacementRequest& request);
// The answer when nothing fits now: "never" when no node could fit even empty, else "not now".
PlacementAnswer nothing_fits(const PlacementRequest& request, const ClusterView& cluster);
std::vector<int> lowest_free_gpus(const NodeView& node, const PlacementRequest& request);
// Whether GPU `g` of `node` can take (the whole-GPU or fractional) request.
bool gpu_fits(const NodeView& node, const GpuSlot& gpu, const PlacementRequest& request);

// The orders visit_candidates() visits nodes in.
enum class CandidateOrder {
  ById,            // ascending node id: first-fit's, and that of a policy that scores every node with room
  FewestFreeGpus,  // ascending free_gpus, ascending id among equals: best-fit's
  MostFreeGpus,    // descending free_gpus, ascending id among equals: spread's
};

// Whether the engine's index may hold nodes that fit `request` in group `group` (its pool and
// GPU type allowed, its GPUs big enough); see visit_candidates().
inline bool group_may_fit(const FreeGpuIndex::Group& group, const PlacementRequest& request, const ClusterView& cluster) {
  if (group.nodes.empty() || (!request.pools.empty() && !in_allowed_pool(group.pool, request))) return false;
  const GpuType& type = *cluster.nodes[group.first_node].gpu_type;
  if (!request.gpu_types.empty() && !of_allowed_type(type, request)) return false;
  return (request.milli_gpu == 0 && request.gpus == 0) || type.memory_bytes >= request.min_gpu_memory;
}

// Visits, in `order`, every node that node_fits(node, request) accepts, until visit(node) returns
// true; returns whether it stopped so. It may visit nodes that do not fit as well (the visitor
// checks node_fits()), never one twice, so a policy whose decision is "the first fitting node in
// this order" — or any choice over the fitting nodes that a walk of `cluster.nodes` in id order
// would make — makes the same decision through it.
// With the engine's index (cluster.index) it visits only nodes that are up, in a pool and of a
// GPU type the request allows, with GPUs of at least min_gpu_memory and, for whole GPUs, at least
// request.gpus of them free: a policy that stops at its first fit no longer walks the cluster.
// A view without one (built by hand) is walked: once in id order, once per free-GPU count in the
// other orders.
template <class Visit>
bool visit_candidates(const PlacementRequest& request, const ClusterView& cluster, CandidateOrder order, Visit&& visit) {
  const int lo = request.milli_gpu == 0 && request.gpus > 0 ? request.gpus : 0;
  if (!cluster.index) {
    if (order == CandidateOrder::ById) {
      for (const NodeView& node : cluster.nodes)
        if (visit(node)) return true;
      return false;
    }
    int hi = -1;
    for (const NodeView& node : cluster.nodes) hi = std::max(hi, node.free_gpus);
    const bool up = order == CandidateOrder::FewestFreeGpus;
    for (int f = up ? lo : hi; up ? f <= hi : f >= lo; f += up ? 1 : -1)
      for (const NodeView& node : cluster.nodes)
        if (node.free_gpus == f && visit(node)) return true;
    return false;
  }
  const FreeGpuIndex& index = *cluster.index;
  const auto groups = index.groups();
  constexpr std::size_t kInline = 16;
  std::uint32_t inline_ids[kInline];
  std::vector<std::uint32_t> more;
  std::size_t admitted = 0;
  for (std::size_t g = 0; g < groups.size(); ++g) {
    if (!group_may_fit(groups[g], request, cluster)) continue;
    if (admitted == kInline) more.assign(inline_ids, inline_ids + kInline);
    if (admitted >= kInline) more.push_back(static_cast<std::uint32_t>(g));
    else inline_ids[admitted] = static_cast<std::uint32_t>(g);
    ++admitted;
  }
  if (admitted == 0) return false;
  const std::span<const std::uint32_t> ids(admitted > kInline ? more.data() : inline_ids, admitted);
  auto by_id = [&](std::uint32_t n) { return visit(cluster.nodes[n]); };
  const int hi = index.max_free_gpus();
  if (order == CandidateOrder::ById) return index.visit(ids, lo, hi, by_id);
  auto bucket = [&](int f) {
    for (std::uint32_t g : ids)
      if (index.count(g, f) > 0) return index.visit(ids, f, f, by_id);
    return false;  // no admitted group has a node with f free GPUs: skipped at no cost
  };
  if (order == CandidateOrder::FewestFreeGpus) {
    for (int f = lo; f <= hi; ++f)
      if (bucket(f)) return true;
  } else {
    for (int f = hi; f >= lo; --f)
      if (bucket(f)) return true;
  }
  return false;
}

}  // namespace fleetsim
