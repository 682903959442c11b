// SimTime: time as an integer count of nanoseconds since the start of a run (simulated or, in
// real mode, wall-clock). Integer time gives one total event order with no rounding drift (ns-3
// does the same). Part of the policy API: it includes nothing from sim/.
#pragma once
#include <cstdint>
#include <limits>

namespace fleetsim {

using SimTime = std::int64_t;

inline constexpr SimTime kNanosecond = 1;
inline constexpr SimTime kMicrosecond = 1'000;
inline constexpr SimTime kMillisecond = 1'000'000;
inline constexpr SimTime kSecond = 1'000'000'000;
inline constexpr SimTime kMinute = 60 * kSecond;
inline constexpr SimTime kHour = 60 * kMinute;
inline constexpr SimTime kNever = std::numeric_limits<SimTime>::max();

// Rounds to the nearest nanosecond; durations computed from rates and sizes go through here.
constexpr SimTime from_seconds(double s) {
  double ns = s * 1e9;
  return static_cast<SimTime>(ns >= 0 ? ns + 0.5 : ns - 0.5);
}
constexpr double to_seconds(SimTime t) { return static_cast<double>(t) * 1e-9; }

}  // namespace fleetsim
