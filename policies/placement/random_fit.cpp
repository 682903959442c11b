// random: the FGD paper's Random-fit baseline (Weng et al., ATC'23, section 6; reference code:
// random_score.go with random GPU selection): a node drawn uniformly among the nodes with room,
// from the policy's own stream, which the registry derives from the run's seed
// (RngStream(seed, "placement/random")): a run is reproducible, and another --seed draws
// differently. GPUs: a share goes to a fitting GPU drawn uniformly from the same stream, whole
// GPUs to the lowest free ones (as in the reference). The nodes with room are listed in id order
// from the candidates the engine's free-GPU index gives (visit_candidates).
#include "policies/builtin.hpp"

namespace fleetsim {

namespace {
class RandomFit final : public PlacementPolicy {
 public:
  explicit RandomFit(RngStream rng) : rng_(rng) {}

  PlacementAnswer place(const PlacementRequest& request, const ClusterView& cluster) override {
    fitting_.clear();
    visit_candidates(request, cluster, CandidateOrder::ById, [&](const NodeView& node) {
      if (node_fits(node, request)) fitting_.push_back(&node);
      return false;
    });
    if (fitting_.empty()) return nothing_fits(request, cluster);
    const NodeView& node = *fitting_[rng_.below(fitting_.size())];
    if (request.milli_gpu <= 0) return Placement{node.id, lowest_free_gpus(node, request)};
    std::vector<int> gpus;
    for (std::size_t g = 0; g < node.gpus.size(); ++g)
      if (gpu_fits(node, node.gpus[g], request)) gpus.push_back(static_cast<int>(g));
    return Placement{node.id, {gpus[rng_.below(gpus.size())]}};
  }

 private:
  RngStream rng_;
  std::vector<const NodeView*> fitting_;
};
}  // namespace

PolicyInfo random_fit_policy() {
  PolicyInfo info;
  info.family = PolicyFamily::Placement;
  info.name = "random";
  info.make_placement = [](const PolicyContext& context) { return std::make_unique<RandomFit>(context.rng); };
  return info;
}

}  // namespace fleetsim
