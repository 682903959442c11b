// Bad scenario input: every problem is reported with its file, line and key path and a message
// that says what is wrong and what was expected; problems are collected, not first-only.
// Covers the YAML scenario format, --set overrides and request-trace CSV rows.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

#include "scenarios/loader/yaml_reader.hpp"
#include "tests/support.hpp"

using namespace fleetsim;
using namespace fleetsim::test;
using Catch::Contains;

namespace {

// The minimal valid scenario; tests below copy it with one thing changed so that the line
// numbers in the assertions can be read off the raw string (line 1 is "duration: 1h").
const std::string kMinimal = R"(duration: 1h
cluster:
  pools:
    - {name: a, nodes: 1, gpu: H100-80GB, gpus_per_node: 8}
models:
  - {name: m, parameters: 8e9, kv_cache_per_token: 128KiB}
workloads:
  - model: m
    arrivals: {process: poisson, rate: 1/s}
    input_tokens: {dist: fixed, value: 100}
    output_tokens: {dist: fixed, value: 10}
)";

LoadResult load(const std::string& yaml, const LoadOptions& options = {}) {
  return load_scenario_text(yaml, "test.yaml", FLEETSIM_SOURCE_DIR, registry(), options);
}

// Options with --set overrides.
LoadOptions sets(std::initializer_list<std::string> overrides) {
  LoadOptions o;
  o.overrides.assign(overrides.begin(), overrides.end());
  return o;
}

std::size_t line_count(const std::string& s) { return static_cast<std::size_t>(std::count(s.begin(), s.end(), '\n')); }

// A scratch directory for trace files, removed when the test ends.
std::string scenario_with_trace(const std::string& trace_path) {
  return R"(duration: 1h
cluster:
  pools:
    - {name: a, nodes: 1, gpu: H100-80GB, gpus_per_node: 8}
models:
  - {name: m, parameters: 8e9, kv_cache_per_token: 128KiB}
workloads:
  - trace: )" + trace_path + "\n";
}

const std::string kHeader = "timestamp,model,input_tokens,output_tokens\n";

// Loads a scenario replaying `csv`, which must load; returns the trace check's diagnostics.
Diagnostics trace_errors(const TempDir& dir, const std::string& csv, std::string& file) {
  file = dir.write("trace.csv", csv);
  Scenario sc = scenario_from(scenario_with_trace(file));
  return check_traces(sc);
}

}  // namespace

TEST_CASE("the minimal scenario used by these tests is valid", "[bad-input]") {
  Scenario sc = scenario_from(kMinimal);
  REQUIRE(sc.models.size() == 1);
  REQUIRE(sc.workloads.size() == 1);
}

// ------------------------------------------------------------------ keys and types

TEST_CASE("unknown top-level key is reported with its line and a did-you-mean suggestion", "[bad-input]") {
  std::string yaml = kMinimal;
  yaml.replace(yaml.find("models:"), 7, "modles:");
  const std::string msg = errors_of(yaml);
  REQUIRE_THAT(msg, Contains("test.yaml:5:1: modles: unknown key, did you mean models?"));
}

TEST_CASE("unknown key inside a pool lists the expected keys", "[bad-input]") {
  const std::string msg = errors_of(R"(duration: 1h
cluster:
  pools:
    - name: a
      nodes: 1
      gpu: H100-80GB
      colour: red
models:
  - {name: m, parameters: 8e9, kv_cache_per_token: 128KiB}
workloads:
  - model: m
    arrivals: {process: poisson, rate: 1/s}
    input_tokens: {dist: fixed, value: 100}
    output_tokens: {dist: fixed, value: 10}
)");
  REQUIRE_THAT(msg, Contains("test.yaml:7:7: cluster.pools[0].colour: unknown key"));
  REQUIRE_THAT(msg, Contains("expected one of: name, nodes, max_nodes, node_idle_timeout, provisioning_time, gpu, gpus_per_node"));
}

TEST_CASE("a mapping where a number is expected is a type error", "[bad-input]") {
  std::string yaml = kMinimal;
  yaml.replace(yaml.find("parameters: 8e9"), 15, "parameters: {value: 8e9}");
  const std::string msg = errors_of(yaml);
  REQUIRE_THAT(msg, Contains("test.yaml:6:"));
  REQUIRE_THAT(msg, Contains("models[0].parameters: expected a number (got a mapping)"));
}

TEST_CASE("numbers are read one strict way: scenario keys and policy parameters alike", "[bad-input]") {
  double v = -1;
  for (const auto& [text, value] : {std::pair<std::string, double>{"8e9", 8e9}, {"8.03e9", 8.03e9}, {"+5", 5},
                                    {"0.25", 0.25}, {"-3", -3}, {".5", 0.5}, {"7", 7}}) {
    INFO(text);
    REQUIRE(parse_number(text, v));
    REQUIRE(v == value);
  }
  for (const std::string text : {"", "+", "1x", "5e", "1e400", "nan", "inf", "0x10", " 5", "5 ", "1,5", "--1"}) {
    INFO(text);
    REQUIRE_FALSE(parse_number(text, v));
  }
  // The same parser, the same messages: a scenario key and a policy parameter.
  std::string yaml = kMinimal;
  yaml.replace(yaml.find("parameters: 8e9"), 15, "parameters: 8e9x");
  REQUIRE_THAT(errors_of(yaml), Contains("test.yaml:6:27: models[0].parameters: expected a number (got \"8e9x\")"));
  REQUIRE_THAT(errors_of(kMinimal, sets({"policies.autoscaler={impl: kpa, target_concurrency: 1e400}"})),
               Contains("policies.autoscaler.target_concurrency: expected a number for autoscaler policy kpa (got \"1e400\")"));
  REQUIRE(load(kMinimal, sets({"policies.autoscaler={impl: kpa, target_concurrency: +8}"})).scenario);
}

TEST_CASE("a list where a mapping is expected is a type error", "[bad-input]") {
  std::string yaml = kMinimal;
  yaml.replace(yaml.find("{process: poisson, rate: 1/s}"), 29, "[poisson, 1/s]");
  const std::string msg = errors_of(yaml);
  REQUIRE_THAT(msg, Contains("test.yaml:9:"));
  REQUIRE_THAT(msg, Contains("workloads[0].arrivals: expected a mapping of keys to values, got a list"));
}

