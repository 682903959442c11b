// best-fit: bin-packing — the node with room that has the fewest free GPUs left (ties: lowest
// id), so whole nodes stay free for large replicas and idle nodes can be released.
#include "policies/builtin.hpp"

namespace fleetsim {

namespace {
class BestFit final : public PlacementPolicy {
 public:
  std::optional<Placement> place(const PlacementRequest& request, const ClusterView& cluster) override {
    const NodeView* best = nullptr;
    for (const NodeView& node : cluster.nodes)
      if (node_fits(node, request) && (!best || node.free_gpus < best->free_gpus)) best = &node;
    if (!best) return std::nullopt;
    return Placement{best->id, lowest_free_gpus(*best, request)};
  }
};
}  // namespace

PolicyInfo best_fit_policy() {
  PolicyInfo info;
  info.family = PolicyFamily::Placement;
  info.name = "best-fit";
  info.make_placement = [](const ParamValues&) { return std::make_unique<BestFit>(); };
  return info;
}

}  // namespace fleetsim
