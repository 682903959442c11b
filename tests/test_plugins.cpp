// Policy plugins: the SDK boundary (policies/api/plugin.hpp) and the loader (policies/plugins.hpp),
// with the example plugin and test plugins built beside the tests (tests/CMakeLists.txt).
#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "policies/api/plugin.hpp"
#include "policies/plugins.hpp"
#include "sim/cluster_state.hpp"
#include "tests/support.hpp"

using namespace fleetsim;
using namespace fleetsim::test;
using Catch::Contains;

namespace {

const char* kScenario =
    "name: plugin-test\nduration: 5min\nseed: 3\n"
    "cluster: {pools: [{name: a, nodes: 2, gpu: H100-80GB, gpus_per_node: 4}]}\n"
    "policies: {autoscaler: {impl: fixed, replicas: 3}}\n"
    "models: [{name: m, parameters: 8e9, kv_cache_per_token: 128KiB}]\n"
    "workloads: [{model: m, arrivals: {process: poisson, rate: 5/s},"
    " input_tokens: {dist: fixed, value: 100}, output_tokens: {dist: fixed, value: 20}}]\n";

}  // namespace

TEST_CASE("a plugin's policies join the registry and are made like built-ins", "[plugins]") {
  PolicyRegistry registry = builtin_policies();
  REQUIRE(load_plugin(registry, test_plugin("headroom_packer")) == "");
  REQUIRE(load_plugin(registry, test_plugin("headroom_packer")) == "");  // twice: once
  const PolicyInfo* info = registry.find(PolicyFamily::Placement, "headroom-packer");
  REQUIRE(info != nullptr);
  REQUIRE(info->origin == test_plugin("headroom_packer"));
  REQUIRE(registry.plugins().size() == 1);
  // Two 4-GPU nodes, node 0 with 2 GPUs taken. A 1-GPU replica: best-fit packs node 0 (1 left);
  // with reserve_gpus 2 that would leave too little, so node 1 (3 left); reserve 1 packs node 0.
  ClusterState cluster({GpuType{"h", 80e9}});
  cluster.add_node(0, 0, 4);
  cluster.add_node(0, 0, 4);
  PlacementRequest two;
  two.gpus = 2;
  cluster.reserve(cluster.allocation_for(two, Placement{0, {0, 1}}));
  PlacementRequest one;
  one.gpus = 1;
  ParamValues reserve2;
  reserve2.set_number("reserve_gpus", 2);
  auto keeps_two = registry.make_placement(PolicyChoice{"headroom-packer", reserve2});
  REQUIRE(keeps_two->name() == "headroom-packer");
  const PlacementAnswer a = keeps_two->place(one, cluster.view(0));
  REQUIRE(a);
  CHECK(a->node == 1);
  auto keeps_one = registry.make_placement(PolicyChoice{"headroom-packer", {}});  // default 1
  const PlacementAnswer b = keeps_one->place(one, cluster.view(0));
  REQUIRE(b);
  CHECK(b->node == 0);
  CHECK(b->gpus == std::vector<int>{2});
}

TEST_CASE("fleetsim loads plugins from --plugin and from a scenario's plugins: list", "[plugins][cli]") {
  const CliRun listed = run_fleetsim("policies --plugin " + shell_quote(test_plugin("headroom_packer")));
  REQUIRE(listed.code == 0);
  CHECK_THAT(listed.out, Contains("headroom-packer — best-fit that keeps reserve_gpus free") &&
                             Contains("[plugin ") && Contains("reserve_gpus (integer, default 1)"));
  TempDir dir("plugin-run");
  // By --plugin, selected by name, its parameter validated like a built-in's.
  const std::string scenario = dir.write("s.yaml", std::string(kScenario) + "");
  const std::string with = " --set policies.placement.impl=headroom-packer -q --out " + shell_quote(dir.path("out"));
  const CliRun ran = run_fleetsim("run " + shell_quote(scenario) + " --plugin " + shell_quote(test_plugin("headroom_packer")) + with);
  INFO(ran.err);
  REQUIRE(ran.code == 0);
  CHECK_THAT(read_file(dir.path("out/result.json")), Contains("\"headroom-packer\""));
  const CliRun range = run_fleetsim("validate " + shell_quote(scenario) + " --plugin " + shell_quote(test_plugin("headroom_packer")) +
                                 " --set policies.placement='{impl: headroom-packer, reserve_gpus: 99}'");
  CHECK(range.code == 2);
  CHECK_THAT(range.err, Contains("reserve_gpus"));
  // Without the plugin the name is unknown.
  const CliRun unknown = run_fleetsim("validate " + shell_quote(scenario) + " --set policies.placement.impl=headroom-packer");
  CHECK(unknown.code == 2);
  CHECK_THAT(unknown.err, Contains("headroom-packer"));
  // By the scenario's plugins: list, relative to the scenario file.
  std::filesystem::copy_file(test_plugin("headroom_packer"), dir.path("libpacker.so"));
  const std::string listing = dir.write(
      "listed.yaml", std::string(kScenario) + "plugins: [libpacker.so]\n");
  const CliRun by_file = run_fleetsim("validate " + shell_quote(listing) + " --set policies.placement.impl=headroom-packer");
  INFO(by_file.err);
  CHECK(by_file.code == 0);
}