TEST_CASE("missing required key: no duration", "[bad-input]") {
  std::string yaml = kMinimal;
  yaml.erase(0, yaml.find('\n') + 1);  // drop "duration: 1h"
  const std::string msg = errors_of(yaml);
  REQUIRE_THAT(msg, Contains("test.yaml:1:1: duration: required key is missing"));
  REQUIRE(line_count(msg) == 1);
}

TEST_CASE("missing required keys inside a model and a workload", "[bad-input]") {
  const std::string msg = errors_of(R"(duration: 1h
cluster:
  pools:
    - {name: a, nodes: 1, gpu: H100-80GB, gpus_per_node: 8}
models:
  - {name: m, parameters: 8e9}
workloads:
  - model: m
    input_tokens: {dist: fixed, value: 100}
    output_tokens: {dist: fixed}
)");
  REQUIRE_THAT(msg, Contains("test.yaml:6:5: models[0].kv_cache_per_token: required key is missing"));
  REQUIRE_THAT(msg, Contains("workloads[0].arrivals: required key is missing"));
  REQUIRE_THAT(msg, Contains("test.yaml:10:20: workloads[0].output_tokens.value: required key is missing"));
}

TEST_CASE("invalid YAML syntax is reported with its line", "[bad-input]") {
  const std::string msg = errors_of(R"(duration: 1h
cluster:
  pools:
    - {name: a, nodes: 1, gpu: H100-80GB, gpus_per_node: 8
models:
  - {name: m, parameters: 8e9, kv_cache_per_token: 128KiB}
)");
  REQUIRE_THAT(msg, Contains("test.yaml:6:"));
  REQUIRE_THAT(msg, Contains("not valid YAML"));
}

TEST_CASE("invalid YAML indentation is reported with its line", "[bad-input]") {
  const std::string msg = errors_of("duration: 1h\ncluster:\n  pools:\n    - name: a\n     nodes: 1\n");
  REQUIRE_THAT(msg, Contains("test.yaml:5:"));
  REQUIRE_THAT(msg, Contains("not valid YAML"));
}

TEST_CASE("a scenario that is not a mapping is rejected", "[bad-input]") {
  REQUIRE_THAT(errors_of(""), Contains("test.yaml: the scenario file is empty"));
  REQUIRE_THAT(errors_of("- 1\n- 2\n"), Contains("test.yaml:1:1:"));
  REQUIRE_THAT(errors_of("- 1\n- 2\n"), Contains("expected a mapping of keys to values, got a list"));
}

TEST_CASE("a scenario that is a list gets exactly one error", "[bad-input]") {
  // Bug: MapReader's constructor reports "expected a mapping of keys to values, got a list"
  // and Loader::read then reports "a scenario file must be a YAML mapping" for the same node.
  const std::string msg = errors_of("- 1\n- 2\n");
  INFO(msg);
  REQUIRE(line_count(msg) == 1);
}

TEST_CASE("a key given twice is rejected rather than one value silently winning", "[bad-input]") {
  // Bug: yaml-cpp accepts duplicate mapping keys and node["duration"] returns the first, so
  // "duration: 2h" below is silently ignored.
  LoadResult r = load("duration: 1h\nduration: 2h\n" + kMinimal.substr(kMinimal.find('\n') + 1));
  INFO(r.errors.to_string());
  REQUIRE_FALSE(r.scenario.has_value());
  REQUIRE_THAT(r.errors.to_string(), Contains("test.yaml:2:"));
  REQUIRE_THAT(r.errors.to_string(), Contains("duration"));
}

// ------------------------------------------------------------------ units

TEST_CASE("a bare number is not a duration", "[bad-input]") {
  std::string yaml = kMinimal;
  yaml.replace(0, 12, "duration: 10");
  const std::string msg = errors_of(yaml);
  REQUIRE_THAT(msg, Contains("test.yaml:1:11: duration: expected a duration such as 10s, 500ms, 5min, 1h, got \"10\""));
}

TEST_CASE("an unknown duration unit is rejected", "[bad-input]") {
  std::string yaml = kMinimal;
  yaml.replace(0, 12, "duration: 10 parsecs");
  const std::string msg = errors_of(yaml);
  REQUIRE_THAT(msg, Contains("test.yaml:1:11: duration: expected a duration"));
  REQUIRE_THAT(msg, Contains("got \"10 parsecs\""));
}

TEST_CASE("a duration below the minimum is a range error", "[bad-input]") {
  std::string yaml = kMinimal;
  yaml.replace(0, 12, "duration: 0s");
  REQUIRE_THAT(errors_of(yaml), Contains("test.yaml:1:11: duration: must be at least 1ms (got 0s)"));
}

TEST_CASE("a size with a wrong unit (Gb) is rejected", "[bad-input]") {
  std::string yaml = kMinimal;
  yaml.replace(yaml.find("gpus_per_node: 8}"), 17, "gpus_per_node: 8, disk_cache: 80Gb}");
  const std::string msg = errors_of(yaml);
  REQUIRE_THAT(msg, Contains("test.yaml:4:"));
  REQUIRE_THAT(msg, Contains("cluster.pools[0].disk_cache: expected a size such as 80GiB, 16GB, 512MiB, got \"80Gb\""));
}

TEST_CASE("a bandwidth without /s and a zero bandwidth are rejected", "[bad-input]") {
  const std::string msg = errors_of(R"(duration: 1h
cluster:
  pools:
    - name: a
      gpu: H100-80GB
      disk_read_bandwidth: 6GB
      network_bandwidth: 0Gbit/s
models:
  - {name: m, parameters: 8e9, kv_cache_per_token: 128KiB}
workloads:
  - model: m
    arrivals: {process: poisson, rate: 1/s}
    input_tokens: {dist: fixed, value: 100}
    output_tokens: {dist: fixed, value: 10}
)");
  REQUIRE_THAT(msg, Contains("test.yaml:6:28: cluster.pools[0].disk_read_bandwidth: expected a bandwidth such as 25GB/s"));
  REQUIRE_THAT(msg, Contains("got \"6GB\""));
  REQUIRE_THAT(msg, Contains("test.yaml:7:26: cluster.pools[0].network_bandwidth: must be > 0 (got 0Gbit/s)"));
}

TEST_CASE("a rate with an unknown or negative unit is rejected", "[bad-input]") {
  std::string yaml = kMinimal;
  yaml.replace(yaml.find("rate: 1/s"), 9, "rate: 1/fortnight");
  const std::string msg = errors_of(yaml);
  REQUIRE_THAT(msg, Contains("test.yaml:9:"));
  REQUIRE_THAT(msg, Contains("workloads[0].arrivals.rate: expected a rate such as 2/s, 30/min, 100/h, got \"1/fortnight\""));

  yaml = kMinimal;
  yaml.replace(yaml.find("rate: 1/s"), 9, "rate: -1/s");
  REQUIRE_THAT(errors_of(yaml), Contains("workloads[0].arrivals.rate: expected a rate such as 2/s"));
}

// ------------------------------------------------------------------ ranges

TEST_CASE("zero nodes and negative gpus_per_node are range errors", "[bad-input]") {
  std::string yaml = kMinimal;
  yaml.replace(yaml.find("nodes: 1, gpu: H100-80GB, gpus_per_node: 8"), 42,
               "nodes: 0, gpu: H100-80GB, gpus_per_node: -2");
  const std::string msg = errors_of(yaml);
  REQUIRE_THAT(msg, Contains("test.yaml:4:"));
  REQUIRE_THAT(msg, Contains("cluster.pools[0].nodes: a pool needs nodes or max_nodes > 0"));
  REQUIRE_THAT(msg, Contains("cluster.pools[0].gpus_per_node: must be >= 1 (got -2)"));
}

TEST_CASE("a fractional node count is not an integer", "[bad-input]") {
  std::string yaml = kMinimal;
  yaml.replace(yaml.find("nodes: 1,"), 9, "nodes: 1.5,");
  REQUIRE_THAT(errors_of(yaml), Contains("test.yaml:4:24: cluster.pools[0].nodes: expected an integer (got \"1.5\")"));
}

// ------------------------------------------------------------------ references

TEST_CASE("unknown GPU type is reported with a suggestion and the known types", "[bad-input]") {
  std::string yaml = kMinimal;
  yaml.replace(yaml.find("gpu: H100-80GB"), 14, "gpu: H100-80G");
  const std::string msg = errors_of(yaml);
  REQUIRE_THAT(msg, Contains("test.yaml:4:32: cluster.pools[0].gpu: unknown GPU type \"H100-80G\", did you mean H100-80GB?"));
  REQUIRE_THAT(msg, Contains("known: H100-80GB, A100-80GB"));
}

TEST_CASE("a model's pools: naming a missing pool is an error", "[bad-input]") {
  std::string yaml = kMinimal;
  yaml.replace(yaml.find("kv_cache_per_token: 128KiB}"), 27, "kv_cache_per_token: 128KiB, pools: [a, gpu-pool]}");
  const std::string msg = errors_of(yaml);
  REQUIRE_THAT(msg, Contains("test.yaml:6:"));
  REQUIRE_THAT(msg, Contains("models[0].pools: unknown pool \"gpu-pool\""));
}

TEST_CASE("a workload naming a missing model is an error with a suggestion", "[bad-input]") {
  std::string yaml = kMinimal;
  yaml.replace(yaml.find("  - model: m"), 12, "  - model: mm");
  const std::string msg = errors_of(yaml);
  REQUIRE_THAT(msg, Contains("test.yaml:8:12: workloads[0].model: unknown model \"mm\", did you mean m?"));
}

TEST_CASE("duplicate model and pool names are errors", "[bad-input]") {
  const std::string msg = errors_of(R"(duration: 1h
cluster:
  pools:
    - {name: a, nodes: 1, gpu: H100-80GB, gpus_per_node: 8}
    - {name: a, nodes: 1, gpu: L40S, gpus_per_node: 4}
models:
  - {name: m, parameters: 8e9, kv_cache_per_token: 128KiB}
  - {name: m, parameters: 3e9, kv_cache_per_token: 128KiB}
workloads:
  - model: m
    arrivals: {process: poisson, rate: 1/s}
    input_tokens: {dist: fixed, value: 100}
    output_tokens: {dist: fixed, value: 10}
)");
  REQUIRE_THAT(msg, Contains("test.yaml:5:14: cluster.pools[1].name: duplicate pool name \"a\""));
  REQUIRE_THAT(msg, Contains("test.yaml:8:12: models[1].name: duplicate model name \"m\""));
}

TEST_CASE("unknown distribution and arrival process get suggestions", "[bad-input]") {
  std::string yaml = kMinimal;
  yaml.replace(yaml.find("process: poisson"), 16, "process: poison");
  yaml.replace(yaml.find("dist: fixed, value: 10}"), 11, "dist: fixd");
  const std::string msg = errors_of(yaml);
  REQUIRE_THAT(msg, Contains("test.yaml:9:25: workloads[0].arrivals.process: unknown arrival process \"poison\", did you mean poisson?"));
  REQUIRE_THAT(msg, Contains("test.yaml:11:"));
  REQUIRE_THAT(msg, Contains("workloads[0].output_tokens.dist: unknown distribution \"fixd\", did you mean fixed?"));
}

// ------------------------------------------------------------------ policies

TEST_CASE("unknown policy impl gets a did-you-mean and the valid names", "[bad-input]") {
  std::string yaml = kMinimal + "policies:\n  placement: {impl: best-fitt}\n  router: {impl: round-robbin}\n";
  const std::string msg = errors_of(yaml);
  REQUIRE_THAT(msg, Contains("test.yaml:13:21: policies.placement.impl: unknown placement policy \"best-fitt\", did you mean best-fit?"));
  REQUIRE_THAT(msg, Contains("(valid: first-fit, best-fit, spread, cache-affinity, fgd, dot-product, gpu-packing, gpu-clustering, random)"));
  REQUIRE_THAT(msg, Contains("test.yaml:14:"));
  REQUIRE_THAT(msg, Contains("unknown router policy \"round-robbin\", did you mean round-robin?"));
}

TEST_CASE("unknown policy parameter gets a did-you-mean", "[bad-input]") {
  std::string yaml = kMinimal + "policies:\n  autoscaler: {impl: kpa, stable_windw: 30s}\n";
  const std::string msg = errors_of(yaml);
  REQUIRE_THAT(msg, Contains("test.yaml:13:27: policies.autoscaler.stable_windw: unknown key, did you mean stable_window?"));
}

TEST_CASE("policy parameters out of range or of the wrong type", "[bad-input]") {
  std::string yaml = kMinimal +
                     "policies:\n"
                     "  autoscaler: {impl: kpa, target_utilization: 3, stable_window: 1 minute}\n"
                     "models2: []\n";
  const std::string msg = errors_of(yaml);
  REQUIRE_THAT(msg, Contains("test.yaml:13:47: policies.autoscaler.target_utilization: must be between 0.01 and 1 for autoscaler policy kpa (got \"3\")"));
  REQUIRE_THAT(msg, Contains("policies.autoscaler.stable_window: expected a duration"));
  REQUIRE_THAT(msg, Contains("test.yaml:14:1: models2: unknown key, did you mean models?"));
}

TEST_CASE("per-model autoscaler parameter out of range", "[bad-input]") {
  std::string yaml = kMinimal;
  yaml.replace(yaml.find("kv_cache_per_token: 128KiB}"), 27,
               "kv_cache_per_token: 128KiB, autoscaler: {impl: fixed, replicas: 0}}");
  const std::string msg = errors_of(yaml);
  REQUIRE_THAT(msg, Contains("test.yaml:6:"));
  REQUIRE_THAT(msg, Contains("models[0].autoscaler.replicas: must be between 1 and"));
  REQUIRE_THAT(msg, Contains("for autoscaler policy fixed"));
}

// ------------------------------------------------------------------ fit

TEST_CASE("a 70B model on one L4 per replica fits on no node", "[bad-input]") {
  const std::string msg = errors_of(R"(duration: 1h
cluster:
  pools:
    - {name: small, nodes: 2, gpu: L4, gpus_per_node: 8}
models:
  - {name: big, parameters: 70e9, kv_cache_per_token: 320KiB}
workloads:
  - model: big
    arrivals: {process: poisson, rate: 1/s}
    input_tokens: {dist: fixed, value: 100}
    output_tokens: {dist: fixed, value: 10}
)");
  REQUIRE_THAT(msg, Contains("models[0]: replica of model \"big\" fits on no node"));
  REQUIRE_THAT(msg, Contains("pool small: 140GB per GPU needed, L4 offers"));
}

TEST_CASE("a model needing more GPUs per replica than any node has fits on no node", "[bad-input]") {
  std::string yaml = kMinimal;
  yaml.replace(yaml.find("kv_cache_per_token: 128KiB}"), 27, "kv_cache_per_token: 128KiB, gpus_per_replica: 16}");
  const std::string msg = errors_of(yaml);
  REQUIRE_THAT(msg, Contains("models[0]: replica of model \"m\" fits on no node: pool a has 8 GPUs per node, the model needs 16 (replicas do not span nodes)"));
}

TEST_CASE("a model restricted to a pool too small for it fits on no node", "[bad-input]") {
  const std::string msg = errors_of(R"(duration: 1h
cluster:
  pools:
    - {name: big, nodes: 1, gpu: H100-80GB, gpus_per_node: 8}
    - {name: small, nodes: 1, gpu: L4, gpus_per_node: 1}
models:
  - {name: m, parameters: 30e9, kv_cache_per_token: 128KiB, pools: [small]}
workloads:
  - model: m
    arrivals: {process: poisson, rate: 1/s}
    input_tokens: {dist: fixed, value: 100}
    output_tokens: {dist: fixed, value: 10}
)");
  REQUIRE_THAT(msg, Contains("replica of model \"m\" fits on no node: pool small: 60GB per GPU needed, L4 offers"));
}

TEST_CASE("a fits-on-no-node error points at the model's line", "[bad-input]") {
  // Bug: Loader::check_fit adds its Diagnostic with line 0 and column 0, so the message is
  // "test.yaml: models[0]: ..." with no location, unlike every other scenario error.
  std::string yaml = kMinimal;
  yaml.replace(yaml.find("kv_cache_per_token: 128KiB}"), 27, "kv_cache_per_token: 128KiB, gpus_per_replica: 16}");
  REQUIRE_THAT(errors_of(yaml), Contains("test.yaml:6:"));
}

// ------------------------------------------------------------------ several errors at once

TEST_CASE("every error in a file is reported, not just the first", "[bad-input]") {
  LoadResult r = load(R"(duration: 10
cluster:
  pools:
    - {name: a, nodes: 0, gpu: H100-80GB, gpus_per_node: 8, disk_cache: 80Gb}
models:
  - {name: m, parameters: 8e9, kv_cache_per_token: 128KiB}
workloads:
  - model: mm
    arrivals: {process: poisson, rate: 1/fortnight}
    input_tokens: {dist: fixed, value: 100}
    output_tokens: {dist: fixed, value: 10}
policies:
  router: {impl: least-outstandin}
extra: 1
)");
  REQUIRE_FALSE(r.scenario.has_value());
  const std::string msg = r.errors.to_string();
  INFO(msg);
  REQUIRE(r.errors.size() == 7);
  REQUIRE_THAT(msg, Contains("test.yaml:1:11: duration:"));
  REQUIRE_THAT(msg, Contains("test.yaml:4:"));
  REQUIRE_THAT(msg, Contains("cluster.pools[0].nodes: a pool needs nodes or max_nodes > 0"));
  REQUIRE_THAT(msg, Contains("cluster.pools[0].disk_cache: expected a size"));
  REQUIRE_THAT(msg, Contains("test.yaml:8:12: workloads[0].model: unknown model \"mm\""));
  REQUIRE_THAT(msg, Contains("test.yaml:9:"));
  REQUIRE_THAT(msg, Contains("workloads[0].arrivals.rate:"));
  REQUIRE_THAT(msg, Contains("test.yaml:13:"));
  REQUIRE_THAT(msg, Contains("did you mean least-outstanding?"));
  REQUIRE_THAT(msg, Contains("test.yaml:14:1: extra: unknown key"));
  // Each diagnostic carries its location as a value, too.
  for (const Diagnostic& d : r.errors.items()) {
    CHECK(d.file == "test.yaml");
    CHECK(d.line > 0);
    CHECK(d.column > 0);
    CHECK_FALSE(d.path.empty());
  }
}

// ------------------------------------------------------------------ --set overrides

TEST_CASE("override (--set) to a list index that does not exist", "[bad-input]") {
  const std::string msg = errors_of(kMinimal, sets({"models[3].name=x"}));
  REQUIRE_THAT(msg, Contains("--set: models[3].name: no list element 3 (the list has 1)"));
  REQUIRE_THAT(errors_of(kMinimal, sets({"workloads[9]=x"})), Contains("--set: workloads[9]: no list element 9"));
}

TEST_CASE("override (--set) without = is rejected", "[bad-input]") {
  REQUIRE_THAT(errors_of(kMinimal, sets({"duration"})), Contains("--set: duration: expected path.to.key=value"));
  REQUIRE_THAT(errors_of(kMinimal, sets({"=5"})), Contains("--set: =5: expected path.to.key=value"));
}

TEST_CASE("override (--set) whose value is not valid YAML", "[bad-input]") {
  REQUIRE_THAT(errors_of(kMinimal, sets({"models[0]=["})), Contains("--set: models[0]: value is not valid YAML"));
}

TEST_CASE("override (--set) key paths must be well formed", "[bad-input]") {
  using fleetsim::valid_key_path;
  CHECK(valid_key_path("duration"));
  CHECK(valid_key_path("models[0].name"));
  CHECK(valid_key_path("models.0.name"));
  CHECK(valid_key_path("a.b[2][3].c"));
  // "models[0.name" used to be read as models[0].name; these were all taken apart loosely.
  for (const char* bad : {"", "models[0.name", "models..name", "[0]", "models[]", "models[x]", "a.", ".a", "a]b", "models[-1]"}) {
    INFO(bad);
    CHECK_FALSE(valid_key_path(bad));
  }
  REQUIRE_THAT(errors_of(kMinimal, sets({"models[0.name=x"})), Contains("--set: models[0.name: expected a key path"));
}

TEST_CASE("YAML that is binary, nested too deeply or an alias bomb is refused before it is walked", "[bad-input]") {
  fleetsim::Diagnostics errors;
  CHECK_FALSE(fleetsim::parse_yaml(std::string("a: 1\nb: x\0y\n", 12), "f.yaml", errors).has_value());
  REQUIRE_THAT(errors.items().at(0).to_string(), Contains("f.yaml:2:5: not a text file: it contains a NUL byte"));

  errors = {};
  CHECK_FALSE(fleetsim::parse_yaml("a: " + std::string(3000, '[') + std::string(3000, ']'), "f.yaml", errors).has_value());
  REQUIRE_THAT(errors.items().at(0).message, Contains("nested too deeply"));

  // Seven levels of nine aliases: 4.8 million values once expanded, 70 as written.
  std::string bomb = "l0: &l0 [x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i <= 7; ++i) {
    bomb += "l" + std::to_string(i) + ": &l" + std::to_string(i) + " [";
    for (int k = 0; k < 9; ++k) bomb += (k ? ", *l" : "*l") + std::to_string(i - 1);
    bomb += "]\n";
  }
  errors = {};
  CHECK_FALSE(fleetsim::parse_yaml(bomb, "f.yaml", errors).has_value());
  REQUIRE_THAT(errors.items().at(0).message, Contains("once its aliases (*name) are expanded"));
  // Aliases as scenarios use them (a shared block or two) are fine.
  errors = {};
  CHECK(fleetsim::parse_yaml("a: &p {x: 1}\nb: *p\nc: [*p, *p]\n", "f.yaml", errors).has_value());
  CHECK(errors.empty());
}

