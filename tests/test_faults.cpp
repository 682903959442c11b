// Faults (issue 12): a replica killed at a known time (scenario `faults:`), its requests
// re-queued and served by the replacement, the retry limit's `failed` outcome, faults that name
// no replica, a model-store outage delaying the weight load — each on a scenario whose numbers
// are computed by hand in the comments; then the same in real mode (worker processes).
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "real/controller/scaling.hpp"
#include "real/controller/worker_backend.hpp"
#include "tests/support.hpp"

using namespace fleetsim;
using namespace fleetsim::test;

namespace {

// One node of two L4s; a service-time model of one replica (fixed autoscaler), 10 s per
// request, two at once; deployed at t = 0, so the node has its image: a replacement's cold
// start is its 2 s start-up alone. Requests at 1, 2 and 3 s (the third waits for a slot).
std::string service_yaml(const TempDir& dir, const std::string& faults, const std::string& extra_rows = "",
                         const std::string& top = "") {
  const std::string trace =
      dir.write("trace.csv", "timestamp,model,input_tokens,output_tokens\n1.0,s,1,1\n2.0,s,1,1\n3.0,s,1,1\n" + extra_rows);
  return "duration: 1min\n" + top +
         "cluster:\n  pools:\n    - {name: a, nodes: 1, gpu: L4, gpus_per_node: 2}\n"
         "policies: {autoscaler: {impl: fixed, replicas: 1}}\n"
         "models:\n"
         "  - {name: s, kind: service-time, memory_per_gpu: 2GiB, max_concurrency: 2, image_size: 1GB,\n"
         "     startup_time: 2s, service_time: {dist: fixed, value: 10s}}\n"
         "workloads:\n  - trace: " + trace + "\n" + faults;
}

bool has(const std::vector<std::string>& lines, const std::string& line) {
  return std::find(lines.begin(), lines.end(), line) != lines.end();
}

std::vector<SimTime> ends_of(const RunOutput& out) {
  std::vector<SimTime> ends;
  for (const RequestResult& r : out.requests) ends.push_back(r.end);
  std::sort(ends.begin(), ends.end());
  return ends;
}

}  // namespace

TEST_CASE("a killed replica's requests are re-queued and complete on its replacement", "[faults]") {
  TempDir dir("faults-kill");
  RunOutput out = run_scenario(scenario_from(service_yaml(dir, "faults:\n  - {kill_replica: 0, at: 5s}\n")));
  for (const std::string& v : out.violations) FAIL(v);
  REQUIRE(out.status.ok);
  // At 5 s replica 0 serves the first two and queues the third: all three go back to the
  // buffer; replica 1 is placed at 5 s and ready at 7 s (start-up only); it serves the first
  // two from 7 to 17 s, the third from 17 to 27 s. Their arrivals stay 1, 2, 3 s; each reached
  // a replica twice (at its arrival, then at 7 s): the last dispatch is the one reported.
  CHECK(out.ended == 3);
  CHECK(out.metrics.overall.completed() == 3);
  CHECK(ends_of(out) == std::vector<SimTime>{17 * kSecond, 17 * kSecond, 27 * kSecond});
  for (const RequestResult& r : out.requests) {
    CHECK(r.replica == 1);
    CHECK(r.arrival == static_cast<SimTime>(r.serial + 1) * kSecond);
    CHECK(r.dispatched == 7 * kSecond);
    CHECK(r.waited_for_replica);
  }
  REQUIRE(out.cold_starts.size() == 1);
  CHECK(out.cold_starts[0].replica.id == 1);
  CHECK(out.cold_starts[0].placed == 5 * kSecond);
  CHECK(out.cold_starts[0].ready == 7 * kSecond);
  CHECK(has(out.decisions, "fail s r0"));
  CHECK(has(out.decisions, "place s r1 node 0"));
  CHECK(out.status.faults.applied == 1);
  CHECK(out.status.faults.replicas_failed == 1);
  CHECK(out.status.faults.requests_requeued == 3);
  CHECK(out.status.faults.requests_failed == 0);
}

