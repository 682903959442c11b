// Guards against runaway work and silent loss (issue 10): work limits before a run, sweep or
// import; bounded buffers under overload; trace rows and jobs after the duration counted;
// sweep metric paths checked before anything runs; `fleetsim jobs` reaching every job setting.
#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "cli/runner/run_to_directory.hpp"
#include "cli/sweep/sweep.hpp"
#include "reports/run_files.hpp"
#include "scenarios/loader/work_limits.hpp"
#include "sim/timeseries.hpp"
#include "tests/support.hpp"
#include "traces/importers.hpp"

using namespace fleetsim;
using Catch::Contains;
namespace fs = std::filesystem;

namespace {

std::string scenario_text(const std::string& rate, const std::string& duration, const std::string& extra = "") {
  return "name: guard\nduration: " + duration + "\n" + extra +
         "cluster:\n  pools:\n    - {name: a, nodes: 1, gpu: H100-80GB, gpus_per_node: 4}\n"
         "models:\n  - {name: m, parameters: 8e9, kv_cache_per_token: 128KiB}\n"
         "workloads:\n  - model: m\n    arrivals: {process: poisson, rate: " +
         rate + "}\n    input_tokens: {dist: fixed, value: 100}\n    output_tokens: {dist: fixed, value: 10}\n";
}

struct Shell {
  int code = -1;
  std::string err;
};

Shell fleetsim_cli(const test::TempDir& dir, const std::string& args) {
  const std::string err = dir.path("stderr.txt");
  const std::string command = "cd " + test::shell_quote(FLEETSIM_SOURCE_DIR) + " && " +
                              test::shell_quote(FLEETSIM_BINARY) + " " + args + " > /dev/null 2> " +
                              test::shell_quote(err);
  const int status = std::system(command.c_str());
  Shell s;
  s.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  s.err = test::read_file(err);
  return s;
}

}  // namespace

TEST_CASE("work limits: a runaway rate is refused with the estimate, the limit and --force", "[guards]") {
  const Scenario big = test::scenario_from(scenario_text("1000000/s", "1d"));
  CHECK(estimated_requests(big) == Approx(8.64e10));
  const std::string message = check_work(big).to_string();
  CHECK_THAT(message, Contains("8.64e+10") && Contains("1e+09") && Contains("--force"));
  CHECK(check_work(test::scenario_from(scenario_text("6/s", "1d"))).empty());
  // on/off counts its on share only; a workload starting late counts from its start.
  const Scenario onoff = test::scenario_from(
      "duration: 10h\ncluster:\n  pools:\n    - {name: a, nodes: 1, gpu: H100-80GB}\n"
      "models:\n  - {name: m, parameters: 8e9, kv_cache_per_token: 128KiB}\n"
      "workloads:\n  - model: m\n    start: 5h\n    arrivals: {process: on-off, rate: 4/s, on: 1h, off: 3h}\n"
      "    input_tokens: {dist: fixed, value: 100}\n    output_tokens: {dist: fixed, value: 10}\n");
  CHECK(estimated_requests(onoff) == Approx(4.0 * 0.25 * 5 * 3600));

  test::TempDir dir("guards");
  const std::string file = dir.write("big.yaml", scenario_text("1e12/s", "1d"));
  Shell v = fleetsim_cli(dir, "validate " + test::shell_quote(file));
  CHECK(v.code == 2);
  CHECK_THAT(v.err, Contains("8.64e+16") && Contains("--force"));
  Shell r = fleetsim_cli(dir, "run " + test::shell_quote(file) + " --out " + test::shell_quote(dir.path("out")));
  CHECK(r.code == 2);
  CHECK_FALSE(fs::exists(dir.path("out")));
  CHECK(fleetsim_cli(dir, "validate --force " + test::shell_quote(file)).code == 0);
}

