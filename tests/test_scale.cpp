// Fleet scale (issue 14): a model entry with `count` and a workload that spreads its traffic over
// such an entry by Zipf popularity; timeseries.csv bounded at many models (per-model rows for
// the `timeseries_models` with the most expected requests, the rest summed); the shipped 100k-GPU
// scenario; the engine-against-a-bare-heap measurement (its figures, not its speed); and the
// heap's huge-page advice.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <nlohmann/json.hpp>

#include "bench/gate/gate.hpp"
#include "cli/runner/huge_pages.hpp"
#include "reports/run_data.hpp"
#include "reports/run_files.hpp"
#include "scenarios/loader/work_limits.hpp"
#include "tests/support.hpp"

using namespace fleetsim;
using namespace fleetsim::test;

namespace {

// `n` copies of a small model (one entry with count: n) and one Poisson workload over them.
std::string fleet_yaml(int n, const std::string& workload_extra, const std::string& top_extra = "") {
  return R"(
name: counted
duration: 1h
)" + top_extra + R"(
cluster:
  pools: [{name: h100, nodes: 4, gpu: H100-80GB, gpus_per_node: 8}]
models:
  - {name: m, count: )" + std::to_string(n) + R"(, parameters: 1e9, kv_cache_per_token: 64KiB}
  - {name: solo, parameters: 1e9, kv_cache_per_token: 64KiB}
workloads:
  - model: m
    arrivals: {process: poisson, rate: 11/s}
    input_tokens: {dist: fixed, value: 10}
    output_tokens: {dist: fixed, value: 10}
)" + workload_extra;
}

