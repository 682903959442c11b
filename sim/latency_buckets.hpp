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

#include "sim/quantile_sketch.hpp"

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
  // Every bucket's count at once (BoundTallies::fill): one count per bucket, as counts() gives.
  void assign(std::vector<std::uint64_t> counts);
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

// BoundTallies: a BucketCounts of the values a QuantileSketch counted, taken from the sketch's
// buckets at the end instead of bucketing every value twice (MetricsCollector: vLLM's
// histograms beside the latency sketches, three values a request).
//
// The sketch's buckets grow with the value (QuantileSketch::bucket_of is monotonic, each bucket
// ~1% wide at the default accuracy), so a value in a bucket more than one below a bound's own
// bucket is below the bound, and one more than one above it is above it. Only the values in the
// three buckets around a bound are compared with it, as they are counted (note()), and each
// bound keeps a tally of those at or below it. Then the values at or below bound k are the
// sketch's count below its bucket minus one plus tally k, exactly, and fill() makes the
// histogram from those. The three buckets around one bound must not meet another's (the
// constructor checks: vLLM's bounds are at least 20% apart).
class BoundTallies {
 public:
  // The bounds of `index`, bucketed as `like` (a sketch of the accuracy the counted ones have).
  BoundTallies(const BucketIndex& index, const QuantileSketch& like);
  std::size_t size() const { return bounds_.size(); }  // tallies: one per bound
  // A value the sketch counted in `bucket` (QuantileSketch::bucket_for): the tally of the bound
  // near it, if it is at or below it, goes up. (kZeroBucket is no bound's.)
  void note(int bucket, double value, std::uint64_t* tallies) const {
    const auto i = static_cast<std::uint64_t>(static_cast<std::int64_t>(bucket) - lowest_);
    if (i >= near_.size()) return;
    const std::uint8_t k = near_[i];
    if (k != kNoBound && value <= bounds_[k]) ++tallies[k];
  }
  // The histogram of every value `sketch` counted, each noted with `tallies`.
  void fill(const QuantileSketch& sketch, const std::uint64_t* tallies, BucketCounts& out) const;

 private:
  static constexpr std::uint8_t kNoBound = 0xFF;
  std::span<const double> bounds_;
  std::vector<int> window_;          // per bound: the first of the three sketch buckets around it
  std::int64_t lowest_ = 0;          // near_[0]'s sketch bucket
  std::vector<std::uint8_t> near_;   // per sketch bucket from lowest_: the bound within one bucket, or kNoBound
};

// vLLM's three sets against the default-accuracy QuantileSketch (every MetricsCollector sketch).
const BoundTallies& vllm_ttft_tallies();
const BoundTallies& vllm_tpot_tallies();
const BoundTallies& vllm_e2e_tallies();

}  // namespace fleetsim