TEST_CASE("past request_retries a re-queued request ends with outcome failed", "[faults]") {
  TempDir dir("faults-retries");
  // request_retries 1: the kill at 5 s re-queues the three (retry 1); replica 1 is ready at 7 s
  // and takes them; the kill of replica 1 at 9 s would be their second retry: all three fail.
  // Replica 2 (placed 9 s, ready 11 s) serves the request of 20 s until 30 s.
  const std::string faults = "faults:\n  - {kill_replica: 0, at: 5s}\n  - {kill_replica: 1, at: 9s}\n";
  RunOutput out = run_scenario(scenario_from(service_yaml(dir, faults, "20.0,s,1,1\n", "request_retries: 1\n")));
  for (const std::string& v : out.violations) FAIL(v);
  CHECK(out.ended == 4);
  const auto failed = out.metrics.overall.outcomes[static_cast<std::size_t>(RequestOutcome::Failed)];
  CHECK(failed == 3);
  CHECK(out.metrics.overall.completed() == 1);
  for (const RequestResult& r : out.requests) {
    if (r.outcome == RequestOutcome::Failed) {
      CHECK(r.end == 9 * kSecond);
      CHECK(r.replica == 1);  // the replica it failed on
    } else {
      CHECK(r.end == 30 * kSecond);
      CHECK(r.replica == 2);
    }
  }
  CHECK(has(out.decisions, "fail s r0"));
  CHECK(has(out.decisions, "fail s r1"));
  CHECK(out.status.faults.requests_requeued == 3);
  CHECK(out.status.faults.requests_failed == 3);
  CHECK(std::string(outcome_name(RequestOutcome::Failed)) == "failed");

  // The default (2 retries): the same two kills re-queue them twice; replica 2, ready at 11 s,
  // serves two from 11 to 21 s; the third waits, and the one of 20 s behind it: both 21 to 31 s.
  RunOutput twice = run_scenario(scenario_from(service_yaml(dir, faults, "20.0,s,1,1\n")));
  for (const std::string& v : twice.violations) FAIL(v);
  CHECK(twice.metrics.overall.completed() == 4);
  CHECK(ends_of(twice) == std::vector<SimTime>{21 * kSecond, 21 * kSecond, 31 * kSecond, 31 * kSecond});
}

TEST_CASE("a fault naming no replica, or a stopped one, is reported and changes nothing", "[faults]") {
  TempDir dir("faults-skipped");
  const std::string faults = "faults:\n  - {kill_replica: 7, at: 5s}\n  - {kill_replica: 0, at: 6s}\n"
                             "  - {kill_replica: 0, at: 8s}\n";
  RunOutput out = run_scenario(scenario_from(service_yaml(dir, faults)));
  for (const std::string& v : out.violations) FAIL(v);
  CHECK(out.status.faults.applied == 1);
  CHECK(out.status.faults.skipped == 2);
  REQUIRE(out.status.faults.warnings.size() == 2);
  CHECK_THAT(out.status.faults.warnings[0], Catch::Contains("faults[0]") && Catch::Contains("no such replica"));
  CHECK_THAT(out.status.faults.warnings[1], Catch::Contains("faults[2]") && Catch::Contains("stopped already"));
  CHECK(out.metrics.overall.completed() == 3);
  // Only the 6 s kill counted: replica 1 ready at 8 s: 8-18, 8-18, 18-28.
  CHECK(ends_of(out) == std::vector<SimTime>{18 * kSecond, 18 * kSecond, 28 * kSecond});

  // The command line says so, and result.json counts it.
  const std::string path = dir.write("skipped.yaml", service_yaml(dir, "faults:\n  - {kill_replica: 7, at: 5s}\n"));
  const CliRun cli = run_fleetsim("run " + shell_quote(path) + " --out " + shell_quote(dir.path("out")));
  CHECK(cli.code == 0);
  CHECK_THAT(cli.err, Catch::Contains("kill_replica 7") && Catch::Contains("not applied"));
  const auto result = nlohmann::json::parse(read_file(dir.path("out/result.json")));
  CHECK(result["run"]["faults"]["skipped"] == 1);
  CHECK(result["overall"]["failed_by_reason"]["failed"] == 0);
}

