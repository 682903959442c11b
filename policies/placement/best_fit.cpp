// best-fit: bin-packing — the node with room that has the fewest free GPUs left (ties: lowest
// id), so whole nodes stay free for large replicas and idle nodes can be released.
// A share of one GPU (milli_gpu > 0): among the nodes with the fewest free (holder-less) GPUs,
// the one with the least unallocated GPU milli in all (then the lowest id), and on it the fitting
// GPU with the least free milli (then the lowest index). Whole-GPU and CPU-only requests are
// placed as before (lowest id among the fewest free GPUs; the lowest free GPUs).
#include "policies/builtin.hpp"
#include "policies/placement/fragmentation.hpp"

namespace fleetsim {

namespace {
class BestFit final : public PlacementPolicy {
 public:
  PlacementAnswer place(const PlacementRequest& request, const ClusterView& cluster) override {
    const bool share = request.milli_gpu > 0;
    const NodeView* best = nullptr;
    std::int64_t best_milli = 0;
    for (const NodeView& node : cluster.nodes) {
      if (!node_fits(node, request)) continue;
      if (!best || node.free_gpus < best->free_gpus) {
        best = &node;
        if (share) best_milli = free_gpu_milli(node);
      } else if (share && node.free_gpus == best->free_gpus) {
        const std::int64_t milli = free_gpu_milli(node);
        if (milli < best_milli) {
          best = &node;
          best_milli = milli;
        }
      }
    }
    if (!best) return nothing_fits(request, cluster);
    return Placement{best->id, share ? tightest_gpus(*best, request) : lowest_free_gpus(*best, request)};
  }
};
}  // namespace

PolicyInfo best_fit_policy() {
  PolicyInfo info;
  info.family = PolicyFamily::Placement;
  info.name = "best-fit";
  info.make_placement = [](const PolicyContext&) { return std::make_unique<BestFit>(); };
  return info;
}

}  // namespace fleetsim
