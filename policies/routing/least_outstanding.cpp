// least-outstanding: the ready replica with the fewest requests queued or running (ties:
// lowest replica id). Knative's activator and most LLM gateways balance this way.
// LoRA: a replica that already holds the request's adapter counts `adapter_affinity` fewer
// requests, so it wins unless it is that much busier (loading an adapter costs a transfer
// and a slot).
// Cost: a request without an adapter takes the engine's index's least loaded (route_ready,
// O(log n) in the ready replicas); one with an adapter compares every ready replica.
#include "policies/builtin.hpp"

namespace fleetsim {

namespace {
class LeastOutstanding final : public Router {
 public:
  explicit LeastOutstanding(const ParamValues& p) : affinity_(static_cast<int>(p.integer("adapter_affinity"))) {}
  std::size_t route(std::span<const RouteCandidate> candidates, const RouteRequest&) override {
    std::size_t best = 0;
    for (std::size_t i = 1; i < candidates.size(); ++i)
      if (load(candidates[i]) < load(candidates[best])) best = i;
    return best;
  }
  // Without an adapter every replica's load is its request count: the engine's index has the
  // least loaded. A request for an adapter compares every replica, as route() does.
  unsigned reads() const override { return kReadsFewestOutstanding; }
  std::size_t route_ready(const ReadyReplicas& ready, const RouteRequest& request) override {
    if (!request.has_adapter() || affinity_ == 0) return ready.fewest_outstanding();
    std::size_t best = 0;
    int best_load = load(ready.candidate(0));
    for (std::size_t i = 1; i < ready.size(); ++i)
      if (const int l = load(ready.candidate(i)); l < best_load) best = i, best_load = l;
    return best;
  }

 private:
  int load(const RouteCandidate& c) const { return c.outstanding - (c.has_adapter ? affinity_ : 0); }
  int affinity_;
};
}  // namespace

PolicyInfo least_outstanding_policy() {
  PolicyInfo info;
  info.family = PolicyFamily::Router;
  info.name = "least-outstanding";
  info.params = {{"adapter_affinity", ParamType::Integer, "4", 0, 1e6,
                  "requests of extra load a replica holding the LoRA adapter may carry and still win"}};
  info.make_router = [](const PolicyContext& context) { return std::make_unique<LeastOutstanding>(context.params); };
  return info;
}

}  // namespace fleetsim