TEST_CASE("an LLM replica killed mid-decode: its request starts over on the replacement", "[faults]") {
  TempDir dir("faults-llm");
  const std::string trace = dir.write("trace.csv", "timestamp,model,input_tokens,output_tokens\n1.0,m,1000,400\n");
  const std::string yaml =
      "duration: 2min\n"
      "cluster:\n  pools:\n    - {name: a, nodes: 1, gpu: H100-80GB, gpus_per_node: 2, disk_cache: 1TB,\n"
      "       disk_read_bandwidth: 5GB/s, network_bandwidth: 10GB/s}\n"
      "policies: {autoscaler: {impl: fixed, replicas: 1}}\n"
      "models:\n  - {name: m, parameters: 8e9, kv_cache_per_token: 128KiB, image_size: 20GB, startup_time: 5s}\n"
      "workloads:\n  - trace: " + trace + "\n"
      "faults:\n  - {kill_replica: 0, at: 2s}\n";
  RunOutput out = run_scenario(scenario_from(yaml));
  for (const std::string& v : out.violations) FAIL(v);
  REQUIRE(out.requests.size() == 1);
  const RequestResult& r = out.requests[0];
  CHECK(r.outcome == RequestOutcome::Completed);
  CHECK(r.replica == 1);
  CHECK(r.arrival == kSecond);
  // Replica 1: placed at 2 s, weights from the node's disk (16 GB at 5 GB/s, 3.2 s), start-up
  // 5 s: ready at 10.2 s; its first token comes from a new prefill there.
  REQUIRE(out.cold_starts.size() == 1);
  CHECK(out.cold_starts[0].ready == 10200 * kMillisecond);
  CHECK(r.first_token > 10200 * kMillisecond);
  CHECK(has(out.decisions, "fail m r0"));
}

TEST_CASE("a model-store outage holds the weight load until the store is back", "[faults]") {
  TempDir dir("faults-store");
  const std::string trace = dir.write("trace.csv", "timestamp,model,input_tokens,output_tokens\n30.0,m,100,2\n");
  auto yaml = [&](const std::string& faults) {
    return "duration: 2min\nwarm_start: false\n"
           "cluster:\n  pools:\n    - {name: a, nodes: 1, gpu: H100-80GB, gpus_per_node: 1, disk_cache: 1TB,\n"
           "       disk_read_bandwidth: 5GB/s, network_bandwidth: 10GB/s}\n"
           "policies: {autoscaler: {impl: fixed, replicas: 1}}\n"
           "models:\n  - {name: m, parameters: 8e9, kv_cache_per_token: 128KiB, image_size: 20GB, startup_time: 5s}\n"
           "workloads:\n  - trace: " + trace + "\n" + faults;
  };
  // The cold start at t = 0: image 20 GB at 10 GB/s (2 s), then 16 GB of weights from the model
  // store at 10 GB/s: 1.6 s.
  RunOutput plain = run_scenario(scenario_from(yaml("")));
  REQUIRE(plain.cold_starts.size() == 1);
  CHECK(to_seconds(plain.cold_starts[0].weight_load) == Approx(1.6));
  // Down from 1 s to 11 s: the load cannot start at 2 s; it runs from 11 s: 10.6 s in all.
  RunOutput before = run_scenario(scenario_from(yaml("faults:\n  - {store_down: 10s, at: 1s}\n")));
  for (const std::string& v : before.violations) FAIL(v);
  REQUIRE(before.cold_starts.size() == 1);
  CHECK(to_seconds(before.cold_starts[0].weight_load) == Approx(10.6));
  CHECK(before.cold_starts[0].source == WeightSource::ModelStore);
  // Down from 3 s to 8 s: 10 GB loaded, paused, the other 6 GB from 8 s (0.6 s): 6.6 s.
  RunOutput during = run_scenario(scenario_from(yaml("faults:\n  - {store_down: 5s, at: 3s}\n")));
  REQUIRE(during.cold_starts.size() == 1);
  CHECK(to_seconds(during.cold_starts[0].weight_load) == Approx(6.6));
  CHECK(during.metrics.overall.completed() == 1);
}

