// The regression gate: passes when nothing changed, fails on a planted change of a simulated
// metric and on a planted slowdown of the engine (the test-only knob), and its baseline
// round-trips through JSON.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "bench/gate/gate.hpp"
#include "tests/support.hpp"

using namespace fleetsim;
using namespace fleetsim::test;

namespace {
GateBaseline measured_baseline() {
  GateBaseline b;
  b.repetitions = 3;
  GateCase c;
  c.name = "bursty-2h";
  c.scenario = "scenarios/bursty.yaml";
  c.set = {"duration=2h"};
  c.labels = {"ci"};
  b.cases.push_back(c);
  GateResult first = run_gate(b, FLEETSIM_SOURCE_DIR, registry(), GateOptions{});
  REQUIRE(first.passed);
  REQUIRE(first.measured.cases[0].events > 4 * 65536);  // enough events for the slowdown knob
  return first.measured;
}
}  // namespace

TEST_CASE("the gate passes when nothing changed and catches planted regressions", "[gate]") {
  const GateBaseline baseline = measured_baseline();
  REQUIRE(baseline.cases[0].metrics.at("overall.requests") > 1000);

  SECTION("no change: metrics identical, nothing but the speed row reported") {
    // Speed is not asserted here: ctest runs tests side by side, and a unit test must not fail
    // on machine load. The timed comparison is `fleetsim bench`, run alone by make test.
    GateResult again = run_gate(baseline, FLEETSIM_SOURCE_DIR, registry(), GateOptions{});
    INFO(gate_table(again));
    REQUIRE(again.errors.empty());
    for (const GateRow& r : again.rows) REQUIRE(r.what == "speed ratio");
  }
  SECTION("a planted metric change fails, naming the metric") {
    GateBaseline planted = baseline;
    planted.cases[0].metrics["overall.ttft_s.p99"] *= 1.01;
    GateResult result = run_gate(planted, FLEETSIM_SOURCE_DIR, registry(), GateOptions{});
    REQUIRE_FALSE(result.passed);
    REQUIRE_THAT(gate_table(result), Catch::Contains("overall.ttft_s.p99") && Catch::Contains("REGRESSION"));
  }
  SECTION("a planted slowdown fails on the speed ratio") {
    GateOptions slow;
    // Busy work every 65,536 events: tens of times slower, far beyond any load on the machine.
    slow.test_slowdown = 400'000'000;
    GateResult result = run_gate(baseline, FLEETSIM_SOURCE_DIR, registry(), slow);
    INFO(gate_table(result));
    REQUIRE_FALSE(result.passed);
    bool slower = false;
    for (const GateRow& r : result.rows) slower = slower || (r.what == "speed ratio" && r.note == "slower");
    REQUIRE(slower);
  }
}

TEST_CASE("the gate's baseline round-trips and bad baselines are errors", "[gate]") {
  GateBaseline b;
  GateCase c;
  c.name = "x";
  c.scenario = "scenarios/default.yaml";
  c.events = 12;
  c.speed_ratio = 0.1234;
  c.metrics["overall.requests"] = 42;
  b.cases.push_back(c);
  const auto path = (std::filesystem::temp_directory_path() / "fleetsim_gate_baseline.json").string();
  std::ofstream(path) << gate_baseline_json(b);
  Diagnostics errors;
  GateBaseline back = load_gate_baseline(path, errors);
  REQUIRE(errors.empty());
  REQUIRE(back.cases.size() == 1);
  REQUIRE(back.cases[0].events == 12);
  REQUIRE(back.cases[0].speed_ratio == 0.123);
  REQUIRE(back.cases[0].metrics.at("overall.requests") == 42);
  std::ofstream(path) << "{\"schema_version\": 2}";
  Diagnostics bad;
  load_gate_baseline(path, bad);
  REQUIRE_THAT(bad.to_string(), Catch::Contains("schema_version: expected 1"));
  Diagnostics missing;
  load_gate_baseline("/nonexistent/baseline.json", missing);
  REQUIRE_THAT(missing.to_string(), Catch::Contains("cannot open the baseline"));
}
