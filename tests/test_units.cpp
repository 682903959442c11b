// Strict unit parsing: the accepted forms and the rejected ones.
#include <catch2/catch.hpp>

#include "sim/units.hpp"

using namespace fleetsim;

TEST_CASE("durations parse with their unit and only with one", "[units]") {
  REQUIRE(*parse_duration("10s").value == 10 * kSecond);
  REQUIRE(*parse_duration("500ms").value == 500 * kMillisecond);
  REQUIRE(*parse_duration("2.5min").value == 150 * kSecond);
  REQUIRE(*parse_duration("1h").value == kHour);
  REQUIRE(*parse_duration("1d").value == 24 * kHour);
  REQUIRE(*parse_duration("250us").value == 250 * kMicrosecond);
  REQUIRE_FALSE(parse_duration("10"));
  REQUIRE_FALSE(parse_duration("10 sec"));
  REQUIRE_FALSE(parse_duration("-5s"));
  REQUIRE_FALSE(parse_duration("s"));
  REQUIRE_FALSE(parse_duration(""));
  REQUIRE_FALSE(parse_duration("nans"));
  REQUIRE(parse_duration("10").error.find("10s") != std::string::npos);
}

TEST_CASE("sizes, bandwidths and rates parse strictly", "[units]") {
  REQUIRE(*parse_size("80GiB").value == 80.0 * 1073741824.0);
  REQUIRE(*parse_size("16GB").value == 16e9);
  REQUIRE(*parse_size("512MiB").value == 512.0 * 1048576.0);
  REQUIRE_FALSE(parse_size("80Gb"));
  REQUIRE_FALSE(parse_size("80"));
  REQUIRE(*parse_bandwidth("25GB/s").value == 25e9);
  REQUIRE(*parse_bandwidth("100Gbit/s").value == 12.5e9);
  REQUIRE_FALSE(parse_bandwidth("25GB"));
  REQUIRE(*parse_rate("2/s").value == 2.0);
  REQUIRE(*parse_rate("30/min").value == 0.5);
  REQUIRE(*parse_rate("3600/h").value == 1.0);
  REQUIRE_FALSE(parse_rate("2"));
  REQUIRE_FALSE(parse_rate("2/sec"));
}

TEST_CASE("formatting round-trips through parsing", "[units]") {
  for (SimTime t : {kSecond, 90 * kSecond, 5 * kMinute, kHour, 1500 * kMicrosecond, SimTime{7}})
    REQUIRE(*parse_duration(format_duration(t)).value == t);
  for (double b : {80.0 * 1073741824.0, 16e9, 1.5e12, 4096.0})
    REQUIRE(*parse_size(format_size(b)).value == b);
}
