// One result format for every front end: `fleetsim jobs` and `fleetsim saturation` write the
// versioned result.json (kind jobs / saturation, run's schema_version and layout), report.html
// and result.prom into --out, byte-identical for the same inputs; their figures on tiny cases
// computed by hand; result.prom passes `promtool check metrics` (when installed); `fleetsim
// compare` takes two jobs or two saturation results, not a mix; and the reader's diagnostics
// for such results.
#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "reports/html_report.hpp"
#include "reports/prometheus.hpp"
#include "reports/result_json.hpp"
#include "reports/run_data.hpp"
#include "tests/support.hpp"

using Catch::Contains;
namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

namespace {

bool on_path(const std::string& tool) { return std::system(("command -v " + tool + " >/dev/null 2>&1").c_str()) == 0; }

// A scratch directory per test; runs the binary from it (relative paths stay the same between
// runs, so their results can be compared byte for byte).
struct Cli {
  fleetsim::test::TempDir scratch{"results"};
  const fs::path dir = scratch.dir;

  struct Result {
    int code = -1;
    std::string out, err;
  };

  Result run(const std::string& args) const {
    const fs::path out = dir / "stdout.txt", err = dir / "stderr.txt";
    const std::string command = "cd " + fleetsim::test::shell_quote(dir.string()) + " && " + fleetsim::test::shell_quote(FLEETSIM_BINARY) + " " + args + " > " +
                                fleetsim::test::shell_quote(out.string()) + " 2> " + fleetsim::test::shell_quote(err.string());
    const int status = std::system(command.c_str());
    REQUIRE(status != -1);
    Result r;
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    r.out = fleetsim::test::read_file(out);
    r.err = fleetsim::test::read_file(err);
    return r;
  }
  std::string write(const std::string& name, const std::string& text) const { return scratch.write(name, text); }
  fs::path path(const std::string& name) const { return dir / name; }
};

fleetsim::RunData load(const fs::path& dir) {
  fleetsim::LoadedRun loaded = fleetsim::load_run_dir(dir.string());
  INFO(loaded.errors.to_string());
  REQUIRE(loaded.errors.empty());
  REQUIRE(loaded.run);
  return *loaded.run;
}

json result_of(const fs::path& dir) { return json::parse(fleetsim::test::read_file(dir / "result.json")); }

std::vector<std::string> keys_of(const json& j) {
  std::vector<std::string> out;
  for (auto it = j.begin(); it != j.end(); ++it) out.push_back(it.key());
  return out;
}

void check_promtool(const fs::path& prom, const fs::path& scratch) {
  if (!on_path("promtool")) {
    WARN("promtool is not installed (Debian package prometheus): skipping `promtool check metrics`");
    return;
  }
  const fs::path out = scratch / "promtool.txt";
  const int rc = std::system(("promtool check metrics < " + fleetsim::test::shell_quote(prom.string()) + " > " + fleetsim::test::shell_quote(out.string()) + " 2>&1").c_str());
  INFO("promtool check metrics " << prom << ":\n" << fleetsim::test::read_file(out));
  CHECK(rc == 0);
  CHECK(fleetsim::test::read_file(out).empty());
}

// Every file both runs wrote, byte for byte.
void check_identical(const fs::path& a, const fs::path& b) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(a)) names.push_back(e.path().filename().string());
  std::vector<std::string> other;
  for (const auto& e : fs::directory_iterator(b)) other.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  std::sort(other.begin(), other.end());
  REQUIRE(names == other);
  for (const std::string& n : names) {
    INFO(n);
    CHECK(fleetsim::test::read_file(a / n) == fleetsim::test::read_file(b / n));
  }
}