TEST_CASE("override (--set) that introduces a bad value is reported", "[bad-input]") {
  REQUIRE_THAT(errors_of(kMinimal, sets({"cluster.pools[0].nodes=-1"})),
               Contains("cluster.pools[0].nodes: must be >= 0 (got -1)"));
  REQUIRE_THAT(errors_of(kMinimal, sets({"duration=10 parsecs"})),
               Contains("duration: expected a duration such as 10s, 500ms, 5min, 1h, got \"10 parsecs\""));
  REQUIRE_THAT(errors_of(kMinimal, sets({"policies.autoscaler.impl=kpaa"})),
               Contains("policies.autoscaler.impl: unknown autoscaler policy \"kpaa\", did you mean kpa?"));
  REQUIRE_THAT(errors_of(kMinimal, sets({"durration=1h"})),
               Contains("durration: unknown key, did you mean duration?"));
  // A good override still loads.
  Scenario sc = scenario_from(kMinimal, sets({"duration=10min", "cluster.pools[0].nodes=3"}));
  REQUIRE(sc.duration == 10 * kMinute);
  REQUIRE(sc.pools[0].nodes == 3);
}

TEST_CASE("an error in a --set value is not attributed to line 1 of the file", "[bad-input]") {
  // Bug: apply_override parses the value with YAML::Load, so its node's Mark is line 0, column 0
  // of the value string; MapReader then reports "test.yaml:1:1: cluster.pools[0].nodes: ...",
  // pointing at the first line of the scenario file, which has nothing to do with it.
  const std::string msg = errors_of(kMinimal, sets({"cluster.pools[0].nodes=-1"}));
  REQUIRE_THAT(msg, Contains("cluster.pools[0].nodes: must be >= 0 (got -1)"));
  REQUIRE_THAT(msg, !Contains("test.yaml:1:1:"));
}

