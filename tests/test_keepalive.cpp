// Keep-alive autoscalers against hand-made idle-time sequences and short end-to-end runs.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "tests/support.hpp"

using namespace fleetsim;
using namespace fleetsim::test;

namespace {

ParamValues params_of(const std::string& impl, const std::string& extra = "") {
  Scenario sc = scenario_from(
      "duration: 1h\ncluster: {pools: [{name: a, nodes: 1, gpu: H100-80GB}]}\n"
      "policies: {autoscaler: {impl: " + impl + extra + "}}\n"
      "models: [{name: m, parameters: 1e9, kv_cache_per_token: 1KiB}]\n"
      "workloads: [{model: m, arrivals: {process: poisson, rate: 1/s},"
      " input_tokens: {dist: fixed, value: 1}, output_tokens: {dist: fixed, value: 1}}]\n");
  return sc.models[0].autoscaler.params;
}

std::unique_ptr<Autoscaler> make(const std::string& impl, const std::string& extra = "") {
  return registry().make_autoscaler(PolicyChoice{impl, params_of(impl, extra)});
}

// An idle view: model went idle at `idle_since`, one ready replica, evaluated at `now`.
ScalingView idle_view(SimTime now, SimTime idle_since, std::vector<SimTime>* periods = nullptr) {
  ScalingView v;
  v.now = now;
  v.ready = 1;
  v.idle_since = idle_since;
  if (periods) v.idle_periods = *periods;
  return v;
}

}  // namespace

TEST_CASE("fixed-keepalive keeps a replica exactly the timeout after the last request", "[keepalive]") {
  auto p = make("fixed-keepalive");
  ScalingDecision d = p->evaluate(idle_view(100 * kSecond, 100 * kSecond));
  REQUIRE(d.desired == 1);
  // Idle at 100 s: expiry at 100 s + 10 min, reached exactly (no polling past it).
  d = p->evaluate(idle_view(699 * kSecond, 100 * kSecond));
  REQUIRE(d.desired == 1);
  REQUIRE(d.next_evaluation == 700 * kSecond);
  REQUIRE(p->evaluate(idle_view(700 * kSecond, 100 * kSecond)).desired == 0);
  auto p20 = make("fixed-keepalive-20min");
  REQUIRE(p20->evaluate(idle_view(1299 * kSecond, 100 * kSecond)).desired == 1);
  REQUIRE(p20->evaluate(idle_view(1300 * kSecond, 100 * kSecond)).desired == 0);
}

TEST_CASE("hybrid-histogram windows from a hand-made sequence of idle times", "[keepalive][hybrid]") {
  // 20 idle times: one of 2 min (5%, the head), 18 of 10 min, one of 29 min 30 s (the tail).
  // Bins of 1 min: head bin 2 -> 2 min; the 99th percentile falls in bin 29 -> upper edge 30 min.
  // pre-warm = 2 min · 0.9 = 108 s; keep-alive = 30 min · 1.1 − 108 s = 1872 s.
  // The bin counts are concentrated (CV ≈ 10.6 ≥ 2): representative.
  auto p = make("hybrid-histogram", ", min_samples: 5");
  std::vector<SimTime> periods = {2 * kMinute + 10 * kSecond, 29 * kMinute + 30 * kSecond};
  for (int i = 0; i < 18; ++i) periods.push_back(10 * kMinute + i * kSecond);
  const SimTime t0 = 10 * kHour;
  // The replica's last cold start took 30 s: it is released now and re-started at
  // t0 + 108 s − 30 s, to be ready when the pre-warm window ends.
  ScalingView v = idle_view(t0, t0, &periods);
  v.last_cold_start = 30 * kSecond;
  ScalingDecision d = p->evaluate(v);
  REQUIRE(d.desired == 0);
  REQUIRE(d.wakeup == t0 + 78 * kSecond);
  ScalingView w = idle_view(t0 + 78 * kSecond, t0);
  w.ready = 0;
  w.last_cold_start = 30 * kSecond;
  d = p->evaluate(w);
  REQUIRE(d.desired == 1);
  // Kept until t0 + 108 s + 1872 s = t0 + 1980 s.
  w.now = t0 + 1979 * kSecond;
  REQUIRE(p->evaluate(w).desired == 1);
  w.now = t0 + 1980 * kSecond;
  REQUIRE(p->evaluate(w).desired == 0);
}

