// least-tokens: the ready replica with the least work left, in tokens — prompt tokens not yet
// computed plus output tokens not yet generated, over its requests queued or running (ties:
// lowest replica id, as least-outstanding). The idea is least-work-remaining task assignment
// (Harchol-Balter, Crovella and Murta, "On Choosing a Task Assignment Policy for a Distributed
// Server System", 1999): a request count treats a 4,000-token request like a 40-token one.
// Where we differ: work is counted in tokens, not seconds (a prompt token costs far less than an
// output token, and a batch shares its steps), and it is the count the engine keeps exact at the
// replica's last batch change (router.hpp), so a decode stretch under way counts as not begun.
// LoRA adapters are ignored (least-outstanding's adapter_affinity has no token equivalent).
#include "policies/builtin.hpp"

namespace fleetsim {

namespace {
class LeastTokens final : public Router {
 public:
  std::size_t route(std::span<const RouteCandidate> candidates, const RouteRequest&) override {
    std::size_t best = 0;
    for (std::size_t i = 1; i < candidates.size(); ++i)
      if (candidates[i].outstanding_tokens < candidates[best].outstanding_tokens) best = i;
    return best;
  }
  // The same choice from the engine's index, without a pass over the replicas.
  unsigned reads() const override { return kReadsFewestTokens; }
  std::size_t route_ready(const ReadyReplicas& ready, const RouteRequest&) override { return ready.fewest_tokens(); }
};
}  // namespace

PolicyInfo least_tokens_policy() {
  PolicyInfo info;
  info.family = PolicyFamily::Router;
  info.name = "least-tokens";
  info.make_router = [](const PolicyContext&) { return std::make_unique<LeastTokens>(); };
  return info;
}

}  // namespace fleetsim