TEST_CASE("override (--set) below a plain value is reported, not thrown", "[bad-input]") {
  // Bug: apply_override checks "inside a plain value" only for intermediate nodes; when the
  // leaf's parent is a scalar (nodes: 1), parent["x"] = ... throws YAML::BadSubscript out of
  // load_scenario_text (the CLI aborts with SIGABRT, exit 134).
  LoadResult r;
  REQUIRE_NOTHROW(r = load(kMinimal, sets({"cluster.pools[0].nodes.x=3"})));
  REQUIRE_FALSE(r.scenario.has_value());
  REQUIRE_THAT(r.errors.to_string(), Contains("--set: cluster.pools[0].nodes.x:"));
  REQUIRE_THAT(r.errors.to_string(), Contains("inside a plain value"));
}

TEST_CASE("override (--set) through a plain value in the middle of the path is reported", "[bad-input]") {
  const std::string msg = errors_of(kMinimal, sets({"duration.x.y=3"}));
  REQUIRE_THAT(msg, Contains("--set: duration.x.y: \"x\" is inside a plain value"));
}

// ------------------------------------------------------------------ traces

TEST_CASE("a missing trace file is reported where the scenario names it", "[bad-input][traces]") {
  const std::string missing = (std::filesystem::temp_directory_path() / "fleetsim_no_such_trace_file.csv").string();
  const std::string msg = errors_of(scenario_with_trace(missing));
  REQUIRE_THAT(msg, Contains("test.yaml:8:12: workloads[0].trace: trace file not found: " + missing));
}

