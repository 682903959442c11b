#include "sim/units.hpp"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <utility>
#include <fast_float/fast_float.h>

namespace fleetsim {
namespace {

struct Unit {
  std::string_view suffix;
  double factor;
};

// Splits "12.5GiB" into 12.5 and "GiB"; fails unless the number is finite and non-negative.
bool split_number(std::string_view text, double& number, std::string_view& suffix) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  if (text.empty()) return false;
  auto result = fast_float::from_chars(text.data(), text.data() + text.size(), number);
  if (result.ec != std::errc() || !std::isfinite(number) || number < 0) return false;
  suffix = text.substr(static_cast<std::size_t>(result.ptr - text.data()));
  return true;
}

template <std::size_t N>
Parsed<double> parse_with(std::string_view text, const Unit (&units)[N], const char* expected) {
  double number = 0;
  std::string_view suffix;
  if (split_number(text, number, suffix)) {
    for (const auto& u : units)
      if (suffix == u.suffix) return {number * u.factor, {}};
  }
  return {std::nullopt, std::string("expected ") + expected + ", got \"" + std::string(text) + "\""};
}

constexpr Unit kDurationUnits[] = {{"ns", 1e-9}, {"us", 1e-6}, {"ms", 1e-3}, {"s", 1.0},
                                   {"min", 60.0}, {"h", 3600.0}, {"d", 86400.0}};
constexpr Unit kSizeUnits[] = {{"B", 1.0},         {"KB", 1e3},          {"MB", 1e6},
                               {"GB", 1e9},        {"TB", 1e12},         {"KiB", 1024.0},
                               {"MiB", 1048576.0}, {"GiB", 1073741824.0}, {"TiB", 1099511627776.0}};
constexpr Unit kBandwidthUnits[] = {
    {"B/s", 1.0},          {"KB/s", 1e3},          {"MB/s", 1e6},         {"GB/s", 1e9},
    {"TB/s", 1e12},        {"KiB/s", 1024.0},      {"MiB/s", 1048576.0},  {"GiB/s", 1073741824.0},
    {"Mbit/s", 1e6 / 8},   {"Gbit/s", 1e9 / 8},    {"Tbit/s", 1e12 / 8}};
constexpr Unit kRateUnits[] = {{"/s", 1.0}, {"/min", 1.0 / 60}, {"/h", 1.0 / 3600}, {"/d", 1.0 / 86400}};

std::string trim_number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.10g", v);
  return buf;
}

}  // namespace

Parsed<SimTime> parse_duration(std::string_view text) {
  auto seconds = parse_with(text, kDurationUnits, "a duration such as 10s, 500ms, 5min, 1h");
  if (!seconds) return {std::nullopt, seconds.error};
  if (*seconds.value > 9.2e9) return {std::nullopt, "duration too long (over 290 years)"};
  return {from_seconds(*seconds.value), {}};
}

Parsed<double> parse_size(std::string_view text) {
  return parse_with(text, kSizeUnits, "a size such as 80GiB, 16GB, 512MiB");
}

Parsed<double> parse_bandwidth(std::string_view text) {
  return parse_with(text, kBandwidthUnits, "a bandwidth such as 25GB/s, 2GiB/s, 100Gbit/s");
}

Parsed<double> parse_rate(std::string_view text) {
  return parse_with(text, kRateUnits, "a rate such as 2/s, 30/min, 100/h");
}

std::string format_duration(SimTime t) {
  if (t % kHour == 0 && t != 0) return std::to_string(t / kHour) + "h";
  if (t % kMinute == 0 && t != 0) return std::to_string(t / kMinute) + "min";
  if (t % kSecond == 0) return std::to_string(t / kSecond) + "s";
  if (t % kMillisecond == 0) return std::to_string(t / kMillisecond) + "ms";
  if (t % kMicrosecond == 0) return std::to_string(t / kMicrosecond) + "us";
  return std::to_string(t) + "ns";
}

std::string format_size(double bytes) {
  // Exact binary multiples print as such (80GiB), everything else in SI units.
  constexpr std::pair<double, const char*> kBinary[] = {
      {1099511627776.0, "TiB"}, {1073741824.0, "GiB"}, {1048576.0, "MiB"}, {1024.0, "KiB"}};
  for (const auto& [factor, suffix] : kBinary) {
    const double n = bytes / factor;
    if (bytes >= factor && n == static_cast<double>(static_cast<std::int64_t>(n)) &&
        std::fmod(bytes, 1e3) != 0)
      return trim_number(n) + suffix;
  }
  if (bytes >= 1e12) return trim_number(bytes / 1e12) + "TB";
  if (bytes >= 1e9) return trim_number(bytes / 1e9) + "GB";
  if (bytes >= 1e6) return trim_number(bytes / 1e6) + "MB";
  if (bytes >= 1e3) return trim_number(bytes / 1e3) + "KB";
  return trim_number(bytes) + "B";
}

std::string format_bandwidth(double bytes_per_second) { return format_size(bytes_per_second) + "/s"; }

std::string format_rate(double per_second) { return trim_number(per_second) + "/s"; }

}  // namespace fleetsim
