// gpu-packing: the FGD paper's GPU-packing baseline (Weng et al., ATC'23, section 6; reference
// code: gpu_packing_score.go). Nodes with room are ranked in three bands, best first:
//   1. the request fits in GPUs already partly allocated (a GPU share whose tightest fitting GPU
//      is in use): the less free milli that GPU has, the better;
//   2. the node is in use (some GPU partly or wholly allocated) but the request needs free GPUs:
//      the fewer wholly free GPUs it takes, the better;
//   3. the node is idle (every GPU free): the fewer GPUs it has, the better.
// CPU-only requests (and nodes without GPUs) rank equal. Ties: lowest node id. GPUs: a share goes
// to the fitting GPU with the least free milli, whole GPUs to the lowest free ones.
// Differs from the reference: its scores are integers (free share rounded to 10%, bands capped)
// and the Kubernetes scheduler picks at random among equal scores; here the ranking is exact and
// ties go to the lowest node id. Every node with room is ranked, in id order, visiting only the
// candidates the engine's free-GPU index gives (visit_candidates).
#include <tuple>

#include "policies/builtin.hpp"
#include "policies/placement/fragmentation.hpp"

namespace fleetsim {

namespace {
class GpuPacking final : public PlacementPolicy {
 public:
  PlacementAnswer place(const PlacementRequest& request, const ClusterView& cluster) override {
    const bool wants_gpu = request.milli_gpu > 0 || request.gpus > 0;
    const NodeView* best = nullptr;
    std::tuple<int, long, long> best_rank{};
    std::vector<int> best_gpus;
    visit_candidates(request, cluster, CandidateOrder::ById, [&](const NodeView& node) {
      if (!node_fits(node, request)) return false;
      std::vector<int> gpus = tightest_gpus(node, request);
      std::tuple<int, long, long> rank{3, 0, 0};  // lower is better
      if (wants_gpu && !node.gpus.empty()) {
        int wholly_free = 0;
        bool in_use = false;
        for (const GpuSlot& s : node.gpus) {
          if (s.milli_used == 0 && s.holders == 0) ++wholly_free;
          else in_use = true;
        }
        int free_taken = 0;
        long shared_free = 0;
        for (int g : gpus) {
          const GpuSlot& s = node.gpus[static_cast<std::size_t>(g)];
          if (s.milli_used == 0 && s.holders == 0) ++free_taken;
          else shared_free += 1000 - static_cast<long>(s.milli_used);
        }
        if (free_taken == 0)
          rank = {0, shared_free, 0};
        else if (in_use)
          rank = {1, free_taken, 0};
        else
          rank = {2, static_cast<long>(node.gpus.size()), 0};
      }
      if (!best || rank < best_rank) {
        best = &node;
        best_rank = rank;
        best_gpus = std::move(gpus);
      }
      return false;
    });
    if (!best) return nothing_fits(request, cluster);
    return Placement{best->id, std::move(best_gpus)};
  }
};
}  // namespace

PolicyInfo gpu_packing_policy() {
  PolicyInfo info;
  info.family = PolicyFamily::Placement;
  info.name = "gpu-packing";
  info.make_placement = [](const PolicyContext&) { return std::make_unique<GpuPacking>(); };
  return info;
}

}  // namespace fleetsim