TEST_CASE("a relative trace path resolves against the scenario's directory", "[bad-input][traces]") {
  const std::string msg = errors_of(scenario_with_trace("traces/nope.csv"));
  REQUIRE_THAT(msg, Contains("trace file not found: " + std::string(FLEETSIM_SOURCE_DIR) + "/traces/nope.csv"));
}

TEST_CASE("a trace workload takes no model key", "[bad-input][traces]") {
  TempDir dir("trace_model");
  const std::string file = dir.write("ok.csv", kHeader + "1,m,10,10\n");
  const std::string msg = errors_of(scenario_with_trace(file) + "    model: m\n");
  REQUIRE_THAT(msg, Contains("test.yaml:9:5: workloads[0].model: unknown key (expected one of: start, trace)"));
}

TEST_CASE("a well-formed trace passes the trace check", "[bad-input][traces]") {
  TempDir dir("trace_ok");
  std::string file;
  Diagnostics d = trace_errors(dir, kHeader + "0,m,10,10\n1.5,m,20,5\n1.5,m,1,1\n\n3,m,7,9\n", file);
  INFO(d.to_string());
  REQUIRE(d.empty());
}

TEST_CASE("trace CSV with a bad header", "[bad-input][traces]") {
  TempDir dir("trace_header");
  std::string file;
  Diagnostics d = trace_errors(dir, "time,model,in,out\n1,m,10,10\n", file);
  REQUIRE(d.size() == 1);
  const Diagnostic& e = d.items().front();
  REQUIRE(e.file == file);
  REQUIRE(e.line == 1);
  REQUIRE(e.path == "header");
  REQUIRE_THAT(e.message, Contains("expected the header \"timestamp,model,input_tokens,output_tokens\" (or with "
                                        "\",prefix_hashes\" after it), got \"time,model,in,out\""));
  REQUIRE_THAT(d.to_string(), Contains(file + ":1:1: header:"));
}

