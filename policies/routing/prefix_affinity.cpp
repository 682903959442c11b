// prefix-affinity: KV-cache-aware routing, as Dynamo's KV router and llm-d's prefix-cache
// scorer do it. Each ready replica is scored by the work the request would add there plus the
// work already there, and the lowest cost wins (ties: lowest replica id):
//
//   cost = prefill_weight · (input tokens − tokens of its prefix the replica holds
//                            − offload_weight · tokens after those it could load from KV offload tiers)
//        + outstanding tokens on the replica (prompt left to compute + output left to generate)
//
// A replica holding a long prefix wins unless it is that much busier; with no prefix cached
// anywhere it is least-tokens. prefill_weight (default 1, Dynamo's overlap weight) trades
// cache reuse against load: higher sticks to cached replicas, 0 ignores the cache. A block in an
// offload tier (host memory, the node's disk, a shared store: README "KV offload tiers") saves
// less than one in the GPU — it must be loaded, and may be declined as slower than recomputing —
// so it counts offload_weight (default 0.5, our choice: halfway between a GPU hit and a miss)
// of a GPU-resident one; 0 ignores the tiers. Without tiers offload_hit_tokens is 0 and the
// cost is the one above without that term.
#include <algorithm>

#include "policies/builtin.hpp"

namespace fleetsim {

namespace {
class PrefixAffinity final : public Router {
 public:
  explicit PrefixAffinity(const ParamValues& p)
      : prefill_weight_(p.number("prefill_weight")), offload_weight_(p.number("offload_weight")) {}
  std::size_t route(std::span<const RouteCandidate> candidates, const RouteRequest& request) override {
    auto cost = [&](const RouteCandidate& c) {
      const double hit = std::min<double>(c.prefix_hit_tokens, request.input_tokens);
      const double loadable = std::min<double>(c.offload_hit_tokens, request.input_tokens - hit);
      return prefill_weight_ * (request.input_tokens - hit - offload_weight_ * loadable) + c.outstanding_tokens;
    };
    std::size_t best = 0;
    double best_cost = cost(candidates[0]);
    for (std::size_t i = 1; i < candidates.size(); ++i)
      if (const double c = cost(candidates[i]); c < best_cost) best = i, best_cost = c;
    return best;
  }

 private:
  double prefill_weight_;
  double offload_weight_;
};
}  // namespace

PolicyInfo prefix_affinity_policy() {
  PolicyInfo info;
  info.family = PolicyFamily::Router;
  info.name = "prefix-affinity";
  info.params = {{"prefill_weight", ParamType::Number, "1", 0, 1e6,
                  "weight of the prompt tokens a replica would have to prefill (those not in its prefix cache) "
                  "against the tokens of work already on it"},
                 {"offload_weight", ParamType::Number, "0.5", 0, 1,
                  "what a prompt token the replica could load from a KV offload tier counts, against one "
                  "in its GPU prefix cache (1)"}};
  info.make_router = [](const PolicyContext& context) { return std::make_unique<PrefixAffinity>(context.params); };
  return info;
}

}  // namespace fleetsim
