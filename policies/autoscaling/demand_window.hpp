// DemandWindow: replicas needed by recent traffic, shared by the keep-alive autoscalers.
// Each evaluation adds the average concurrency since the previous one (exact, from the
// engine's integral); the demand is ceil(max of those averages over the window / target),
// and at least 1 while any request is in flight or buffered. Capacity a burst needed is thus
// kept for `window` after it, then released.
#pragma once
#include <algorithm>
#include <cmath>
#include <deque>
#include <vector>

#include "policies/api/params.hpp"
#include "policies/autoscaling/autoscaler.hpp"

namespace fleetsim {

class DemandWindow {
 public:
  DemandWindow(double target, SimTime window) : target_(target), window_(window) {}

  int update(const ScalingView& v) {
    double average = v.in_flight + v.buffered;
    if (v.now > last_time_)
      average = std::max(average, (v.concurrency_integral - last_integral_) / to_seconds(v.now - last_time_));
    last_time_ = v.now;
    last_integral_ = v.concurrency_integral;
    while (!samples_.empty() && samples_.front().first <= v.now - window_) samples_.pop_front();
    samples_.push_back({v.now, average});
    double peak = 0;
    for (const auto& s : samples_) peak = std::max(peak, s.second);
    int needed = static_cast<int>(std::ceil(peak / target_ - 1e-9));
    if (v.in_flight + v.buffered > 0) needed = std::max(needed, 1);
    return needed;
  }

 private:
  double target_;
  SimTime window_;
  SimTime last_time_ = 0;
  double last_integral_ = 0;
  std::deque<std::pair<SimTime, double>> samples_;
};

// Parameters every keep-alive autoscaler shares.
inline std::vector<ParamSpec> demand_params() {
  return {
      {"target_concurrency", ParamType::Number, "16", 0.001, 1e9,
       "requests in flight per replica while the model has traffic"},
      {"tick_interval", ParamType::Duration, "2s", 0.001, 600,
       "time between evaluations while the model has replicas or requests"},
  };
}

}  // namespace fleetsim