// Three jobs on one node of 4 GPUs, FIFO: a (2 GPUs, 100 s) starts at 0; b (4 GPUs, 50 s,
// submitted at 10) waits for a and runs 100-150; c (2 GPUs, 30 s, submitted at 20) is behind b
// in the queue, so it waits although 2 GPUs are free, and runs 150-180.
//   JCT 100, 140, 160 (mean 400/3); queueing 0, 90, 130 (mean 220/3); makespan 180 s;
//   busy GPU-seconds 2*100 + 4*50 + 2*30 = 460 of 4*180 = 720.
// With --backfill c starts at 20 (it ends at 50, before b's reservation at 100): JCT 100, 140,
// 30 (mean 90), queueing mean 30, makespan 150, utilization 460/600.
const std::string kJobs =
    "id,submit_s,duration_s,gpus,workers,tenant,priority\n"
    "a,0,100,2,1,lab,0\n"
    "b,10,50,4,1,lab,0\n"
    "c,20,30,2,1,lab,0\n";
const std::string kJobsArgs = "jobs --format generic-csv --trace jobs.csv --cluster H100-80GB:1x4";

// One node of 2 GPUs and pods of 600 milli-GPU (30% of the capacity each). Pod 1 goes on GPU 0
// (arrived 30%), pod 2 on GPU 1 (60%: the 400 milli left on each are fragments, no pod fits
// them), pods 3 (90%) and 4 (120%) fail.
const std::string kNodes = "sn,cpu_milli,memory_mib,gpu,model\nnode-a,8000,65536,2,T4\n";
const std::string kPods =
    "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_time,scheduled_time\n"
    "pod-a,1000,1024,1,600,,LS,Running,0,100,0\n";
const std::string kSaturationBase = "saturation --nodes nodes.csv --pods pods.csv --policies best-fit,fgd --seed 7";
const std::string kSaturationArgs = kSaturationBase + " --until 1.2";

}  // namespace

