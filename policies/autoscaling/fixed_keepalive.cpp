// fixed-keepalive: the serverless platforms' rule — keep a model's replicas for a fixed idle
// timeout after its last request ends, then scale to zero. While it has traffic, it runs as
// many replicas as the recent demand needs (DemandWindow over the keep-alive window).
// Presets: `fixed-keepalive` keeps 10 minutes, `fixed-keepalive-20min` 20 minutes — the fixed
// windows "Serverless in the Wild" (Shahrad et al., ATC'20, section 2) reports for public
// clouds' function platforms.
#include "policies/autoscaling/demand_window.hpp"
#include "policies/builtin.hpp"

namespace fleetsim {

namespace {
class FixedKeepalive final : public Autoscaler {
 public:
  explicit FixedKeepalive(const ParamValues& p)
      : keepalive_(p.duration("keepalive")),
        tick_(p.duration("tick_interval")),
        demand_(p.number("target_concurrency"), keepalive_) {}

  ScalingDecision evaluate(const ScalingView& v) override {
    const int needed = demand_.update(v);
    const bool busy = v.in_flight + v.buffered > 0;
    if (busy) return {needed, v.now + tick_};
    // Idle: keep the replicas until the timeout, then none. No polling meanwhile: the engine
    // wakes us at the exact expiry, or at the next request if it comes first.
    const SimTime expiry = v.idle_since + keepalive_;
    if (v.now < expiry) return {std::max(needed, 1), expiry, kNever, true};
    return {0, kNever};
  }

 private:
  SimTime keepalive_;
  SimTime tick_;
  DemandWindow demand_;
};

PolicyInfo keepalive_policy(const char* name, const char* window) {
  PolicyInfo info;
  info.family = PolicyFamily::Autoscaler;
  info.name = name;
  info.params = demand_params();
  info.params.push_back({"keepalive", ParamType::Duration, window, 0, 7 * 86400,
                         "idle time after the last request before scaling to zero"});
  info.make_autoscaler = [](const PolicyContext& context) { return std::make_unique<FixedKeepalive>(context.params); };
  return info;
}
}  // namespace

PolicyInfo fixed_keepalive_policy() { return keepalive_policy("fixed-keepalive", "10min"); }
PolicyInfo fixed_keepalive_20min_policy() { return keepalive_policy("fixed-keepalive-20min", "20min"); }

}  // namespace fleetsim
