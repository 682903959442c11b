// cache-affinity: place where the replica would be ready soonest, as ServerlessLLM's
// scheduler does (Fu et al., OSDI'24, section 5: estimate each server's loading time from the
// queue on its links and the bandwidth of the tier holding the model, take the fastest).
// For each node with room:
//   pull  = 0 if the node has the image, else image / (its network share)
//   load  = weights / min(tier share, GPUs × host-to-device), the tier being host memory,
//           then disk, then the model store, whichever holds the weights first;
// where a link's share is bandwidth / (transfers on it now + 1) (the new transfer's fair share
// if nothing else changes; for the store also the cluster-wide limit). The node with the
// smallest pull + load wins; ties go to bin-packing (fewest free GPUs), then the lowest id.
// Engine start-up is the same everywhere and left out. Every node with room is scored, in id
// order, visiting only the candidates the engine's free-GPU index gives (visit_candidates).
#include <algorithm>
#include <cmath>

#include "policies/builtin.hpp"

namespace fleetsim {

namespace {
double share(double bandwidth, std::uint32_t transfers) {
  return std::isinf(bandwidth) ? bandwidth : bandwidth / (transfers + 1);
}

class CacheAffinity final : public PlacementPolicy {
 public:
  PlacementAnswer place(const PlacementRequest& request, const ClusterView& cluster) override {
    const NodeView* best = nullptr;
    double best_time = 0;
    visit_candidates(request, cluster, CandidateOrder::ById, [&](const NodeView& node) {
      if (!node_fits(node, request)) return false;
      const double time = estimate(node, request, cluster);
      if (!best || time < best_time || (time == best_time && node.free_gpus < best->free_gpus)) {
        best = &node;
        best_time = time;
      }
      return false;
    });
    if (!best) return nothing_fits(request, cluster);
    return Placement{best->id, lowest_free_gpus(*best, request)};
  }

  static double estimate(const NodeView& node, const PlacementRequest& request, const ClusterView& cluster) {
    const double network = std::min(share(node.network_bandwidth, node.network_transfers),
                                    share(cluster.registry_bandwidth, cluster.registry_transfers));
    const double pull = node.has_image(request.model) ? 0.0 : request.image_bytes / network;
    const double h2d = request.gpus * node.gpu_type->host_to_device_bandwidth;
    double source;
    if (node.has_in_memory(request.model))
      source = h2d;
    else if (node.has_cached(request.model))
      source = share(node.disk_read_bandwidth, node.disk_transfers);
    else
      source = std::min(share(node.network_bandwidth, node.network_transfers),
                        share(cluster.model_store_bandwidth, cluster.model_store_transfers));
    return pull + request.weight_bytes / std::min(source, h2d);
  }
};
}  // namespace

PolicyInfo cache_affinity_policy() {
  PolicyInfo info;
  info.family = PolicyFamily::Placement;
  info.name = "cache-affinity";
  info.make_placement = [](const PolicyContext&) { return std::make_unique<CacheAffinity>(); };
  return info;
}

}  // namespace fleetsim