TEST_CASE("bad plugins are refused with a message, and nothing runs", "[plugins][cli]") {
  TempDir dir("plugin-bad");
  const std::string text = dir.write("libtext.so", "not a shared library\n");
  const std::string minor = std::to_string(FLEETSIM_SDK_VERSION_MINOR);  // the test plugin keeps ours
  struct Case {
    std::string path, message;
  };
  const std::vector<Case> cases = {
      {dir.path("missing.so"), "file not found"},
      {text, "cannot be loaded as a shared library"},
      {test_plugin("test_no_symbol"), "not a fleetsim plugin: it has no fleetsim_plugin_abi symbol"},
      {test_plugin("test_other_major"), "built against another major version of the SDK (plugin: SDK 99." + minor +
                                            ", fleetsim: SDK " + std::to_string(FLEETSIM_SDK_VERSION_MAJOR) + "." + minor + ")"},
      {test_plugin("test_duplicate"), "registers placement policy \"best-fit\", a name already taken (built-in)"},
      {test_plugin("test_throws"), "its registration threw: cannot find my configuration"},
  };
  for (const Case& c : cases) {
    DYNAMIC_SECTION(c.message) {
      PolicyRegistry registry = builtin_policies();
      const std::size_t before = registry.all().size();
      CHECK_THAT(load_plugin(registry, c.path), Contains(c.message));
      CHECK(registry.all().size() == before);
      const CliRun r = run_fleetsim("run --plugin " + shell_quote(c.path) + " -q --out " + shell_quote(dir.path("out")));
      CHECK(r.code == 2);
      CHECK_THAT(r.err, Contains(c.message));
      CHECK_FALSE(std::filesystem::exists(dir.path("out/result.json")));
    }
  }
}

TEST_CASE("a plugin's decision that breaks the contract or throws stops the run with exit 1", "[plugins][cli]") {
  TempDir dir("plugin-contract");
  const std::string scenario = dir.write("s.yaml", kScenario);
  const std::string load = " --plugin " + shell_quote(test_plugin("test_behaving")) + " -q --out " + shell_quote(dir.path("out"));
  const CliRun overcommit = run_fleetsim("run " + shell_quote(scenario) + " --set policies.placement.impl=test-overcommit" + load);
  CHECK(overcommit.code == 1);
  CHECK_THAT(overcommit.err, Contains("placement policy 'test-overcommit'") && Contains("over-committed GPU 0"));
  const CliRun threw = run_fleetsim("run " + shell_quote(scenario) + " --set policies.router.impl=test-throwing-router" + load);
  CHECK(threw.code == 1);
  CHECK_THAT(threw.err, Contains("a policy threw an exception: the plugin's router gave up"));
  CHECK_FALSE(std::filesystem::exists(dir.path("out/result.json")));
}

TEST_CASE("the SDK installs, and the example plugin builds out of tree against it and loads", "[plugins][sdk]") {
  // cmake --install into a prefix; the example's own ten-line CMakeLists.txt finds fleetsim::sdk
  // there (find_package), builds the plugin, and the loader accepts it.
  TempDir dir("plugin-sdk");
  const std::string prefix = dir.path("prefix"), build = dir.path("build");
  const std::string quiet = " >> " + shell_quote(dir.path("log")) + " 2>&1";
  auto shell = [&](const std::string& command) {
    if (std::system(command.c_str()) != 0) FAIL(command << "\n" << read_file(dir.path("log")));
  };
  shell("cmake --install " + shell_quote(FLEETSIM_BUILD_DIR) + " --prefix " + shell_quote(prefix) + quiet);
  CHECK(std::filesystem::exists(prefix + "/include/fleetsim/policies/api/plugin.hpp"));
  CHECK(std::filesystem::exists(prefix + "/lib/pkgconfig/fleetsim-sdk.pc"));
  const std::string example = std::string(FLEETSIM_SOURCE_DIR) + "/policies/examples/headroom_packer";
  shell("cmake -S " + shell_quote(example) + " -B " + shell_quote(build) + " -DCMAKE_PREFIX_PATH=" +
        shell_quote(prefix) + " -DCMAKE_BUILD_TYPE=Release" + quiet);
  shell("cmake --build " + shell_quote(build) + quiet);
  PolicyRegistry registry = builtin_policies();
  REQUIRE(load_plugin(registry, build + "/libheadroom_packer.so") == "");
  REQUIRE(registry.find(PolicyFamily::Placement, "headroom-packer") != nullptr);
}

