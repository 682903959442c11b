// best-fit: bin-packing — the node with room that has the fewest free GPUs left (ties: lowest
// id), so whole nodes stay free for large replicas and idle nodes can be released.
// A share of one GPU (milli_gpu > 0): among the nodes with the fewest free (holder-less) GPUs,
// the one with the least unallocated GPU milli in all (then the lowest id), and on it the fitting
// GPU with the least free milli (then the lowest index). Whole-GPU and CPU-only requests are
// placed as before (lowest id among the fewest free GPUs; the lowest free GPUs).
// The candidates are visited by free GPUs, then id (visit_candidates: through the engine's
// free-GPU index, only nodes that could fit), so the first whole-GPU fit is the answer, and a
// share looks no further than the free-GPU count of its first fit.
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
    visit_candidates(request, cluster, CandidateOrder::FewestFreeGpus, [&](const NodeView& node) {
      if (best && node.free_gpus != best->free_gpus) return true;  // past the fewest free GPUs that fit
      if (!node_fits(node, request)) return false;
      if (!best) {
        best = &node;
        if (!share) return true;
        best_milli = free_gpu_milli(node);
      } else if (const std::int64_t milli = free_gpu_milli(node); milli < best_milli) {
        best = &node;
        best_milli = milli;
      }
      return false;
    });
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
