#include "real/store/bandwidth_limiter.hpp"

#include <algorithm>

namespace fleetsim {

Pacer::Pacer(double bytes_per_second, double depth_bytes)
    : rate_(bytes_per_second > 0 ? bytes_per_second : 0), depth_(std::max(0.0, depth_bytes)) {}

PaceClock::time_point Pacer::reserve(PaceClock::time_point now, std::size_t bytes) {
  if (rate_ <= 0) return now;
  using Seconds = std::chrono::duration<double>;
  const auto as_duration = [](double s) { return std::chrono::duration_cast<PaceClock::duration>(Seconds(s)); };
  // An empty bucket drains at `rate`: after an idle spell it is empty (tat_ in the past), and
  // the booking starts from now. The bytes may go once the bucket, with them added, holds no
  // more than `depth`: at tat - depth / rate.
  tat_ = std::max(tat_, now) + as_duration(static_cast<double>(bytes) / rate_);
  return std::max(now, tat_ - as_duration(depth_ / rate_));
}

std::size_t pace_chunk_bytes(double bytes_per_second) {
  constexpr double kMin = 4 * 1024, kMax = 1024 * 1024;
  if (!(bytes_per_second > 0)) return static_cast<std::size_t>(kMax);
  return static_cast<std::size_t>(std::clamp(bytes_per_second * 0.010, kMin, kMax));
}

double pace_depth_bytes(double bytes_per_second) {
  return 2.0 * static_cast<double>(pace_chunk_bytes(bytes_per_second));
}

}  // namespace fleetsim
