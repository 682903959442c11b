// hybrid-histogram: the keep-alive policy of "Serverless in the Wild" (Shahrad et al.,
// ATC'20, section 4.2). Per model, a histogram of idle times (time from the end of activity to
// the next request) in 1-minute bins over a 4-hour range. After activity ends:
//   pre-warm window  = head × (1 − margin)           (head: the 5th percentile)
//   keep-alive window = tail × (1 + margin) − pre-warm   (tail: the 99th percentile)
// The replica is released at once, re-loaded when the pre-warm window ends and kept for the
// keep-alive window; with a zero pre-warm window it is simply kept for the keep-alive window.
// Percentiles are bin edges: head is the lower edge of the bin holding the 5th percentile, tail
// the upper edge of the bin holding the 99th (the paper works in whole minutes).
// Fallback to a fixed keep-alive of the histogram's range (the paper's "standard keep-alive
// with the same range", 4 h) when the histogram is not representative — the coefficient of
// variation of its bin counts is below 2 — or when more than half of the idle times fell
// outside its range (the paper forecasts those with ARIMA; we do not).
// Differences: (1) the pre-warm starts early by the model's longest cold start seen, so the
// replica is ready when the window opens (a GPU cold start is tens of seconds, not the
// milliseconds of a function; the longest, because cold starts vary with link contention and
// with the cache tier that serves the weights); (2) fewer than `min_samples` idle times also fall back (the
// paper does not say how it treats new applications).
#include <algorithm>
#include <cmath>
#include <vector>

#include "policies/autoscaling/demand_window.hpp"
#include "policies/builtin.hpp"

namespace fleetsim {

namespace {
class HybridHistogram final : public Autoscaler {
 public:
  explicit HybridHistogram(const ParamValues& p)
      : bin_(p.duration("bin_width")),
        range_(p.duration("histogram_range")),
        head_(p.number("head_percentile") / 100.0),
        tail_(p.number("tail_percentile") / 100.0),
        margin_(p.number("margin")),
        cv_threshold_(p.number("cv_threshold")),
        oob_limit_(p.number("out_of_range_limit")),
        min_samples_(static_cast<std::uint64_t>(p.integer("min_samples"))),
        fallback_(p.duration("fallback_keepalive")),
        tick_(p.duration("tick_interval")),
        demand_(p.number("target_concurrency"), 10 * kMinute),
        bins_(static_cast<std::size_t>((range_ + bin_ - 1) / bin_), 0) {}

  ScalingDecision evaluate(const ScalingView& v) override {
    for (SimTime idle : v.idle_periods) record(idle);
    longest_cold_start_ = std::max(longest_cold_start_, v.last_cold_start);
    const int needed = demand_.update(v);
    if (v.in_flight + v.buffered > 0) return {needed, v.now + tick_};
    const Windows w = windows();
    const SimTime idle_start = v.idle_since;
    const SimTime warm_from = idle_start + w.prewarm;
    const SimTime warm_until = warm_from + w.keepalive;
    if (v.now >= warm_until) return {0, kNever};
    // Start loading early enough to be ready when the pre-warm window ends.
    const SimTime load_at = w.prewarm > 0 ? warm_from - longest_cold_start_ : idle_start;
    if (v.now >= load_at) return {std::max(needed, 1), warm_until, kNever, true};
    return {0, kNever, load_at, true};
  }

  struct Windows {
    SimTime prewarm;
    SimTime keepalive;
  };

  Windows windows() const {
    const bool representative = samples_ >= min_samples_ && bin_cv() >= cv_threshold_ &&
                                static_cast<double>(out_of_range_) <= oob_limit_ * static_cast<double>(samples_);
    if (!representative) return {0, fallback_};
    const SimTime head = static_cast<SimTime>(bin_at(head_)) * bin_;
    const SimTime tail = static_cast<SimTime>(bin_at(tail_) + 1) * bin_;
    const SimTime prewarm = static_cast<SimTime>(static_cast<double>(head) * (1.0 - margin_));
    const SimTime keepalive = static_cast<SimTime>(static_cast<double>(tail) * (1.0 + margin_)) - prewarm;
    return {prewarm, keepalive};
  }

 private:
  void record(SimTime idle) {
    ++samples_;
    if (idle >= range_) {
      ++out_of_range_;
      return;
    }
    ++bins_[static_cast<std::size_t>(idle / bin_)];
    ++in_range_;
  }

  // The bin holding the q-quantile of the in-range idle times.
  std::size_t bin_at(double q) const {
    const double rank = q * static_cast<double>(in_range_);
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < bins_.size(); ++i) {
      seen += bins_[i];
      if (static_cast<double>(seen) >= rank && seen > 0) return i;
    }
    return bins_.size() - 1;
  }

  double bin_cv() const {
    const double n = static_cast<double>(bins_.size());
    const double mean = static_cast<double>(in_range_) / n;
    if (mean == 0) return 0;
    double var = 0;
    for (auto c : bins_) var += (static_cast<double>(c) - mean) * (static_cast<double>(c) - mean);
    return std::sqrt(var / n) / mean;
  }

  SimTime bin_;
  SimTime range_;
  double head_;
  double tail_;
  double margin_;
  double cv_threshold_;
  double oob_limit_;
  std::uint64_t min_samples_;
  SimTime fallback_;
  SimTime tick_;
  DemandWindow demand_;
  std::vector<std::uint64_t> bins_;
  std::uint64_t samples_ = 0;
  std::uint64_t in_range_ = 0;
  std::uint64_t out_of_range_ = 0;
  SimTime longest_cold_start_ = 0;
};
}  // namespace

PolicyInfo hybrid_histogram_policy() {
  PolicyInfo info;
  info.family = PolicyFamily::Autoscaler;
  info.name = "hybrid-histogram";
  info.params = demand_params();
  // Constants of Shahrad et al., ATC'20, section 4.2, unless noted.
  info.params.push_back({"bin_width", ParamType::Duration, "1min", 1, 3600, "histogram bin width"});
  info.params.push_back({"histogram_range", ParamType::Duration, "4h", 60, 7 * 86400, "idle times tracked"});
  info.params.push_back({"head_percentile", ParamType::Number, "5", 0, 100, "pre-warm window from this percentile"});
  info.params.push_back({"tail_percentile", ParamType::Number, "99", 0, 100, "keep-alive window to this percentile"});
  info.params.push_back({"margin", ParamType::Number, "0.1", 0, 1, "safety margin on both windows"});
  info.params.push_back({"cv_threshold", ParamType::Number, "2", 0, 1e6,
                         "histogram is representative when its bin-count CV is at least this"});
  info.params.push_back({"out_of_range_limit", ParamType::Number, "0.5", 0, 1,
                         "fall back when more than this share of idle times exceed the range"});
  info.params.push_back({"min_samples", ParamType::Integer, "5", 0, 1e9,
                         "fall back until this many idle times are recorded (ours, not the paper's)"});
  info.params.push_back({"fallback_keepalive", ParamType::Duration, "4h", 0, 7 * 86400,
                         "fixed keep-alive used when the histogram is not representative"});
  info.make_autoscaler = [](const PolicyContext& context) { return std::make_unique<HybridHistogram>(context.params); };
  return info;
}

}  // namespace fleetsim
