// dot-product: Tetris-style alignment (Grandl et al., SIGCOMM'14) as the FGD paper's baseline uses
// it (Weng et al., ATC'23, section 6; reference code: dot_product_score.go with the "merge"
// dimension and "max" normalisation of its experiments). Each node with room gets the dot product
// of the request vector and the node's free vector, both over two dimensions — CPU cores and GPU
// milli (all of the node's free GPU milli merged into one number) — and each dimension divided by
// the largest capacity any node in the cluster has in it. The node with the *smallest* product
// wins: the reference scores 1 - product, so it packs a request where little of what it needs
// is left (Tetris itself picks the largest alignment, spreading). Ties: lowest node id. GPUs: a
// share goes to the fitting GPU with the least free milli, whole GPUs to the lowest free ones.
// Differs from the reference: its scores are rounded to integers 0..100 and the Kubernetes
// scheduler picks at random among equal scores; the normalisation uses this cluster's largest
// node instead of fixed 128 cores / 8 GPUs.
#include <algorithm>

#include "policies/builtin.hpp"
#include "policies/placement/fragmentation.hpp"

namespace fleetsim {

namespace {
class DotProduct final : public PlacementPolicy {
 public:
  PlacementAnswer place(const PlacementRequest& request, const ClusterView& cluster) override {
    double max_cpu = 0, max_gpu = 0;
    for (const NodeView& node : cluster.nodes) {
      max_cpu = std::max(max_cpu, node.cpu_capacity);
      max_gpu = std::max(max_gpu, 1000.0 * static_cast<double>(node.gpus.size()));
    }
    const double req_cpu = max_cpu > 0 ? request.cpu / max_cpu : 0;
    const double req_gpu_milli = request.milli_gpu > 0 ? request.milli_gpu : 1000.0 * request.gpus;
    const double req_gpu = max_gpu > 0 ? req_gpu_milli / max_gpu : 0;
    const NodeView* best = nullptr;
    double best_score = 0;
    for (const NodeView& node : cluster.nodes) {
      if (!node_fits(node, request)) continue;
      const double free_cpu = max_cpu > 0 && node.cpu_capacity > 0 ? (node.cpu_capacity - node.cpu_used) / max_cpu : 0;
      const double free_gpu = max_gpu > 0 ? static_cast<double>(free_gpu_milli(node)) / max_gpu : 0;
      const double score = req_cpu * free_cpu + req_gpu * free_gpu;
      if (!best || score < best_score) {
        best = &node;
        best_score = score;
      }
    }
    if (!best) return nothing_fits(request, cluster);
    return Placement{best->id, tightest_gpus(*best, request)};
  }
};
}  // namespace

PolicyInfo dot_product_policy() {
  PolicyInfo info;
  info.family = PolicyFamily::Placement;
  info.name = "dot-product";
  info.make_placement = [](const PolicyContext&) { return std::make_unique<DotProduct>(); };
  return info;
}

}  // namespace fleetsim
