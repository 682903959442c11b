// A scenario's `trace: {format: ...}`: a public-format trace imported into the user's cache
// folder (once, owner-only) and replayed, Mooncake's prefix hashes kept with keep_prefix_hashes
// (scenarios/loader/imported_traces.cpp). The importers themselves: tests/test_importers.cpp.
#include <catch2/catch.hpp>

#include "tests/support.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>

using namespace fleetsim;
using fleetsim::test::read_file;
using fleetsim::test::TempDir;
namespace fs = std::filesystem;

namespace {

// A scenario whose one workload imports `log` (a tab-separated trace with times in ms).
std::string direct_import_yaml(const std::string& log) {
  return "duration: 10min\n"
         "cluster: {pools: [{name: a, nodes: 1, gpu: H100-80GB}]}\n"
         "policies: {autoscaler: {impl: fixed, replicas: 1}}\n"
         "models: [{name: m, parameters: 8e9, kv_cache_per_token: 128KiB}]\n"
         "workloads:\n"
         "  - trace: {path: " + log + ", format: generic-csv, time_column: when_ms, time_unit: ms,\n"
         "            input_column: prompt, output_column: completion, delimiter: tab,\n"
         "            assign: fixed, model: m, time_scale: 2}\n";
}

const char* kDirectImportLog = "when_ms\tprompt\tcompletion\n0\t100\t5\n500\t200\t7\n1500\t300\t9\n";

// Sets (or, with nullptr, unsets) an environment variable for one scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) ::setenv(name, value, 1);
    else ::unsetenv(name);
  }
  ~ScopedEnv() {
    if (old_) ::setenv(name_.c_str(), old_->c_str(), 1);
    else ::unsetenv(name_.c_str());
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  std::string name_;
  std::optional<std::string> old_;
};

bool owner_only(const fs::path& dir) {
  const fs::perms p = fs::status(dir).permissions();
  return (p & fs::perms::owner_all) == fs::perms::owner_all &&
         (p & (fs::perms::group_all | fs::perms::others_all)) == fs::perms::none;
}

}  // namespace

TEST_CASE("a scenario replays a public-format trace directly, imported once into a cache", "[importers][scenario]") {
  TempDir t("direct_import");
  const std::string yaml = direct_import_yaml(t.write("log.tsv", kDirectImportLog));
  LoadOptions options;
  options.import_cache_dir = t.path("cache");
  fleetsim::test::RunOutput out = fleetsim::test::run_scenario(fleetsim::test::scenario_from(yaml, options));
  REQUIRE(out.violations.empty());
  REQUIRE(out.requests.size() == 3);
  REQUIRE(out.requests[2].arrival == 3 * fleetsim::kSecond);  // 1.5 s, twice as slow
  REQUIRE(out.requests[1].input_tokens == 200);
  // A second load reuses the cached import; a bad option is an input error with its key.
  REQUIRE(fleetsim::test::run_scenario(fleetsim::test::scenario_from(yaml, options)).requests.size() == 3);
  std::string bad = yaml;
  bad.replace(bad.find("generic-csv"), 11, "generic-tsv");
  REQUIRE_THAT(fleetsim::test::errors_of(bad, options), Catch::Contains("workloads[0].trace.format: unknown trace format \"generic-tsv\""));
}

TEST_CASE("a scenario importing a Mooncake trace keeps its prefix hashes with keep_prefix_hashes", "[importers][scenario]") {
  // Two 1,100-token prompts sharing their first two 512-token blocks (hash ids 7, 8), one
  // replica: the second, 10 s later, finds those 1,024 tokens cached — only when the hashes
  // were kept.
  TempDir t("direct_import_mooncake");
  const std::string trace =
      t.write("mc.jsonl",
              "{\"timestamp\": 0, \"input_length\": 1100, \"output_length\": 5, \"hash_ids\": [7, 8, 9]}\n"
              "{\"timestamp\": 10000, \"input_length\": 1100, \"output_length\": 5, \"hash_ids\": [7, 8, 10]}\n");
  auto yaml = [&](const std::string& keep) {
    return "duration: 1min\n"
           "cluster: {pools: [{name: a, nodes: 1, gpu: H100-80GB}]}\n"
           "policies: {autoscaler: {impl: fixed, replicas: 1}}\n"
           "models: [{name: m, parameters: 8e9, kv_cache_per_token: 128KiB}]\n"
           "workloads:\n"
           "  - trace: {path: " + trace + ", format: mooncake, assign: fixed, model: m" + keep + "}\n";
  };
  LoadOptions options;
  options.import_cache_dir = t.path("cache");
  fleetsim::test::RunOutput kept =
      fleetsim::test::run_scenario(fleetsim::test::scenario_from(yaml(", keep_prefix_hashes: true"), options));
  REQUIRE(kept.violations.empty());
  REQUIRE(kept.requests.size() == 2);
  CHECK(kept.status.kv[0].prompt_tokens == 2200);
  CHECK(kept.status.kv[0].prefix_hit_tokens == 1024);
  // Without the key (and with it false: the same cached import), no hashes, no hit.
  fleetsim::test::RunOutput dropped = fleetsim::test::run_scenario(fleetsim::test::scenario_from(yaml(""), options));
  REQUIRE(dropped.requests.size() == 2);
  CHECK(dropped.status.kv[0].prefix_hit_tokens == 0);
  CHECK(fleetsim::test::run_scenario(fleetsim::test::scenario_from(yaml(", keep_prefix_hashes: false"), options))
            .status.kv[0]
            .prefix_hit_tokens == 0);
  // Only Mooncake has prefix hashes to keep.
  const std::string wrong = direct_import_yaml(t.write("log.tsv", kDirectImportLog));
  std::string bad = wrong;
  bad.replace(bad.find("time_scale: 2"), 13, "time_scale: 2, keep_prefix_hashes: true");
  REQUIRE_THAT(fleetsim::test::errors_of(bad, options),
               Catch::Contains("workloads[0].trace.keep_prefix_hashes: only the mooncake format has prefix hashes"));
}

