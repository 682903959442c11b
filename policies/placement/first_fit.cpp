// first-fit: the lowest-numbered node with room, its lowest free GPUs. The classic baseline:
// cheap, deterministic, and it packs the front of the cluster.
#include "policies/builtin.hpp"

namespace fleetsim {

namespace {
class FirstFit final : public PlacementPolicy {
 public:
  PlacementAnswer place(const PlacementRequest& request, const ClusterView& cluster) override {
    for (const NodeView& node : cluster.nodes)
      if (node_fits(node, request)) return Placement{node.id, lowest_free_gpus(node, request)};
    return nothing_fits(request, cluster);
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