TEST_CASE("hybrid-histogram falls back to a fixed window when its histogram is not representative", "[keepalive][hybrid]") {
  SECTION("too few idle times") {
    auto p = make("hybrid-histogram", ", fallback_keepalive: 15min");
    std::vector<SimTime> periods = {5 * kMinute, 5 * kMinute};
    ScalingDecision d = p->evaluate(idle_view(kHour, kHour, &periods));
    REQUIRE(d.desired == 1);
    REQUIRE(p->evaluate(idle_view(kHour + 15 * kMinute - 1, kHour)).desired == 1);
    REQUIRE(p->evaluate(idle_view(kHour + 15 * kMinute, kHour)).desired == 0);
  }
  SECTION("idle times spread evenly over the range: CV below 2") {
    auto p = make("hybrid-histogram", ", fallback_keepalive: 15min");
    std::vector<SimTime> periods;
    for (int i = 0; i < 240; ++i) periods.push_back(i * kMinute + 30 * kSecond);  // one per bin: CV 0
    p->evaluate(idle_view(kHour, kHour, &periods));
    REQUIRE(p->evaluate(idle_view(kHour + 15 * kMinute - 1, kHour)).desired == 1);
    REQUIRE(p->evaluate(idle_view(kHour + 15 * kMinute, kHour)).desired == 0);
  }
  SECTION("most idle times beyond the 4 h range") {
    auto p = make("hybrid-histogram", ", fallback_keepalive: 15min");
    std::vector<SimTime> periods;
    for (int i = 0; i < 10; ++i) periods.push_back(5 * kHour);
    for (int i = 0; i < 5; ++i) periods.push_back(10 * kMinute);
    p->evaluate(idle_view(kHour, kHour, &periods));
    REQUIRE(p->evaluate(idle_view(kHour + 15 * kMinute - 1, kHour)).desired == 1);
    REQUIRE(p->evaluate(idle_view(kHour + 15 * kMinute, kHour)).desired == 0);
  }
}

TEST_CASE("oracle scales to zero and pre-warms one cold start ahead of the next arrival", "[keepalive][oracle]") {
  auto p = make("oracle");
  ScalingView v = idle_view(100 * kSecond, 100 * kSecond);
  v.last_cold_start = 20 * kSecond;
  v.next_arrival = 500 * kSecond;
  ScalingDecision d = p->evaluate(v);
  REQUIRE(d.desired == 0);
  REQUIRE(d.wakeup == 440 * kSecond);  // lead: the default lead_time, 60 s, exceeds the 20 s seen
  v.next_arrival = 150 * kSecond;  // sooner than the lead: keep the replica
  REQUIRE(p->evaluate(v).desired == 1);
}

TEST_CASE("end to end: the oracle has no cold-start waits on sparse traffic, fixed keep-alive has some", "[keepalive][oracle]") {
  auto path = std::filesystem::temp_directory_path() / "fleetsim_test_oracle.csv";
  {
    std::ofstream out(path);
    out << "timestamp,model,input_tokens,output_tokens\n";
    for (int i = 1; i <= 12; ++i) out << i * 1500 << ".0,m,200,20\n";  // every 25 min
  }
  auto run = [&](const std::string& policy) {
    return run_scenario(scenario_from(
        "duration: 6h\ncluster: {pools: [{name: a, nodes: 1, gpu: H100-80GB, disk_cache: 1TB}]}\n"
        "policies: {autoscaler: {impl: " + policy + "}}\n"
        "models: [{name: m, parameters: 8e9, kv_cache_per_token: 128KiB}]\n"
        "workloads: [{trace: " + path.string() + "}]\n"));
  };
  RunOutput oracle = run("oracle");
  RunOutput keep10 = run("fixed-keepalive");
  REQUIRE(oracle.violations.empty());
  REQUIRE(keep10.violations.empty());
  // The replica warm at t = 0 serves nobody before 1500 s: the oracle releases it at once and
  // re-starts it ahead of each arrival; the 10-minute window expires between requests.
  REQUIRE(oracle.metrics.models[0].requests_waited == 0);
  REQUIRE(keep10.metrics.models[0].requests_waited == 12);
  REQUIRE(oracle.metrics.models[0].gpu_seconds_idle < keep10.metrics.models[0].gpu_seconds_idle);
}
