#include "sim/quantile_sketch.hpp"

#include <algorithm>
#include <cmath>

namespace fleetsim {

namespace {
constexpr double kSmallest = 1e-12;  // below a picosecond counts as zero
}

QuantileSketch::QuantileSketch(double relative_accuracy)
    : accuracy_(relative_accuracy),
      gamma_((1 + relative_accuracy) / (1 - relative_accuracy)),
      log_gamma_(std::log(gamma_)) {}

int QuantileSketch::bucket_of(double value) const {
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

void QuantileSketch::add(double value) {
  if (count_ == 0) {
    min_ = max_ = value;
  } else {
    min_ = std::min(min_, value);
    max_ = std::max(max_, value);
  }
  ++count_;
  sum_ += value;
  if (value < kSmallest) {
    ++zero_count_;
    return;
  }
  ++slot(bucket_of(value));
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
