// kpa: Knative's Pod Autoscaler, concurrency mode (knative.dev/serving, pkg/autoscaler/scaling/
// autoscaler.go, `Scale`). Each tick it averages the model's concurrency (requests in flight
// plus those buffered by the activator) over a stable window and a shorter panic window:
//   desired_stable = ceil(avg_stable / target), desired_panic = ceil(avg_panic / target),
//   target = target_concurrency · target_utilization,
// both clamped to [floor(ready / max_scale_down_rate), ceil(max_scale_up_rate · ready)]
// (ready counted as at least 1). It enters panic mode when desired_panic / ready ≥
// panic_threshold and stays there until a whole stable window passes below it; in panic it
// never scales down (it keeps the highest panic count seen). Outside panic it follows
// desired_stable. Scale to zero happens only after the desired count has been 0 for
// scale_to_zero_grace_period (Knative's scaler waits that long before removing the last pod).
// With scale_down_delay > 0 a decision is the highest of those made over the last delay
// (Knative's `scale-down-delay`, a max over a time window of desired pod counts): scale-up is
// immediate, scale-down waits until demand has stayed lower for the whole delay.
//
// Differences from Knative: window averages are exact time averages from the engine's
// concurrency integral rather than averages of 1-second buckets; min/max scale and the initial
// scale are parameters here, annotations there. The initial scale counts as the first decision
// of the scale-down delay's window, so a warm start holds for the delay while in-flight
// requests build up from zero (Knative's reconciler holds it until reached once instead).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <utility>
#include <vector>

#include "policies/builtin.hpp"

namespace fleetsim {

namespace {

// A queue on one contiguous ring (a std::deque's map and blocks were two more lines out of cache
// at each of a fleet's thousand models' ticks). Entries are known by an absolute position that
// only grows (position p is ring_[p & mask]), so a position held outside stays valid while its
// entry is queued.
template <class T>
class Ring {
 public:
  bool empty() const { return begin_ == end_; }
  std::size_t size() const { return static_cast<std::size_t>(end_ - begin_); }
  std::uint64_t begin() const { return begin_; }  // the front's position
  std::uint64_t end() const { return end_; }      // one past the back's
  const T& at(std::uint64_t position) const { return ring_[position & (ring_.size() - 1)]; }
  const T& front() const { return at(begin_); }
  const T& back() const { return at(end_ - 1); }
  void push_back(const T& value) {
    if (size() == ring_.size()) grow();
    ring_[end_++ & (ring_.size() - 1)] = value;
  }
  void pop_front() { ++begin_; }
  void pop_back() { --end_; }

 private:
  void grow() {  // to twice the entries (a power of two), each kept at its position
    std::vector<T> grown(std::max<std::size_t>(16, 2 * ring_.size()));
    for (std::uint64_t p = begin_; p < end_; ++p) grown[p & (grown.size() - 1)] = at(p);
    ring_ = std::move(grown);
  }
  std::vector<T> ring_;  // (its size a power of two, or 0)
  std::uint64_t begin_ = 0, end_ = 0;
};

// Defaults: knative.dev/serving pkg/autoscaler/config/config.go and
// config/core/configmaps/autoscaler.yaml (the `config-autoscaler` ConfigMap).
class Kpa final : public Autoscaler {
 public:
  explicit Kpa(const ParamValues& p)
      : target_(p.number("target_concurrency") * p.number("target_utilization")),
        stable_window_(p.duration("stable_window")),
        panic_window_(static_cast<SimTime>(static_cast<double>(stable_window_) *
                                           p.number("panic_window_percentage") / 100.0)),
        panic_threshold_(p.number("panic_threshold_percentage") / 100.0),
        max_scale_up_rate_(p.number("max_scale_up_rate")),
        max_scale_down_rate_(p.number("max_scale_down_rate")),
        grace_(p.duration("scale_to_zero_grace_period")),
        tick_(p.duration("tick_interval")),
        min_scale_(static_cast<int>(p.integer("min_scale"))),
        max_scale_(static_cast<int>(p.integer("max_scale"))),
        initial_scale_(static_cast<int>(p.integer("initial_scale"))),
        scale_down_delay_(p.duration("scale_down_delay")) {}