TEST_CASE("overload: the buffer and replica queues stay bounded, the rest is rejected and counted", "[guards]") {
  // One replica of a slow service-time model, far more requests than it serves.
  const std::string yaml =
      "duration: 10min\nbuffer_limit: 50\nqueue_limit: 20\nwarm_start: false\n"
      "cluster:\n  pools:\n    - {name: a, nodes: 1, gpu: H100-80GB, gpus_per_node: 1}\n"
      "models:\n  - {name: s, kind: service-time, memory_per_gpu: 4GiB, max_concurrency: 1,\n"
      "     service_time: {dist: fixed, value: 1s}, autoscaler: {impl: fixed, replicas: 1}}\n"
      "workloads:\n  - model: s\n    arrivals: {process: poisson, rate: 100/s}\n";
  const test::RunOutput out = test::run_scenario(test::scenario_from(yaml));
  REQUIRE(out.status.ok);
  CHECK(out.violations.empty());
  const auto& outcomes = out.metrics.overall.outcomes;
  const auto rejected = outcomes[static_cast<std::size_t>(RequestOutcome::Rejected)];
  CHECK(rejected > 50'000);  // ~60,000 arrive, one a second is served
  CHECK(outcomes[static_cast<std::size_t>(RequestOutcome::Completed)] < 700);
  CHECK(std::string(outcome_name(RequestOutcome::Rejected)) == "rejected");
  // The defaults leave a modest load alone.
  const Scenario normal = test::scenario_from(scenario_text("2/s", "10min"));
  CHECK(normal.buffer_limit == 100'000);
  CHECK(normal.queue_limit == 100'000);
  const test::RunOutput calm = test::run_scenario(normal);
  CHECK(calm.metrics.overall.outcomes[static_cast<std::size_t>(RequestOutcome::Rejected)] == 0);
  CHECK_THAT(test::errors_of(scenario_text("2/s", "10min", "buffer_limit: 0\n")), Contains("buffer_limit"));
}

TEST_CASE("trace import: a row limit stops a runaway import and leaves no file", "[guards]") {
  // Rates × window lengths promise 6 rows, but cv = 1000 bunches arrivals: a Gamma renewal
  // count exceeds its mean by about cv²/2, far past the limit. The estimate lets it start; the
  // limit stops it mid-write.
  test::TempDir dir("guards");
  fs::create_directories(dir.dir / "sg");
  test::write_file(dir.dir / "sg" / "chunk-0-trace.csv", "0,0.01,1000,Gamma,1,1\n");
  ImportOptions o;
  o.format = "servegen";
  o.input = (dir.dir / "sg").string();
  o.output = dir.path("out.csv");
  o.default_tokens = std::make_pair(10u, 10u);
  o.max_rows = 1000;
  const ImportReport r = import_trace(o);
  CHECK_FALSE(r.ok());
  CHECK_THAT(r.errors.to_string(), Contains("would write more than 1000 rows") && Contains("--force"));
  CHECK(r.rows_written == 1000);  // it did start writing
  CHECK_FALSE(fs::exists(o.output));
  CHECK_FALSE(fs::exists(o.output + ".part"));
  o.max_rows = 0;
  const ImportReport all = import_trace(o);
  CHECK(all.ok());
  CHECK(all.rows_written > 1000);
}

TEST_CASE("trace import: servegen is refused up front when rates × windows pass the row limit", "[guards]") {
  test::TempDir dir("guards");
  fs::create_directories(dir.dir / "sg");
  // Two clients: 1,000/s for an hour and its copy (the last window as long as the one before),
  // and 10/s for 600 s (alone: 600 s); a bad row and an out-of-order one are left out, as the
  // import leaves them out. 7.2e6 + 6,000 rows.
  test::write_file(dir.dir / "sg" / "chunk-0-trace.csv",
                   "0,1000,1,Gamma,1,1\nx,5,1,Gamma,1,1\n3600,1000,1,Gamma,1,1\n10,5,1,Gamma,1,1\n");
  test::write_file(dir.dir / "sg" / "chunk-1-trace.csv", "0,10,1,Gamma,1,1\n");
  ImportOptions o;
  o.format = "servegen";
  o.input = (dir.dir / "sg").string();
  o.output = dir.path("out.csv");
  o.default_tokens = std::make_pair(10u, 10u);
  o.lenient = true;
  o.max_rows = 1'000'000;
  const ImportReport r = import_trace(o);
  CHECK_FALSE(r.ok());
  CHECK_THAT(r.errors.to_string(), Contains("would write about 7.21e+06 rows (rates × window lengths)") &&
                                       Contains("more than the limit of 1000000 rows") && Contains("--force"));
  CHECK(r.rows_read == 0);  // refused before generating anything
  CHECK_FALSE(fs::exists(o.output));
  CHECK_FALSE(fs::exists(o.output + ".part"));

  // The estimate follows --window and --rate-scale: the first 100 s at 1,010/s × 0.5 = 50,500.
  o.window_start = 0;
  o.window_end = 100;
  o.rate_scale = 0.5;
  o.max_rows = 50'000;
  CHECK_THAT(import_trace(o).errors.to_string(), Contains("about 50500 rows"));
  o.max_rows = 60'000;
  const ImportReport under = import_trace(o);
  INFO(under.errors.to_string());
  REQUIRE(under.ok());
  CHECK(under.rows_written == Approx(50'500).epsilon(0.05));  // the estimate is the mean
  CHECK(fs::exists(o.output));

  // From the command line: the default limit (1e8 rows), --force lifts it. Ten days at 1,000/s
  // and the last window as long: 1.73e9 rows, refused at once.
  test::write_file(dir.dir / "sg" / "chunk-0-trace.csv", "0,1000,1,Gamma,1,1\n864000,1000,1,Gamma,1,1\n");
  fs::remove(dir.dir / "sg" / "chunk-1-trace.csv");
  const std::string out = dir.path("big.csv");
  const Shell refused = fleetsim_cli(dir, "trace import servegen " + test::shell_quote(o.input) + " --out " +
                                              test::shell_quote(out) + " --default-tokens 1:1");
  CHECK(refused.code == 2);
  CHECK_THAT(refused.err, Contains("about 1.73e+09 rows") && Contains("limit of 100000000 rows") &&
                              Contains("--force") && Contains("nothing written"));
  CHECK_FALSE(fs::exists(out));
  CHECK_FALSE(fs::exists(out + ".part"));

  // From a scenario's trace: the same refusal, naming the scenario's keys.
  const std::string scenario = dir.write(
      "s.yaml", "duration: 10min\ncluster: {pools: [{name: a, nodes: 1, gpu: H100-80GB}]}\n"
                "models: [{name: m, parameters: 8e9, kv_cache_per_token: 128KiB}]\n"
                "workloads:\n  - trace: {path: " + o.input + ", format: servegen, assign: fixed, model: m,\n"
                "            default_tokens: {input: 1, output: 1}}\n");
  const Shell from_scenario = fleetsim_cli(dir, "validate " + test::shell_quote(scenario));
  CHECK(from_scenario.code == 2);
  CHECK_THAT(from_scenario.err, Contains("about 1.73e+09 rows") && Contains("window_start / window_end or rate_scale") &&
                                    !Contains("--window"));
}

TEST_CASE("trace import: a killed import removes its partial file", "[guards]") {
  test::TempDir dir("guards");
  fs::create_directories(dir.dir / "sg");
  // A rate-only trace over ten days at 10,000/s: far more than the test lets it write.
  test::write_file(dir.dir / "sg" / "chunk-0-trace.csv", "0,10000,1,Gamma,1,1\n864000,10000,1,Gamma,1,1\n");
  const std::string out = dir.path("big.csv");
  const pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    const std::string input = (dir.dir / "sg").string();
    execl(FLEETSIM_BINARY, FLEETSIM_BINARY, "trace", "import", "servegen", input.c_str(), "--out", out.c_str(),
          "--default-tokens", "1:1", "--force", static_cast<char*>(nullptr));
    _exit(127);
  }
  for (int i = 0; i < 200 && !(fs::exists(out + ".part") && fs::file_size(out + ".part") > 0); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  CHECK(fs::exists(out + ".part"));
  kill(child, SIGTERM);
  int status = 0;
  waitpid(child, &status, 0);
  CHECK(WIFSIGNALED(status));
  CHECK_FALSE(fs::exists(out + ".part"));
  CHECK_FALSE(fs::exists(out));
}

TEST_CASE("trace rows after the duration are counted, not dropped silently", "[guards]") {
  test::TempDir dir("guards");
  const std::string trace = dir.write("t.csv",
                                      "timestamp,model,input_tokens,output_tokens\n1,m,10,5\n2,m,10,5\n"
                                      "70,m,10,5\n80,m,10,5\n90,m,10,5\n");
  const std::string yaml = "duration: 1min\ncluster:\n  pools:\n    - {name: a, nodes: 1, gpu: H100-80GB}\n"
                           "models:\n  - {name: m, parameters: 8e9, kv_cache_per_token: 128KiB}\n"
                           "workloads:\n  - trace: " + trace + "\n";
  const test::RunOutput out = test::run_scenario(test::scenario_from(yaml));
  REQUIRE(out.status.ok);
  CHECK(out.status.requests == 2);
  CHECK(out.status.requests_after_duration == 3);
  // A generated workload never ends: nothing to count.
  CHECK(test::run_scenario(test::scenario_from(scenario_text("2/s", "1min"))).status.requests_after_duration == 0);
}

TEST_CASE("jobs submitted after the run's end are counted", "[guards]") {
  std::vector<JobSpec> jobs;
  for (int i = 0; i < 4; ++i) {
    JobSpec j;
    j.id = "j" + std::to_string(i);
    j.submit = i * 100 * kSecond;
    j.duration = 10 * kSecond;
    j.worker.gpus = 1;
    jobs.push_back(j);
  }
  JobSimulation sim({JobClusterNode{"H100-80GB", 1}}, std::make_unique<test::ListJobs>(jobs),
                    test::registry().make_queue(PolicyChoice{"fifo", {}}), JobRunOptions{});
  const JobRunResult r = sim.finish(150 * kSecond);
  CHECK(r.jobs.size() == 2);
  CHECK(r.jobs_after_duration == 2);
}

TEST_CASE("jobs: a cluster-wide checkpoint interval applies to jobs whose trace gives none", "[guards]") {
  // One GPU; a 10 h job at 0 and a 1 h job at 5 h under SRTF: the long one is preempted at 5 h.
  auto run = [](SimTime interval) {
    JobSpec a, b;
    a.id = "long";
    a.duration = 10 * kHour;
    a.worker.gpus = 1;
    b.id = "short";
    b.submit = 5 * kHour;
    b.duration = kHour;
    b.worker.gpus = 1;
    JobRunOptions options;
    options.checkpoint_interval = interval;
    JobSimulation sim({JobClusterNode{"H100-80GB", 1}}, std::make_unique<test::ListJobs>(std::vector<JobSpec>{a, b}),
                      test::registry().make_queue(PolicyChoice{"srtf", {}}), options);
    return sim.run();
  };
  const JobRunResult none = run(0);
  REQUIRE(none.jobs[0].preemptions == 1);
  CHECK(none.jobs[0].lost_gpu_seconds == 0);  // checkpoints when preempted
  const JobRunResult every2h = run(2 * kHour);
  REQUIRE(every2h.jobs[0].preemptions == 1);
  CHECK(every2h.jobs[0].lost_gpu_seconds == Approx(3600));  // ran 5 h, last checkpoint at 4 h
  CHECK(test::scenario_from(scenario_text("1/s", "1h")).jobs.checkpoint_interval == 0);
}

TEST_CASE("fleetsim jobs --policy-param and --checkpoint-interval are checked like the scenario's", "[guards]") {
  test::TempDir dir("guards");
  const std::string base = "jobs --trace scenarios/traces/finetune-jobs.csv --format generic-csv --cluster H100-80GB:2x8 ";
  Shell unknown = fleetsim_cli(dir, base + "--policy las --policy-param threshold_gpu_hour=2");
  CHECK(unknown.code == 2);
  CHECK_THAT(unknown.err, Contains("threshold_gpu_hour") && Contains("threshold_gpu_hours"));
  Shell range = fleetsim_cli(dir, base + "--policy las --policy-param queues=0");
  CHECK(range.code == 2);
  CHECK_THAT(range.err, Contains("queues") && Contains("between"));
  CHECK(fleetsim_cli(dir, base + "--policy las --policy-param queues=x").code == 2);
  CHECK(fleetsim_cli(dir, base + "--policy las --policy-param novalue").code == 2);
  CHECK(fleetsim_cli(dir, base + "--checkpoint-interval 5").code == 2);
  Shell ok = fleetsim_cli(dir, base + "--policy las --policy-param threshold_gpu_hours=2 --policy-param queues=3 "
                                      "--checkpoint-interval 30min --out " + test::shell_quote(dir.path("o")));
  REQUIRE(ok.code == 0);
  const std::string result = test::read_file(dir.dir / "o" / "result.json");
  CHECK_THAT(result, Contains("\"threshold_gpu_hours\": 2") && Contains("\"queues\": 3") &&
                         Contains("\"checkpoint_interval\": \"30min\""));
}

TEST_CASE("sweeps: metric paths and the point count are checked before anything runs", "[guards]") {
  test::TempDir dir("guards");
  const std::string base = dir.write("base.yaml", scenario_text("1/s", "10min"));
  const std::string file = dir.write("s.yaml", "base: base.yaml\nseeds: [1, 2]\nmetrics: [overall.ttft_s.p99, overall.nope, overall.ttft_s]\n");
  SweepLoadResult loaded = load_sweep_file(file);
  REQUIRE(loaded.sweep);
  const std::string errors = check_sweep_points(*loaded.sweep, test::registry()).to_string();
  CHECK_THAT(errors, Contains("overall.nope is not in result.json"));
  CHECK_THAT(errors, Contains("overall.ttft_s is a group"));
  CHECK_THAT(errors, !Contains("p99"));
  SweepRunOptions options;
  options.registry = &test::registry();
  const SweepReport r = run_sweep(*loaded.sweep, dir.path("out"), 1, 0, 1, options);
  CHECK_FALSE(r.errors.empty());
  CHECK(r.ran == 0);
  CHECK_FALSE(fs::exists(dir.dir / "out" / "point-0000"));

  std::string grid = "base: base.yaml\ngrid:\n";
  for (const char* key : {"seed", "models[0].max_batch", "drain_limit"}) {
    grid += std::string("  ") + key + ": [";
    for (int i = 0; i < 200; ++i) grid += (i ? ", " : "") + std::to_string(i + 1) + (std::string(key) == "drain_limit" ? "s" : "");
    grid += "]\n";
  }
  SweepLoadResult huge = load_sweep_file(dir.write("huge.yaml", grid));
  REQUIRE(huge.sweep);
  CHECK(sweep_point_count(*huge.sweep) == 8'000'000);
  CHECK_THAT(check_sweep_size(*huge.sweep).to_string(), Contains("8e+06 points") && Contains("--force"));
}

TEST_CASE("every test case name survives CTest discovery (no semicolon)", "[guards]") {
  // catch_discover_tests splits a name at ';' into two CTest entries that match no test case,
  // and Catch then passes without running anything: such a test is silently never run.
  for (const Catch::TestCase& t : Catch::getRegistryHub().getTestCaseRegistry().getAllTests())
    CHECK_FALSE(t.name.find(';') != std::string::npos);
}

TEST_CASE("a run streams timeseries.csv: the same bytes as the recorder keeps in memory", "[guards]") {
  // Two models and a 1 s sample interval over 40 min: well over the 1 MiB the writer buffers.
  const Scenario sc = test::scenario_from(
      "duration: 40min\nsample_interval: 1s\n"
      "cluster:\n  pools:\n    - {name: a, nodes: 1, gpu: H100-80GB, gpus_per_node: 4}\n"
      "models:\n  - {name: m, parameters: 8e9, kv_cache_per_token: 128KiB}\n"
      "  - {name: n, parameters: 8e9, kv_cache_per_token: 128KiB}\n"
      "workloads:\n  - model: m\n    arrivals: {process: poisson, rate: 2/s}\n"
      "    input_tokens: {dist: fixed, value: 100}\n    output_tokens: {dist: fixed, value: 10}\n"
      "  - model: n\n    arrivals: {process: poisson, rate: 1/s}\n"
      "    input_tokens: {dist: fixed, value: 100}\n    output_tokens: {dist: fixed, value: 10}\n");
  test::TempDir dir("guards");
  const RunReport report = run_to_directory(sc, test::registry(), dir.path("out"), "test");
  REQUIRE(report.failure == RunFailure::None);
  const std::string streamed = test::read_file(dir.dir / "out" / "timeseries.csv");
  CHECK(streamed.size() > (1u << 20));

  Simulation sim(build_setup(sc, test::registry()));
  TimeSeriesRecorder recorder(sim.scenario(), sc.sample_interval);
  sim.add_observer(&recorder);
  REQUIRE(sim.run().ok);
  CHECK(streamed == timeseries_csv(sc, recorder));
}

TEST_CASE("a killed run removes its staging folder and the output folder it created", "[guards]") {
  test::TempDir dir("guards");
  // About 8.6e8 requests: far longer than the test waits.
  const std::string file = dir.write("long.yaml", scenario_text("10/s", "1000d"));
  const std::string out = dir.path("out");
  const pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    execl(FLEETSIM_BINARY, FLEETSIM_BINARY, "run", file.c_str(), "-q", "--out", out.c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  auto staging = [&] {
    for (const auto& e : fs::directory_iterator(dir.dir))
      if (e.path().filename().string().rfind(".out.partial-", 0) == 0) return e.path();
    return fs::path();
  };
  // Wait (for as long as it takes, within reason) until the run is under way.
  for (int i = 0; i < 600 && !(!staging().empty() && fs::exists(staging() / "timeseries.csv")); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const fs::path seen = staging();
  CHECK_FALSE(seen.empty());
  CHECK(fs::exists(out));
  kill(child, SIGTERM);
  int status = 0;
  waitpid(child, &status, 0);
  CHECK(WIFSIGNALED(status));
  CHECK(staging().empty());
  CHECK_FALSE(fs::exists(out));
}

TEST_CASE("report.html: the cold-start timeline stays bounded however many cold starts a run has", "[guards]") {
  // The default scenario's day has over a thousand cold starts of its busiest model: that lane is
  // drawn as counts per 3 px column, not a bar (with its tooltip) per cold start.
  test::TempDir dir("guards");
  REQUIRE(fleetsim_cli(dir, "run -q --out " + test::shell_quote(dir.path("out"))).code == 0);
  const std::string html = test::read_file(dir.dir / "out" / "report.html");
  const std::size_t begin = html.find("chart-cold-start-timeline");
  REQUIRE(begin != std::string::npos);
  const std::string timeline = html.substr(begin, html.find("</figure>", begin) - begin);
  CHECK_THAT(timeline, Contains("cold starts placed between"));
  std::size_t groups = 0;
  for (std::size_t at = timeline.find("<g><title>"); at != std::string::npos; at = timeline.find("<g><title>", at + 1))
    ++groups;
  CHECK(groups < 1000);  // a few models × at most ~270 columns each
}
