// Every shipped scenario validates and runs with every invariant holding; runs are
// deterministic (same seed: byte-identical result.json) and the seed matters.
#include <catch2/catch.hpp>

#include <filesystem>

#include "bench/gate/gate.hpp"
#include "reports/result_json.hpp"
#include "tests/support.hpp"

using namespace fleetsim;
using namespace fleetsim::test;

namespace {

std::vector<std::string> shipped_scenarios() {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(std::string(FLEETSIM_SOURCE_DIR) + "/scenarios"))
    if (e.path().extension() == ".yaml") out.push_back(e.path().string());
  std::sort(out.begin(), out.end());
  return out;
}

// The first file a shipped scenario's gate case `requires` that is absent ("" when none): a
// scenario on a public trace in ../shared is skipped where ../shared is not (bench/gate).
std::string missing_for(const std::string& path) {
  Diagnostics errors;
  static const GateBaseline baseline =
      load_gate_baseline(std::string(FLEETSIM_SOURCE_DIR) + "/bench/baseline.json", errors);
  for (const GateCase& c : baseline.cases)
    if (std::string(FLEETSIM_SOURCE_DIR) + "/" + c.scenario == path)
      if (std::string missing = missing_requirement(c, FLEETSIM_SOURCE_DIR); !missing.empty()) return missing;
  return "";
}

std::string result_of(const std::string& path, const LoadOptions& options) {
  LoadResult loaded = load_scenario_file(path, registry(), options);
  REQUIRE(loaded.scenario);
  Simulation sim(build_setup(*loaded.scenario, registry()));
  MetricsCollector metrics(sim.scenario());
  sim.add_observer(&metrics);
  RunStatus status = sim.run();
  REQUIRE(status.ok);
  return result_json(*loaded.scenario, registry(), metrics.result(), status, "test");
}

}  // namespace

TEST_CASE("the scenario library has the default and at least three more", "[scenarios]") {
  auto all = shipped_scenarios();
  REQUIRE(all.size() >= 4);
  REQUIRE(std::find(all.begin(), all.end(), std::string(FLEETSIM_SOURCE_DIR) + "/scenarios/default.yaml") != all.end());
}

TEST_CASE("every shipped scenario validates and runs with every invariant holding", "[scenarios][invariants]") {
  for (const auto& path : shipped_scenarios()) {
    DYNAMIC_SECTION(std::filesystem::path(path).filename().string()) {
      if (const std::string missing = missing_for(path); !missing.empty()) {
        WARN(path << " skipped: " << missing << " not present");
        continue;
      }
      LoadResult loaded = load_scenario_file(path, registry());
      INFO(loaded.errors.to_string());
      REQUIRE(loaded.scenario);
      REQUIRE(check_traces(*loaded.scenario).empty());
      RunOutput out = run_scenario(*loaded.scenario);
      INFO(out.status.errors.to_string());
      REQUIRE(out.status.ok);
      for (const auto& v : out.violations) FAIL(v);
      REQUIRE(out.status.requests > 0);
      REQUIRE(out.metrics.overall.requests == out.status.requests);
      REQUIRE(out.metrics.overall.completed() > 0);
    }
  }
}

TEST_CASE("same scenario and seed give byte-identical results, another seed differs", "[scenarios][determinism]") {
  const std::string path = std::string(FLEETSIM_SOURCE_DIR) + "/scenarios/default.yaml";
  LoadOptions options;
  options.overrides = {"duration=2h"};
  const std::string a = result_of(path, options);
  const std::string b = result_of(path, options);
  REQUIRE(a == b);
  options.seed = 43;
  const std::string c = result_of(path, options);
  REQUIRE(a != c);
  REQUIRE_THAT(a, Catch::Contains("\"schema_version\": 1"));
}