TEST_CASE("imported traces are cached per user and owner-only, never in a shared temporary folder", "[importers][scenario]") {
  TempDir t("import_cache");
  const std::string yaml = direct_import_yaml(t.write("log.tsv", kDirectImportLog));

  SECTION("the folder asked for, created owner-only with the parents it needs") {
    const fs::path cache = t.dir / "cache", imports = cache / "fleetsim" / "imports";
    LoadOptions options;
    options.import_cache_dir = imports.string();
    const fs::path cached = fleetsim::test::scenario_from(yaml, options).workloads[0].trace_path;
    REQUIRE(cached.parent_path() == imports);
    REQUIRE(fs::is_regular_file(cached));
    for (const fs::path& dir : {cache, cache / "fleetsim", imports}) {
      INFO(dir);
      CHECK(owner_only(dir));
    }
    // Nothing in the shared folder the loader used to write to (the name is this input's hash).
    REQUIRE_FALSE(fs::exists(fs::temp_directory_path() / "fleetsim-imports" / cached.filename()));
    // A cache folder opened up by someone is closed again before it is used.
    fs::permissions(imports, fs::perms::all);
    REQUIRE(fleetsim::test::scenario_from(yaml, options).workloads[0].trace_path == cached.string());
    CHECK(owner_only(imports));
  }
  SECTION("a cache folder that is a link (or not a folder) is refused") {
    fs::create_directories(t.dir / "elsewhere");
    fs::create_directory_symlink(t.dir / "elsewhere", t.dir / "link");
    LoadOptions options;
    options.import_cache_dir = (t.dir / "link").string();
    REQUIRE_THAT(fleetsim::test::errors_of(yaml, options),
                 Catch::Contains("workloads[0].trace: cannot cache the imported trace in " + options.import_cache_dir +
                                 ": not a folder of your own"));
    options.import_cache_dir = t.path("log.tsv");
    REQUIRE_THAT(fleetsim::test::errors_of(yaml, options), Catch::Contains("cannot cache the imported trace"));
  }
  SECTION("by default $XDG_CACHE_HOME/fleetsim/imports, else ~/.cache/fleetsim/imports") {
    const std::string xdg = t.path("xdg"), home = t.path("home");
    {
      ScopedEnv set_xdg("XDG_CACHE_HOME", xdg.c_str()), set_home("HOME", home.c_str());
      REQUIRE(default_import_cache_dir() == xdg + "/fleetsim/imports");
      const fs::path cached = fleetsim::test::scenario_from(yaml).workloads[0].trace_path;
      REQUIRE(cached.parent_path() == fs::path(xdg) / "fleetsim" / "imports");
      CHECK(owner_only(fs::path(xdg) / "fleetsim"));
    }
    {
      ScopedEnv relative_xdg("XDG_CACHE_HOME", "relative/cache"), set_home("HOME", home.c_str());
      REQUIRE(default_import_cache_dir() == home + "/.cache/fleetsim/imports");  // the spec ignores a relative path
    }
    {
      ScopedEnv no_xdg("XDG_CACHE_HOME", nullptr), no_home("HOME", nullptr);
      REQUIRE(default_import_cache_dir().empty());
      REQUIRE_THAT(fleetsim::test::errors_of(yaml),
                   Catch::Contains("no folder to cache the imported trace in: set XDG_CACHE_HOME or HOME"));
    }
  }
#ifdef FLEETSIM_BINARY
  SECTION("fleetsim validate writes its import to the user's cache") {
    const std::string scenario = t.write("scenario.yaml", yaml), xdg = t.path("xdg-cli");
    const std::string command = "XDG_CACHE_HOME='" + xdg + "' '" + FLEETSIM_BINARY + "' validate '" + scenario +
                                "' > '" + t.path("out.txt") + "' 2>&1";
    const int status = std::system(command.c_str());
    INFO(read_file(t.path("out.txt")));
    REQUIRE(status == 0);
    const fs::path imports = fs::path(xdg) / "fleetsim" / "imports";
    REQUIRE(fs::is_directory(imports));
    REQUIRE(std::distance(fs::directory_iterator(imports), fs::directory_iterator()) == 1);
    CHECK(owner_only(imports));
  }
#endif
}