TEST_CASE("an empty trace CSV", "[bad-input][traces]") {
  TempDir dir("trace_empty");
  std::string file;
  Diagnostics d = trace_errors(dir, "", file);
  REQUIRE(d.size() == 1);
  REQUIRE(d.items().front().file == file);
  REQUIRE(d.items().front().line == 1);
  REQUIRE_THAT(d.items().front().message, Contains("the trace file is empty"));
}

TEST_CASE("trace CSV row with the wrong number of fields", "[bad-input][traces]") {
  TempDir dir("trace_fields");
  std::string file;
  Diagnostics d = trace_errors(dir, kHeader + "1,m,10,10\n2,m,10\n", file);
  REQUIRE(d.size() == 1);
  const Diagnostic& e = d.items().front();
  REQUIRE(e.file == file);
  REQUIRE(e.line == 3);
  REQUIRE_THAT(e.message, Contains("expected 4 fields (timestamp,model,input_tokens,output_tokens), got 3"));
  REQUIRE_THAT(d.to_string(), Contains(file + ":3:"));

  d = trace_errors(dir, kHeader + "1,m,10,10,extra\n", file);
  REQUIRE(d.size() == 1);
  REQUIRE(d.items().front().line == 2);
  REQUIRE_THAT(d.items().front().message, Contains("got 5"));
}

TEST_CASE("trace CSV row with a negative timestamp", "[bad-input][traces]") {
  TempDir dir("trace_negative");
  std::string file;
  Diagnostics d = trace_errors(dir, kHeader + "1,m,10,10\n-3,m,10,10\n", file);
  REQUIRE(d.size() == 1);
  const Diagnostic& e = d.items().front();
  REQUIRE(e.file == file);
  REQUIRE(e.line == 3);
  REQUIRE(e.column == 1);
  REQUIRE(e.path == "timestamp");
  REQUIRE_THAT(d.to_string(), Contains(file + ":3:1: timestamp: expected seconds from 0 to 3.15e9 (100 years), got \"-3\""));
}

TEST_CASE("trace CSV row with a non-numeric timestamp", "[bad-input][traces]") {
  TempDir dir("trace_nan");
  std::string file;
  Diagnostics d = trace_errors(dir, kHeader + "1,m,10,10\n2s,m,10,10\n", file);
  REQUIRE(d.size() == 1);
  REQUIRE(d.items().front().line == 3);
  REQUIRE(d.items().front().path == "timestamp");
  REQUIRE_THAT(d.items().front().message, Contains("got \"2s\""));
}