TEST_CASE("fleetsim jobs writes result.json, report.html and result.prom with the figures of a tiny case",
          "[results][jobs]") {
  Cli cli;
  cli.write("jobs.csv", kJobs);
  const auto r = cli.run(kJobsArgs + " --out fifo");
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  const fs::path dir = cli.path("fifo");
  for (const char* f : {"result.json", "report.html", "result.prom", "timeseries.csv", "jobs.csv", "utilization.csv",
                        "utilization.svg", "tenants.csv"})
    CHECK(fs::exists(dir / f));

  const json j = result_of(dir);
  // run's layout: the versioned header, the inputs echoed, the run, then the front end's blocks.
  CHECK(keys_of(j) == std::vector<std::string>{"schema_version", "fleetsim_version", "kind", "scenario", "run", "jobs",
                                               "by_gpus", "tenants", "cluster"});
  CHECK(j["schema_version"] == fleetsim::kResultSchemaVersion);
  CHECK(j["kind"] == "jobs");
  CHECK(j["scenario"]["name"] == "jobs");
  CHECK(j["scenario"]["seed"] == 1);
  CHECK(j["scenario"]["cluster"]["given"] == "H100-80GB:1x4");
  CHECK(j["scenario"]["cluster"]["groups"][0]["gpu_memory"] == "80GiB");
  CHECK(j["scenario"]["jobs"]["trace"] == "jobs.csv");
  CHECK(j["scenario"]["jobs"]["format"] == "generic-csv");
  CHECK(j["scenario"]["jobs"]["columns"]["submit"] == "submit_s");
  CHECK(j["scenario"]["jobs"]["policy"]["impl"] == "fifo");
  CHECK(j["scenario"]["jobs"]["backfill"] == false);
  CHECK(j["scenario"]["jobs"]["restart_overhead"] == "0s");
  CHECK(j["run"]["seed"] == 1);
  CHECK(j["run"]["events"] == 6);  // an arrival and an end per job
  CHECK(j["run"]["jobs"] == 3);
  CHECK(j["run"]["end_time_s"].get<double>() == Approx(180).margin(1e-6));

  const json& jobs = j["jobs"];
  // The block run writes for co-located jobs, in its order, then the totals of a replay.
  CHECK(keys_of(jobs) == std::vector<std::string>{"jobs", "completed", "rejected", "jobs_after_duration", "mean_jct_s", "jct_s",
                                                  "mean_queueing_s", "queueing_s", "preemptions",
                                                  "futile_preemptions", "lost_gpu_hours", "gpu_seconds_busy",
                                                  "makespan_s", "gpu_seconds_capacity", "utilization"});
  CHECK(jobs["jobs"] == 3);
  CHECK(jobs["completed"] == 3);
  CHECK(jobs["rejected"] == 0);
  CHECK(jobs["preemptions"] == 0);
  CHECK(jobs["futile_preemptions"] == 0);
  CHECK(jobs["lost_gpu_hours"].get<double>() == 0);
  CHECK(jobs["mean_jct_s"].get<double>() == Approx(400.0 / 3).margin(1e-6));
  CHECK(jobs["mean_queueing_s"].get<double>() == Approx(220.0 / 3).margin(1e-6));
  // Percentiles within the sketch's 0.5%: rank floor(q (n - 1)) of 100, 140, 160.
  CHECK(jobs["jct_s"]["count"] == 3);
  CHECK(jobs["jct_s"]["p50"].get<double>() == Approx(140).epsilon(0.005));
  CHECK(jobs["jct_s"]["max"].get<double>() == Approx(160).margin(1e-6));
  CHECK(jobs["queueing_s"]["max"].get<double>() == Approx(130).margin(1e-6));
  CHECK(jobs["makespan_s"].get<double>() == Approx(180).margin(1e-6));
  CHECK(jobs["gpu_seconds_busy"].get<double>() == Approx(460).margin(1e-5));
  CHECK(jobs["gpu_seconds_capacity"].get<double>() == Approx(720).margin(1e-5));
  CHECK(jobs["utilization"].get<double>() == Approx(460.0 / 720).margin(1e-9));
  CHECK(j["cluster"]["gpus"].get<double>() == 4);
  CHECK(j["cluster"]["utilization"].get<double>() == Approx(460.0 / 720).margin(1e-9));
  REQUIRE(j["by_gpus"].size() == 1);
  CHECK(j["by_gpus"][0]["class"] == "2-4 GPUs");
  CHECK(j["by_gpus"][0]["jobs"] == 3);
  // Finish-time fairness, one tenant with all 4 GPUs: rho = JCT / run time alone.
  REQUIRE(j["tenants"].size() == 1);
  CHECK(j["tenants"][0]["tenant"] == "lab");
  CHECK(j["tenants"][0]["mean_rho"].get<double>() == Approx((1.0 + 140.0 / 50 + 160.0 / 30) / 3).margin(1e-6));
  CHECK(j["tenants"][0]["max_rho"].get<double>() == Approx(160.0 / 30).margin(1e-6));

  // Read back as every report reads a run directory.
  const fleetsim::RunData run = load(dir);
  CHECK(run.kind == "jobs");
  CHECK(run.has_jobs);
  CHECK(run.jobs.has_totals);
  CHECK(run.jobs.completed == 3);
  CHECK(run.events == 6);
  CHECK(run.has_timeseries);

  const std::string html = fleetsim::test::read_file(dir / "report.html");
  CHECK(html == fleetsim::html_report(run));
  CHECK(html.rfind("<!DOCTYPE html>", 0) == 0);
  CHECK_THAT(html, Contains("fleetsim jobs report: jobs"));
  CHECK_THAT(html, Contains("id=\"chart-jct-cdf\""));
  CHECK_THAT(html, Contains("id=\"chart-utilization\""));
  CHECK_THAT(html, Contains("id=\"chart-jct-by-size\""));
  CHECK_THAT(html, Contains("<td>2.2 min</td>"));  // JCT mean, 133 s
  CHECK_THAT(html, Contains("<td>63.9%</td>"));    // utilization
  CHECK_THAT(html, !Contains("<script"));

  const std::string prom = fleetsim::test::read_file(dir / "result.prom");
  CHECK(prom == fleetsim::prometheus_export(run));
  for (const char* line : {"fleetsim_run_info{fleetsim_version=\"",
                           ",kind=\"jobs\",scenario=\"jobs\",seed=\"",
                           "fleetsim_run_events_total 6\n",
                           "fleetsim_cluster_gpus 4\n",
                           "fleetsim_jobs_total 3\n",
                           "fleetsim_jobs_completed_total 3\n",
                           "fleetsim_jobs_rejected_total 0\n",
                           "fleetsim_job_completion_seconds_count 3\n",
                           "fleetsim_job_queueing_seconds_count 3\n",
                           "fleetsim_job_preemptions_total 0\n",
                           "fleetsim_jobs_by_size_total{size=\"2-4 GPUs\"} 3\n",
                           "fleetsim_tenant_jobs_completed_total{tenant=\"lab\"} 3\n",
                           "# TYPE fleetsim_job_completion_seconds summary\n"})
    CHECK_THAT(prom, Contains(line));
  check_promtool(dir / "result.prom", cli.dir);
}

