// Strict parsing of quantities with units, as written in scenario files:
//   durations   10s, 500ms, 2.5min, 1h, 1d, 250us, 100ns
//   sizes       80GiB, 16GB, 512MiB, 4KiB, 100B   (SI: powers of 1000; IEC: powers of 1024)
//   bandwidths  25GB/s, 2GiB/s, 100Gbit/s, 400Mbit/s
//   rates       2/s, 30/min, 100/h, 1000/d
// The whole string must be consumed; a bare number is rejected, because "10" could mean
// seconds or milliseconds and a silent guess is worse than an error.
#pragma once
#include <optional>
#include <string>
#include <string_view>

#include "sim/time.hpp"

namespace fleetsim {

template <class T>
struct Parsed {
  std::optional<T> value;
  std::string error;  // set when value is empty: what was expected
  explicit operator bool() const { return value.has_value(); }
};

Parsed<SimTime> parse_duration(std::string_view text);
Parsed<double> parse_size(std::string_view text);       // bytes
Parsed<double> parse_bandwidth(std::string_view text);  // bytes per second
Parsed<double> parse_rate(std::string_view text);       // events per second

// Human-readable forms for the echoed scenario and reports.
std::string format_duration(SimTime t);
std::string format_size(double bytes);
std::string format_bandwidth(double bytes_per_second);
std::string format_rate(double per_second);

}  // namespace fleetsim
