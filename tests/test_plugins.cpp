// Policy plugins: the SDK boundary (policies/api/plugin.hpp) and the loader (policies/plugins.hpp),
// with the example plugin and test plugins built beside the tests (tests/CMakeLists.txt).
#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>

#include "policies/plugins.hpp"
#include "sim/cluster_state.hpp"
#include "tests/support.hpp"

using namespace fleetsim;
using namespace fleetsim::test;
using Catch::Contains;

namespace {

std::string plugin(const std::string& name) { return std::string(FLEETSIM_TEST_PLUGINS) + "/lib" + name + ".so"; }

struct Ran {
  int code = -1;
  std::string out, err;
};

// `fleetsim <args>` from the repository root.
Ran fleetsim_cli(const std::string& args) {
  TempDir dir("plugin-cli");
  const std::string command = "cd " + shell_quote(FLEETSIM_SOURCE_DIR) + " && " + shell_quote(FLEETSIM_BINARY) + " " +
                              args + " > " + shell_quote(dir.path("out")) + " 2> " + shell_quote(dir.path("err"));
  const int status = std::system(command.c_str());
  Ran r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = read_file(dir.path("out"));
  r.err = read_file(dir.path("err"));
  return r;
}

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
  REQUIRE(load_plugin(registry, plugin("headroom_packer")) == "");
  REQUIRE(load_plugin(registry, plugin("headroom_packer")) == "");  // twice: once
  const PolicyInfo* info = registry.find(PolicyFamily::Placement, "headroom-packer");
  REQUIRE(info != nullptr);
  REQUIRE(info->origin == plugin("headroom_packer"));
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
  const Ran listed = fleetsim_cli("policies --plugin " + shell_quote(plugin("headroom_packer")));
  REQUIRE(listed.code == 0);
  CHECK_THAT(listed.out, Contains("headroom-packer — best-fit that keeps reserve_gpus free") &&
                             Contains("[plugin ") && Contains("reserve_gpus (integer, default 1)"));
  TempDir dir("plugin-run");
  // By --plugin, selected by name, its parameter validated like a built-in's.
  const std::string scenario = dir.write("s.yaml", std::string(kScenario) + "");
  const std::string with = " --set policies.placement.impl=headroom-packer -q --out " + shell_quote(dir.path("out"));
  const Ran ran = fleetsim_cli("run " + shell_quote(scenario) + " --plugin " + shell_quote(plugin("headroom_packer")) + with);
  INFO(ran.err);
  REQUIRE(ran.code == 0);
  CHECK_THAT(read_file(dir.path("out/result.json")), Contains("\"headroom-packer\""));
  const Ran range = fleetsim_cli("validate " + shell_quote(scenario) + " --plugin " + shell_quote(plugin("headroom_packer")) +
                                 " --set policies.placement='{impl: headroom-packer, reserve_gpus: 99}'");
  CHECK(range.code == 2);
  CHECK_THAT(range.err, Contains("reserve_gpus"));
  // Without the plugin the name is unknown.
  const Ran unknown = fleetsim_cli("validate " + shell_quote(scenario) + " --set policies.placement.impl=headroom-packer");
  CHECK(unknown.code == 2);
  CHECK_THAT(unknown.err, Contains("headroom-packer"));
  // By the scenario's plugins: list, relative to the scenario file.
  std::filesystem::copy_file(plugin("headroom_packer"), dir.path("libpacker.so"));
  const std::string listing = dir.write(
      "listed.yaml", std::string(kScenario) + "plugins: [libpacker.so]\n");
  const Ran by_file = fleetsim_cli("validate " + shell_quote(listing) + " --set policies.placement.impl=headroom-packer");
  INFO(by_file.err);
  CHECK(by_file.code == 0);
}

TEST_CASE("bad plugins are refused with a message, and nothing runs", "[plugins][cli]") {
  TempDir dir("plugin-bad");
  const std::string text = dir.write("libtext.so", "not a shared library\n");
  struct Case {
    std::string path, message;
  };
  const std::vector<Case> cases = {
      {dir.path("missing.so"), "file not found"},
      {text, "cannot be loaded as a shared library"},
      {plugin("test_no_symbol"), "not a fleetsim plugin: it has no fleetsim_plugin_abi symbol"},
      {plugin("test_other_major"), "built against another major version of the SDK (plugin: SDK 99.0, fleetsim: SDK 1.0)"},
      {plugin("test_duplicate"), "registers placement policy \"best-fit\", a name already taken (built-in)"},
      {plugin("test_throws"), "its registration threw: cannot find my configuration"},
  };
  for (const Case& c : cases) {
    DYNAMIC_SECTION(c.message) {
      PolicyRegistry registry = builtin_policies();
      const std::size_t before = registry.all().size();
      CHECK_THAT(load_plugin(registry, c.path), Contains(c.message));
      CHECK(registry.all().size() == before);
      const Ran r = fleetsim_cli("run --plugin " + shell_quote(c.path) + " -q --out " + shell_quote(dir.path("out")));
      CHECK(r.code == 2);
      CHECK_THAT(r.err, Contains(c.message));
      CHECK_FALSE(std::filesystem::exists(dir.path("out/result.json")));
    }
  }
}

TEST_CASE("a plugin's decision that breaks the contract or throws stops the run with exit 1", "[plugins][cli]") {
  TempDir dir("plugin-contract");
  const std::string scenario = dir.write("s.yaml", kScenario);
  const std::string load = " --plugin " + shell_quote(plugin("test_behaving")) + " -q --out " + shell_quote(dir.path("out"));
  const Ran overcommit = fleetsim_cli("run " + shell_quote(scenario) + " --set policies.placement.impl=test-overcommit" + load);
  CHECK(overcommit.code == 1);
  CHECK_THAT(overcommit.err, Contains("placement policy 'test-overcommit'") && Contains("over-committed GPU 0"));
  const Ran threw = fleetsim_cli("run " + shell_quote(scenario) + " --set policies.router.impl=test-throwing-router" + load);
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
