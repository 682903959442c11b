// spread: the node with room that has the most free GPUs (ties: fewest replicas, then lowest
// id), so replicas land on different nodes and share no disk or network link. The candidates
// are visited by free GPUs, most first, then id (visit_candidates), and the search ends with
// the free-GPU count of the first fit.
#include "policies/builtin.hpp"

namespace fleetsim {

namespace {
class Spread final : public PlacementPolicy {
 public:
  PlacementAnswer place(const PlacementRequest& request, const ClusterView& cluster) override {
    const NodeView* best = nullptr;
    visit_candidates(request, cluster, CandidateOrder::MostFreeGpus, [&](const NodeView& node) {
      if (best && node.free_gpus != best->free_gpus) return true;  // past the most free GPUs that fit
      if (node_fits(node, request) && (!best || node.replicas < best->replicas)) best = &node;
      return false;
    });
    if (!best) return nothing_fits(request, cluster);
    return Placement{best->id, lowest_free_gpus(*best, request)};
  }
};
}  // namespace

PolicyInfo spread_policy() {
  PolicyInfo info;
  info.family = PolicyFamily::Placement;
  info.name = "spread";
  info.make_placement = [](const PolicyContext&) { return std::make_unique<Spread>(); };
  return info;
}

}  // namespace fleetsim
