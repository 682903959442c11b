// Real mode's controller (real/controller/, `fleetsim real`): the scaling rules, pinned by hand;
// the smoke scenario run by real worker processes, asserting only what timing cannot change —
// every request ends exactly once, the cold-start count, the decision sequence equal to the
// simulator's; a worker that fails and an interrupt each end the run with a partial result and
// no process left behind (counted in /proc).
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "real/controller/scaling.hpp"
#include "real/controller/worker_backend.hpp"
#include "tests/support.hpp"

using namespace fleetsim;
using namespace fleetsim::test;

namespace {

const std::string kSmoke = std::string(FLEETSIM_SOURCE_DIR) + "/scenarios/real/smoke.yaml";

Scenario load(const std::string& path, const LoadOptions& options = {}) {
  LoadResult loaded = load_scenario_file(path, registry(), options);
  INFO(loaded.errors.to_string());
  REQUIRE(loaded.scenario);
  return *loaded.scenario;
}

struct RealRun {
  RunOutput out;
  std::vector<std::string> decisions;
  real::WorkerFacts facts;
};

// The scenario with the worker backend (or none: the simulator), the checkers attached.
RealRun run(const Scenario& scenario, const std::string& work_dir, const std::string& binary, double speedup) {
  std::unique_ptr<real::WorkerBackend> backend;
  if (!binary.empty()) {
    real::WorkerBackendOptions o;
    o.worker_binary = binary;
    o.work_dir = work_dir;
    o.speedup = speedup;
    o.cores = 2;
    o.catch_signals = false;  // the test process keeps its own
    backend = std::make_unique<real::WorkerBackend>(scenario, real::scale_models(scenario, 2.5e7), o);
    REQUIRE(backend->prepare() == "");
  }
  SimulationSetup setup = build_setup(scenario, registry());
  setup.backend = backend.get();
  RealRun r;
  r.out = run_setup(std::move(setup));
  r.decisions = r.out.decisions;
  if (backend) {
    backend->shutdown();
    r.facts = backend->facts();
  }
  return r;
}

}  // namespace

TEST_CASE("a scenario model maps to the nearest shape of one family, token counts divide", "[real][controller]") {
  // 4.5e6: width 320, round(320 / 128) = 3 layers (2.5 rounds up), 5 heads, ffn 1280, vocab
  // 2560: 3·(12·320² + 2·320) + 8·320² + 320 = 4,507,840 parameters.
  const real::ModelShape a = real::shape_for(4.5e6);
  CHECK(a.hidden == 320);
  CHECK(a.layers == 3);
  CHECK(a.heads == 5);
  CHECK(a.ffn == 1280);
  CHECK(a.vocab == 2560);
  CHECK(a.parameters() == 4'507'840);
  CHECK(real::shape_for(2.1e6).parameters() == 2'098'432);  // width 256, 2 layers
  CHECK(real::shape_for(1).hidden == 64);                   // the smallest of the family
  CHECK(real::shape_for(1e12).hidden == 4096);              // the largest
  // The largest model maps to the cap, the others keep their ratio to it.
  Scenario sc = load(kSmoke);
  sc.models[0].parameters = 8e9;
  sc.models[1].parameters = 1.6e9;
  const real::ModelScaling scaled = real::scale_models(sc, 2.5e7);
  CHECK(scaled.factor == Approx(320));
  CHECK(scaled.models[0].shape.parameters() == real::shape_for(2.5e7).parameters());
  CHECK(scaled.models[1].shape.parameters() == real::shape_for(5e6).parameters());
  CHECK(scaled.models[1].file == "m1.bin");
  CHECK(scaled.models[1].file_bytes == 32 + 4 * scaled.models[1].shape.parameters());
  CHECK(real::scale_models(load(kSmoke), 2.5e7).factor == 1);  // already small: as they are
  CHECK(real::scale_token_count(100, 4) == 25);
  CHECK(real::scale_token_count(6, 4) == 2);  // 1.5 rounds up
  CHECK(real::scale_token_count(1, 4) == 1);  // never 0
  CHECK(real::scale_token_count(7, 1) == 7);
}

TEST_CASE("real mode says what it cannot run yet", "[real][controller]") {
  Scenario sc = load(kSmoke);
  CHECK(real::real_mode_problems(sc).empty());
  sc.models[1].kind = ModelSpec::Kind::ServiceTime;
  sc.models[0].adapters.push_back(AdapterSpec{"x", 1e6});
  sc.jobs.enabled = true;
  const std::string text = real::real_mode_problems(sc).to_string();
  CHECK_THAT(text, Catch::Contains("models[1]: model 'summarize' is a service-time model"));
  CHECK_THAT(text, Catch::Contains("models[0].adapters: LoRA adapters are not run in real mode yet"));
  CHECK_THAT(text, Catch::Contains("jobs: co-located jobs"));
  CHECK_THAT(text, !Catch::Contains("policies.batching"));  // plugins' batching policies run in the workers
}