TEST_CASE("fleetsim saturation writes result.json, report.html and result.prom with the figures of a tiny case",
          "[results][saturation]") {
  Cli cli;
  cli.write("nodes.csv", kNodes);
  cli.write("pods.csv", kPods);
  const auto r = cli.run(kSaturationArgs + " --out sat");
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  const fs::path dir = cli.path("sat");
  for (const char* f : {"result.json", "report.html", "result.prom", "saturation.csv", "saturation.svg"})
    CHECK(fs::exists(dir / f));

  const json j = result_of(dir);
  CHECK(keys_of(j) ==
        std::vector<std::string>{"schema_version", "fleetsim_version", "kind", "scenario", "run", "saturation", "cluster"});
  CHECK(j["schema_version"] == fleetsim::kResultSchemaVersion);
  CHECK(j["kind"] == "saturation");
  CHECK(j["scenario"]["name"] == "pods");
  CHECK(j["scenario"]["seed"] == 7);
  CHECK(j["scenario"]["nodes"] == "nodes.csv");
  CHECK(j["scenario"]["until"].get<double>() == 1.2);
  CHECK(j["scenario"]["pods_in_list"] == 1);
  CHECK(j["scenario"]["cluster"]["gpu_types"]["T4"]["gpus"] == 2);
  REQUIRE(j["scenario"]["policies"].size() == 2);
  CHECK(j["scenario"]["policies"][1]["spec"] == "fgd");
  CHECK(j["scenario"]["policies"][1]["exact"] == false);  // the default, filled in
  CHECK(j["run"]["seed"] == 7);
  CHECK(j["run"]["events"] == 8);  // 4 pods per policy
  CHECK(j["cluster"]["nodes"] == 1);

  const json& sat = j["saturation"];
  CHECK(sat["capacity_gpus"].get<double>() == 2);
  CHECK(keys_of(sat["policies"]) == std::vector<std::string>{"best-fit", "fgd"});
  for (const char* policy : {"best-fit", "fgd"}) {
    INFO(policy);
    const json& p = sat["policies"][policy];
    CHECK(p["arrived_pods"] == 4);
    CHECK(p["placed_pods"] == 2);
    CHECK(p["failed_pods"] == 2);
    CHECK(p["arrived_gpus"].get<double>() == Approx(2.4));
    CHECK(p["allocated_gpus"].get<double>() == Approx(1.2));
    CHECK(keys_of(p["at"]) == std::vector<std::string>{"50", "80", "90", "100"});
    // From 31% on both pods are placed: 400 milli left on each GPU, which no 600-milli pod can use.
    CHECK(p["at"]["50"]["allocation_ratio"].get<double>() == Approx(0.6));
    CHECK(p["at"]["50"]["unallocated_gpus"].get<double>() == Approx(0.8));
    CHECK(p["at"]["50"]["frag_gpus"].get<double>() == Approx(0.8));
    CHECK(p["at"]["50"]["frag_ratio"].get<double>() == Approx(1.0));
    CHECK(p["at"]["50"]["failed_pods"] == 0);
    CHECK(p["at"]["90"]["failed_pods"] == 1);
    CHECK(p["at"]["100"]["arrived_pods"] == 4);
    CHECK(p["at"]["100"]["failed_pods"] == 2);
    CHECK(p["end"]["arrived_pct"] == 120);
    CHECK(p["end"]["allocation_ratio"].get<double>() == Approx(0.6));
    // The curve: at 30% one pod is placed; GPU 0's 400 milli is a fragment, GPU 1 is free.
    const json& curve = p["curve"];
    REQUIRE(curve["arrived_pct"].size() == 121);
    CHECK(curve["arrived_pct"][30] == 30);
    CHECK(curve["allocation_ratio"][30].get<double>() == Approx(0.3));
    CHECK(curve["unallocated_gpus"][30].get<double>() == Approx(1.4));
    CHECK(curve["frag_gpus"][30].get<double>() == Approx(0.4));
    CHECK(curve["frag_ratio"][30].get<double>() == Approx(0.4 / 1.4));
  }

  const fleetsim::RunData run = load(dir);
  CHECK(run.kind == "saturation");
  REQUIRE(run.saturation.size() == 2);
  CHECK(run.saturation[0].name == "best-fit");
  CHECK(run.saturation[0].curve.size() == 121);
  REQUIRE(run.saturation[0].at(100));
  CHECK(run.saturation[0].at(100)->failed_pods == 2);

  const std::string html = fleetsim::test::read_file(dir / "report.html");
  CHECK(html == fleetsim::html_report(run));
  CHECK_THAT(html, Contains("fleetsim saturation report: pods"));
  CHECK_THAT(html, Contains("id=\"chart-allocation\""));
  CHECK_THAT(html, Contains("id=\"chart-fragmentation\""));
  CHECK_THAT(html, Contains("id=\"chart-failed-pods\""));
  CHECK_THAT(html, Contains("<td>60.00%</td>"));
  CHECK_THAT(html, !Contains("<script"));

  const std::string prom = fleetsim::test::read_file(dir / "result.prom");
  CHECK(prom == fleetsim::prometheus_export(run));
  for (const char* line : {"fleetsim_run_info{fleetsim_version=\"",
                           ",kind=\"saturation\",scenario=\"pods\",seed=\"",
                           "fleetsim_run_events_total 8\n",
                           "fleetsim_saturation_capacity_gpus 2\n",
                           "fleetsim_saturation_pods_failed_total{policy=\"fgd\"} 2\n",
                           "fleetsim_saturation_allocation_ratio{arrived_pct=\"50\",policy=\"best-fit\"} 0.6\n",
                           "fleetsim_saturation_fragmentation_gpus{arrived_pct=\"50\",policy=\"fgd\"} 0.8\n",
                           "fleetsim_saturation_fragmentation_ratio{arrived_pct=\"100\",policy=\"fgd\"} 1\n",
                           // the end (120%) is not a mark: it is exported as well
                           "fleetsim_saturation_allocation_ratio{arrived_pct=\"120\",policy=\"fgd\"} 0.6\n"})
    CHECK_THAT(prom, Contains(line));
  check_promtool(dir / "result.prom", cli.dir);
}