  ScalingDecision evaluate(const ScalingView& v) override {
    samples_.push_back({v.now, v.concurrency_integral});
    while (samples_.size() > 2 && samples_.at(samples_.begin() + 1).time <= v.now - stable_window_)
      samples_.pop_front();
    if (first_) {
      first_ = false;
      return {hold_for_delay(v.now, clamp_scale(initial_scale_)), v.now + tick_};
    }
    const double instant = v.in_flight + v.buffered;
    const double stable = window_average(v.now, stable_window_, instant, stable_from_);
    const double panic = window_average(v.now, panic_window_, instant, panic_from_);
    const double ready = std::max(1, v.ready);
    const double max_up = std::ceil(max_scale_up_rate_ * ready);
    const double max_down = max_scale_down_rate_ > 1 ? std::floor(ready / max_scale_down_rate_) : 0;
    const int desired_stable = static_cast<int>(std::clamp(std::ceil(stable / target_), max_down, max_up));
    const int desired_panic = static_cast<int>(std::clamp(std::ceil(panic / target_), max_down, max_up));

    const bool over_threshold = desired_panic / ready >= panic_threshold_;
    if (over_threshold) {
      panic_since_ = v.now;  // enter, or extend
    } else if (panic_since_ != kNever && v.now >= panic_since_ + stable_window_) {
      panic_since_ = kNever;
      max_panic_ = 0;
    }
    int desired = desired_stable;
    // From zero, the activator's buffered requests are demand even before they have lasted
    // long enough to show in an average (Knative's activator pokes the autoscaler the same way).
    if (v.ready + v.starting == 0 && v.buffered > 0) desired = std::max(desired, 1);
    if (panic_since_ != kNever) {
      max_panic_ = std::max(max_panic_, desired_panic);
      desired = max_panic_;
    }
    desired = hold_for_delay(v.now, clamp_scale(desired));

    // The last replica goes only after a grace period of wanting none.
    if (desired == 0 && v.ready + v.starting > 0) {
      if (zero_since_ == kNever) zero_since_ = v.now;
      if (v.now < zero_since_ + grace_) desired = 1;
    } else {
      zero_since_ = kNever;
    }
    return {desired, v.now + tick_};
  }

 private:
  struct Sample {
    SimTime time;
    double integral;
  };

  // Exact average of concurrency over (now - window, now], from the integral samples; the
  // integral between two samples is interpolated linearly. Early in a run the window is
  // shortened to the time observed so far. `cursor`: the window's first sample at or after its
  // start, from the last evaluation on; the start never goes back (time does not, and the front
  // sample only moves on), so the cursor only moves forward, a step or two a tick, where a
  // binary search touched a line at each of its probes.
  double window_average(SimTime now, SimTime window, double instant, std::uint64_t& cursor) const {
    const SimTime from = std::max(now - window, samples_.front().time);
    if (from >= now) return instant;
    double at_from = samples_.front().integral;
    // The first sample after the front at or after `from` (the samples are in time order).
    std::uint64_t first = std::max(cursor, samples_.begin() + 1);
    while (first < samples_.end() && samples_.at(first).time < from) ++first;
    cursor = first;
    if (first != samples_.end()) {
      const Sample& a = samples_.at(first - 1);
      const Sample& b = samples_.at(first);
      const double f = b.time == a.time ? 1.0 : to_seconds(from - a.time) / to_seconds(b.time - a.time);
      at_from = a.integral + std::clamp(f, 0.0, 1.0) * (b.integral - a.integral);
    }
    return (samples_.back().integral - at_from) / to_seconds(now - from);
  }

  // The highest decision over (now - scale_down_delay, now], this one included. The window
  // keeps decisions in falling order (a later, higher one replaces the lower ones before it),
  // so its front is the maximum.
  int hold_for_delay(SimTime now, int desired) {
    if (scale_down_delay_ <= 0) return desired;
    while (!delay_window_.empty() && delay_window_.back().second <= desired) delay_window_.pop_back();
    delay_window_.push_back({now, desired});
    while (delay_window_.front().first <= now - scale_down_delay_) delay_window_.pop_front();
    return delay_window_.front().second;
  }