TEST_CASE("the smoke scenario on real workers: every request once, its cold starts and the simulator's decisions",
          "[real][controller][cli]") {
  TempDir dir("real-smoke");
  const Scenario scenario = load(kSmoke);
  const RealRun simulated = run(scenario, "", "", 1);
  const RealRun real = run(scenario, dir.path("work"), FLEETSIM_BINARY, 2);
  INFO(real.out.status.errors.to_string() + real.out.status.stop_reason);
  REQUIRE(real.out.status.ok);
  CHECK_FALSE(real.out.status.partial);
  for (const std::string& v : real.out.violations) FAIL(v);
  CHECK(real.out.status.requests == 36);
  CHECK(real.out.ended == 36);
  CHECK(real.out.metrics.overall.completed() == 36);
  // chat deployed at t = 0 (no cold start); summarize twice, from the store then the node cache.
  CHECK(real.out.metrics.overall.cold_starts == 2);
  CHECK(real.out.metrics.overall.loads_from_model_store == 1);
  CHECK(real.out.metrics.overall.loads_from_disk_cache == 1);
  CHECK(real.decisions == simulated.decisions);
  CHECK(real.decisions.size() == 12);
  // Three worker processes (chat's, summarize's two); the fetch was written into the node's
  // cache folder and kept there (the cache admitted it), as was chat's file at t = 0.
  CHECK(real.facts.spawned == 3);
  CHECK(real.facts.loads == 3);
  CHECK(real.facts.files_written == 2);
  CHECK(real.facts.fetched_bytes == 32 + 4 * real::shape_for(2.1e6).parameters());
  CHECK(std::filesystem::exists(dir.path("work/node-0/m0.bin")));
  CHECK(std::filesystem::exists(dir.path("work/node-0/m1.bin")));
  CHECK_FALSE(std::filesystem::exists(dir.path("work/node-0/.fetch-r1.bin")));
}

TEST_CASE("a worker that fails ends the run with a partial result, every request ended once", "[real][controller]") {
  TempDir dir("real-fail");
  const Scenario scenario = load(kSmoke);
  const RealRun r = run(scenario, dir.path("work"), "/bin/false", 4);  // exits at once, says nothing
  REQUIRE(r.out.status.ok);
  CHECK(r.out.status.partial);
  CHECK_THAT(r.out.status.stop_reason, Catch::Contains("the worker of replica 0 (model 'chat', node 0)"));
  for (const std::string& v : r.out.violations) FAIL(v);
  CHECK(r.out.ended == r.out.status.requests);
}

TEST_CASE("fleetsim real: Ctrl-C stops every worker and writes a partial result", "[real][controller][cli]") {
  TempDir dir("real-interrupt");
  const std::string out = dir.path("out");
  const std::string tag = "FLEETSIM_TEST_TAG=interrupt-" + std::to_string(::getpid());
  std::vector<std::string> args = {"real", kSmoke, "--out", out, "-q"};
  const pid_t pid = spawn_fleetsim_tagged(args, tag);
  REQUIRE(pid >= 0);
  // Wait for the controller and at least one worker (chat's, deployed at t = 0).
  bool workers = false;
  for (int i = 0; i < 600 && !workers; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    workers = processes_tagged(tag) >= 2;
  }
  CHECK(workers);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  ::kill(pid, SIGINT);
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 130);
  CHECK(processes_tagged(tag) == 0);  // no worker outlived it
  const auto result = nlohmann::json::parse(read_file(out + "/result.json"));
  CHECK(result["mode"] == "real");
  CHECK(result["run"]["partial"] == true);
  CHECK(result["run"]["stop_reason"] == "interrupted (SIGINT)");
  CHECK(result["overall"]["requests"] == result["run"]["requests"]);
  for (const char* file : {"timeseries.csv", "cold_starts.csv", "decisions.csv", "report.html"})
    CHECK(std::filesystem::exists(out + "/" + file));
  for (const auto& e : std::filesystem::directory_iterator(out))  // its model store and node folders went
    CHECK(e.path().filename().string().rfind(".real-files", 0) == std::string::npos);
}

TEST_CASE("fleetsim real refuses what it cannot run, and --simulated is the same run simulated", "[real][controller][cli]") {
  TempDir dir("real-cli");
  const std::string bad = dir.write(
      "service.yaml",
      "name: s\nduration: 10s\ncluster: {pools: [{name: p, nodes: 1, gpu: H100-80GB}]}\n"
      "models: [{name: embed, kind: service-time, memory_per_gpu: 1GB, service_time: {dist: fixed, value: 10ms}}]\n"
      "workloads: [{model: embed, arrivals: {process: poisson, rate: 1/s}}]\n");
  const CliRun refused = run_fleetsim("real " + shell_quote(bad) + " --out " + shell_quote(dir.path("bad")));
  CHECK(refused.code == 2);
  CHECK_THAT(refused.err, Catch::Contains("real mode serves LLM models only") && Catch::Contains("nothing written"));
  CHECK_FALSE(std::filesystem::exists(dir.path("bad/result.json")));
  CHECK(run_fleetsim("real " + shell_quote(kSmoke) + " --speedup 0").code == 2);

  const CliRun simulated = run_fleetsim("real " + shell_quote(kSmoke) + " --simulated --token-scale 4 -q --out " +
                                        shell_quote(dir.path("sim")));
  INFO(simulated.err);
  REQUIRE(simulated.code == 0);
  const auto result = nlohmann::json::parse(read_file(dir.path("sim/result.json")));
  CHECK(result["mode"] == "simulated");
  CHECK(result["real"]["token_scale"] == 4.0);
  CHECK_FALSE(result["real"].contains("host"));
  CHECK(result["run"]["partial"] == false);
  // decisions.csv: the simulator's sequence, with times.
  const std::string decisions = read_file(dir.path("sim/decisions.csv"));
  CHECK_THAT(decisions, Catch::StartsWith("time_s,decision\n0.000000000,scale chat 0->1\n"));
  CHECK_THAT(decisions, Catch::Contains("ready summarize r2 from disk-cache"));
  // compare reads results across modes.
  const CliRun compared = run_fleetsim("compare " + shell_quote(dir.path("sim")) + " " + shell_quote(dir.path("sim")));
  CHECK(compared.code == 0);
}
