// gpu-clustering: the FGD paper's GPU-clustering baseline (Weng et al., ATC'23, section 6;
// reference code: gpu_clustering_score.go): pods of the same GPU request kind are packed together.
// Kinds: a share of one GPU ("share"), or k whole GPUs ("k-gpu"); CPU-only requests have none.
// Nodes with room are ranked in four bands, best first:
//   1. the node holds only pods of the request's kind;
//   2. it holds pods of the request's kind and of others;
//   3. it holds no GPU pods (idle);
//   4. it holds only pods of other kinds;
// within a band, the less free GPU milli the better. CPU-only requests rank every node equal.
// Ties: lowest node id. GPUs: a share goes to the fitting GPU with the least free milli, whole
// GPUs to the lowest free ones.
// State: a policy sees no pods, so the kinds on each node are the ones this policy put there,
// forgotten when the node is seen with no GPU allocated (its pods ended) or its GPU count changes.
// Exact in the saturation replay (pods never leave); an approximation when pods end and others
// start between two calls. Differs from the reference: exact ordering instead of integer scores
// with random ties.
#include <map>

#include "policies/builtin.hpp"
#include "policies/placement/fragmentation.hpp"

namespace fleetsim {

namespace {
class GpuClustering final : public PlacementPolicy {
 public:
  PlacementAnswer place(const PlacementRequest& request, const ClusterView& cluster) override {
    if (kinds_.size() < cluster.nodes.size()) kinds_.resize(cluster.nodes.size());
    for (const NodeView& node : cluster.nodes) {
      auto& k = kinds_[node.id];
      if (!k.kinds.empty() && (free_gpu_milli(node) == 1000 * static_cast<std::int64_t>(node.gpus.size()) ||
                               k.gpus != node.gpus.size()))
        k.kinds.clear();
      k.gpus = node.gpus.size();
    }
    const int kind = request.milli_gpu > 0 ? 0 : request.gpus;  // 0: share; k: k whole GPUs
    const bool wants_gpu = request.milli_gpu > 0 || request.gpus > 0;
    const NodeView* best = nullptr;
    int best_band = 0;
    std::int64_t best_free = 0;
    for (const NodeView& node : cluster.nodes) {
      if (!node_fits(node, request)) continue;
      int band = 0;
      std::int64_t free = 0;
      if (wants_gpu) {
        const auto& kinds = kinds_[node.id].kinds;
        const bool has = kinds.count(kind) > 0;
        band = has ? (kinds.size() == 1 ? 0 : 1) : (kinds.empty() ? 2 : 3);
        free = free_gpu_milli(node);
      }
      if (!best || band < best_band || (band == best_band && free < best_free)) {
        best = &node;
        best_band = band;
        best_free = free;
      }
    }
    if (!best) return nothing_fits(request, cluster);
    if (wants_gpu) ++kinds_[best->id].kinds[kind];
    return Placement{best->id, tightest_gpus(*best, request)};
  }

 private:
  struct NodeKinds {
    std::map<int, std::uint64_t> kinds;  // kind -> pods this policy placed there
    std::size_t gpus = 0;
  };
  std::vector<NodeKinds> kinds_;
};
}  // namespace

PolicyInfo gpu_clustering_policy() {
  PolicyInfo info;
  info.family = PolicyFamily::Placement;
  info.name = "gpu-clustering";
  info.make_placement = [](const PolicyContext&) { return std::make_unique<GpuClustering>(); };
  return info;
}

}  // namespace fleetsim
