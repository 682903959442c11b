// first-fit: the lowest-numbered node with room, its lowest free GPUs. The classic baseline:
// cheap, deterministic, and it packs the front of the cluster. It visits the candidates in id
// order (visit_candidates: through the engine's free-GPU index, only nodes that could fit) and
// stops at the first that fits.
#include "policies/builtin.hpp"

namespace fleetsim {

namespace {
class FirstFit final : public PlacementPolicy {
 public:
  PlacementAnswer place(const PlacementRequest& request, const ClusterView& cluster) override {
    const NodeView* chosen = nullptr;
    visit_candidates(request, cluster, CandidateOrder::ById, [&](const NodeView& node) {
      if (!node_fits(node, request)) return false;
      chosen = &node;
      return true;
    });
    if (!chosen) return nothing_fits(request, cluster);
    return Placement{chosen->id, lowest_free_gpus(*chosen, request)};
  }
};
}  // namespace

PolicyInfo first_fit_policy() {
  PolicyInfo info;
  info.family = PolicyFamily::Placement;
  info.name = "first-fit";
  info.make_placement = [](const PolicyContext&) { return std::make_unique<FirstFit>(); };
  return info;
}

}  // namespace fleetsim
