// The authoring kit: `fleetsim new-policy` scaffolds a project that builds against an installed
// SDK, loads into `fleetsim run` and passes `fleetsim check-policy`; check-policy fails a plugin
// that breaks the contract and passes the example.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <sstream>

#include "tests/support.hpp"

using namespace fleetsim::test;
using Catch::Contains;

namespace {

// One installed SDK for every test of this file (and every process ctest starts for them):
// `cmake --install` into build/kit-prefix under a file lock, so parallel tests do not write the
// same files at once; a second install only finds them up to date.
std::string installed_prefix() {
  const std::filesystem::path root = std::filesystem::path(FLEETSIM_BUILD_DIR) / "kit-prefix";
  std::filesystem::create_directories(root);
  const std::string lock_path = (root / ".lock").string();
  const int fd = ::open(lock_path.c_str(), O_CREAT | O_RDWR, 0644);
  REQUIRE(fd >= 0);
  ::flock(fd, LOCK_EX);
  const std::string log = (root / "install.log").string();
  const int status = std::system(("cmake --install " + shell_quote(FLEETSIM_BUILD_DIR) + " --prefix " +
                                  shell_quote((root / "sdk").string()) + " > " + shell_quote(log) + " 2>&1")
                                     .c_str());
  ::flock(fd, LOCK_UN);
  ::close(fd);
  INFO(read_file(log));
  REQUIRE(status == 0);
  return (root / "sdk").string();
}

const char* kScenario =
    "name: kit-test\nduration: 3min\nseed: 3\n"
    "cluster: {pools: [{name: a, nodes: 2, gpu: H100-80GB, gpus_per_node: 4}]}\n"
    "models: [{name: m, parameters: 8e9, kv_cache_per_token: 128KiB}]\n"
    "workloads: [{model: m, arrivals: {process: poisson, rate: 5/s},"
    " input_tokens: {dist: fixed, value: 100}, output_tokens: {dist: fixed, value: 20}}]\n";

// Scaffolds NAME of FAMILY, builds it against the installed SDK (with `cmake_extra`), and
// returns the plugin's path.
std::string scaffold_and_build(const TempDir& dir, const std::string& name, const std::string& family,
                               const std::string& cmake_extra) {
  const std::string project = dir.path("project"), build = dir.path("build");
  const CliRun wrote = run_fleetsim("new-policy " + name + " --family " + family + " --dir " + shell_quote(project));
  INFO(wrote.err);
  REQUIRE(wrote.code == 0);
  const std::string ident = [&] {
    std::string s = name;
    for (char& c : s)
      if (c == '-') c = '_';
    return s;
  }();
  for (const std::string& file : std::vector<std::string>{"CMakeLists.txt", "README.md", ident + ".cpp", ident + ".hpp", "test_" + ident + ".cpp"})
    CHECK(std::filesystem::exists(project + "/" + file));
  CHECK_THAT(read_file(project + "/README.md"), Contains("check-policy") && Contains("CMAKE_PREFIX_PATH"));
  const std::string log = " >> " + shell_quote(dir.path("log")) + " 2>&1";
  auto shell = [&](const std::string& command) {
    if (std::system(command.c_str()) != 0) FAIL(command << "\n" << read_file(dir.path("log")));
  };
#if defined(__SANITIZE_ADDRESS__)
  // The installed SDK library is instrumented in a sanitizer build: so must its users be.
  const std::string sanitized = " -DCMAKE_CXX_FLAGS=-fsanitize=address,undefined"
                                " -DCMAKE_EXE_LINKER_FLAGS=-fsanitize=address,undefined ";
#else
  const std::string sanitized;
#endif
  shell("cmake -S " + shell_quote(project) + " -B " + shell_quote(build) + " -DCMAKE_PREFIX_PATH=" +
        shell_quote(installed_prefix()) + " -DCMAKE_BUILD_TYPE=Release " + sanitized + cmake_extra + log);
  shell("cmake --build " + shell_quote(build) + log);
  return build + "/lib" + ident + ".so";
}

}  // namespace

TEST_CASE("new-policy refuses a bad name, an unknown family and a folder that is not empty", "[kit][cli]") {
  TempDir dir("kit-refuse");
  const CliRun upper = run_fleetsim("new-policy my_policy --family placement --dir " + shell_quote(dir.path("a")));
  CHECK(upper.code == 2);
  CHECK_THAT(upper.err, Contains("lowercase letters, digits and dashes"));
  const CliRun family = run_fleetsim("new-policy ok-name --family scheduler --dir " + shell_quote(dir.path("b")));
  CHECK(family.code == 2);
  CHECK_THAT(family.err, Contains("--family scheduler: unknown"));
  dir.write("full/keep.txt", "mine\n");
  const CliRun full = run_fleetsim("new-policy ok-name --family router --dir " + shell_quote(dir.path("full")));
  CHECK(full.code == 2);
  CHECK_THAT(full.err, Contains("not an empty folder"));
  CHECK(read_file(dir.path("full/keep.txt")) == "mine\n");
  CHECK_FALSE(std::filesystem::exists(dir.path("full/CMakeLists.txt")));
}

