// oracle: knows each model's next arrival (the engine reads the workload ahead for it) — a
// bound for comparison, not a deployable policy. When a model goes idle it keeps its replica
// only if the next request comes within one cold start (re-starting would cost at least as
// many GPU-seconds as waiting); otherwise it scales to zero at once and starts a replica one
// cold start ahead of the next request — the longest cold start seen so far, and at least
// `lead_time` — so that request finds it ready. Its idle GPU-time is that lead's slack.
#include "policies/autoscaling/demand_window.hpp"
#include "policies/builtin.hpp"

namespace fleetsim {

namespace {
class Oracle final : public Autoscaler {
 public:
  explicit Oracle(const ParamValues& p)
      : lead_(p.duration("lead_time")),
        tick_(p.duration("tick_interval")),
        demand_(p.number("target_concurrency"), p.duration("demand_window")) {}

  ScalingDecision evaluate(const ScalingView& v) override {
    const int needed = demand_.update(v);
    if (v.in_flight + v.buffered > 0) return {needed, v.now + tick_};
    if (v.next_arrival == kNever) return {0, kNever};
    longest_ = std::max(longest_, v.last_cold_start);
    const SimTime lead = std::max(longest_, lead_);
    const SimTime start_at = v.next_arrival - lead;
    if (start_at <= v.now) return {std::max(needed, 1), kNever, kNever, true};
    return {0, kNever, start_at, true};
  }

 private:
  SimTime lead_;
  SimTime longest_ = 0;
  SimTime tick_;
  DemandWindow demand_;
};
}  // namespace

PolicyInfo oracle_policy() {
  PolicyInfo info;
  info.family = PolicyFamily::Autoscaler;
  info.name = "oracle";
  info.needs_future = true;
  info.params = demand_params();
  info.params.push_back({"lead_time", ParamType::Duration, "60s", 0, 3600,
                         "least lead before an expected arrival (covers cold starts not yet seen)"});
  info.params.push_back({"demand_window", ParamType::Duration, "60s", 1, 3600,
                         "how long capacity needed by a burst is kept"});
  info.make_autoscaler = [](const PolicyContext& context) { return std::make_unique<Oracle>(context.params); };
  return info;
}

}  // namespace fleetsim