  int clamp_scale(int n) const {
    n = std::max(n, min_scale_);
    if (max_scale_ > 0) n = std::min(n, max_scale_);
    return n;
  }

  double target_;
  SimTime stable_window_;
  SimTime panic_window_;
  double panic_threshold_;
  double max_scale_up_rate_;
  double max_scale_down_rate_;
  SimTime grace_;
  SimTime tick_;
  int min_scale_;
  int max_scale_;
  int initial_scale_;
  SimTime scale_down_delay_;
  Ring<Sample> samples_;
  std::uint64_t stable_from_ = 0, panic_from_ = 0;  // window_average's cursors into samples_
  Ring<std::pair<SimTime, int>> delay_window_;  // (time, decision), decisions falling
  bool first_ = true;
  SimTime panic_since_ = kNever;
  int max_panic_ = 0;
  SimTime zero_since_ = kNever;
};

}  // namespace

PolicyInfo kpa_policy() {
  PolicyInfo info;
  info.family = PolicyFamily::Autoscaler;
  info.name = "kpa";
  info.params = {
      // container-concurrency-target-default: 100
      {"target_concurrency", ParamType::Number, "100", 0.001, 1e9,
       "requests in flight per replica the autoscaler aims for (before utilization)"},
      // container-concurrency-target-percentage: 70
      {"target_utilization", ParamType::Number, "0.7", 0.01, 1.0,
       "fraction of target_concurrency to aim at, leaving headroom for bursts"},
      // stable-window: 60s
      {"stable_window", ParamType::Duration, "60s", 6, 3600,
       "averaging window for the stable (normal) scaling decision"},
      // panic-window-percentage: 10.0 (of the stable window: 6 s)
      {"panic_window_percentage", ParamType::Number, "10", 1, 100,
       "panic window as a percentage of the stable window"},
      // panic-threshold-percentage: 200.0
      {"panic_threshold_percentage", ParamType::Number, "200", 110, 1000,
       "enter panic when the panic-window demand reaches this percentage of ready capacity"},
      // max-scale-up-rate: 1000.0
      {"max_scale_up_rate", ParamType::Number, "1000", 1.0, 1e9,
       "at most this many times the ready replicas in one decision"},
      // max-scale-down-rate: 2.0
      {"max_scale_down_rate", ParamType::Number, "2", 1.0, 1e9,
       "at least ready / this many replicas after one decision"},
      // scale-to-zero-grace-period: 30s
      {"scale_to_zero_grace_period", ParamType::Duration, "30s", 0, 3600,
       "how long the autoscaler must want zero replicas before the last one goes"},
      // the autoscaler's tick: 2s (pkg/autoscaler/config: tick-interval)
      {"tick_interval", ParamType::Duration, "2s", 0.001, 600, "time between evaluations"},
      // min-scale annotation: 0 (scale to zero allowed, enable-scale-to-zero: true)
      {"min_scale", ParamType::Integer, "0", 0, 1e6, "fewest replicas; 0 allows scale to zero"},
      // max-scale annotation: 0 (unlimited)
      {"max_scale", ParamType::Integer, "0", 0, 1e6, "most replicas; 0 means unlimited"},
      // initial-scale: 1
      {"initial_scale", ParamType::Integer, "1", 0, 1e6, "replicas at t = 0"},
      // scale-down-delay: 0s
      {"scale_down_delay", ParamType::Duration, "0s", 0, 3600,
       "scale down only to the highest count wanted over this long (0: at once)"},
  };
  info.check = [](const ParamValues& p) -> std::string {
    if (p.integer("max_scale") > 0 && p.integer("min_scale") > p.integer("max_scale"))
      return "min_scale must not exceed max_scale";
    return "";
  };
  info.make_autoscaler = [](const PolicyContext& context) { return std::make_unique<Kpa>(context.params); };
  return info;
}

}  // namespace fleetsim
