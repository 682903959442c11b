// A test plugin that behaves: a router that throws when told to (param `throw_after`), and a
// placement that over-commits GPU 0 (a decision the engine must refuse, naming the policy).
#include <stdexcept>

#include "policies/api/plugin.hpp"

namespace {

using namespace fleetsim;

class ThrowingRouter final : public Router {
 public:
  explicit ThrowingRouter(std::int64_t after) : after_(after) {}
  std::size_t route(std::span<const RouteCandidate>, const RouteRequest&) override {
    if (calls_++ >= after_) throw std::runtime_error("the plugin's router gave up");
    return 0;
  }

 private:
  std::int64_t after_;
  std::int64_t calls_ = 0;
};

class OverCommit final : public PlacementPolicy {
 public:
  PlacementAnswer place(const PlacementRequest& r, const ClusterView&) override {
    return Placement{0, std::vector<int>(static_cast<std::size_t>(r.gpus), 0)};
  }
};

}  // namespace

FLEETSIM_PLUGIN(registrar) {
  PolicyInfo router;
  router.family = PolicyFamily::Router;
  router.name = "test-throwing-router";
  router.description = "routes to the first replica, then throws";
  router.params = {ParamSpec{"throw_after", ParamType::Integer, "10", 0, 1e9, "requests routed before it throws"}};
  router.make_router = [](const PolicyContext& c) { return std::make_unique<ThrowingRouter>(c.params.integer("throw_after")); };
  registrar.add(router);
  PolicyInfo placement;
  placement.family = PolicyFamily::Placement;
  placement.name = "test-overcommit";
  placement.description = "puts every replica on GPU 0 of node 0";
  placement.make_placement = [](const PolicyContext&) { return std::make_unique<OverCommit>(); };
  registrar.add(placement);
}