TEST_CASE("a scaffolded placement policy builds with its test, runs, and passes check-policy", "[kit][sdk]") {
  TempDir dir("kit-placement");
  const std::string lib = scaffold_and_build(dir, "kit-first-fit", "placement", "");
  // Its own Catch2 test (Catch2 is installed here: the project's tests need it too).
  const std::string test = dir.path("build/test_kit_first_fit");
  REQUIRE(std::filesystem::exists(test));
  CHECK(std::system((shell_quote(test) + " > /dev/null").c_str()) == 0);
  const std::string scenario = dir.write("s.yaml", kScenario);
  const CliRun ran = run_fleetsim("run " + shell_quote(scenario) + " --plugin " + shell_quote(lib) +
                               " --set policies.placement.impl=kit-first-fit -q --out " + shell_quote(dir.path("out")));
  INFO(ran.err);
  REQUIRE(ran.code == 0);
  CHECK_THAT(read_file(dir.path("out/result.json")), Contains("\"kit-first-fit\""));
  const CliRun checked = run_fleetsim("check-policy " + shell_quote(lib));
  INFO(checked.err);
  CHECK(checked.code == 0);
  CHECK_THAT(checked.out, Contains("placement policy kit-first-fit") && Contains("scenario fractional-pods.yaml") &&
                              Contains("kit-first-fit *") && Contains("best-fit") && Contains("time per decision") &&
                              Contains("all 1 policy passed"));
}

TEST_CASE("a scaffolded autoscaler builds without Catch2, runs, and passes check-policy", "[kit][sdk]") {
  TempDir dir("kit-autoscaler");
  const std::string lib = scaffold_and_build(dir, "kit-scaler", "autoscaler", "-DCMAKE_DISABLE_FIND_PACKAGE_Catch2=ON");
  CHECK_FALSE(std::filesystem::exists(dir.path("build/test_kit_scaler")));
  const std::string scenario = dir.write("s.yaml", kScenario);
  const CliRun ran = run_fleetsim("run " + shell_quote(scenario) + " --plugin " + shell_quote(lib) +
                               " --set 'policies.autoscaler={impl: kit-scaler, keep_alive: 30s}' -q --out " +
                               shell_quote(dir.path("out")));
  INFO(ran.err);
  REQUIRE(ran.code == 0);
  const CliRun checked = run_fleetsim("check-policy " + shell_quote(lib));
  INFO(checked.err);
  CHECK(checked.code == 0);
  CHECK_THAT(checked.out, Contains("autoscaler policy kit-scaler") && Contains("scenario scale-to-zero.yaml") &&
                              Contains("kpa") && Contains("all 1 policy passed"));
}

TEST_CASE("check-policy fails a policy that breaks the contract, and passes the example", "[kit][cli]") {
  const CliRun broken = run_fleetsim("check-policy " + shell_quote(test_plugin("test_behaving")) + " --policy test-overcommit");
  CHECK(broken.code == 1);
  CHECK_THAT(broken.err, Contains("FAILED test-overcommit") && Contains("over-committed GPU 0"));
  const CliRun unknown = run_fleetsim("check-policy " + shell_quote(test_plugin("test_behaving")) + " --policy nope");
  CHECK(unknown.code == 2);
  CHECK_THAT(unknown.err, Contains("not a policy of") && Contains("test-overcommit"));
  const CliRun missing = run_fleetsim("check-policy /nonexistent/libnothing.so");
  CHECK(missing.code == 2);
  CHECK_THAT(missing.err, Contains("file not found"));
  const CliRun example = run_fleetsim("check-policy " + shell_quote(test_plugin("headroom_packer")));
  INFO(example.err);
  CHECK(example.code == 0);
  CHECK_THAT(example.out, Contains("headroom-packer *") && Contains("best-fit") && Contains("median us") &&
                              Contains("all 1 policy passed"));
  // The fragmentation scenario tells placements apart: spreading one-GPU replicas over both
  // nodes leaves none whole for the eight-GPU model, whose requests then wait (p99 TTFT).
  const std::string fragmentation = example.out.substr(example.out.find("scenario fragmentation.yaml"));
  auto p99_of = [&](const std::string& policy) {
    std::istringstream rows(fragmentation);
    std::string line;
    while (std::getline(rows, line)) {
      std::istringstream fields(line);
      std::string name;
      long requests = 0, completed = 0;
      double p99 = -1;
      if (fields >> name && name == policy && fields >> requests >> completed >> p99) return p99;
    }
    FAIL("no row for " << policy << " in\n" << fragmentation);
    return -1.0;
  };
  CHECK(p99_of("spread") > 3 * p99_of("best-fit"));
  CHECK(p99_of("fgd") == p99_of("best-fit"));
  const CliRun quick = run_fleetsim("check-policy " + shell_quote(test_plugin("headroom_packer")) + " --quick");
  CHECK(quick.code == 0);
  CHECK_THAT(quick.out, !Contains("best-fit"));
}