TEST_CASE("trace CSV with decreasing timestamps", "[bad-input][traces]") {
  TempDir dir("trace_decreasing");
  std::string file;
  Diagnostics d = trace_errors(dir, kHeader + "1,m,10,10\n5,m,10,10\n4,m,10,10\n", file);
  REQUIRE(d.size() == 1);
  const Diagnostic& e = d.items().front();
  REQUIRE(e.file == file);
  REQUIRE(e.line == 4);
  REQUIRE(e.path == "timestamp");
  REQUIRE_THAT(e.message, Contains("timestamps must not decrease (\"4\" comes after a later one)"));
}

TEST_CASE("trace CSV row naming a model not in the scenario", "[bad-input][traces]") {
  TempDir dir("trace_model_name");
  std::string file;
  Diagnostics d = trace_errors(dir, kHeader + "1,m,10,10\n2,zz,10,10\n", file);
  REQUIRE(d.size() == 1);
  const Diagnostic& e = d.items().front();
  REQUIRE(e.file == file);
  REQUIRE(e.line == 3);
  REQUIRE(e.column == 3);
  REQUIRE(e.path == "model");
  REQUIRE_THAT(e.message, Contains("unknown model \"zz\" (not in the scenario)"));
}

TEST_CASE("trace CSV row with zero or non-integer tokens", "[bad-input][traces]") {
  TempDir dir("trace_tokens");
  std::string file;
  Diagnostics d = trace_errors(dir, kHeader + "1,m,10,10\n2,m,10,0\n", file);
  REQUIRE(d.size() == 1);
  REQUIRE(d.items().front().file == file);
  REQUIRE(d.items().front().line == 3);
  REQUIRE(d.items().front().column == 8);
  REQUIRE(d.items().front().path == "output_tokens");
  REQUIRE_THAT(d.to_string(), Contains(file + ":3:8: output_tokens: expected an integer >= 1, got \"0\""));

  d = trace_errors(dir, kHeader + "1,m,0,10\n", file);
  REQUIRE(d.size() == 1);
  REQUIRE(d.items().front().line == 2);
  REQUIRE(d.items().front().path == "input_tokens");

  d = trace_errors(dir, kHeader + "1,m,2.5,10\n", file);
  REQUIRE(d.size() == 1);
  REQUIRE(d.items().front().path == "input_tokens");
  REQUIRE_THAT(d.items().front().message, Contains("got \"2.5\""));
}

TEST_CASE("every bad trace file is reported", "[bad-input][traces]") {
  TempDir dir("trace_two");
  const std::string a = dir.write("a.csv", kHeader + "1,m,10,0\n");
  const std::string b = dir.write("b.csv", kHeader + "-1,m,10,10\n");
  Scenario sc = scenario_from(scenario_with_trace(a) + "  - trace: " + b + "\n");
  Diagnostics d = check_traces(sc);
  INFO(d.to_string());
  REQUIRE(d.size() == 2);
  REQUIRE_THAT(d.to_string(), Contains(a + ":2:8: output_tokens:"));
  REQUIRE_THAT(d.to_string(), Contains(b + ":2:1: timestamp:"));
}

TEST_CASE("inputs that used to crash the loader or wrap the clock are errors", "[bad-input]") {
  const std::string base =
      "duration: 1h\ncluster: {pools: [{name: a, nodes: 1, gpu: H100-80GB}]}\n"
      "models: [{name: m, parameters: 8e9, kv_cache_per_token: 128KiB, autoscaler: {target_concurrency: 8}}]\n"
      "workloads: [{model: m, arrivals: {process: poisson, rate: 1/s},"
      " input_tokens: {dist: fixed, value: 1}, output_tokens: {dist: fixed, value: 1}}]\n";
  // An invalid global autoscaler parameter that a model's override inherits.
  REQUIRE_THAT(errors_of(base + "policies: {autoscaler: {impl: kpa, tick_interval: 500us}}\n"),
               Contains("policies.autoscaler.tick_interval: must be between"));
  // A list where a model list is expected.
  REQUIRE_THAT(errors_of(base, sets({"policies.cache={impl: pinned, models: [m]}"})),
               Contains("policies.cache.models: expected a single value"));
  // Durations whose sums would overflow the clock; rates too small to ever fire.
  REQUIRE_THAT(errors_of(base, sets({"duration=9000000000s"})), Contains("duration: must be at most 100 years"));
  REQUIRE_THAT(errors_of(base, sets({"workloads[0].arrivals.rate=0.000000001/d"})),
               Contains("a rate below one request per 30 years"));
}

// ------------------------------------------------------------------ job traces (jobs:)

TEST_CASE("a bad generic-csv unit under jobs.columns is reported at its key", "[bad-input][jobs]") {
  TempDir dir("jobs_unit");
  const std::string file = dir.write("jobs.csv", "id,submit_s,duration_s,gpus,workers,tenant,priority,mem\n"
                                                 "a,0,10,1,1,t,0,4\n");
  // "jobs:" is line 12, below kMinimal's 11.
  const std::string yaml = kMinimal + "jobs:\n"
                                      "  trace: " + file + "\n"
                                      "  columns:\n"
                                      "    memory: mem\n"
                                      "    memory_unit: parsecs\n"
                                      "    duration_unit: fortnights\n";
  REQUIRE(line_count(kMinimal) == 11);
  const std::string msg = errors_of(yaml);
  REQUIRE_THAT(msg, Contains("test.yaml:16:18: jobs.columns.memory_unit: expected B, KB, MB, GB, TB, KiB, MiB, "
                             "GiB or TiB (got \"parsecs\")"));
  REQUIRE_THAT(msg, Contains("test.yaml:17:20: jobs.columns.duration_unit: expected s, ms, us, ns, min or h "
                             "(got \"fortnights\")"));
  // The same through --set, and a two-character delimiter.
  const std::string plain = kMinimal + "jobs: {trace: " + file + "}\n";
  REQUIRE_THAT(errors_of(plain, sets({"jobs.columns.memory_unit=parsecs"})),
               Contains("--set: jobs.columns.memory_unit: expected B, KB"));
  REQUIRE_THAT(errors_of(plain, sets({"jobs.columns.delimiter=;;"})),
               Contains("jobs.columns.delimiter: expected one character (or \"tab\"), got \";;\""));
}