namespace {

// Loads `yaml` against a registry holding the built-ins and `plugin_name`'s policies, and runs it
// with the invariant checker on.
RunOutput run_with_plugin(const std::string& plugin_name, const std::string& yaml) {
  PolicyRegistry registry = builtin_policies();
  REQUIRE(load_plugin(registry, test_plugin(plugin_name)) == "");
  LoadResult loaded = load_scenario_text(yaml, "plugin-scenario", ".", registry);
  INFO(loaded.errors.to_string());
  REQUIRE(loaded.scenario);
  RunOutput out = run_setup(build_setup(*loaded.scenario, registry));
  for (const auto& v : out.violations) FAIL(v);
  REQUIRE(out.status.ok);
  return out;
}

// One model on one H100 node, its requests from a trace (seconds, model, prompt, output).
std::string one_model(const std::string& policies, const std::string& rows, const std::string& extra_models = "") {
  // (The process id in the name: ctest runs test cases as parallel processes, each counting from
  // 0, and two writing one file made the other read a trace that was not its own.)
  static int serial = 0;
  const auto path = std::filesystem::temp_directory_path() /
                    ("fleetsim_plugin_trace_" + std::to_string(::getpid()) + "_" + std::to_string(serial++) + ".csv");
  write_file(path, "timestamp,model,input_tokens,output_tokens\n" + rows);
  return "duration: 2h\nwarm_start: false\n"
         "cluster: {pools: [{name: a, nodes: 1, gpu: H100-80GB, gpus_per_node: 8, disk_cache: 60GB}]}\n"
         "policies: " + policies + "\n"
         "models:\n  - {name: m, parameters: 8e9, kv_cache_per_token: 128KiB, image_size: 5GB}\n" + extra_models +
         "workloads: [{trace: " + path.string() + "}]\n";
}

}  // namespace

TEST_CASE("example autoscaler plugin: idle replicas are kept as long as a cold start takes", "[plugins][examples]") {
  // Requests at 10 s, 60 s and 3,000 s. The first cold-starts a replica; the second falls within
  // the keep-alive (min_keep 120 s here, longer than this model's cold start), so it is served
  // warm; by 3,000 s the replica has gone to zero: a second cold start.
  const std::string yaml =
      one_model("{autoscaler: {impl: ski-rental-keepalive, min_keep: 120s}}", "10,m,100,10\n60,m,100,10\n3000,m,100,10\n");
  const RunOutput out = run_with_plugin("ski_rental_keepalive", yaml);
  REQUIRE(out.requests.size() == 3);
  REQUIRE(out.cold_starts.size() == 2);
  CHECK(out.requests[1].waited_for_replica == false);
  CHECK(out.requests[2].waited_for_replica == true);
  // The replica stopped before the third request: kept at least 120 s after going idle, and
  // not for ever.
  bool stopped = false;
  for (const PhaseEvent& e : out.phases)
    if (e.phase == ReplicaPhase::Stopped && e.time < 3000 * kSecond) {
      stopped = true;
      CHECK(e.time >= out.requests[1].end + 120 * kSecond);
    }
  CHECK(stopped);
}

TEST_CASE("example cache plugin: a model is cached on a node only from its second load", "[plugins][examples]") {
  // kpa scales to zero 30 s after the last request, so requests 20 min apart each cold-start.
  // With second-hit-cache the first load reads the store and caches nothing, the second reads
  // the store again and is kept, the third is served from the node's cache.
  const std::string yaml = one_model("{cache: {impl: second-hit-cache}, autoscaler: {impl: kpa}}",
                                     "10,m,100,10\n1210,m,100,10\n2410,m,100,10\n");
  const RunOutput out = run_with_plugin("second_hit_cache", yaml);
  REQUIRE(out.cold_starts.size() == 3);
  CHECK(out.cold_starts[0].source == WeightSource::ModelStore);
  CHECK(out.cold_starts[1].source == WeightSource::ModelStore);
  CHECK(out.cold_starts[2].source != WeightSource::ModelStore);
}