TEST_CASE("fleetsim jobs and saturation: the same inputs give byte-identical output directories", "[results]") {
  Cli first, second;
  for (const Cli* cli : {&first, &second}) {
    cli->write("jobs.csv", kJobs);
    cli->write("nodes.csv", kNodes);
    cli->write("pods.csv", kPods);
    // A preemptive policy with a restart overhead, and the shipped saturation lists, so that the
    // files hold more than zeros.
    const auto jobs = cli->run(kJobsArgs + " --policy srtf --restart-overhead 5s --out jobs");
    INFO(jobs.err);
    REQUIRE(jobs.code == 0);
    const auto sat = cli->run("saturation --nodes " + fleetsim::test::shell_quote(std::string(FLEETSIM_SOURCE_DIR) +
                                                          "/scenarios/traces/openb-nodes-small.csv") +
                              " --pods " + fleetsim::test::shell_quote(std::string(FLEETSIM_SOURCE_DIR) + "/scenarios/traces/openb-pods-small.csv") +
                              " --out sat");
    INFO(sat.err);
    REQUIRE(sat.code == 0);
  }
  check_identical(first.path("jobs"), second.path("jobs"));
  check_identical(first.path("sat"), second.path("sat"));
  // ... and another seed gives another saturation result.
  const auto other = first.run("saturation --nodes " +
                               fleetsim::test::shell_quote(std::string(FLEETSIM_SOURCE_DIR) + "/scenarios/traces/openb-nodes-small.csv") +
                               " --pods " +
                               fleetsim::test::shell_quote(std::string(FLEETSIM_SOURCE_DIR) + "/scenarios/traces/openb-pods-small.csv") +
                               " --seed 2 --out sat2");
  REQUIRE(other.code == 0);
  CHECK(fleetsim::test::read_file(first.path("sat2") / "result.json") != fleetsim::test::read_file(first.path("sat") / "result.json"));
}