TEST_CASE("every generic-csv column and unit under jobs.columns reaches the job specs", "[bad-input][jobs]") {
  TempDir dir("jobs_columns");
  const std::string file = dir.write("jobs.csv", "id;t_ms;dur_min;milli;cores;mem;gmem;types\n"
                                                 "a;0;2;250;4;8;20;H100-80GB\n"
                                                 "b;1500;1;0;0.5;1;0;\n");
  const std::string yaml = kMinimal + "jobs:\n"
                                      "  trace: " + file + "\n"
                                      "  columns: {submit: t_ms, submit_unit: ms, duration: dur_min, duration_unit: min,\n"
                                      "            reference_gpu_type: H100-80GB, gpus: \"\", workers: \"\", tenant: \"\",\n"
                                      "            priority: \"\", milli_gpu: milli, cpu: cores, memory: mem,\n"
                                      "            gpu_memory: gmem, memory_unit: GiB, gpu_type: types, delimiter: \";\"}\n";
  const Scenario sc = scenario_from(yaml);
  REQUIRE(sc.jobs.milli_gpu_column == "milli");
  REQUIRE(sc.jobs.cpu_column == "cores");
  REQUIRE(sc.jobs.gpu_fraction_column.empty());
  REQUIRE(sc.jobs.memory_unit == "GiB");
  SimulationSetup setup = build_setup(sc, registry());
  REQUIRE(setup.job_source);
  Diagnostics errors;
  std::vector<JobSpec> jobs;
  for (JobSpec j; setup.job_source->next(j, errors);) jobs.push_back(j);
  INFO(errors.to_string());
  REQUIRE(errors.empty());
  REQUIRE(jobs.size() == 2);
  const double gib = 1024.0 * 1024 * 1024;
  REQUIRE(jobs[0].id == "a");
  REQUIRE(jobs[0].duration == 120 * kSecond);
  REQUIRE(jobs[0].reference_gpu_type == "H100-80GB");
  REQUIRE(jobs[0].worker.gpus == 0);
  REQUIRE(jobs[0].worker.milli_gpu == 250);
  REQUIRE(jobs[0].worker.cpu == 4);
  REQUIRE(jobs[0].worker.memory_bytes == 8 * gib);
  REQUIRE(jobs[0].worker.gpu_memory_bytes == 20 * gib);
  REQUIRE(jobs[0].gpu_types == std::vector<std::string>{"H100-80GB"});
  REQUIRE(jobs[1].submit == from_seconds(1.5));
  REQUIRE(jobs[1].worker.milli_gpu == 0);
  REQUIRE(jobs[1].worker.cpu == 0.5);
  REQUIRE(jobs[1].gpu_types.empty());

  // The scenario's defaults are GenericJobColumns's: the new columns are not in the file.
  const GenericJobColumns defaults;
  const GenericJobColumns c = job_trace_options(JobsSpec{}).columns;
  REQUIRE(c.submit_unit == defaults.submit_unit);
  REQUIRE(c.duration_unit == defaults.duration_unit);
  REQUIRE(c.memory_unit == defaults.memory_unit);
  REQUIRE(c.delimiter == defaults.delimiter);
  REQUIRE(c.reference_gpu_type.empty());
  REQUIRE((c.milli_gpu + c.gpu_fraction + c.cpu + c.memory + c.gpu_memory + c.gpu_type).empty());
}

TEST_CASE("a scenario name that would leave out/ is rejected at its line", "[bad-input]") {
  // Bug (issue 10): `name` is the default output folder out/<name>; "../../../victim" wrote
  // outside out/.
  for (const std::string& name : {std::string("\"../../../victim\""), std::string("a/b"), std::string("'a\\b'"),
                                  std::string("\"..\""), std::string("\"x\\ty\""), std::string("\"\"")}) {
    INFO(name);
    REQUIRE_THAT(errors_of("name: " + name + "\n" + kMinimal), Contains("test.yaml:1:7: name: must not"));
  }
  REQUIRE_THAT(errors_of(kMinimal, sets({"name=../x"})), Contains("name: must not"));
  REQUIRE(scenario_from("name: my-run_2.v1\n" + kMinimal).name == "my-run_2.v1");
}

TEST_CASE("trace diagnostics cut long values and show invisible bytes", "[bad-input][traces]") {
  // Bug (issue 10): a 10 MB field made a 10 MB error line, and a BOM or NUL in a value was
  // invisible in the message.
  TempDir dir("trace_hostile");
  std::string file;
  Diagnostics d = trace_errors(dir, kHeader + "1," + std::string(10'000'000, 'x') + ",10,10\n", file);
  REQUIRE(d.size() == 1);
  REQUIRE(d.to_string().size() < 300);
  REQUIRE_THAT(d.to_string(), Contains("unknown model \"" + std::string(60, 'x') + "...\" (10000000 bytes)"));
  d = trace_errors(dir, kHeader + "1,\xEF\xBB\xBFm,10,10\n", file);
  REQUIRE_THAT(d.to_string(), Contains("unknown model \"\\xEF\\xBB\\xBFm\""));
  // Before the header a byte order mark is skipped, as the other readers do (it was refused).
  d = trace_errors(dir, "\xEF\xBB\xBF" + kHeader + "1,m,10,10\n", file);
  INFO(d.to_string());
  REQUIRE(d.empty());
  d = trace_errors(dir, kHeader + "1,m" + std::string(1, '\0') + "\x01,10,10\n", file);
  REQUIRE_THAT(d.to_string(), Contains("unknown model \"m\\x00\\x01\""));
}

TEST_CASE("the native trace refuses quoted fields, saying quoting is unsupported", "[bad-input][traces]") {
  TempDir dir("trace_quoted");
  std::string file;
  Diagnostics d = trace_errors(dir, kHeader + "1,\"m\",10,10\n", file);
  REQUIRE(d.size() == 1);
  REQUIRE_THAT(d.to_string(), Contains(file + ":2:3: model: quoted fields are not supported in the native trace"));
}