TEST_CASE("faults: bad entries are errors naming the key", "[faults][bad-input]") {
  const std::string head =
      "duration: 1min\ncluster:\n  pools:\n    - {name: a, nodes: 1, gpu: L4, gpus_per_node: 1}\n"
      "models:\n  - {name: s, kind: service-time, memory_per_gpu: 2GiB, service_time: {dist: fixed, value: 1s}}\n"
      "workloads:\n  - {model: s, arrivals: {process: poisson, rate: 1/s}}\n";
  CHECK_THAT(errors_of(head + "faults:\n  - {kill_replica: 0, at: -5s}\n"),
             Catch::Contains("faults[0].at") && Catch::Contains("-5s"));
  CHECK_THAT(errors_of(head + "faults:\n  - {kill_replica: 0, at: 5s, when: 3s}\n"),
             Catch::Contains("faults[0].when") && Catch::Contains("unknown key"));
  CHECK_THAT(errors_of(head + "faults:\n  - {kill_replica: 0}\n"), Catch::Contains("faults[0].at"));
  CHECK_THAT(errors_of(head + "faults:\n  - {kill_replica: -1, at: 1s}\n"), Catch::Contains("faults[0].kill_replica"));
  CHECK_THAT(errors_of(head + "faults:\n  - {at: 1s}\n"), Catch::Contains("faults[0]") && Catch::Contains("names no fault"));
  CHECK_THAT(errors_of(head + "faults:\n  - {kill_replica: 0, store_down: 5s, at: 1s}\n"),
             Catch::Contains("one per entry"));
  CHECK_THAT(errors_of(head + "faults:\n  - {store_down: 0s, at: 1s}\n"), Catch::Contains("faults[0].store_down"));
  CHECK_THAT(errors_of(head + "faults:\n  - {store_down: 5s, at: 2h}\n"),
             Catch::Contains("faults[0].at") && Catch::Contains("before the run's end"));
  CHECK_THAT(errors_of(head + "faults: {kill_replica: 0, at: 1s}\n"), Catch::Contains("faults") && Catch::Contains("list"));
  CHECK_THAT(errors_of(head + "request_retries: -1\n"), Catch::Contains("request_retries"));
}

// ---------------------------------------------------------------- real mode

namespace {

const std::string kSmoke = std::string(FLEETSIM_SOURCE_DIR) + "/scenarios/real/smoke.yaml";

// This process's children running `fleetsim worker`.
std::vector<pid_t> worker_children() {
  std::vector<pid_t> out;
  for (const auto& e : std::filesystem::directory_iterator("/proc")) {
    const std::string pid = e.path().filename().string();
    if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream stat(e.path() / "stat");
    std::string line;
    std::getline(stat, line);
    const auto close = line.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(line.substr(close + 2));
    char state = 0;
    pid_t parent = 0;
    rest >> state >> parent;
    const std::string cmdline = read_file(e.path() / "cmdline");
    if (parent == ::getpid() && cmdline.find("worker") != std::string::npos) out.push_back(std::stoi(pid));
  }
  return out;
}

}  // namespace

TEST_CASE("real mode: a worker that dies on its own is a failed replica, not a failed run", "[faults][real]") {
  TempDir dir("faults-real-crash");
  LoadOptions options;
  options.overrides = {"duration=6s"};
  LoadResult loaded = load_scenario_file(kSmoke, registry(), options);
  REQUIRE(loaded.scenario);
  const Scenario scenario = *loaded.scenario;
  real::WorkerBackendOptions o;
  o.worker_binary = FLEETSIM_BINARY;
  o.work_dir = dir.path("work");
  o.speedup = 2;
  o.cores = 2;
  o.catch_signals = false;
  real::WorkerBackend backend(scenario, real::scale_models(scenario, 2.5e7), o);
  REQUIRE(backend.prepare() == "");
  // 1 s of wall clock in (2 s of scenario time), chat's worker — the only one until
  // summarize's cold start at 5.1 s — is killed from outside, as a crash would end it.
  std::thread killer([] {
    std::this_thread::sleep_for(std::chrono::milliseconds(1000));
    const std::vector<pid_t> workers = worker_children();
    if (workers.size() == 1) ::kill(workers[0], SIGKILL);
  });
  SimulationSetup setup = build_setup(scenario, registry());
  setup.backend = &backend;
  RunOutput out = run_setup(std::move(setup));
  killer.join();
  backend.shutdown();
  INFO(out.status.errors.to_string() + out.status.stop_reason);
  REQUIRE(out.status.ok);
  CHECK_FALSE(out.status.partial);
  for (const std::string& v : out.violations) FAIL(v);
  CHECK(out.ended == out.status.requests);
  CHECK(out.metrics.overall.completed() == out.status.requests);
  CHECK(out.status.faults.replicas_failed == 1);
  CHECK(backend.facts().died == 1);
  CHECK(backend.facts().killed == 0);
  CHECK(has(out.decisions, "fail chat r0"));
  CHECK(worker_children().empty());
}

