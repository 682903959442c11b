// BucketCounts: how many values fell into each of a fixed set of buckets, counted exactly per
// value (unlike QuantileSketch, whose buckets are relative). A value v lands in the first bucket
// whose upper bound is >= v (Prometheus' `le`), or in the last bucket, above every bound.
//
// The bounds used are vLLM's, so that a run's TTFT, TPOT and end-to-end latency can be exported
// as vLLM's histograms (reports/prometheus.cpp) and vLLM's Grafana dashboards read them: from
// vllm/v1/metrics/loggers.py (vllm-project/vllm, PrometheusStatLogger, commit 005a810bc40f):
// vllm:time_to_first_token_seconds, vllm:time_per_output_token_seconds and
// vllm:e2e_request_latency_seconds (`request_latency_buckets`).
#pragma once
#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <span>
#include <vector>

namespace fleetsim {

inline constexpr std::array<double, 22> kVllmTtftBounds = {
    0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75,
    1.0,   2.5,   5.0,  7.5,  10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0};
inline constexpr std::array<double, 19> kVllmTpotBounds = {
    0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0};
inline constexpr std::array<double, 21> kVllmE2eBounds = {
    0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 120.0, 240.0, 480.0, 960.0,
    1920.0, 7680.0};

// A set of bounds and the bucket a value falls in: the number of bounds below it (what
// std::lower_bound on the sorted bounds gives), found by one table lookup on the value's
// exponent and top 8 mantissa bits — a cell of width 1/256 of its power of two. A cell that
// holds a bound (a few of thousands) and a value outside (0, +inf) are searched instead. A
// binary search's steps mispredict about half the time, and each request counts three values.
class BucketIndex {
 public:
  explicit BucketIndex(std::span<const double> bounds);  // sorted, positive, fewer than 255

  std::span<const double> bounds() const { return bounds_; }
  std::size_t bucket_of(double value) const {
    if (value > 0) {
      const std::uint64_t cell = cell_of(value);
      if (cell < first_cell_) return 0;
      if (cell - first_cell_ >= below_.size()) return bounds_.size();
      if (const std::uint8_t below = below_[cell - first_cell_]; below != kHoldsABound) return below;
    }
    return static_cast<std::size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin());
  }

 private:
  static constexpr std::uint8_t kHoldsABound = 0xFF;
  // A positive value's cell: its exponent and top 8 mantissa bits.
  static std::uint64_t cell_of(double value) { return std::bit_cast<std::uint64_t>(value) >> 44; }
  std::span<const double> bounds_;
  std::uint64_t first_cell_ = 0;     // the cell of the first bound; the table ends at the last's
  std::vector<std::uint8_t> below_;  // per cell: bounds below its values, or kHoldsABound
};

// vLLM's three sets, each built on first use (so that a BucketCounts made during static
// initialization finds it built).
const BucketIndex& vllm_ttft_index();
const BucketIndex& vllm_tpot_index();
const BucketIndex& vllm_e2e_index();

class BucketCounts {
 public:
  explicit BucketCounts(const BucketIndex& index) : index_(&index), counts_(index.bounds().size() + 1, 0) {}

  void add(double value) { ++counts_[index_->bucket_of(value)]; }
  // add() in two halves (as QuantileSketch's): the value's bucket, whose counter starts loading;
  // add_at() counts it.
  std::size_t place(double value) const {
    const std::size_t i = index_->bucket_of(value);
    __builtin_prefetch(&counts_[i], 1);
    return i;
  }
  void add_at(std::size_t bucket) { ++counts_[bucket]; }
  // Both must have the same bounds.
  void merge(const BucketCounts& other) {
    for (std::size_t i = 0; i < counts_.size() && i < other.counts_.size(); ++i) counts_[i] += other.counts_[i];
  }

  std::span<const double> bounds() const { return index_->bounds(); }
  // One count per bucket, not cumulative; the last counts the values above every bound.
  const std::vector<std::uint64_t>& counts() const { return counts_; }

 private:
  const BucketIndex* index_;  // (outlives it: vLLM's, or the caller's)
  std::vector<std::uint64_t> counts_;
};

}  // namespace fleetsim
