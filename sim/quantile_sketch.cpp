#include "sim/quantile_sketch.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numbers>

namespace fleetsim {

namespace {
constexpr double kSmallest = 1e-12;  // below a picosecond counts as zero
constexpr double kEdge = 1e-6;       // bucket_of's margin
}

QuantileSketch::QuantileSketch(double relative_accuracy)
    : accuracy_(relative_accuracy),
      gamma_((1 + relative_accuracy) / (1 - relative_accuracy)),
      log_gamma_(std::log(gamma_)),
      inverse_log_gamma_(1.0 / log_gamma_) {}

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
int QuantileSketch::bucket_of(double value) const {
  if (value >= kSmallest && value < std::numeric_limits<double>::max()) {  // (a normal number)
    const double x = close_log(value) * inverse_log_gamma_;
    const double up = std::ceil(x);
    if (up - x > kEdge && x - (up - 1) > kEdge) return static_cast<int>(up);
  }
  return static_cast<int>(std::ceil(std::log(value) / log_gamma_));
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

namespace {
constexpr int kZeroBucket = std::numeric_limits<int>::min();  // place() of a value below kSmallest
}

void QuantileSketch::add(double value) { count(value, value < kSmallest ? kZeroBucket : bucket_of(value)); }

int QuantileSketch::place(double value) const {
  if (value < kSmallest) return kZeroBucket;
  const int b = bucket_of(value);
  const auto i = static_cast<std::size_t>(b - offset_);  // (huge when b < offset_)
  if (i < buckets_.size()) __builtin_prefetch(&buckets_[i], 1);
  return b;
}

void QuantileSketch::add(double value, int b) { count(value, b); }

inline void QuantileSketch::count(double value, int b) {
  if (count_ == 0) {
    min_ = max_ = value;
  } else {
    min_ = std::min(min_, value);
    max_ = std::max(max_, value);
  }
  ++count_;
  sum_ += value;
  if (b == kZeroBucket) {
    ++zero_count_;
    return;
  }
  const auto i = static_cast<std::size_t>(b - offset_);  // (huge when b < offset_)
  if (i < buckets_.size())
    ++buckets_[i];
  else
    ++slot(b);
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