TEST_CASE("fleetsim real --kill-worker: the request on the killed worker is re-queued, a replacement starts",
          "[faults][real][cli]") {
  TempDir dir("faults-real-kill");
  const std::string out = dir.path("out");
  const std::string tag = "FLEETSIM_TEST_TAG=kill-" + std::to_string(::getpid());
  // The smoke scenario cut to 8 s (4 s of wall clock at speedup 2). chat's replica 0 is killed
  // at 1 s, the instant the first chat request arrives: the engine routes it there (the death
  // is not reported yet), then re-queues it when it is.
  std::vector<std::string> args = {"real", kSmoke, "--out", out, "-q", "--speedup", "2",
                                   "--set", "duration=8s", "--kill-worker", "0@1s"};
  const pid_t pid = spawn_fleetsim_tagged(args, tag);
  REQUIRE(pid >= 0);
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(processes_tagged(tag) == 0);  // the killed worker was reaped, the others stopped
  const auto result = nlohmann::json::parse(read_file(out + "/result.json"));
  CHECK(result["run"]["partial"] == false);
  CHECK(result["overall"]["requests"] == result["run"]["requests"]);  // every request ended, once
  CHECK(result["overall"]["completed"] == result["run"]["requests"]);
  CHECK(result["run"]["faults"]["applied"] == 1);
  CHECK(result["run"]["faults"]["replicas_failed"] == 1);
  CHECK(result["run"]["faults"]["requests_requeued"].get<int>() >= 1);
  const std::string decisions = read_file(out + "/decisions.csv");
  CHECK_THAT(decisions, Catch::Contains("fail chat r0"));
  // chat was deployed at t = 0 (no cold start): its cold start is the replacement's.
  const std::string cold = read_file(out + "/cold_starts.csv");
  CHECK_THAT(cold, Catch::Contains("\nchat,1,"));
}

TEST_CASE("real mode: a store outage lands in the weight-load phase", "[faults][real]") {
  TempDir dir("faults-real-store");
  LoadOptions options;
  options.overrides = {"duration=8s"};
  LoadResult loaded = load_scenario_file(kSmoke, registry(), options);
  REQUIRE(loaded.scenario);
  Scenario scenario = *loaded.scenario;
  // summarize's first cold start fetches from the store at about 5.1 s; the store is down from
  // 4 s to 7 s, so its weight load takes at least the 1.9 s to the end of the outage.
  FaultSpec down;
  down.kind = FaultSpec::Kind::StoreDown;
  down.at = 4 * kSecond;
  down.length = 3 * kSecond;
  scenario.faults.push_back(down);
  real::WorkerBackendOptions o;
  o.worker_binary = FLEETSIM_BINARY;
  o.work_dir = dir.path("work");
  o.speedup = 2;
  o.cores = 2;
  o.catch_signals = false;
  real::WorkerBackend backend(scenario, real::scale_models(scenario, 2.5e7), o);
  REQUIRE(backend.prepare() == "");
  SimulationSetup setup = build_setup(scenario, registry());
  setup.backend = &backend;
  RunOutput out = run_setup(std::move(setup));
  backend.shutdown();
  INFO(out.status.errors.to_string() + out.status.stop_reason);
  REQUIRE(out.status.ok);
  CHECK_FALSE(out.status.partial);
  for (const std::string& v : out.violations) FAIL(v);
  CHECK(out.ended == out.status.requests);
  const ColdStartRecord* store = nullptr;
  for (const ColdStartRecord& c : out.cold_starts)
    if (c.source == WeightSource::ModelStore && !c.aborted) store = &c;
  REQUIRE(store);
  CHECK(store->placed < 7 * kSecond);
  CHECK(to_seconds(store->placed + store->image_pull + store->weight_load) >= 7.0 - 0.01);
  CHECK(to_seconds(store->weight_load) >= 1.5);
}