TEST_CASE("fleetsim compare: two jobs results, two saturation results, never a mix", "[results][cli]") {
  Cli cli;
  cli.write("jobs.csv", kJobs);
  cli.write("nodes.csv", kNodes);
  cli.write("pods.csv", kPods);
  REQUIRE(cli.run(kJobsArgs + " --out fifo").code == 0);
  REQUIRE(cli.run(kJobsArgs + " --backfill --out backfill").code == 0);
  REQUIRE(cli.run(kSaturationArgs + " --out tiny").code == 0);
  REQUIRE(cli.run(kSaturationBase + " --until 0.9 --out short").code == 0);

  SECTION("jobs") {
    const auto r = cli.run("compare fifo backfill --html jobs.html");
    INFO(r.out << r.err);
    REQUIRE(r.code == 0);
    auto line = [&](const std::string& label) {
      std::istringstream in(r.out);
      for (std::string l; std::getline(in, l);)
        if (l.rfind("  " + label + " ", 0) == 0) return l;
      return std::string();
    };
    // Backfill: c runs at once. JCT mean 133 s -> 90 s (-32.5%), makespan 180 s -> 150 s.
    CHECK_THAT(line("JCT mean"), Contains("2.2 min") && Contains("90 s*") && Contains("(-32.5%)"));
    CHECK_THAT(line("queueing mean"), Contains("73 s") && Contains("30 s*") && Contains("(-59.1%)"));
    CHECK_THAT(line("GPU utilization"), Contains("63.89%") && Contains("76.67%*") && Contains("(+20.0%)"));
    CHECK_THAT(line("makespan"), Contains("3.0 min") && Contains("2.5 min*"));
    CHECK_THAT(line("completed"), Contains("3") && !Contains("*"));  // equal: nothing marked
    CHECK_THAT(r.out, Contains("JCT mean by gang size"));
    CHECK(fs::exists(cli.path("jobs.html")));
  }
  SECTION("saturation") {
    const auto r = cli.run("compare tiny short");
    INFO(r.out << r.err);
    REQUIRE(r.code == 0);
    CHECK_THAT(r.out, Contains("policy best-fit") && Contains("policy fgd"));
    CHECK_THAT(r.out, Contains("allocation at 50%") && Contains("fragmented GPUs at end"));
    std::istringstream in(r.out);
    bool pods = false;
    for (std::string l; std::getline(in, l);)
      if (l.rfind("  pods failed ", 0) == 0) {
        CHECK_THAT(l, Contains("2") && Contains("1*") && Contains("(-50.0%)"));  // until 1.2 vs 0.9
        pods = true;
      }
    CHECK(pods);
    // The short replay stopped at 90%: it has no 100% mark.
    CHECK_THAT(r.out, Contains("allocation at 100%"));
  }
  SECTION("a mix of kinds is refused") {
    const auto r = cli.run("compare fifo tiny");
    CHECK(r.code == 2);
    CHECK_THAT(r.err, Contains("a saturation result cannot be compared with a jobs result"));
  }
}

