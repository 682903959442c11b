// least-outstanding: the ready replica with the fewest requests queued or running (ties:
// lowest replica id). Knative's activator and most LLM gateways balance this way.
#include "policies/builtin.hpp"

namespace fleetsim {

namespace {
class LeastOutstanding final : public Router {
 public:
  std::size_t route(std::span<const RouteCandidate> candidates, const RouteRequest&) override {
    std::size_t best = 0;
    for (std::size_t i = 1; i < candidates.size(); ++i)
      if (candidates[i].outstanding < candidates[best].outstanding) best = i;
    return best;
  }
};
}  // namespace

PolicyInfo least_outstanding_policy() {
  PolicyInfo info;
  info.family = PolicyFamily::Router;
  info.name = "least-outstanding";
  info.make_router = [](const ParamValues&) { return std::make_unique<LeastOutstanding>(); };
  return info;
}

}  // namespace fleetsim
