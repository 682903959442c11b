// Policies written in Python (policies/python/): loaded from a .py file through the same loader
// and registry as C++ plugins, making the same decisions as the built-ins they mirror
// (tests/plugins/python/families.py), refused with Python's message when the script is bad, and
// stopping the run (exit 1) when a decision raises or breaks the contract. Built only when the
// Python policy host is (pybind11 found).
#include <catch2/catch.hpp>

#include <filesystem>
#include <regex>

#include <nlohmann/json.hpp>

#include "policies/plugins.hpp"
#include "tests/support.hpp"

using namespace fleetsim;
using namespace fleetsim::test;
using Catch::Contains;

namespace {

std::string script(const std::string& name) {
  return std::string(FLEETSIM_SOURCE_DIR) + "/tests/plugins/python/" + name + ".py";
}
const std::string kFamilies = script("families");

// result.json without the lines that name the policies, nor the count of events the engine
// handled: the only places two runs with equivalent policies may differ (a prefill step's end is
// an event of its own where a router keeps a tokens index, as the built-in least-tokens does and
// its Python mirror, reading candidates, does not; README "Time and events").
std::string result_without_policy_names(const std::string& dir) {
  static const std::regex impl(R"re(\s*"impl": "[^"]*",?\n)re");
  static const std::regex events(R"re(\s*"events": [0-9]+,?\n)re");
  return std::regex_replace(std::regex_replace(read_file(dir + "/result.json"), impl, "\n"), events, "\n");
}

CliRun run_ok(const std::string& args) {
  const CliRun r = run_fleetsim(args);
  INFO(args << "\n" << r.err);
  REQUIRE(r.code == 0);
  return r;
}

}  // namespace

TEST_CASE("a Python script's policies join the registry with their parameters", "[python][plugins]") {
  PolicyRegistry registry = builtin_policies();
  REQUIRE(load_plugin(registry, kFamilies) == "");
  REQUIRE(load_plugin(registry, kFamilies) == "");  // twice: once
  for (auto [family, name] : {std::pair{PolicyFamily::Placement, "py-best-fit"}, {PolicyFamily::Autoscaler, "py-fixed"},
                              {PolicyFamily::Router, "py-round-robin"}, {PolicyFamily::Cache, "py-lru"},
                              {PolicyFamily::Queue, "py-fifo"}, {PolicyFamily::Batching, "py-fcfs"}}) {
    const PolicyInfo* info = registry.find(family, name);
    REQUIRE(info != nullptr);
    CHECK(info->origin == kFamilies);
  }
  const PolicyInfo* fixed = registry.find(PolicyFamily::Autoscaler, "py-fixed");
  REQUIRE(fixed->params.size() == 2);
  CHECK(fixed->params[0].name == "replicas");
  CHECK(fixed->params[0].type == ParamType::Integer);
  CHECK(fixed->params[0].default_value == "1");
  CHECK(fixed->params[0].max == 1e6);
  CHECK(fixed->params[1].type == ParamType::Duration);
  CHECK(fixed->params[1].default_value == "10s");
  // Made like a built-in, with its parameters: a fixed count, whatever the load.
  ParamValues three;
  three.set_number("replicas", 3);
  auto scaler = registry.make_autoscaler(PolicyChoice{"py-fixed", three});
  REQUIRE(scaler->name() == "py-fixed");
  ScalingView view;
  view.in_flight = 50;
  CHECK(scaler->evaluate(view).desired == 3);
  // A Python router over the engine's candidates: round-robin per model.
  auto router = registry.make_router(PolicyChoice{"py-round-robin", {}});
  const std::vector<RouteCandidate> candidates(3);
  RouteRequest a, b;
  b.model = 1;
  CHECK(router->route(candidates, a) == 0);
  CHECK(router->route(candidates, a) == 1);
  CHECK(router->route(candidates, b) == 0);
  CHECK(router->route(candidates, a) == 2);
  // RouteCandidate's outstanding_tokens (SDK 1.1) reaches Python.
  std::vector<RouteCandidate> loaded = {{0, 1, 1, false, 300}, {1, 4, 4, false, 12.5}, {2, 0, 0, false, 40}};
  CHECK(registry.make_router(PolicyChoice{"py-least-tokens", {}})->route(loaded, a) == 1);
}

TEST_CASE("a Python policy of each family decides as the built-in it mirrors", "[python][plugins][cli]") {
  TempDir dir("python-same");
  const std::string load = " --plugin " + shell_quote(kFamilies) + " -q --set duration=30min";
  // The keep-alive study's cluster evicts from its node caches within the half hour.
  const std::string scenario = std::string(FLEETSIM_SOURCE_DIR) + "/scenarios/keepalive-study.yaml";
  struct Pair {
    std::string family, builtin, python;
  };
  for (const Pair& p : {Pair{"placement", "best-fit", "py-best-fit"}, Pair{"router", "round-robin", "py-round-robin"},
                        Pair{"router", "least-tokens", "py-least-tokens"}, Pair{"cache", "lru", "py-lru"},
                        Pair{"batching", "fcfs", "py-fcfs"}}) {
    DYNAMIC_SECTION(p.family << " " << p.builtin) {
      for (const std::string& impl : {p.builtin, p.python})
        run_ok("run " + shell_quote(scenario) + load + " --set policies." + p.family + ".impl=" + impl + " --out " +
               shell_quote(dir.path(impl)));
      if (p.family == "cache") CHECK_THAT(read_file(dir.path("lru/result.json")), !Contains("\"evictions\": 0"));
      CHECK(result_without_policy_names(dir.path(p.builtin)) == result_without_policy_names(dir.path(p.python)));
    }
  }
  SECTION("autoscaler") {
    const std::string fixed = std::string(FLEETSIM_SOURCE_DIR) + "/scenarios/fixed-pool.yaml";
    run_ok("run " + shell_quote(fixed) + " -q --out " + shell_quote(dir.path("fixed")));
    const std::string yaml = read_file(fixed);
    const std::string python = dir.write("py-fixed.yaml", std::regex_replace(yaml, std::regex("impl: fixed\\b"), "impl: py-fixed"));
    REQUIRE(python != yaml);
    run_ok("run " + shell_quote(python) + " --plugin " + shell_quote(kFamilies) + " -q --out " + shell_quote(dir.path("py-fixed")));
    CHECK(result_without_policy_names(dir.path("fixed")) == result_without_policy_names(dir.path("py-fixed")));
  }
  SECTION("queue") {
    const std::string runtimes = dir.write("runtimes.csv", "runtime\n600\n1800\n3600\n7200\n20000\n");
    const std::string base = "jobs --synthetic 200 --arrival-rate 30/h --cluster v100:4x4 --runtimes " + shell_quote(runtimes) +
                             " --plugin " + shell_quote(kFamilies);
    run_ok(base + " --policy fifo --out " + shell_quote(dir.path("fifo")));
    run_ok(base + " --policy py-fifo --out " + shell_quote(dir.path("py-fifo")));
    CHECK(read_file(dir.path("fifo/jobs.csv")) == read_file(dir.path("py-fifo/jobs.csv")));
  }
}

TEST_CASE("the Python example makes the C++ example's decisions", "[python][plugins][examples]") {
  TempDir dir("python-example");
  const std::string scenario = std::string(FLEETSIM_SOURCE_DIR) + "/scenarios/tensor-parallel.yaml";
  const std::string cpp = test_plugin("headroom_packer");
  const std::string py = std::string(FLEETSIM_SOURCE_DIR) + "/policies/examples/python/headroom_packer.py";
  for (int reserve : {0, 2}) {
    const std::string r = " --set policies.placement.reserve_gpus=" + std::to_string(reserve) + " -q";
    run_ok("run " + shell_quote(scenario) + " --plugin " + shell_quote(cpp) +
           " --set policies.placement.impl=headroom-packer" + r + " --out " + shell_quote(dir.path("cpp")));
    run_ok("run " + shell_quote(scenario) + " --plugin " + shell_quote(py) +
           " --set policies.placement.impl=py-headroom-packer" + r + " --out " + shell_quote(dir.path("py")));
    CHECK(result_without_policy_names(dir.path("cpp")) == result_without_policy_names(dir.path("py")));
  }
}

TEST_CASE("bad Python scripts are refused with Python's message, and nothing runs", "[python][plugins][cli]") {
  TempDir dir("python-bad");
  struct Case {
    std::string script, message;
  };
  const std::vector<Case> cases = {
      {script("syntax_error"), "its registration threw: Python raised SyntaxError: '(' was never closed"},
      {script("registers_nothing"), "registers no policy"},
      {script("unknown_family"), "family \"scheduler\" is not one of placement, autoscaler"},
      {script("name_taken"), "registers placement policy \"best-fit\", a name already taken (built-in)"},
      {script("no_method"), "NoRoute has no route() method, which a router policy needs"},
      {dir.path("missing.py"), "file not found"},
  };
  for (const Case& c : cases) {
    DYNAMIC_SECTION(c.message) {
      PolicyRegistry registry = builtin_policies();
      const std::size_t before = registry.all().size();
      CHECK_THAT(load_plugin(registry, c.script), Contains(c.message));
      CHECK(registry.all().size() == before);
      const CliRun r = run_fleetsim("run --plugin " + shell_quote(c.script) + " -q --out " + shell_quote(dir.path("out")));
      CHECK(r.code == 2);
      CHECK_THAT(r.err, Contains(c.message));
      CHECK_FALSE(std::filesystem::exists(dir.path("out/result.json")));
    }
  }
}

TEST_CASE("a Python decision that raises or breaks the contract stops the run with exit 1", "[python][plugins][cli]") {
  TempDir dir("python-misbehaving");
  const std::string load = " --plugin " + shell_quote(script("misbehaving")) + " -q --set duration=5min --out " +
                           shell_quote(dir.path("out"));
  struct Case {
    std::string set, message;
  };
  const std::vector<Case> cases = {
      {"policies.router.impl=py-raises", "route() raised RuntimeError: the Python router gave up"},
      {"policies.router.impl=py-out-of-range", "router policy 'py-out-of-range' returned index 1 for 1 candidates"},
      {"policies.router.impl=py-init-raises", "router policy 'py-init-raises' could not be made"},
      {"policies.autoscaler={impl: py-wrong-type}", "Python policy py-wrong-type: evaluate()"},
  };
  const std::string scenario = dir.write(
      "one-replica.yaml",
      "name: python-misbehaving\nduration: 5min\nseed: 3\n"
      "cluster: {pools: [{name: a, nodes: 1, gpu: H100-80GB, gpus_per_node: 4}]}\n"
      "policies: {autoscaler: {impl: fixed, replicas: 1}}\n"
      "models: [{name: m, parameters: 8e9, kv_cache_per_token: 128KiB}]\n"
      "workloads: [{model: m, arrivals: {process: poisson, rate: 5/s},"
      " input_tokens: {dist: fixed, value: 100}, output_tokens: {dist: fixed, value: 20}}]\n");
  for (const Case& c : cases) {
    DYNAMIC_SECTION(c.message) {
      const std::string& yaml = scenario;
      const CliRun r = run_fleetsim("run " + shell_quote(yaml) + " --set " + shell_quote(c.set) + load);
      CHECK(r.code == 1);
      CHECK_THAT(r.err, Contains(c.message));
      CHECK_FALSE(std::filesystem::exists(dir.path("out/result.json")));
    }
  }
}

TEST_CASE("Python policies are deterministic, load from plugins:, run in sweeps and pass check-policy",
          "[python][plugins][cli]") {
  TempDir dir("python-run");
  const std::string scenario = std::string(FLEETSIM_SOURCE_DIR) + "/scenarios/tensor-parallel.yaml";
  // A router that draws from its own stream: two runs, the same bytes.
  const std::string random = " --plugin " + shell_quote(script("misbehaving")) + " --set policies.router.impl=py-random -q";
  run_ok("run " + shell_quote(scenario) + random + " --out " + shell_quote(dir.path("a")));
  run_ok("run " + shell_quote(scenario) + random + " --out " + shell_quote(dir.path("b")));
  CHECK(read_file(dir.path("a/result.json")) == read_file(dir.path("b/result.json")));
  // plugins: [families.py] in the scenario, relative to it; and a sweep over it on two threads
  // comparing the Python router with the built-in.
  std::filesystem::copy_file(kFamilies, dir.path("families.py"));
  dir.write("base.yaml", read_file(scenario) + "\nplugins: [families.py]\n");
  run_ok("validate " + shell_quote(dir.path("base.yaml")) + " --set policies.router.impl=py-round-robin");
  dir.write("sweep.yaml",
            "name: py\nbase: base.yaml\nset: {duration: 20min}\n"
            "grid:\n  policies.router.impl: [round-robin, py-round-robin]\nseeds: [1, 2]\n"
            "metrics: [overall.requests, overall.ttft_s.p99]\n");
  run_ok("sweep " + shell_quote(dir.path("sweep.yaml")) + " -j 2 -q --out " + shell_quote(dir.path("sweep")));
  const std::string merged = read_file(dir.path("sweep/merged.csv"));
  CHECK(std::count(merged.begin(), merged.end(), '\n') == 5);  // header + 2 policies x 2 seeds
  // The same conformance checks as a C++ plugin's.
  const CliRun checked = run_ok("check-policy " + shell_quote(kFamilies) + " --policy py-best-fit --quick");
  CHECK_THAT(checked.out, Contains("all 1 policy passed"));
}

TEST_CASE("real mode runs a plugin's batching policy in its workers", "[python][plugins][real][cli]") {
  // The workers batch, so they make the batching policy: each loads the controller's plugins.
  // Without them a worker refuses the load ("no batching policy") and the run stops (exit 1).
  // (Which decisions the run makes is timing's business here: under a sanitizer the workers are
  // slow enough to change an autoscaler's decision, so the sequence is not compared.)
  TempDir dir("python-real");
  const std::string smoke = std::string(FLEETSIM_SOURCE_DIR) + "/scenarios/real/smoke.yaml";
  run_ok("real " + shell_quote(smoke) + " --plugin " + shell_quote(kFamilies) +
         " --set policies.batching.impl=py-fcfs --set duration=12s -q --speedup 2 --out " + shell_quote(dir.path("real")));
  const auto result = nlohmann::json::parse(read_file(dir.path("real/result.json")));
  CHECK(result["run"]["partial"] == false);
  CHECK(result["overall"]["completed"] == result["overall"]["requests"]);
  CHECK(result["overall"]["requests"].get<int>() > 5);
  CHECK(result["real"]["steps"]["prefill"].get<int>() > 0);
}
