// round-robin: each model's requests go to its ready replicas in turn (a per-model cursor
// taken modulo the current number of replicas), ignoring load.
#include <vector>

#include "policies/builtin.hpp"

namespace fleetsim {

namespace {
class RoundRobin final : public Router {
 public:
  std::size_t route(std::span<const RouteCandidate> candidates, const RouteRequest& request) override {
    return next(candidates.size(), request.model);
  }
  // It needs only the count: no candidate is built.
  unsigned reads() const override { return kReadsReady; }
  std::size_t route_ready(const ReadyReplicas& ready, const RouteRequest& request) override {
    return next(ready.size(), request.model);
  }

 private:
  std::size_t next(std::size_t n, std::uint32_t model) {
    if (cursor_.size() <= model) cursor_.resize(model + 1, 0);
    return static_cast<std::size_t>(cursor_[model]++ % n);
  }
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
