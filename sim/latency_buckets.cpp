#include "sim/latency_buckets.hpp"

#include <stdexcept>
#include <utility>

namespace fleetsim {

BucketIndex::BucketIndex(std::span<const double> bounds) : bounds_(bounds) {
  if (bounds.empty()) return;  // every value in the one bucket (bucket_of: 0)
  if (bounds.size() >= kHoldsABound || !(bounds.front() > 0) || !std::is_sorted(bounds.begin(), bounds.end()))
    throw std::invalid_argument("BucketIndex: bounds must be positive, sorted and fewer than 255");
  first_cell_ = cell_of(bounds.front());
  below_.resize(cell_of(bounds.back()) - first_cell_ + 1);
  // A cell's values share their exponent and top mantissa bits: every bound outside the cell is
  // below all of them or above all of them; a bound in the cell splits it.
  std::size_t below = 0;  // bounds in cells before this one
  for (std::size_t i = 0; i < below_.size(); ++i) {
    const std::uint64_t cell = first_cell_ + i;
    std::size_t in_cell = 0;
    while (below + in_cell < bounds.size() && cell_of(bounds[below + in_cell]) == cell) ++in_cell;
    below_[i] = in_cell ? kHoldsABound : static_cast<std::uint8_t>(below);
    below += in_cell;
  }
}

const BucketIndex& vllm_ttft_index() {
  static const BucketIndex index(kVllmTtftBounds);
  return index;
}
const BucketIndex& vllm_tpot_index() {
  static const BucketIndex index(kVllmTpotBounds);
  return index;
}
const BucketIndex& vllm_e2e_index() {
  static const BucketIndex index(kVllmE2eBounds);
  return index;
}

void BucketCounts::assign(std::vector<std::uint64_t> counts) {
  if (counts.size() != counts_.size()) throw std::invalid_argument("BucketCounts::assign: one count per bucket");
  counts_ = std::move(counts);
}

BoundTallies::BoundTallies(const BucketIndex& index, const QuantileSketch& like) : bounds_(index.bounds()) {
  if (bounds_.empty()) return;
  for (const double bound : bounds_) window_.push_back(like.bucket_for(bound) - 1);
  // Three buckets around each bound, none shared: consecutive bounds' buckets 3 or more apart.
  for (std::size_t k = 1; k < window_.size(); ++k)
    if (static_cast<std::int64_t>(window_[k]) - window_[k - 1] < 3)
      throw std::invalid_argument("BoundTallies: two bounds within three sketch buckets of each other");
  lowest_ = window_.front();
  near_.assign(static_cast<std::size_t>(window_.back() + 3 - lowest_), kNoBound);
  for (std::size_t k = 0; k < bounds_.size(); ++k)
    for (std::int64_t b = window_[k]; b < window_[k] + 3; ++b)
      near_[static_cast<std::size_t>(b - lowest_)] = static_cast<std::uint8_t>(k);
}

void BoundTallies::fill(const QuantileSketch& sketch, const std::uint64_t* tallies, BucketCounts& out) const {
  // counts[k]: first the values below bound k's three buckets, then the histogram's bucket k.
  std::vector<std::uint64_t> counts(bounds_.size() + 1, 0);
  sketch.count_below(window_, counts);
  std::uint64_t below_previous = 0;  // values at or below the previous bound
  for (std::size_t k = 0; k < bounds_.size(); ++k) {
    const std::uint64_t at_or_below = counts[k] + tallies[k];
    counts[k] = at_or_below - below_previous;
    below_previous = at_or_below;
  }
  counts.back() = sketch.count() - below_previous;
  out.assign(std::move(counts));
}

const BoundTallies& vllm_ttft_tallies() {
  static const BoundTallies tallies(vllm_ttft_index(), QuantileSketch{});
  return tallies;
}
const BoundTallies& vllm_tpot_tallies() {
  static const BoundTallies tallies(vllm_tpot_index(), QuantileSketch{});
  return tallies;
}
const BoundTallies& vllm_e2e_tallies() {
  static const BoundTallies tallies(vllm_e2e_index(), QuantileSketch{});
  return tallies;
}

}  // namespace fleetsim
