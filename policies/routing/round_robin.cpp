// round-robin: each model's requests go to its ready replicas in turn (a per-model cursor
// taken modulo the current number of replicas), ignoring load.
#include <vector>

#include "policies/builtin.hpp"

namespace fleetsim {

namespace {
class RoundRobin final : public Router {
 public:
  std::size_t route(std::span<const RouteCandidate> candidates, const RouteRequest& request) override {
    if (cursor_.size() <= request.model) cursor_.resize(request.model + 1, 0);
    return static_cast<std::size_t>(cursor_[request.model]++ % candidates.size());
  }

 private:
  std::vector<std::uint64_t> cursor_;
};
}  // namespace

PolicyInfo round_robin_policy() {
  PolicyInfo info;
  info.family = PolicyFamily::Router;
  info.name = "round-robin";
  info.make_router = [](const PolicyContext&) { return std::make_unique<RoundRobin>(); };
  return info;
}

}  // namespace fleetsim
