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

namespace {
// CI-sized cases of the other front ends, on the files shipped under scenarios/traces/.
GateBaseline command_baseline() {
  GateBaseline b;
  GateCase jobs;
  jobs.name = "jobs";
  jobs.command = "jobs";
  jobs.labels = {"ci"};
  jobs.args = {"--trace", "scenarios/traces/finetune-jobs.csv", "--format", "generic-csv", "--cluster",
               "H100-80GB:2x8", "--policy", "srtf", "--restart-overhead=30s", "--lose-work-on-preemption"};
  b.cases.push_back(jobs);
  GateCase sat;
  sat.name = "saturation";
  sat.command = "saturation";
  sat.labels = {"ci"};
  sat.args = {"--nodes", "scenarios/traces/openb-nodes-small.csv", "--pods=scenarios/traces/openb-pods-small.csv",
              "--policies", "fgd,best-fit"};
  b.cases.push_back(sat);
  return b;
}

GateOptions with_program() {
  GateOptions o;
  o.speed = false;
  o.fleetsim_binary = FLEETSIM_BINARY;
  return o;
}
}  // namespace

TEST_CASE("the gate runs jobs and saturation command lines and catches a changed metric", "[gate]") {
  GateResult first = run_gate(command_baseline(), FLEETSIM_SOURCE_DIR, registry(), with_program());
  INFO(gate_table(first) << first.errors.to_string());
  REQUIRE(first.passed);
  const GateBaseline measured = first.measured;
  const GateCase& jobs = measured.cases[0];
  const GateCase& sat = measured.cases[1];
  CHECK(jobs.events == 345);  // 157 arrivals, 157 ends, 31 preemptions
  CHECK(jobs.metrics.at("jobs.jobs") == 157);
  CHECK(jobs.metrics.at("jobs.preemptions") > 0);
  CHECK(jobs.metrics.at("jobs.lost_gpu_hours") > 0);
  CHECK(jobs.metrics.count("jobs.utilization"));
  CHECK(jobs.metrics.count("run.end_time_s"));
  CHECK(jobs.metrics.size() == gate_metric_paths("jobs").size());
  CHECK(sat.events > 0);
  CHECK(sat.metrics.size() == 2 * gate_metric_paths("saturation").size());
  CHECK(sat.metrics.at("saturation.policies.fgd.at.100.allocation_ratio") > 0.8);
  CHECK(sat.metrics.count("saturation.policies.best-fit.failed_pods"));

  SECTION("no change: nothing reported") {
    GateResult again = run_gate(measured, FLEETSIM_SOURCE_DIR, registry(), with_program());
    INFO(gate_table(again) << again.errors.to_string());
    REQUIRE(again.passed);
    REQUIRE(again.rows.empty());
  }
  SECTION("a planted change of a jobs metric fails, naming it") {
    GateBaseline planted = measured;
    planted.cases[0].metrics["jobs.lost_gpu_hours"] *= 1.01;
    GateResult result = run_gate(planted, FLEETSIM_SOURCE_DIR, registry(), with_program());
    REQUIRE_FALSE(result.passed);
    REQUIRE_THAT(gate_table(result), Catch::Contains("jobs.lost_gpu_hours") && Catch::Contains("REGRESSION"));
  }
  SECTION("a planted change of a saturation metric fails, naming it") {
    GateBaseline planted = measured;
    planted.cases[1].metrics["saturation.policies.best-fit.failed_pods"] += 1;
    GateResult result = run_gate(planted, FLEETSIM_SOURCE_DIR, registry(), with_program());
    REQUIRE_FALSE(result.passed);
    REQUIRE_THAT(gate_table(result),
                 Catch::Contains("saturation.policies.best-fit.failed_pods") && Catch::Contains("REGRESSION"));
  }
  SECTION("a command that fails is an error naming the case and its output") {
    GateBaseline broken = measured;
    broken.cases[0].args.push_back("--policy=no-such-policy");
    GateResult result = run_gate(broken, FLEETSIM_SOURCE_DIR, registry(), with_program());
    REQUIRE_FALSE(result.passed);
    REQUIRE_THAT(result.errors.to_string(),
                 Catch::Contains("jobs") && Catch::Contains("exit 2") && Catch::Contains("no-such-policy"));
  }
  SECTION("without the program, a command case is an error") {
    GateOptions none;
    none.speed = false;
    GateResult result = run_gate(measured, FLEETSIM_SOURCE_DIR, registry(), none);
    REQUIRE_FALSE(result.passed);
    REQUIRE_THAT(result.errors.to_string(), Catch::Contains("needs the fleetsim program"));
  }
  SECTION("the baseline keeps command and args, and no scenario") {
    const auto path = (std::filesystem::temp_directory_path() / "fleetsim_gate_commands.json").string();
    const std::string text = gate_baseline_json(measured);
    REQUIRE_THAT(text, Catch::Contains("\"command\": \"jobs\"") && Catch::Contains("\"--restart-overhead=30s\""));
    REQUIRE_THAT(text, !Catch::Contains("\"scenario\""));
    std::ofstream(path) << text;
    Diagnostics errors;
    GateBaseline back = load_gate_baseline(path, errors);
    REQUIRE(errors.empty());
    REQUIRE(back.cases.size() == 2);
    REQUIRE(back.cases[0].command == "jobs");
    REQUIRE(back.cases[0].args == measured.cases[0].args);
    REQUIRE(back.cases[1].metrics == measured.cases[1].metrics);
    REQUIRE(gate_baseline_json(back) == text);
    std::ofstream(path) << "{\"schema_version\": 1, \"cases\": [{\"name\": \"x\", \"command\": \"train\", \"args\": []}]}";
    Diagnostics bad;
    load_gate_baseline(path, bad);
    REQUIRE_THAT(bad.to_string(), Catch::Contains("expected run, jobs or saturation, got \"train\""));
  }
}

