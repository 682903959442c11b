// headroom-packer: an example placement plugin. Bin-packing saves nodes, but a node packed full
// has no room when the replicas on it need company in a burst, and the next replica then waits
// for a whole new node. This policy packs like best-fit while keeping `reserve_gpus` GPUs free
// on each node it uses; only when no node can keep that headroom does it pack the tightest node
// as best-fit would. Whole-GPU requests only (a request for a share is placed as best-fit).
//
// Built out of tree against the installed SDK (CMakeLists.txt beside this file), and by the
// project's tests from this same file; loaded with `fleetsim run SCENARIO --plugin
// libheadroom_packer.so` and chosen with `policies: {placement: {impl: headroom-packer}}`.
#include "policies/api/plugin.hpp"

namespace {

using namespace fleetsim;

class HeadroomPacker final : public PlacementPolicy {
 public:
  explicit HeadroomPacker(int reserve) : reserve_(reserve) {}

  PlacementAnswer place(const PlacementRequest& request, const ClusterView& cluster) override {
    const NodeView* keeps = nullptr;  // the tightest node that keeps the headroom after placing
    const NodeView* packs = nullptr;  // the tightest node with room at all
    for (const NodeView& node : cluster.nodes) {
      if (!node_fits(node, request)) continue;
      if (!packs || node.free_gpus < packs->free_gpus) packs = &node;
      const int left = node.free_gpus - request.gpus;
      if (left >= reserve_ && (!keeps || node.free_gpus < keeps->free_gpus)) keeps = &node;
    }
    const NodeView* chosen = keeps ? keeps : packs;
    if (!chosen) return nothing_fits(request, cluster);
    return Placement{chosen->id, lowest_free_gpus(*chosen, request)};
  }

 private:
  int reserve_;
};

PolicyInfo headroom_packer() {
  PolicyInfo info;
  info.family = PolicyFamily::Placement;
  info.name = "headroom-packer";
  info.description = "best-fit that keeps reserve_gpus free on each node it uses, while any node can";
  info.params = {ParamSpec{"reserve_gpus", ParamType::Integer, "1", 0, 64, "GPUs left free on a node for bursts"}};
  info.make_placement = [](const PolicyContext& context) {
    return std::make_unique<HeadroomPacker>(static_cast<int>(context.params.integer("reserve_gpus")));
  };
  return info;
}

}  // namespace

FLEETSIM_PLUGIN(registrar) { registrar.add(headroom_packer()); }
