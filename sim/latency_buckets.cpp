#include "sim/latency_buckets.hpp"

#include <stdexcept>

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

}  // namespace fleetsim
