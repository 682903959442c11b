#include "sim/quantile_sketch.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <numbers>
#include <vector>

namespace fleetsim {

namespace {
constexpr double kSmallest = 1e-12;  // below a picosecond counts as zero
constexpr double kEdge = 1e-6;       // bucket_of's margin
}

namespace {
constexpr double kDefaultAccuracy = 0.005;  // (the constructor's default argument)
const QuantileSketch::BucketCell* default_cells();
}  // namespace

QuantileSketch::QuantileSketch(double relative_accuracy)
    : uses_table_(relative_accuracy == kDefaultAccuracy && default_cells() != nullptr),
      accuracy_(relative_accuracy),
      gamma_((1 + relative_accuracy) / (1 - relative_accuracy)),
      log_gamma_(std::log(gamma_)),
      inverse_log_gamma_(1.0 / log_gamma_) {
  static_assert(offsetof(QuantileSketch, max_) + sizeof(double) <= 64, "add()'s and place()'s fields on one line");
}

namespace {
// log(v) for a positive normal v to within 1e-12, without libm: v = 2^e * c * (1 + r) with c
// = 1 + i/256 (i: the top 8 bits of v's mantissa, 0 <= r < 1/256), log(c) from a table and
// log(1 + r) from its series to r^4 (the rest below r^5/5 < 2e-13). The table is computed at
// compile time (log(c) = 2 atanh((c - 1) / (c + 1)), its series to 1e-30), so it is in place
// before any code runs.
struct LogTable {
  std::array<double, 256> log_c{}, inverse_c{};
};
constexpr LogTable make_log_table() {
  LogTable table;
  for (std::size_t i = 0; i < 256; ++i) {
    const double c = 1.0 + static_cast<double>(i) / 256.0;
    const double s = (c - 1) / (c + 1), s2 = s * s;  // s <= 1/3
    double term = s, sum = 0;
    for (int k = 0; k < 32; ++k, term *= s2) sum += term / (2 * k + 1);
    table.log_c[i] = 2 * sum;
    table.inverse_c[i] = 1.0 / c;
  }
  return table;
}
constexpr LogTable kLogTable = make_log_table();

double close_log(double v) {
  const auto bits = std::bit_cast<std::uint64_t>(v);
  const int exponent = static_cast<int>(bits >> 52) - 1023;
  const auto i = static_cast<std::size_t>((bits >> 44) & 0xFF);
  const double below = static_cast<double>(bits & ((std::uint64_t{1} << 44) - 1)) * 0x1.0p-52;  // m - c, exactly
  const double r = below * kLogTable.inverse_c[i];
  const double series = r * (1.0 + r * (-0.5 + r * (1.0 / 3.0 - r * 0.25)));
  return exponent * std::numbers::ln2 + kLogTable.log_c[i] + series;
}
}  // namespace

// ceil(log(value) / log_gamma_), the same as computed with libm's log for every value: the
// close log decides the bucket unless log(value) / log_gamma_ is within 1e-6 of a whole number
// (its error there is under 1e-8 for accuracies down to 0.0001), and then libm's log does (once
// in ~500,000 values).
namespace {
int bucket_by_log(double value, double log_gamma, double inverse_log_gamma) {
  if (value >= kSmallest && value < std::numeric_limits<double>::max()) {  // (a normal number)
    const double x = close_log(value) * inverse_log_gamma;
    const double up = std::ceil(x);
    if (up - x > kEdge && x - (up - 1) > kEdge) return static_cast<int>(up);
  }
  return static_cast<int>(std::ceil(std::log(value) / log_gamma));
}
}  // namespace

int QuantileSketch::bucket_of_by_log(double value) const { return bucket_by_log(value, log_gamma_, inverse_log_gamma_); }

// The table: the values from 2^-39 (just above kSmallest) to 2^40 cut into cells by their
// exponent and the top 7 bits of their mantissa, 128 cells a binade. A cell spans at most 2^-7
// = 0.78% of its values, less than a bucket at the default accuracy (gamma - 1 = 1.005%), so at
// most one bucket edge falls inside it: a value's bucket is its cell's first bucket, or the next
// one past the cell's last value in it. The table is built once a process (10,112 cells, ~10 M
// instructions: a few ms) from bucket_of_by_log itself, each edge found to the last bit, so bucket_of gives
// exactly its buckets — in a dozen instructions and one load instead of a logarithm's chain.
// Values outside the range (or NaN, or negative) take the logarithm.
namespace {
constexpr int kCellBits = 7;
constexpr int kLowestBinade = -39, kBinades = 79;  // [2^-39, 2^40)
constexpr std::uint64_t kFirstCell = std::uint64_t(kLowestBinade + 1023) << kCellBits;
constexpr std::uint64_t kCells = std::uint64_t(kBinades) << kCellBits;

std::vector<QuantileSketch::BucketCell> build_default_cells() {
  // (As the constructor computes them for the default accuracy.)
  const double gamma = (1 + kDefaultAccuracy) / (1 - kDefaultAccuracy), log_gamma = std::log(gamma);
  const double inverse_log_gamma = 1.0 / log_gamma;
  const auto by_log = [&](double value) { return bucket_by_log(value, log_gamma, inverse_log_gamma); };
  std::vector<QuantileSketch::BucketCell> cells(kCells);
  for (std::uint64_t i = 0; i < kCells; ++i) {
    const std::uint64_t first_bits = (kFirstCell + i) << (52 - kCellBits);
    const std::uint64_t last_bits = first_bits + ((std::uint64_t{1} << (52 - kCellBits)) - 1);
    const auto at = [](std::uint64_t bits) { return std::bit_cast<double>(bits); };
    const int first = by_log(at(first_bits)), last = by_log(at(last_bits));
    if (last - first > 1) return {};  // (cannot happen at this accuracy: then no table)
    QuantileSketch::BucketCell& cell = cells[i];
    cell.bucket = first;
    cell.last = std::numeric_limits<double>::infinity();
    if (last == first) continue;
    // The cell's last value in `first`: bisection on the bit patterns (ordered as the values),
    // started at the edge gamma^first that libm's exp puts within a few units of it.
    std::uint64_t in = first_bits, out = last_bits;  // bucket_of_by_log(in) == first, (out) == last
    const double guess = std::exp(first * log_gamma);
    const std::uint64_t g = std::bit_cast<std::uint64_t>(guess);
    for (std::uint64_t width = 4; width <= (std::uint64_t{1} << 50); width *= 16) {  // a bracket around g
      const std::uint64_t lo = std::clamp(g > width ? g - width : 0, in, out);
      const std::uint64_t hi = std::clamp(g + width, in, out);
      const bool lo_in = by_log(at(lo)) == first, hi_out = by_log(at(hi)) == last;
      if (lo_in && hi_out) {
        in = lo, out = hi;
        break;
      }
    }
    while (out - in > 1) {
      const std::uint64_t mid = in + (out - in) / 2;
      (by_log(at(mid)) == first ? in : out) = mid;
    }
    cell.last = at(in);
  }
  return cells;
}

const QuantileSketch::BucketCell* default_cells() {
  static const std::vector<QuantileSketch::BucketCell> cells = build_default_cells();  // (thread-safe)
  return cells.empty() ? nullptr : cells.data();
}
}  // namespace

int QuantileSketch::bucket_of(double value) const {
  if (uses_table_) {
    static const BucketCell* const cells = default_cells();  // (a guard test inline, not a call)
    const std::uint64_t cell = (std::bit_cast<std::uint64_t>(value) >> (52 - kCellBits)) - kFirstCell;
    if (cell < kCells) return cells[cell].bucket + (value > cells[cell].last);
  }
  return bucket_of_by_log(value);
}

double QuantileSketch::value_of(int bucket) const {
  // Bucket i holds (gamma^(i-1), gamma^i]; this representative is within accuracy_ of both ends.
  return 2.0 * std::pow(gamma_, bucket) / (gamma_ + 1.0);
}

std::uint64_t& QuantileSketch::slot(int b) {
  if (buckets_.empty()) {
    offset_ = b;
    buckets_.assign(1, 0);
  } else if (b < offset_) {
    buckets_.insert(buckets_.begin(), static_cast<std::size_t>(offset_ - b), 0);
    offset_ = b;
  } else if (b >= offset_ + static_cast<int>(buckets_.size())) {
    buckets_.resize(static_cast<std::size_t>(b - offset_ + 1), 0);
  }
  return buckets_[static_cast<std::size_t>(b - offset_)];
}

static_assert(QuantileSketch::kZeroBucket == std::numeric_limits<int>::min());

int QuantileSketch::bucket_for(double value) const { return value < kSmallest ? kZeroBucket : bucket_of(value); }

void QuantileSketch::add(double value) { count(value, bucket_for(value)); }

void QuantileSketch::count_below(std::span<const int> buckets, std::span<std::uint64_t> below) const {
  std::uint64_t seen = zero_count_;  // in buckets_ before i
  std::size_t i = 0;
  for (std::size_t k = 0; k < buckets.size() && k < below.size(); ++k) {
    for (; i < buckets_.size() && offset_ + static_cast<std::int64_t>(i) < buckets[k]; ++i) seen += buckets_[i];
    below[k] = seen;
  }
}

int QuantileSketch::place(double value) const {
  if (value < kSmallest) return kZeroBucket;
  const int b = bucket_of(value);
  const auto i = static_cast<std::size_t>(b - offset_);  // (huge when b < offset_)
  if (i < buckets_.size()) __builtin_prefetch(&buckets_[i], 1);
  return b;
}

void QuantileSketch::merge(const QuantileSketch& other) {
  if (other.count_ == 0) return;
  if (count_ == 0) {
    *this = other;
    return;
  }
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
  count_ += other.count_;
  sum_ += other.sum_;
  zero_count_ += other.zero_count_;
  for (std::size_t i = 0; i < other.buckets_.size(); ++i) {
    if (other.buckets_[i] == 0) continue;
    int b = other.offset_ + static_cast<int>(i);
    slot(b) += other.buckets_[i];
  }
}

double QuantileSketch::quantile(double q) const {
  if (count_ == 0) return 0.0;
  q = std::clamp(q, 0.0, 1.0);
  if (q == 1.0) return max_;
  auto rank = static_cast<std::uint64_t>(q * static_cast<double>(count_ - 1));
  if (rank == 0) return min_;
  if (rank < zero_count_) return 0.0;
  std::uint64_t seen = zero_count_;
  for (std::size_t i = 0; i < buckets_.size(); ++i) {
    seen += buckets_[i];
    if (seen > rank) return std::clamp(value_of(offset_ + static_cast<int>(i)), min_, max_);
  }
  return max_;
}

}  // namespace fleetsim
