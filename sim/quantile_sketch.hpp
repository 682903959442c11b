// QuantileSketch: percentiles of a stream of non-negative values in bounded memory.
// The estimator is DDSketch's (Masson, Rim & Lee, VLDB 2019): logarithmic buckets with ratio
// gamma = (1+a)/(1-a); the q-quantile is the item of rank floor(q * (n - 1)) in sorted order,
// reported as its bucket's representative value. Guarantee: the reported value is within a
// relative error `a` of that exact order statistic (default a = 0.5%); min and max are exact.
// Values are kept in base units (seconds for latencies). Merging two sketches is exact.
#pragma once
#include <cstdint>
#include <span>
#include <vector>

namespace fleetsim {

// The fields each add() and place() read come first, on one cache line (the object is aligned
// to one): at a fleet's thousand models, each completed request counts in three sketches whose
// lines are out of cache, and at 112 bytes unaligned each was two.
class alignas(64) QuantileSketch {
 public:
  explicit QuantileSketch(double relative_accuracy = 0.005);

  void add(double value);  // value >= 0
  // add() in two halves, for a caller that hides the cost of a counter out of cache
  // (MetricsCollector): place() finds the value's bucket and starts loading its counter;
  // add(value, place(value)), called later, counts it exactly as add(value) does.
  int place(double value) const;
  void add(double value, int place) { count(value, place); }  // (inline: three a completed request)
  // The bucket add() counts a value in, as place() gives it but without starting a load:
  // kZeroBucket below 1e-12 (a picosecond), else bucket_of(value).
  static constexpr int kZeroBucket = -2147483647 - 1;
  int bucket_for(double value) const;
  // For each of `buckets` (ascending), the values counted in buckets below it, those too small
  // to bucket included: one pass over the sketch.
  void count_below(std::span<const int> buckets, std::span<std::uint64_t> below) const;
  void merge(const QuantileSketch& other);

  std::uint64_t count() const { return count_; }
  double min() const { return count_ ? min_ : 0.0; }
  double max() const { return count_ ? max_ : 0.0; }
  double mean() const { return count_ ? sum_ / static_cast<double>(count_) : 0.0; }
  double sum() const { return sum_; }
  double quantile(double q) const;  // q in [0, 1]; 0 when empty
  double relative_accuracy() const { return accuracy_; }
  // The bucket a value >= 1e-12 counts in: ceil(log(value) / log(gamma)), as libm's log gives it.
  // At the default accuracy (every engine sketch) from a table of the buckets' edges, else
  // through bucket_of_by_log; both give the same bucket for every value.
  int bucket_of(double value) const;
  int bucket_of_by_log(double value) const;

  struct BucketCell {  // (quantile_sketch.cpp, bucket_of)
    double last;       // the cell's last value in `bucket`; later ones are in bucket + 1
    std::int32_t bucket;
  };

 private:
  double value_of(int bucket) const;
  void count(double value, int bucket) {  // both add()s
    if (count_ == 0) {
      min_ = max_ = value;
    } else {
      min_ = value < min_ ? value : min_;
      max_ = max_ < value ? value : max_;
    }
    ++count_;
    sum_ += value;
    if (bucket == kZeroBucket) {
      ++zero_count_;
      return;
    }
    const auto i = static_cast<std::size_t>(bucket - offset_);  // (huge when bucket < offset_)
    if (i < buckets_.size())
      ++buckets_[i];
    else
      ++slot(bucket);
  }
  std::uint64_t& slot(int bucket);  // grows the bucket range to include `bucket`

  // The hot line.
  std::vector<std::uint64_t> buckets_;  // buckets_[i] counts bucket offset_ + i
  int offset_ = 0;
  bool uses_table_ = false;  // bucket_of reads the default accuracy's table (quantile_sketch.cpp)
  std::uint64_t count_ = 0;
  double sum_ = 0;
  double min_ = 0;
  double max_ = 0;
  // The rest.
  std::uint64_t zero_count_ = 0;  // values too small to bucket (< 1e-12)
  double accuracy_;
  double gamma_;
  double log_gamma_;
  double inverse_log_gamma_;
};

}  // namespace fleetsim