TEST_CASE("two simulations run in one process without sharing state", "[scenarios][determinism]") {
  const std::string path = std::string(FLEETSIM_SOURCE_DIR) + "/scenarios/bursty.yaml";
  LoadOptions options;
  options.overrides = {"duration=30min"};
  LoadResult loaded = load_scenario_file(path, registry(), options);
  REQUIRE(loaded.scenario);
  Simulation first(build_setup(*loaded.scenario, registry()));
  Simulation second(build_setup(*loaded.scenario, registry()));
  MetricsCollector m1(first.scenario()), m2(second.scenario());
  first.add_observer(&m1);
  second.add_observer(&m2);
  RunStatus s1 = first.run();
  RunStatus s2 = second.run();
  REQUIRE(s1.events == s2.events);
  REQUIRE(result_json(*loaded.scenario, registry(), m1.result(), s1, "t") ==
          result_json(*loaded.scenario, registry(), m2.result(), s2, "t"));
}

TEST_CASE("events grow with requests, not with tokens", "[scenarios][engine]") {
  // Ten times the output tokens per request (3.6 million more tokens): the event count stays a
  // small multiple of the request count. Longer requests overlap more, so batches change a bit
  // more often, but nothing is scheduled per token.
  auto events = [](const std::string& tokens) {
    Scenario sc = scenario_from(
        "duration: 30min\ncluster: {pools: [{name: a, nodes: 1, gpu: H100-80GB}]}\n"
        "policies: {autoscaler: {impl: fixed, replicas: 4}}\n"
        "models: [{name: m, parameters: 8e9, kv_cache_per_token: 128KiB}]\n"
        "workloads: [{model: m, arrivals: {process: poisson, rate: 2/s},"
        " input_tokens: {dist: fixed, value: 200}, output_tokens: {dist: fixed, value: " + tokens + "}}]\n");
    RunOutput out = run_scenario(sc);
    REQUIRE(out.violations.empty());
    return std::make_pair(out.status.events, out.status.requests);
  };
  auto [short_events, short_requests] = events("100");
  auto [long_events, long_requests] = events("1000");
  REQUIRE(short_requests == long_requests);
  REQUIRE(long_events < short_events * 3 / 2);
  REQUIRE(long_events < 5 * long_requests);
  REQUIRE(long_events < long_requests * 1000 / 10);  // per-token events would be >= 1000 per request
}

TEST_CASE("every shipped scenario matches its golden summary (bench/baseline.json)", "[scenarios][golden]") {
  // The baseline holds each scenario's headline metrics, exactly. A change in any of them is a
  // change in what the simulator computes: review it, then `fleetsim bench --update` (also
  // for `--label full`) and commit the baseline's diff with the change.
  Diagnostics errors;
  GateBaseline baseline = load_gate_baseline(std::string(FLEETSIM_SOURCE_DIR) + "/bench/baseline.json", errors);
  REQUIRE(errors.empty());
  std::vector<std::string> covered;
  for (const GateCase& c : baseline.cases) covered.push_back(std::string(FLEETSIM_SOURCE_DIR) + "/" + c.scenario);
  // scenarios/scale/ too: fleet-sized, so their cases are in the `full` label, which this test
  // does not run (the scale tests run its first seconds).
  std::vector<std::string> files = shipped_scenarios();
  for (const auto& e : std::filesystem::directory_iterator(std::string(FLEETSIM_SOURCE_DIR) + "/scenarios/scale"))
    if (e.path().extension() == ".yaml") files.push_back(e.path().string());
  for (const auto& path : files) {
    INFO(path << " has no case in bench/baseline.json");
    REQUIRE(std::find(covered.begin(), covered.end(), path) != covered.end());
  }
  GateOptions metrics_only;
  metrics_only.speed = false;
  metrics_only.fleetsim_binary = FLEETSIM_BINARY;  // the jobs and saturation cases run the program
  GateResult result = run_gate(baseline, FLEETSIM_SOURCE_DIR, registry(), metrics_only);
  INFO(gate_table(result) << result.errors.to_string());
  REQUIRE(result.passed);
  for (const GateRow& r : result.rows) REQUIRE(r.note.rfind("skipped: ", 0) == 0);  // (../shared absent)
}
