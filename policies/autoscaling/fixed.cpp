// fixed: a static number of replicas, never zero — the always-warm baseline. It asks for no
// periodic evaluation once its replicas are placed; if some could not be placed it retries
// every `retry_interval`.
#include "policies/builtin.hpp"

namespace fleetsim {

namespace {
class Fixed final : public Autoscaler {
 public:
  explicit Fixed(const ParamValues& p)
      : replicas_(static_cast<int>(p.integer("replicas"))), retry_(p.duration("retry_interval")) {}

  ScalingDecision evaluate(const ScalingView& v) override {
    const bool short_of = v.ready + v.starting < replicas_;
    return {replicas_, short_of ? v.now + retry_ : kNever};
  }

 private:
  int replicas_;
  SimTime retry_;
};
}  // namespace

PolicyInfo fixed_policy() {
  PolicyInfo info;
  info.family = PolicyFamily::Autoscaler;
  info.name = "fixed";
  info.params = {
      {"replicas", ParamType::Integer, "1", 1, 1e6, "replicas kept at all times"},
      {"retry_interval", ParamType::Duration, "10s", 0.001, 3600,
       "how often to retry when not every replica could be placed"},
  };
  info.make_autoscaler = [](const PolicyContext& context) { return std::make_unique<Fixed>(context.params); };
  return info;
}

}  // namespace fleetsim