TEST_CASE("result.json of other front ends: unknown kinds and missing blocks are diagnostics", "[results]") {
  auto errors_of = [](const std::string& text) {
    fleetsim::RunData run;
    fleetsim::Diagnostics errors;
    fleetsim::parse_result_json(text, "result.json", run, errors);
    return errors.to_string();
  };
  CHECK_THAT(errors_of(R"({"schema_version": 1, "kind": "pods", "run": {}})"),
             Contains("kind") && Contains("unknown kind \"pods\" (this fleetsim reads run, jobs and saturation)"));
  // A jobs result needs its jobs block, not overall or models.
  const std::string jobs = errors_of(R"({"schema_version": 1, "kind": "jobs", "run": {"end_time_s": 1}})");
  CHECK_THAT(jobs, Contains("missing key \"jobs\""));
  CHECK_THAT(jobs, !Contains("overall") && !Contains("models"));
  // A saturation result has no clock.
  const std::string sat = errors_of(R"({"schema_version": 1, "kind": "saturation", "run": {"events": 3}})");
  CHECK_THAT(sat, Contains("missing key \"saturation\""));
  CHECK_THAT(sat, !Contains("end_time_s"));
  // A run (no kind) still needs overall and models.
  CHECK_THAT(errors_of(R"({"schema_version": 1, "run": {"end_time_s": 1}})"),
             Contains("missing key \"overall\"") && Contains("missing key \"models\""));
  CHECK_THAT(errors_of(R"({"schema_version": 1, "kind": "saturation", "run": {},
                          "saturation": {"capacity_gpus": 2, "policies": {"fgd": {"arrived_pods": 1,
                          "placed_pods": 1, "failed_pods": 0, "at": {}, "curve": {"arrived_pct": [0, 1],
                          "allocation_ratio": [0], "unallocated_gpus": [2, 2], "frag_gpus": [0, 0],
                          "frag_ratio": [0, 0], "failed_pods": [0, 0]}}}}})"),
             Contains("saturation.policies.fgd.curve.allocation_ratio") && Contains("expected 2 values"));
}

TEST_CASE("report.html of a jobs and a saturation result renders in headless Chromium without console errors",
          "[results]") {
  const std::string chromium = "/usr/bin/chromium";
  if (!fs::exists(chromium)) {
    WARN("Chromium is not installed (Debian package chromium): skipping the rendering check");
    return;
  }
  Cli cli;
  cli.write("jobs.csv", kJobs);
  REQUIRE(cli.run(kJobsArgs + " --out jobs").code == 0);
  REQUIRE(cli.run("saturation --nodes " + fleetsim::test::shell_quote(std::string(FLEETSIM_SOURCE_DIR) + "/scenarios/traces/openb-nodes-small.csv") +
                  " --pods " + fleetsim::test::shell_quote(std::string(FLEETSIM_SOURCE_DIR) + "/scenarios/traces/openb-pods-small.csv") +
                  " --out sat")
              .code == 0);
  const fs::path output = fs::current_path() / "test-output";
  fs::create_directories(output);
  for (const auto& [name, dir] : {std::pair<std::string, std::string>{"report-jobs", "jobs"}, {"report-saturation", "sat"}}) {
    const fs::path html = output / (name + ".html"), png = output / (name + ".png");
    fs::copy_file(cli.path(dir) / "report.html", html, fs::copy_options::overwrite_existing);
    fs::remove(png);
    const fs::path log = cli.dir / (name + "-chromium.log");
    const std::string command = "timeout 120 " + chromium +
                                " --headless --no-sandbox --disable-gpu --disable-quic --no-first-run"
                                " --disable-background-networking --disable-component-update --disable-sync"
                                " --user-data-dir=" + fleetsim::test::shell_quote((cli.dir / ("profile-" + name)).string()) +
                                " --screenshot=" + fleetsim::test::shell_quote(png.string()) +
                                " --window-size=1400,2600 --enable-logging=stderr --v=0 " +
                                fleetsim::test::shell_quote("file://" + html.string()) + " > " + fleetsim::test::shell_quote(log.string()) + " 2>&1";
    const int rc = std::system(command.c_str());
    const std::string stderr_text = fleetsim::test::read_file(log);
    INFO(name << ": chromium exit " << rc << "\n" << stderr_text);
    CHECK(rc == 0);
    REQUIRE(fs::exists(png));
    CHECK(fs::file_size(png) > 20000);
    std::istringstream lines(stderr_text);
    for (std::string line; std::getline(lines, line);) {
      INFO(line);
      CHECK(line.find(":CONSOLE") == std::string::npos);
    }
  }
}
