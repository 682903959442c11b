// ski-rental-keepalive: an example autoscaler plugin. While a model is busy it asks for
// ceil(average concurrency over `window` / `target_concurrency`) replicas (at least one while
// requests are in flight or waiting). When the model goes idle it keeps its replicas for as long
// as a cold start of that model takes (`break_even` × the last measured cold start, at least
// `min_keep`), then scales to zero. Keeping a replica idle for exactly as long as a cold start
// costs is the classic rent-or-buy rule: whatever the next idle period turns out to be, it never
// spends more than twice what an oracle would (it is 2-competitive), and unlike a fixed
// keep-alive window it adapts to each model's cold-start time: small models go to zero quickly,
// large ones are kept longer.
#include <cmath>
#include <deque>
#include <utility>

#include "policies/api/plugin.hpp"

namespace {

using namespace fleetsim;

class SkiRental final : public Autoscaler {
 public:
  SkiRental(double target, SimTime window, double break_even, SimTime min_keep)
      : target_(target), window_(window), break_even_(break_even), min_keep_(min_keep) {}

  ScalingDecision evaluate(const ScalingView& v) override {
    samples_.push_back({v.now, v.concurrency_integral});
    while (samples_.size() > 2 && samples_[1].first <= v.now - window_) samples_.pop_front();
    const auto& [t0, i0] = samples_.front();
    const double span = to_seconds(v.now - t0);
    const double average = span > 0 ? (v.concurrency_integral - i0) / span : v.in_flight + v.buffered;
    const int busy = v.in_flight + v.buffered;
    ScalingDecision d;
    d.wake_on_arrival = true;
    d.desired = static_cast<int>(std::ceil(average / target_));
    if (busy > 0) d.desired = std::max(d.desired, 1);
    if (busy == 0 && v.idle_since != kNever) {
      const SimTime keep = std::max(min_keep_, static_cast<SimTime>(break_even_ * static_cast<double>(v.last_cold_start)));
      if (v.now - v.idle_since >= keep) {
        d.desired = 0;
        samples_.clear();
        return d;  // nothing to do until the next arrival
      }
      d.desired = std::max(d.desired, std::min(1, v.ready + v.starting));
      d.wakeup = v.idle_since + keep;
    }
    d.next_evaluation = v.now + kSecond * 2;
    return d;
  }

 private:
  double target_;
  SimTime window_;
  double break_even_;
  SimTime min_keep_;
  std::deque<std::pair<SimTime, double>> samples_;  // (time, concurrency integral) at evaluations
};

PolicyInfo ski_rental_keepalive() {
  PolicyInfo info;
  info.family = PolicyFamily::Autoscaler;
  info.name = "ski-rental-keepalive";
  info.description = "replicas for the window's concurrency; idle ones kept as long as a cold start takes, then zero";
  info.params = {
      ParamSpec{"target_concurrency", ParamType::Number, "8", 0.1, 1e6, "requests in flight per replica"},
      ParamSpec{"window", ParamType::Duration, "60s", 1, 86400, "averaging window for the concurrency"},
      ParamSpec{"break_even", ParamType::Number, "1", 0, 1000, "idle time kept, in multiples of the last cold start"},
      ParamSpec{"min_keep", ParamType::Duration, "30s", 0, 86400, "idle time kept at least (also before any cold start)"},
  };
  info.make_autoscaler = [](const PolicyContext& c) {
    return std::make_unique<SkiRental>(c.params.number("target_concurrency"), c.params.duration("window"),
                                       c.params.number("break_even"), c.params.duration("min_keep"));
  };
  return info;
}

}  // namespace

FLEETSIM_PLUGIN(registrar) { registrar.add(ski_rental_keepalive()); }