TEST_CASE("a case whose required file is absent is skipped, not run and not failed", "[gate]") {
  // A case on a public trace in ../shared `requires` it: where the file is absent (a clone
  // without ../shared), the gate reports the case skipped and passes.
  GateBaseline b;
  GateCase c;
  c.name = "needs-trace";
  c.scenario = "scenarios/no-such-scenario.yaml";  // would be a load error if it were run
  c.labels = {"ci"};
  c.requires_files = {"scenarios/default.yaml", "../no-such-folder/trace.jsonl"};
  c.events = 7;
  c.metrics["overall.requests"] = 3;  // would be a change if it were run
  b.cases.push_back(c);
  GateResult result = run_gate(b, FLEETSIM_SOURCE_DIR, registry(), with_program());
  INFO(gate_table(result) << result.errors.to_string());
  REQUIRE(result.passed);
  REQUIRE(result.errors.empty());
  REQUIRE(result.rows.size() == 1);
  REQUIRE(result.rows[0].note == "skipped: ../no-such-folder/trace.jsonl not present");
  REQUIRE_FALSE(result.rows[0].regression);
  REQUIRE_THAT(gate_table(result), Catch::Contains("needs-trace") &&
                                       Catch::Contains("skipped: ../no-such-folder/trace.jsonl not present") &&
                                       Catch::Contains("gate passed"));
  // --update keeps the skipped case's baseline as it was.
  REQUIRE(result.measured.cases[0].events == 7);
  REQUIRE(result.measured.cases[0].metrics.at("overall.requests") == 3);
  REQUIRE(missing_requirement(c, FLEETSIM_SOURCE_DIR) == "../no-such-folder/trace.jsonl");
  Diagnostics heap_errors;
  REQUIRE(measure_heap_ratios(b, FLEETSIM_SOURCE_DIR, registry(), "ci", heap_errors).empty());
  REQUIRE(heap_errors.empty());

  SECTION("with every required file present, the case runs") {
    GateBaseline present = b;
    present.cases[0].requires_files = {"scenarios/default.yaml"};
    REQUIRE(missing_requirement(present.cases[0], FLEETSIM_SOURCE_DIR).empty());
    GateResult ran = run_gate(present, FLEETSIM_SOURCE_DIR, registry(), with_program());
    REQUIRE_FALSE(ran.passed);  // it ran: the scenario does not exist
    REQUIRE_THAT(ran.errors.to_string(), Catch::Contains("no-such-scenario.yaml"));
  }
  SECTION("requires round-trips through the baseline, and is left out when empty") {
    const auto path = (std::filesystem::temp_directory_path() / "fleetsim_gate_requires.json").string();
    const std::string text = gate_baseline_json(b);
    REQUIRE_THAT(text, Catch::Contains("\"requires\": [") && Catch::Contains("../no-such-folder/trace.jsonl"));
    std::ofstream(path) << text;
    Diagnostics errors;
    GateBaseline back = load_gate_baseline(path, errors);
    REQUIRE(errors.empty());
    REQUIRE(back.cases[0].requires_files == c.requires_files);
    REQUIRE(gate_baseline_json(back) == text);
    GateBaseline none = b;
    none.cases[0].requires_files.clear();
    REQUIRE_THAT(gate_baseline_json(none), !Catch::Contains("requires"));
  }
}
