#include "cli/numeric_flags.hpp"

#include <fast_float/fast_float.h>

#include <charconv>
#include <cmath>

#include "traces/text.hpp"


namespace fleetsim {

namespace {

// The text as every diagnostic shows a value: quoted, cut, invisible bytes escaped.
std::string shown(const std::string& text) { return quote(text); }

// The shortest text that reads back as `v` ("1e-09", "0.01", "100").
std::string format_number(double v) {
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

}  // namespace

CLI::Validator integer_in(std::int64_t min, std::int64_t max) {
  const std::string range = "an integer from " + std::to_string(min) + " to " + std::to_string(max);
  return CLI::Validator(
      [min, max](std::string& text) -> std::string {
        const char* begin = text.data();
        const char* end = text.data() + text.size();
        if (begin != end && *begin == '+') ++begin;  // from_chars takes '-' but not '+'
        if (begin != text.data() && begin != end && *begin == '-') return "expected an integer, got " + shown(text);
        std::int64_t value = 0;
        auto r = std::from_chars(begin, end, value);
        const bool all_digits = r.ptr == end && begin != end && (*begin != '-' || end - begin > 1);
        if (!all_digits || (r.ec != std::errc() && r.ec != std::errc::result_out_of_range))
          return "expected an integer, got " + shown(text);
        const bool negative = *begin == '-';
        if (r.ec == std::errc::result_out_of_range ? negative : value < min)
          return "must be >= " + std::to_string(min) + " (got " + shown(text) + ")";
        if (r.ec == std::errc::result_out_of_range || value > max)
          return "must be <= " + std::to_string(max) + " (got " + shown(text) + ")";
        text = std::to_string(value);  // what CLI11 converts: plain decimal, never octal or hex
        return "";
      },
      range);
}

CLI::Validator number_in(double min, double max) {
  const std::string range = "a number from " + format_number(min) + " to " + format_number(max);
  return CLI::Validator(
      [min, max](std::string& text) -> std::string {
        const char* begin = text.data();
        const char* end = text.data() + text.size();
        if (begin != end && *begin == '+') ++begin;
        double value = 0;
        auto r = fast_float::from_chars(begin, end, value);
        if (begin == end || r.ec != std::errc() || r.ptr != end || !std::isfinite(value))
          return "expected a number, got " + shown(text);
        if (value < min) return "must be >= " + format_number(min) + " (got " + shown(text) + ")";
        if (value > max) return "must be <= " + format_number(max) + " (got " + shown(text) + ")";
        text = format_number(value);
        return "";
      },
      range);
}

}  // namespace fleetsim