std::size_t count_of(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("count makes one model entry into N models named with a zero-padded index", "[scale][scenario]") {
  const Scenario three = scenario_from(fleet_yaml(3, ""));
  REQUIRE(three.models.size() == 4);
  CHECK(three.models[0].name == "m-0");
  CHECK(three.models[2].name == "m-2");
  CHECK(three.models[3].name == "solo");
  CHECK(three.models[1].parameters == 1e9);
  const Scenario twelve = scenario_from(fleet_yaml(12, ""));
  REQUIRE(twelve.models.size() == 13);
  CHECK(twelve.models[0].name == "m-00");
  CHECK(twelve.models[11].name == "m-11");
  // Another entry or workload may name one of them.
  const Scenario named = scenario_from(fleet_yaml(3, R"(  - model: m-1
    arrivals: {process: poisson, rate: 1/s}
    input_tokens: {dist: fixed, value: 10}
    output_tokens: {dist: fixed, value: 10}
)"));
  REQUIRE(named.workloads.size() == 4);
  CHECK(named.workloads[3].model == 1);
}

TEST_CASE("a workload naming a count entry splits its rate over the models by Zipf weights", "[scale][scenario]") {
  // Zipf(1) over 3 models: weights 1, 1/2, 1/3 of 11/6, so 6, 3 and 2 requests/s.
  const Scenario zipf = scenario_from(fleet_yaml(3, "").replace(fleet_yaml(3, "").find("    arrivals"), 0,
                                                                    "    model_zipf: 1\n"));
  REQUIRE(zipf.workloads.size() == 3);
  CHECK(zipf.workloads[0].rate == Approx(6));
  CHECK(zipf.workloads[1].rate == Approx(3));
  CHECK(zipf.workloads[2].rate == Approx(2));
  for (std::uint32_t k = 0; k < 3; ++k) CHECK(zipf.workloads[k].model == k);
  // Each its own random streams: named after the workload and the model.
  CHECK(zipf.workloads[0].name == "m/0/m-0");
  CHECK(zipf.workloads[2].name == "m/0/m-2");
  // Without model_zipf the split is even.
  const Scenario even = scenario_from(fleet_yaml(4, ""));
  REQUIRE(even.workloads.size() == 4);
  for (const WorkloadSpec& w : even.workloads) CHECK(w.rate == Approx(11.0 / 4));
  CHECK(estimated_requests(even) == Approx(11.0 * 3600));
}

TEST_CASE("count and model_zipf reject what they cannot mean", "[scale][scenario][bad-input]") {
  CHECK_THAT(errors_of(fleet_yaml(0, "")), Catch::Contains("models[0].count"));
  const std::string solo_zipf = R"(  - model: solo
    model_zipf: 1
    arrivals: {process: poisson, rate: 1/s}
    input_tokens: {dist: fixed, value: 10}
    output_tokens: {dist: fixed, value: 10}
)";
  CHECK_THAT(errors_of(fleet_yaml(3, solo_zipf)), Catch::Contains("workloads[1].model_zipf"));
  // A plain model may not take the name of a counted entry (a workload naming it would be ambiguous).
  std::string taken = fleet_yaml(3, "");
  taken.replace(taken.find("name: solo"), 10, "name: m");
  CHECK_THAT(errors_of(taken), Catch::Contains("duplicate model name \"m\""));
  std::string clash = fleet_yaml(3, "");
  clash.replace(clash.find("name: solo"), 10, "name: m-1");
  CHECK_THAT(errors_of(clash), Catch::Contains("duplicate model name \"m-1\""));
  CHECK_THAT(errors_of(fleet_yaml(3, "", "timeseries_models: 5")),
             Catch::Contains("must be 0 (every model) or at least 10"));
}

TEST_CASE("initial_scale latency sizes each fed model's initial replicas by Little's law", "[scale][scenario]") {
  // KPA aims at target_concurrency 2 x target_utilization 0.5 = 1 request in flight a replica.
  // Zipf(1) over m-0 .. m-2 gives 6, 3 and 2 requests/s; at 1.4 s a request that is 8.4, 4.2
  // and 2.8 in flight, so 9, 5 and 3 replicas. A second workload on m-1 (1/s) adds 1.4: 5.6 -> 6.
  // solo's diurnal workload starts at its peak (peak: 0): 4/s x 1.5 = 6/s, 8.4 in flight -> 9.
  const std::string policies = "policies: {autoscaler: {impl: kpa, target_concurrency: 2, target_utilization: 0.5}}\n";
  std::string yaml = fleet_yaml(3, R"(  - model: m-1
    initial_scale: {latency: 1400ms}
    arrivals: {process: poisson, rate: 1/s}
    input_tokens: {dist: fixed, value: 10}
    output_tokens: {dist: fixed, value: 10}
  - model: solo
    initial_scale: {latency: 1.4s}
    arrivals: {process: diurnal, rate: 4/s, amplitude: 0.5, period: 1h, peak: 0s}
    input_tokens: {dist: fixed, value: 10}
    output_tokens: {dist: fixed, value: 10}
)", policies);
  yaml.replace(yaml.find("    arrivals"), 0, "    model_zipf: 1\n    initial_scale: {latency: 1.4s}\n");
  const Scenario sc = scenario_from(yaml);
  REQUIRE(sc.models.size() == 4);
  CHECK(sc.models[0].autoscaler.params.integer("initial_scale") == 9);
  CHECK(sc.models[1].autoscaler.params.integer("initial_scale") == 6);
  CHECK(sc.models[2].autoscaler.params.integer("initial_scale") == 3);
  CHECK(sc.models[3].autoscaler.params.integer("initial_scale") == 9);
  // Without the key every model keeps the autoscaler's own initial_scale (KPA's default, 1).
  const Scenario plain = scenario_from(fleet_yaml(3, "", policies));
  for (const ModelSpec& m : plain.models) CHECK(m.autoscaler.params.integer("initial_scale") == 1);
  // A model with no traffic yet still starts with one replica (the ceiling of a small share).
  std::string tiny = fleet_yaml(3, "", policies);
  tiny.replace(tiny.find("rate: 11/s"), 10, "rate: 0.01/s");
  tiny.replace(tiny.find("    arrivals"), 0, "    initial_scale: {latency: 1s}\n");
  for (const ModelSpec& m : scenario_from(tiny).models)
    CHECK(m.autoscaler.params.integer("initial_scale") == 1);
}

TEST_CASE("initial_scale on a workload rejects what it cannot size", "[scale][scenario][bad-input]") {
  std::string no_latency = fleet_yaml(3, "");
  no_latency.replace(no_latency.find("    arrivals"), 0, "    initial_scale: {}\n");
  CHECK_THAT(errors_of(no_latency), Catch::Contains("workloads[0].initial_scale.latency"));
  std::string typo = fleet_yaml(3, "");
  typo.replace(typo.find("    arrivals"), 0, "    initial_scale: {latency: 1s, latncy: 2s}\n");
  CHECK_THAT(errors_of(typo), Catch::Contains("workloads[0].initial_scale.latncy"));
  // An autoscaler without initial_scale / target_concurrency parameters has nothing to size.
  std::string oracle = fleet_yaml(3, "", "policies: {autoscaler: {impl: oracle}}\n");
  oracle.replace(oracle.find("    arrivals"), 0, "    initial_scale: {latency: 1s}\n");
  const std::string oracle_errors = errors_of(oracle);
  CHECK_THAT(oracle_errors, Catch::Contains("has no initial_scale and target_concurrency"));
  CHECK(count_of(oracle_errors, "has no initial_scale") == 1);  // once for the workload, not per model
}

TEST_CASE("timeseries.csv past timeseries_models: rows for the busiest models, the rest summed", "[scale][timeseries]") {
  // 12 models by Zipf(1) (m-00 busiest), `solo` without traffic: 13 models, 10 written one by
  // one (m-00 .. m-09), m-10, m-11 and solo summed into "other (3 models)".
  std::string yaml = fleet_yaml(12, "", "timeseries_models: 10");
  yaml.replace(yaml.find("    arrivals"), 0, "    model_zipf: 1\n");
  const Scenario sc = scenario_from(yaml);
  const std::vector<std::uint8_t> written = timeseries_models_written(sc);
  REQUIRE(written.size() == 13);
  for (std::size_t m = 0; m < 10; ++m) CHECK(written[m] == 1);
  CHECK(written[10] == 0);
  CHECK(written[11] == 0);
  CHECK(written[12] == 0);
  TimeSeriesRecorder::Sample sample;
  sample.time = 120 * kSecond;
  sample.kv_sampled = true;  // every series, kv_cache_* too: the models are LLMs
  for (std::size_t m = 0; m <= 13; ++m) {  // 13 models, then all
    TimeSeriesRecorder::Values v{};
    for (std::size_t s = 0; s < v.size(); ++s) v[s] = static_cast<double>(m * 10 + s);
    sample.models.push_back(v);
  }
  std::string out;
  append_timeseries_rows(out, sc, sample, written);
  CHECK(count_of(out, "\n") == 12 * kSeriesCount);  // 10 models, other, all
  CHECK(count_of(out, ",m-10,") == 0);
  CHECK(count_of(out, ",solo,") == 0);
  CHECK_THAT(out, Catch::Contains("120,m-09,replicas_ready,90\n"));
  // m-10, m-11 and solo: (100 + 110 + 120) + 3s for series s.
  CHECK_THAT(out, Catch::Contains("120,other (3 models),replicas_ready,330\n"));
  CHECK_THAT(out, Catch::Contains("120,other (3 models),cold_starts,351\n"));
  CHECK_THAT(out, Catch::Contains("120,all,replicas_ready,130\n"));
  CHECK(out.find("other (3 models)") > out.find(",m-09,"));
  CHECK(out.find("other (3 models)") < out.find(",all,"));
  // At or below the limit (and with 0: no limit) every model has its rows, in scenario order.
  for (const char* top : {"timeseries_models: 13", "timeseries_models: 0"}) {
    const Scenario whole = scenario_from(fleet_yaml(12, "", top));
    std::string rows;
    append_timeseries_rows(rows, whole, sample);
    CHECK(count_of(rows, "\n") == 14 * kSeriesCount);
    CHECK(count_of(rows, "other") == 0);
  }
}

#ifdef FLEETSIM_BINARY
TEST_CASE("a run past timeseries_models: the report reads the summed rows as every model not drawn",
          "[scale][timeseries][reports]") {
  TempDir tmp("scale-ts");
  std::string yaml = fleet_yaml(12, "", "timeseries_models: 10");
  yaml.replace(yaml.find("duration: 1h"), 12, "duration: 10min");
  const std::string scenario = tmp.write("fleet.yaml", yaml);
  const auto run = run_fleetsim("run -q --out " + shell_quote(tmp.path("out")) + " " + shell_quote(scenario));
  INFO(run.err);
  REQUIRE(run.code == 0);
  const std::string csv = read_file(tmp.dir / "out" / "timeseries.csv");
  CHECK(count_of(csv, ",other (3 models),arrivals,") == 10);  // ten samples
  CHECK(count_of(csv, ",m-11,") == 0);
  const auto result = nlohmann::json::parse(read_file(tmp.dir / "out" / "result.json"));
  CHECK(result["scenario"]["timeseries_models"] == 10);
  LoadedRun loaded = load_run_dir(tmp.path("out"));
  INFO(loaded.errors.to_string());
  REQUIRE(loaded.run);
  // 13 models, 10 drawn: the other 3 (two written one by one would have been summed too).
  CHECK(loaded.run->timeseries.other_models == 3);
  const RunSeries* other = loaded.run->timeseries.find_other("arrivals");
  REQUIRE(other != nullptr);
  CHECK(other->model == "other (3 models)");
  const std::string html = read_file(tmp.dir / "out" / "report.html");
  CHECK_THAT(html, Catch::Contains("other (3 models)"));
  // Smaller fleets' result.json does not name the limit.
  const auto small = run_fleetsim("run -q --out " + shell_quote(tmp.path("small")) +
                                  " scenarios/fixed-pool.yaml --set duration=10min");
  REQUIRE(small.code == 0);
  CHECK(read_file(tmp.dir / "small" / "result.json").find("timeseries_models") == std::string::npos);
}
#endif

TEST_CASE("the shipped 100k-GPU fleet: 1,000 models, 15,000 nodes, about a billion requests a day",
          "[scale][scenarios]") {
  const std::string path = std::string(FLEETSIM_SOURCE_DIR) + "/scenarios/scale/fleet-100k.yaml";
  LoadResult hour = load_scenario_file(path, registry());
  INFO(hour.errors.to_string());
  REQUIRE(hour.scenario);
  const Scenario& sc = *hour.scenario;
  CHECK(sc.models.size() == 1000);
  std::uint64_t nodes = 0, gpus = 0;
  for (const PoolSpec& p : sc.pools) {
    nodes += static_cast<std::uint64_t>(p.nodes);
    gpus += static_cast<std::uint64_t>(p.nodes) * static_cast<std::uint64_t>(p.gpus_per_node);
  }
  CHECK(nodes == 15'000);
  CHECK(gpus == 100'000);
  CHECK(sc.duration == kHour);
  LoadOptions day_options;
  day_options.overrides = {"duration=24h"};
  LoadResult day = load_scenario_file(path, registry(), day_options);
  REQUIRE(day.scenario);
  const double requests = estimated_requests(*day.scenario);
  CHECK(requests > 0.9e9);
  CHECK(requests <= kMaxRequests);  // runs without --force
  // Zipf popularity: the busiest 8B deployment gets the most, the last one the least.
  CHECK(sc.workloads[0].rate > 100 * sc.workloads[599].rate);
  // Warm start by Little's law (workload initial_scale): llm-70b-00 gets 1450 / H(50) =
  // 1450 / 4.4992 = 322.28 requests/s, 4,189.6 in flight at 13 s, / (16 x 0.7) = 374.07 -> 375
  // replicas; each 200-model fine-tune (3/s in all) starts with one.
  REQUIRE(sc.models[750].name == "llm-70b-00");
  CHECK(sc.models[750].autoscaler.params.integer("initial_scale") == 375);
  CHECK(sc.models[999].name == "tune-8b-199");
  CHECK(sc.models[999].autoscaler.params.integer("initial_scale") == 1);
  CHECK(sc.models[0].autoscaler.params.duration("scale_down_delay") == 60 * kSecond);
  // Its hour is in the gate's full label (no duration override).
  Diagnostics errors;
  const GateBaseline baseline = load_gate_baseline(std::string(FLEETSIM_SOURCE_DIR) + "/bench/baseline.json", errors);
  REQUIRE(errors.empty());
  bool in_full = false;
  for (const GateCase& c : baseline.cases)
    if (c.scenario == "scenarios/scale/fleet-100k.yaml")
      in_full = std::find(c.labels.begin(), c.labels.end(), "full") != c.labels.end() && c.events > 0 &&
                std::none_of(c.set.begin(), c.set.end(), [](const std::string& s) { return s.rfind("duration=", 0) == 0; });
  CHECK(in_full);
}

// Without the invariant checker: at 15,000 nodes and ~12,000 replicas its per-event checks would
// make this test minutes long (the gate's full label runs the hour).
TEST_CASE("the shipped 100k-GPU fleet runs its first simulated seconds", "[scale][scenarios]") {
  LoadOptions options;
  options.overrides = {"duration=2s", "drain_limit=1min"};
  LoadResult loaded =
      load_scenario_file(std::string(FLEETSIM_SOURCE_DIR) + "/scenarios/scale/fleet-100k.yaml", registry(), options);
  REQUIRE(loaded.scenario);
  Simulation sim(build_setup(*loaded.scenario, registry()));
  MetricsCollector metrics(sim.scenario());
  sim.add_observer(&metrics);
  const RunStatus status = sim.run();
  INFO(status.errors.to_string());
  REQUIRE(status.ok);
  CHECK(status.requests > 15'000);
  CHECK(metrics.result().overall.requests == status.requests);
  CHECK(metrics.result().overall.completed() > 0);
}

TEST_CASE("engine against a bare heap: the run's mean pending events, both speeds and their ratio",
          "[scale][gate]") {
  CHECK(bare_heap_events_per_second(1000) > 0);
  GateBaseline baseline;
  baseline.repetitions = 1;
  GateCase bursty;
  bursty.name = "bursty";
  bursty.scenario = "scenarios/bursty.yaml";
  bursty.labels = {"ci"};
  GateCase not_ci = bursty;
  not_ci.name = "elsewhere";
  not_ci.labels = {"full"};
  baseline.cases = {bursty, not_ci};
  Diagnostics errors;
  const auto rows = measure_heap_ratios(baseline, FLEETSIM_SOURCE_DIR, registry(), "ci", errors);
  INFO(errors.to_string());
  REQUIRE(errors.empty());
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].name == "bursty");
  CHECK(rows[0].events >= 100'000);
  CHECK(rows[0].mean_pending >= 1);
  CHECK(rows[0].engine_events_per_s > 0);
  CHECK(rows[0].heap_events_per_s > 0);
  CHECK(rows[0].ratio == Approx(rows[0].engine_events_per_s / rows[0].heap_events_per_s));
  CHECK_THAT(heap_ratio_table(rows), Catch::Contains("bursty"));
}

// The VmFlags of the mapping that holds `address` (/proc/self/smaps), "" when none does.
static std::string mapping_flags(const void* address) {
  std::ifstream smaps("/proc/self/smaps");
  const auto at = reinterpret_cast<std::uintptr_t>(address);
  bool inside = false;
  for (std::string line; std::getline(smaps, line);) {
    std::uintptr_t from = 0, to = 0;
    char dash = 0;
    std::istringstream range(line);
    if (range >> std::hex >> from >> dash >> to && dash == '-' && line.find(' ') != std::string::npos &&
        line.substr(0, line.find(' ')).find(':') == std::string::npos) {
      inside = from <= at && at < to;
      continue;
    }
    if (inside && line.rfind("VmFlags:", 0) == 0) return line.substr(8);
  }
  return "";
}

TEST_CASE("huge pages: after prefer_huge_pages(), what operator new takes from the kernel is advised at once",
          "[scale]") {
  if (!std::filesystem::exists("/sys/kernel/mm/transparent_hugepage/enabled")) {
    WARN("no transparent huge pages in this kernel: nothing to check");
    return;
  }
  prefer_huge_pages();
  // 48 MiB: under the mmap threshold prefer_huge_pages() sets, so from the heap, and more than
  // its free space holds (when other tests ran before in this process), so from its growth.
  // 96 MiB: over it, so a mapping of its own. Neither is touched before the check.
  for (const std::size_t mib : {48, 96}) {
    INFO(mib << " MiB");
    auto block = std::make_unique_for_overwrite<char[]>(mib << 20);
    CHECK(mapping_flags(block.get() + (mib << 19)).find(" hg") != std::string::npos);
  }
}
