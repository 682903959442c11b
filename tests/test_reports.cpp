// Reports read back from run directories: report.html (self-contained, deterministic, renders in
// headless Chromium without console errors), result.prom (passes `promtool check metrics`, exact
// values), the comparison table (best marked, exact relative differences), and diagnostics with
// file and line for bad inputs. Fixtures are written into a scratch directory per test.
#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "reports/compare.hpp"
#include "reports/html_report.hpp"
#include "reports/prometheus.hpp"
#include "reports/run_data.hpp"
#include "reports/svg_chart.hpp"
#include "reports/write_reports.hpp"
#include "tests/support.hpp"

using Catch::Contains;
namespace fs = std::filesystem;
using fleetsim::Diagnostics;
using fleetsim::LoadedRun;
using fleetsim::RunData;

namespace {

using ordered = nlohmann::ordered_json;

const std::string kWeird = "weird\"<b>&\\name";  // needs escaping in HTML, CSV and label values

using fleetsim::test::read_file;
using fleetsim::test::write_file;
using fleetsim::test::shell_quote;

bool on_path(const std::string& tool) { return std::system(("command -v " + tool + " >/dev/null 2>&1").c_str()) == 0; }

// A scratch folder per test (tests/support.hpp's TempDir) with sub-folders made on request.
struct Scratch : fleetsim::test::TempDir {
  Scratch() : TempDir("reports") {}
  fs::path make(const std::string& name) const {
    fs::create_directories(dir / name);
    return dir / name;
  }
};

ordered latency(std::uint64_t count, double mean, double p50, double p90, double p99, double max, bool cdf) {
  ordered j;
  j["count"] = count;
  j["mean"] = mean;
  j["p50"] = p50;
  j["p90"] = p90;
  j["p99"] = p99;
  j["max"] = max;
  if (cdf) j["cdf"] = ordered::array({{p50 / 4, 0.0}, {p50, 0.5}, {p90, 0.9}, {p99, 0.99}, {max, 1.0}});
  return j;
}

// Figures a fixture block varies by.
struct Block {
  std::uint64_t requests = 1000, failed_timeout = 6, failed_cutoff = 4;
  double slo = 0.9;
  double ttft_p99 = 0.75;
  double gpu_allocated = 36000;  // 10 GPU-hours
  std::uint64_t cold_starts = 3;
  bool tpot = true;
  bool newer = true;  // the fields later writers add: node provision, host memory, idle GPU memory
};

ordered metrics(const Block& b) {
  ordered j;
  const std::uint64_t failed = b.failed_timeout + b.failed_cutoff;
  j["requests"] = b.requests;
  j["completed"] = b.requests - failed;
  j["failed"] = failed;
  j["failed_by_reason"] = {{"timeout", b.failed_timeout}, {"too-long", 0}, {"cut-off", b.failed_cutoff}};
  j["slo_attainment"] = b.slo;
  j["ttft_s"] = latency(b.requests - failed, 0.25, 0.125, 0.5, b.ttft_p99, 2.5, true);
  // Counts in fixed buckets (a newer writer; here only for TTFT): le 0.1, 0.5, 1 and above.
  if (b.newer)
    j["ttft_s"]["buckets"] = {{"le", {0.1, 0.5, 1.0}}, {"counts", {0, b.requests - failed - 2, 1, 1}}};
  j["tpot_s"] = b.tpot ? latency(b.requests - failed, 0.03125, 0.03, 0.04, 0.05, 0.09, true)
                       : latency(0, 0, 0, 0, 0, 0, false);
  j["e2e_s"] = latency(b.requests - failed, 4.5, 3, 9, 20, 40, true);
  ordered cs;
  cs["count"] = b.cold_starts;
  cs["aborted"] = 1;
  cs["requests_waited"] = 20;
  cs["share_of_requests_waited"] = 0.02;
  cs["added_latency_s"] = latency(20, 16, 15, 18, 21, 22, false);
  cs["duration_s"] = latency(b.cold_starts, 30, 28, 40, 41, 41.5, true);
  if (b.newer) {
    cs["mean_node_provision_s"] = 0.5;
    cs["weights_from_host_memory"] = 0;
  }
  cs["mean_image_pull_s"] = 2.0;
  cs["mean_weight_load_s"] = 8.0;
  cs["mean_engine_startup_s"] = 20.0;
  cs["weights_from_disk_cache"] = 2;
  cs["weights_from_model_store"] = 1;
  cs["unschedulable_scale_ups"] = 0;
  j["cold_starts"] = cs;
  j["gpu_seconds"] = {{"allocated", b.gpu_allocated},
                      {"busy", b.gpu_allocated * 0.5},
                      {"idle", b.gpu_allocated * 0.25},
                      {"starting", b.gpu_allocated * 0.25}};
  if (b.newer) j["gpu_memory_byte_seconds_idle"] = 1.25e12;
  j["replicas"] = {{"peak", 4}, {"mean", 2.5}};
  return j;
}

std::string result_json(const Block& overall, const Block& alpha, const Block& weird, bool cost = false,
                        int schema_version = 1) {
  ordered j;
  j["schema_version"] = schema_version;
  j["fleetsim_version"] = "0.1.0";
  j["scenario"] = {{"name", "fixture"}, {"description", "two models <for> tests & checks"}, {"seed", 7}};
  j["run"] = {{"seed", 7}, {"end_time_s", 600.0}, {"events", 12345}, {"requests", overall.requests},
              {"percentile_relative_error", 0.005}};
  j["overall"] = metrics(overall);
  j["overall"]["cache"] = {{"hits", 3}, {"inserts", 1}, {"evictions", 0}};
  if (overall.newer) {
    j["links"] = ordered::array({{{"link", "model-store"}, {"bytes", 4096.0}, {"bandwidth_bytes_per_s", -1.0}},
                                 {{"link", "node-0/disk"}, {"bytes", 8192.0}, {"bandwidth_bytes_per_s", 6e9}}});
    j["pools"] = ordered::array(
        {{{"pool", "h100"}, {"node_hours", 2.0}, {"peak_nodes", 2}, {"provisioned", 1}, {"released", 0}}});
  }
  j["models"][std::string("alpha")] = metrics(alpha);
  j["models"][kWeird] = metrics(weird);
  if (cost) {
    j["overall"]["cost"] = {{"currency", "USD"}, {"total", 42.5}, {"gpu", 40.0}};
    j["models"]["alpha"]["cost"] = {{"currency", "USD"}, {"total", 30.0}, {"gpu", 28.0}};
    j["models"][kWeird]["cost"] = {{"currency", "USD"}, {"total", 12.5}, {"gpu", 12.0}};
  }
  return j.dump(2) + "\n";
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string timeseries_fixture() {
  const char* series[] = {"replicas_ready", "replicas_starting", "gpus_allocated", "requests_in_system",
                          "requests_buffered", "arrivals", "completions", "cold_starts"};
  std::string out = "time_s,model,series,value\n";
  for (int t = 60; t <= 600; t += 60) {
    const int k = t / 60;
    const std::string models[] = {"alpha", kWeird, "all"};
    for (int m = 0; m < 3; ++m) {
      for (int s = 0; s < 8; ++s) {
        double v = 0;
        const double a = k % 4 + 1, b = (k + 2) % 3;  // alpha and weird
        const double both[] = {a, b, a + b};
        const double base = both[m];
        switch (s) {
          case 0: v = base; break;
          case 1: v = k == 3 ? 1 : 0; break;
          case 2: v = m == 1 ? base : base * 2; break;
          case 3: v = base * 7; break;
          case 4: v = k == 3 ? 5 : 0; break;
          case 5: v = base * 120; break;
          case 6: v = base * 118; break;
          case 7: v = k == 3 ? 1 : 0; break;
        }
        if (m == 2 && (s == 2)) v = a * 2 + b;
        out += std::to_string(t) + "," + csv_field(models[m]) + "," + series[s] + "," + std::to_string(v) + "\n";
      }
    }
  }
  return out;
}

// The current layout (with node_provision_s), or the first one without it.
std::string cold_starts_fixture(bool provision = true) {
  if (!provision)
    return "model,replica,node,placed_s,ready_s,image_pull_s,weight_load_s,engine_startup_s,source,aborted\n"
           "alpha,4,0,10,40,2,8,20,model-store,0\n"
           "alpha,5,1,12,34,0,2,20,disk-cache,0\n"
           "alpha,6,1,300,310,0,4,0,disk-cache,1\n" +
           csv_field(kWeird) + ",1,2,150,181.5,1.5,10,20,disk-cache,0\n";
  return "model,replica,node,placed_s,ready_s,node_provision_s,image_pull_s,weight_load_s,engine_startup_s,source,"
         "aborted\n"
         "alpha,4,0,10,40,0,2,8,20,model-store,0\n"
         "alpha,5,1,12,34,0,0,2,20,disk-cache,0\n"
         "alpha,6,1,300,310,0,0,4,0,disk-cache,1\n" +
         csv_field(kWeird) + ",1,2,150,183,1.5,1.5,10,20,disk-cache,0\n";
}

fs::path write_fixture(const Scratch& s, const std::string& name, const std::string& result, bool csvs = true) {
  const fs::path dir = s.make(name);
  write_file(dir / "result.json", result);
  if (csvs) {
    write_file(dir / "timeseries.csv", timeseries_fixture());
    write_file(dir / "cold_starts.csv", cold_starts_fixture());
  }
  return dir;
}

RunData load(const fs::path& dir) {
  LoadedRun loaded = fleetsim::load_run_dir(dir.string());
  INFO(loaded.errors.to_string());
  REQUIRE(loaded.errors.empty());
  REQUIRE(loaded.run);
  return *loaded.run;
}

Block overall_block() {
  Block b;
  b.requests = 1500;
  b.cold_starts = 4;
  b.gpu_allocated = 54000;
  return b;
}

Block weird_block() {
  Block b;
  b.requests = 500;
  b.failed_timeout = 0;
  b.failed_cutoff = 0;
  b.tpot = false;
  b.gpu_allocated = 18000;
  b.cold_starts = 1;
  return b;
}

Block old_block() {
  Block b;
  b.newer = false;
  return b;
}
Block overall_old() {
  Block b = overall_block();
  b.newer = false;
  return b;
}
Block weird_old() {
  Block b = weird_block();
  b.newer = false;
  return b;
}

std::string default_result(bool cost = false) { return result_json(overall_block(), Block{}, weird_block(), cost); }

// The diagnostics of loading `dir` (which must fail).
Diagnostics errors_of(const fs::path& dir) {
  LoadedRun loaded = fleetsim::load_run_dir(dir.string());
  REQUIRE_FALSE(loaded.run);
  REQUIRE_FALSE(loaded.errors.empty());
  return loaded.errors;
}

int line_containing(const std::string& text, const std::string& needle) {
  const auto at = text.find(needle);
  REQUIRE(at != std::string::npos);
  return 1 + static_cast<int>(std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(at), '\n'));
}

// `promtool check metrics < file`: its exit status and what it reported, less the finding it
// always has for vLLM's names (`vllm:... metric names should not contain ':'`: the names are
// vLLM's own, colons and all, and the text parser reads them). The status is then 0 without
// such a finding, 3 (lint problems) with one, anything else a real failure.
struct Promtool {
  int rc = -1;
  std::string other;  // findings besides the vLLM names' colons
  int colon_findings = 0;
};
Promtool promtool_check(const fs::path& file, const fs::path& scratch) {
  const fs::path out = scratch / "promtool.txt";
  Promtool p;
  const int status =
      std::system(("promtool check metrics < " + shell_quote(file.string()) + " > " + shell_quote(out.string()) + " 2>&1").c_str());
  p.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::istringstream in(read_file(out));
  for (std::string line; std::getline(in, line);) {
    const std::string colon = " metric names should not contain ':'";
    if (line.rfind("vllm:", 0) == 0 && line.size() > colon.size() &&
        line.compare(line.size() - colon.size(), colon.size(), colon) == 0)
      ++p.colon_findings;
    else
      p.other += line + "\n";
  }
  return p;
}
void check_promtool(const fs::path& file, const fs::path& scratch) {
  const Promtool p = promtool_check(file, scratch);
  INFO("promtool check metrics, besides vLLM's names:\n" << p.other);
  CHECK(p.other.empty());
  CHECK(p.rc == (p.colon_findings ? 3 : 0));
}

// The line of `text` that starts with `prefix`.
std::string line_starting(const std::string& text, const std::string& prefix) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (line.rfind(prefix, 0) == 0) return line;
  FAIL("no line starts with \"" << prefix << "\" in:\n" << text);
  return "";
}

// A timeseries.csv of `samples` samples a minute apart (time_s = 60, 120, ...) for models a, b
// and all: gpus_allocated of a and b are 4 and 2, each one GPU up and one down once a week of
// samples, at different samples: their total is 5, 6 or 7 and 6 on average (stacking the highs of
// a and b, kept at different times, would reach 8; dropping a layer where only the other kept a
// time would leave a gap); a's replicas_ready has a known peak (1000 at sample 12,345) and low (0
// at sample 777); all's arrivals are 600 a minute with 60,000 at sample 5,000.
std::string long_timeseries(int samples) {
  std::string out = "time_s,model,series,value\n";
  const double swing_a[7] = {0, 1, 0, 0, -1, 0, 0}, swing_b[7] = {0, 0, 0, 1, 0, 0, -1};
  char row[128];
  for (int k = 0; k < samples; ++k) {
    const int t = (k + 1) * 60;
    const double a = 4 + swing_a[k % 7], b = 2 + swing_b[k % 7];
    const double ready = k == 12'345 ? 1000 : k == 777 ? 0 : 5 + k % 3;
    const double arrivals = k == 5000 ? 60'000 : 600;
    std::snprintf(row, sizeof row, "%d,a,gpus_allocated,%g\n%d,a,replicas_ready,%g\n", t, a, t, ready);
    out += row;
    std::snprintf(row, sizeof row, "%d,b,gpus_allocated,%g\n%d,all,gpus_allocated,%g\n%d,all,arrivals,%g\n", t, b,
                  t, a + b, t, arrivals);
    out += row;
  }
  return out;
}

// The `points` of each <polygon> in the figure `id` of a report, as (x, y) pixels.
std::vector<std::vector<std::pair<double, double>>> polygons_of(const std::string& html, const std::string& id) {
  const std::size_t begin = html.find("<figure id=\"" + id + "\"");
  REQUIRE(begin != std::string::npos);
  const std::string fig = html.substr(begin, html.find("</figure>", begin) - begin);
  std::vector<std::vector<std::pair<double, double>>> out;
  for (std::size_t at = fig.find("<polygon"); at != std::string::npos; at = fig.find("<polygon", at + 1)) {
    const std::size_t from = fig.find("points=\"", at) + 8;
    std::istringstream in(fig.substr(from, fig.find('"', from) - from));
    std::vector<std::pair<double, double>> pts;
    double x = 0, y = 0;
    char comma = 0;
    while (in >> x >> comma >> y) pts.emplace_back(x, y);
    out.push_back(std::move(pts));
  }
  return out;
}

}  // namespace

TEST_CASE("a run directory loads into plain structs", "[reports]") {
  Scratch s;
  const RunData run = load(write_fixture(s, "run-a", default_result()));
  CHECK(run.name == "run-a");
  CHECK(run.scenario_name == "fixture");
  CHECK(run.end_time_s == 600.0);
  REQUIRE(run.models.size() == 2);
  CHECK(run.models[0].name == "alpha");
  CHECK(run.models[1].name == kWeird);
  CHECK(run.models[0].ttft.p99 == 0.75);
  CHECK(run.models[0].ttft.cdf.size() == 5);
  CHECK(run.models[1].tpot.count == 0);
  CHECK(run.overall.failed_by_reason.size() == 3);
  CHECK(run.has_timeseries);
  REQUIRE(run.timeseries.find(kWeird, "requests_in_system"));
  CHECK(run.timeseries.find(kWeird, "requests_in_system")->value.size() == 10);
  CHECK(run.timeseries.models() == std::vector<std::string>{"alpha", kWeird, "all"});
  // cold_starts.csv as the report keeps it: one lane per model, every row while there are few.
  CHECK(run.cold_start_log.rows == 4);
  REQUIRE(run.cold_start_log.lanes.size() == 2);
  CHECK(run.cold_start_log.lanes[0].name == "alpha");
  REQUIRE(run.cold_start_log.lanes[0].sample.size() == 3);
  CHECK(run.cold_start_log.lanes[0].sample[2].aborted);
  REQUIRE(run.cold_start_log.lanes[1].sample.size() == 1);
  const fleetsim::ColdStartRow& weird = run.cold_start_log.lanes[1].sample[0];
  CHECK(weird.model == kWeird);
  CHECK(weird.index == 3);
  CHECK(weird.ready_s == 183);
  CHECK(weird.node_provision_s == 1.5);
  CHECK(run.cold_start_log.any_node_provision);
  CHECK(run.has_node_provision());
  CHECK(run.models[0].cold_starts.mean_node_provision_s == 0.5);
  REQUIRE(run.pools.size() == 1);
  CHECK(run.pools[0].node_hours == 2.0);
  REQUIRE(run.links.size() == 2);
  CHECK(run.links[0].bandwidth_bytes_per_s < 0);

  // The first layouts: no node provision, no pools or links.
  const fs::path old = write_fixture(s, "old", result_json(overall_old(), old_block(), weird_old()));
  write_file(old / "cold_starts.csv", cold_starts_fixture(false));
  const RunData first = load(old);
  CHECK_FALSE(first.has_node_provision());
  CHECK(first.cold_start_log.lanes[1].sample[0].ready_s == 181.5);
  CHECK(first.pools.empty());
  const std::string html = fleetsim::html_report(first);
  CHECK_THAT(html, !Contains("node provision"));
  CHECK_THAT(html, Contains("id=\"chart-cold-start-timeline\""));
  CHECK_THAT(fleetsim::prometheus_export(first), !Contains("phase=\"node_provision\""));
}

TEST_CASE("timeseries.csv: a long series is read as bounded min/max buckets that keep its extremes", "[reports]") {
  Scratch s;
  const fs::path dir = s.make("long");
  write_file(dir / "result.json", default_result());
  write_file(dir / "timeseries.csv", long_timeseries(20'160));  // 14 days, a sample a minute
  const RunData run = load(dir);
  const fleetsim::RunSeries* ready = run.timeseries.find("a", "replicas_ready");
  REQUIRE(ready);
  CHECK(ready->samples == 20'160);
  REQUIRE(ready->reduced());
  CHECK(ready->bucket_s == 1024);  // 14 days / 2,048 buckets = 590.6 s -> the next power of two
  CHECK(ready->time_s.size() <= 2 * fleetsim::kMaxSeriesBuckets + 2);
  CHECK(ready->time_s.size() > 2000);  // 1,182 buckets, most with a distinct low and high
  CHECK(std::is_sorted(ready->time_s.begin(), ready->time_s.end()));
  CHECK(ready->time_s.front() == 60);  // the first and last samples stay: the lines span the run
  CHECK(ready->time_s.back() == 20'160 * 60);
  auto value_at = [](const fleetsim::RunSeries& r, double t) {
    const auto at = std::find(r.time_s.begin(), r.time_s.end(), t);
    REQUIRE(at != r.time_s.end());
    return r.value[static_cast<std::size_t>(at - r.time_s.begin())];
  };
  CHECK(value_at(*ready, 12'346 * 60) == 1000);  // the peak and the low survive, at their times
  CHECK(value_at(*ready, 778 * 60) == 0);
  CHECK(*std::max_element(ready->value.begin(), ready->value.end()) == 1000);
  // Counters keep their own interval, so a rate is count / 60 s wherever the kept samples are.
  const fleetsim::RunSeries* arrivals = run.timeseries.find("all", "arrivals");
  REQUIRE(arrivals);
  REQUIRE(arrivals->interval_s.size() == arrivals->time_s.size());
  for (double dt : arrivals->interval_s) CHECK(dt == 60);
  CHECK(value_at(*arrivals, 5001 * 60) == 60'000);

  const std::string html = fleetsim::html_report(run);
  CHECK_THAT(html, Contains("<dt>time series</dt><dd>up to 20,160 samples per series"));
  // The request-rate chart reaches 1,000/s (the peak), not 10/s or a rate over a kept gap.
  const std::size_t rate = html.find("<figure id=\"chart-rate\"");
  REQUIRE(rate != std::string::npos);
  CHECK_THAT(html.substr(rate, html.find("</figure>", rate) - rate), Contains(">1,000<") || Contains(">1000<"));
  // The stacked GPU chart: b's layer tops the mean of a + b, 6 (give or take the part of a week a
  // bucket holds past whole weeks: 0.12 in a full bucket of 17 samples, 0.2 in the last one, of
  // 5), midway between the total's lows (5) and highs (7), with no gap and no overshoot.
  const auto layers = polygons_of(html, "chart-gpus");
  REQUIRE(layers.size() == 2);
  const std::size_t top = layers[1].size() / 2;  // b's upper edge, then its lower edge
  REQUIRE(top > 500);
  const std::size_t from = html.find("points=\"", html.find("<polyline", html.find("<figure id=\"chart-gpus\""))) + 8;
  std::istringstream total(html.substr(from, html.find('"', from) - from));
  double y5 = 0, y7 = 1e9, x = 0, y = 0;  // pixels: y grows downwards
  for (char comma = 0; total >> x >> comma >> y;) y5 = std::max(y5, y), y7 = std::min(y7, y);
  REQUIRE(y5 > y7);
  const double y6 = (y5 + y7) / 2, gpu = (y5 - y7) / 2;
  for (std::size_t i = 0; i < top; ++i) CHECK(std::abs(layers[1][i].second - y6) <= 0.25 * gpu);
  CHECK_THAT(html, Contains("each layer is its mean over each time bucket"));

  // `fleetsim report DIR` reads the folder the same way.
#ifdef FLEETSIM_BINARY
  REQUIRE(std::system((shell_quote(FLEETSIM_BINARY) + " report " + shell_quote(dir.string()) + " > /dev/null").c_str()) == 0);
  CHECK(read_file(dir / "report.html") == html);
#endif
}

TEST_CASE("timeseries.csv: a series up to the cap is kept whole and drawn as before", "[reports]") {
  Scratch s;
  const fs::path dir = s.make("cap");
  write_file(dir / "result.json", default_result());
  const int whole = static_cast<int>(fleetsim::kMaxWholeSeries);
  write_file(dir / "timeseries.csv", long_timeseries(whole));
  const RunData at_cap = load(dir);
  for (const fleetsim::RunSeries& r : at_cap.timeseries.series) {
    CHECK_FALSE(r.reduced());
    CHECK(r.time_s.size() == fleetsim::kMaxWholeSeries);
    CHECK(r.samples == fleetsim::kMaxWholeSeries);
  }
  CHECK_THAT(fleetsim::html_report(at_cap), !Contains("<dt>time series</dt>"));
  write_file(dir / "timeseries.csv", long_timeseries(whole + 1));
  const RunData past = load(dir);
  for (const fleetsim::RunSeries& r : past.timeseries.series) CHECK(r.reduced());

  // Whole series draw the rates from the differences of their times, as before the intervals
  // were kept: the same bytes either way.
  RunData run = load(write_fixture(s, "run-a", default_result(true)));
  const std::string html = fleetsim::html_report(run);
  for (fleetsim::RunSeries& r : run.timeseries.series) {
    CHECK(r.interval_s.size() == r.time_s.size());
    r.interval_s.clear();
  }
  CHECK(fleetsim::html_report(run) == html);
}

TEST_CASE("report.html is self-contained, complete and deterministic", "[reports]") {
  Scratch s;
  const fs::path dir = write_fixture(s, "run-a", default_result(true));
  const RunData run = load(dir);
  const std::string html = fleetsim::html_report(run);

  CHECK_THAT(html, Contains("<!DOCTYPE html>"));
  CHECK_THAT(html, Contains("<svg"));
  for (const char* id : {"summary", "latency", "capacity", "queues", "cold-starts", "gpu-time", "cost", "failures",
                         "chart-ttft-cdf", "chart-e2e-cdf", "chart-replicas", "chart-gpus", "chart-in-system",
                         "chart-buffered", "chart-rate", "chart-cold-start-timeline", "chart-cold-start-phases",
                         "chart-cold-start-means", "chart-idle-gpu", "chart-gpu-states", "chart-cost"})
    CHECK_THAT(html, Contains(std::string("id=\"") + id + "\""));
  for (const char* title : {"Time to first token (TTFT), CDF", "End-to-end latency, CDF", "Replicas over time",
                            "GPUs allocated over time", "Requests in the system", "Requests buffered",
                            "Cold starts on the timeline", "Cold-start phases, one bar per cold start",
                            "Idle GPU time per model", "image pull", "weight load", "engine start-up", "aborted",
                            "simulated time (min)", "share of completed requests", "all models", "alpha",
                            "node provision", "Node pools", "Data moved per link", "unlimited"})
    CHECK_THAT(html, Contains(title));
  // Escaped everywhere: the raw name never appears, the escaped one does.
  CHECK_THAT(html, !Contains("weird\"<b>"));
  CHECK_THAT(html, Contains("weird&quot;&lt;b&gt;&amp;\\name"));
  CHECK_THAT(html, Contains("two models &lt;for&gt; tests &amp; checks"));
  // Nothing external, nothing scripted.
  CHECK_THAT(html, !Contains("<script"));
  CHECK_THAT(html, !Contains("http://"));
  CHECK_THAT(html, !Contains("https://"));
  CHECK_THAT(html, !Contains("@import"));
  CHECK_THAT(html, !Contains("url("));
  // Summary figures.
  CHECK_THAT(html, Contains("<td>1,500</td>"));
  CHECK_THAT(html, Contains("<td>750 ms</td>"));
  CHECK_THAT(html, Contains("<td>90.00%</td>"));

  CHECK(fleetsim::html_report(load(dir)) == html);  // same input, same bytes

  // The report of a run without the CSV files says so.
  const RunData bare = load(write_fixture(s, "bare", default_result(), false));
  const std::string bare_html = fleetsim::html_report(bare);
  CHECK_THAT(bare_html, Contains("No time series in this run"));
  CHECK_THAT(bare_html, Contains("no cold_starts.csv"));
  CHECK_THAT(bare_html, !Contains("id=\"cost\""));
  CHECK_THAT(bare_html, Contains("id=\"chart-ttft-cdf\""));
}

TEST_CASE("svg charts: nice ticks, integral counts, axis labels and escaping", "[reports]") {
  namespace svg = fleetsim::svg;
  auto ticks = [](const svg::Axis& a) { return a.ticks; };
  CHECK(svg::nice_step(1.46) == 2);
  CHECK(svg::nice_step(2.4) == 2.5);
  CHECK(svg::nice_step(2.4, true) == 5);
  CHECK(svg::nice_step(0.07) == Approx(0.1));
  CHECK(svg::nice_step(0) == 1);
  CHECK(svg::Chart::group("frontier", "<circle/>\n") == "<g id=\"frontier\">\n<circle/>\n</g>\n");

  const svg::Axis a = svg::linear_axis(0, 7.3, "t");
  CHECK(ticks(a) == std::vector<double>{0, 2, 4, 6, 8});
  CHECK(a.lo == 0);
  CHECK(a.hi == 8);
  // Counts: a step of 2.5 would give 0, 2.5, 5, ...; integral axes take 5 instead.
  CHECK(ticks(svg::linear_axis(0, 11, "requests", 1)) == std::vector<double>{0, 5, 10, 15});
  for (double hi : {0.0, 1.0, 3.0, 7.0, 11.0, 13.0, 27.0, 99.0, 1234.0, 98765.0})
    for (double t : svg::linear_axis(0, hi, "replicas", 1).ticks) {
      INFO("hi " << hi << ", tick " << t);
      CHECK(t == std::floor(t));
    }
  const svg::Axis small = svg::linear_axis(0, 0.3, "share");
  std::vector<std::string> labels;
  for (double t : small.ticks) labels.push_back(small.label(t));
  CHECK(labels == std::vector<std::string>{"0", "0.1", "0.2", "0.3"});
  // An empty span still makes an axis: 0..1 at zero, around the value elsewhere.
  CHECK(ticks(svg::linear_axis(0, 0, "none")).back() == 1);
  const svg::Axis single = svg::linear_axis(5, 5, "one point");
  CHECK(single.lo < 5);
  CHECK(single.hi > 5);

  const svg::Axis pct = svg::percent_axis("share");
  CHECK(pct.label(pct.ticks.front()) == "0%");
  CHECK(pct.label(pct.ticks.back()) == "100%");
  const svg::Axis lat = svg::latency_axis(0.003, 0.4, "latency");
  labels.clear();
  for (double t : lat.ticks) labels.push_back(lat.label(t));
  CHECK(labels == std::vector<std::string>{"1 ms", "10 ms", "100 ms", "1 s"});
  const svg::Axis time = svg::time_axis(7200);
  CHECK(time.title == "simulated time (min)");
  CHECK(time.label(time.ticks.back()) == "120");

  svg::Axis x = svg::linear_axis(0, 10, "x <in>");
  x.pad = 0.1;
  svg::Axis y = svg::linear_axis(0, 1, "y");
  svg::Chart c("a & b", svg::Layout{300, 200, 50, 20, 30, 40, true});
  c.x_axis(x);
  c.y_axis(y);
  CHECK(x.px(0) == Approx(50 + 230 * 0.1 / 1.2));  // the pad keeps the first tick off the frame
  CHECK(x.px(10) == Approx(50 + 230 * 1.1 / 1.2));
  CHECK(y.px(1) == Approx(30));
  c.lines(x, y, {svg::Series{"line", {"#123456", "", 2}, {{0, 0}, {10, 1}}, false}});
  c.legend({{"line \"one\"", "#123456"}}, svg::LegendAt::InsideTopLeft);
  const std::string out = c.svg();
  CHECK(out.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0) == 0);
  CHECK_THAT(out, Contains(">a &amp; b</text>"));
  CHECK_THAT(out, Contains(">x &lt;in&gt;</text>"));
  CHECK_THAT(out, Contains("line &quot;one&quot;"));
  CHECK_THAT(out, Contains("<polyline fill=\"none\" stroke=\"#123456\""));
  CHECK_THAT(out, !Contains("<svg class"));
}

TEST_CASE("write_run_reports writes report.html and result.prom", "[reports]") {
  Scratch s;
  const fs::path dir = write_fixture(s, "run-a", default_result());
  const Diagnostics errors = fleetsim::write_run_reports(dir.string());
  INFO(errors.to_string());
  REQUIRE(errors.empty());
  CHECK(read_file(dir / "report.html") == fleetsim::html_report(load(dir)));
  CHECK(read_file(dir / "result.prom") == fleetsim::prometheus_export(load(dir)));
  for (const auto& e : fs::directory_iterator(dir)) {  // no temporary file left behind
    INFO(e.path());
    CHECK(e.path().filename().string().find(".tmp") == std::string::npos);
  }

  const fs::path empty = s.make("empty");
  CHECK_FALSE(fleetsim::write_run_reports(empty.string()).empty());
  CHECK_FALSE(fs::exists(empty / "report.html"));
  CHECK_FALSE(fs::exists(empty / "result.prom"));
}

TEST_CASE("result.prom is valid exposition text with exact values", "[reports]") {
  Scratch s;
  const fs::path dir = write_fixture(s, "run-a", default_result(true));
  const std::string prom = fleetsim::prometheus_export(load(dir));

  REQUIRE_FALSE(prom.empty());
  CHECK(prom.back() == '\n');
  for (const char* line : {
           "fleetsim_requests_total{model=\"alpha\"} 1000\n",
           "fleetsim_requests_total{model=\"all\"} 1500\n",
           "fleetsim_requests_total{model=\"weird\\\"<b>&\\\\name\"} 500\n",
           "fleetsim_requests_failed_total{model=\"all\",reason=\"timeout\"} 6\n",
           "fleetsim_requests_failed_total{model=\"alpha\",reason=\"cut-off\"} 4\n",
           "fleetsim_slo_attainment_ratio{model=\"alpha\"} 0.9\n",
           "fleetsim_ttft_seconds{model=\"alpha\",quantile=\"0.5\"} 0.125\n",
           "fleetsim_ttft_seconds{model=\"alpha\",quantile=\"0.9\"} 0.5\n",
           "fleetsim_ttft_seconds{model=\"alpha\",quantile=\"0.99\"} 0.75\n",
           "fleetsim_ttft_seconds_count{model=\"alpha\"} 990\n",
           "fleetsim_ttft_seconds_sum{model=\"alpha\"} 247.5\n",
           "fleetsim_tpot_seconds{model=\"weird\\\"<b>&\\\\name\",quantile=\"0.5\"} Nan\n",
           "fleetsim_tpot_seconds_count{model=\"weird\\\"<b>&\\\\name\"} 0\n",
           "fleetsim_latency_max_seconds{latency=\"ttft\",model=\"alpha\"} 2.5\n",
           "fleetsim_cold_starts_total{model=\"all\"} 4\n",
           "fleetsim_cold_start_phase_mean_seconds{model=\"alpha\",phase=\"weight_load\"} 8\n",
           "fleetsim_weight_loads_total{model=\"alpha\",source=\"model_store\"} 1\n",
           "fleetsim_gpu_allocated_seconds_total{model=\"alpha\"} 36000\n",
           "fleetsim_gpu_state_seconds_total{model=\"alpha\",state=\"idle\"} 9000\n",
           "fleetsim_replicas_mean{model=\"alpha\"} 2.5\n",
           "fleetsim_run_end_time_seconds 600\n",
           "fleetsim_node_cache_hits_total 3\n",
           "fleetsim_cost{currency=\"USD\",item=\"total\",model=\"alpha\"} 30\n",
           "fleetsim_cold_start_phase_mean_seconds{model=\"alpha\",phase=\"node_provision\"} 0.5\n",
           "fleetsim_weight_loads_total{model=\"alpha\",source=\"host_memory\"} 0\n",
           "fleetsim_gpu_memory_idle_byte_seconds_total{model=\"all\"} 1250000000000\n",
           "fleetsim_pool_node_seconds_total{pool=\"h100\"} 7200\n",
           "fleetsim_link_transferred_bytes_total{link=\"node-0/disk\"} 8192\n",
           "fleetsim_link_bandwidth_bytes_per_second{link=\"model-store\"} +Inf\n",
           "fleetsim_link_bandwidth_bytes_per_second{link=\"node-0/disk\"} 6000000000\n",
           "# TYPE fleetsim_ttft_seconds summary\nfleetsim_ttft_seconds_count{model=\"alpha\"} 990\n",
           "# TYPE fleetsim_requests_total counter\n",
           // vLLM's name for TTFT, a histogram of the block's bucket counts, per model only
           "# TYPE vllm:time_to_first_token_seconds histogram\n"
           "vllm:time_to_first_token_seconds_count{model_name=\"alpha\"} 990\n"
           "vllm:time_to_first_token_seconds_sum{model_name=\"alpha\"} 247.5\n"
           "vllm:time_to_first_token_seconds_bucket{model_name=\"alpha\",le=\"0.1\"} 0\n"
           "vllm:time_to_first_token_seconds_bucket{model_name=\"alpha\",le=\"0.5\"} 988\n"
           "vllm:time_to_first_token_seconds_bucket{model_name=\"alpha\",le=\"1\"} 989\n"
           "vllm:time_to_first_token_seconds_bucket{model_name=\"alpha\",le=\"+Inf\"} 990\n",
           "vllm:time_to_first_token_seconds_bucket{model_name=\"weird\\\"<b>&\\\\name\",le=\"+Inf\"} 500\n",
       })
    CHECK_THAT(prom, Contains(line));
  CHECK_THAT(prom, !Contains("model_name=\"all\""));
  // No block has buckets for e2e: no such family.
  CHECK_THAT(prom, !Contains("vllm:e2e_request_latency_seconds"));

  // Every sample belongs to the family declared last, which has HELP and TYPE; no family twice.
  std::istringstream in(prom);
  std::string family;
  std::vector<std::string> families;
  bool help = false;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("# HELP ", 0) == 0) {
      family = line.substr(7, line.find(' ', 7) - 7);
      CHECK(std::find(families.begin(), families.end(), family) == families.end());
      families.push_back(family);
      help = true;
    } else if (line.rfind("# TYPE ", 0) == 0) {
      CHECK(help);
      CHECK(line.substr(7, line.find(' ', 7) - 7) == family);
    } else if (line[0] != '#') {
      const std::string name = line.substr(0, line.find_first_of("{ "));
      INFO(line);
      CHECK((name == family || name == family + "_sum" || name == family + "_count" ||
             name == family + "_bucket"));
      CHECK((name.rfind("fleetsim_", 0) == 0 || name.rfind("vllm:", 0) == 0));
    }
  }

  CHECK(fleetsim::prometheus_export(load(dir)) == prom);

  if (!on_path("promtool")) {
    // A missing dependency, said so (Catch2 2 has no SKIP); everything above was checked.
    WARN("SKIPPED `promtool check metrics`: promtool is not installed (Debian package prometheus)");
    return;
  }
  const fs::path file = s.dir / "result.prom";
  write_file(file, prom);
  check_promtool(file, s.dir);
  CHECK(promtool_check(file, s.dir).colon_findings == 1);  // the one vLLM family here
}

TEST_CASE("compare marks the best value and the relative differences", "[reports]") {
  CHECK(fleetsim::relative_difference(1.0, 1.123) == "+12.3%");
  CHECK(fleetsim::relative_difference(2.0, 1.0) == "-50.0%");
  CHECK(fleetsim::relative_difference(-2.0, -1.0) == "+50.0%");
  CHECK(fleetsim::relative_difference(0.0, 0.0) == "+0.0%");
  CHECK(fleetsim::relative_difference(0.0, 3.0) == "n/a");

  Scratch s;
  Block base_overall = overall_block(), cand_overall = overall_block();
  cand_overall.ttft_p99 = 0.6;          // better: -20.0%
  cand_overall.slo = 0.95;              // better: +5.6%
  cand_overall.gpu_allocated = 59400;   // worse: +10.0%
  const RunData base = load(write_fixture(s, "base", result_json(base_overall, Block{}, weird_block())));
  const RunData cand = load(write_fixture(s, "candidate", result_json(cand_overall, Block{}, weird_block())));
  const std::string table = fleetsim::compare_table({base, cand});
  INFO(table);

  const std::string head = line_starting(table, "metric");
  CHECK_THAT(head, Contains("base"));
  CHECK_THAT(head, Contains("candidate"));
  CHECK(head.find("base") < head.find("candidate"));

  const std::string ttft = line_starting(table, "  TTFT p99");  // the overall section comes first
  CHECK_THAT(ttft, Contains("lower"));
  CHECK_THAT(ttft, Contains("750 ms "));
  CHECK_THAT(ttft, !Contains("750 ms*"));
  CHECK_THAT(ttft, Contains("600 ms* (-20.0%)"));

  const std::string slo = line_starting(table, "  SLO attainment");
  CHECK_THAT(slo, Contains("higher"));
  CHECK_THAT(slo, Contains("90.00% "));
  CHECK_THAT(slo, Contains("95.00%* (+5.6%)"));

  const std::string gpu = line_starting(table, "  GPU-hours allocated");
  CHECK_THAT(gpu, Contains("15.00*"));
  CHECK_THAT(gpu, Contains("16.50  (+10.0%)"));

  const std::string requests = line_starting(table, "  requests");  // no direction: nothing marked
  CHECK_THAT(requests, !Contains("*"));
  CHECK_THAT(requests, Contains("1,500  (+0.0%)"));
  const std::string failed = line_starting(table, "  failed");  // equal everywhere: nothing marked
  CHECK_THAT(failed, !Contains("*"));

  CHECK_THAT(table, Contains("model alpha\n"));
  CHECK_THAT(table, Contains("model " + kWeird + "\n"));

  // Three runs: the best of three is marked, differences stay relative to the first.
  Block third = overall_block();
  third.ttft_p99 = 0.5;
  const RunData best = load(write_fixture(s, "third", result_json(third, Block{}, weird_block())));
  const std::string three = fleetsim::compare_table({base, cand, best});
  const std::string ttft3 = line_starting(three, "  TTFT p99");
  CHECK_THAT(ttft3, Contains("600 ms  (-20.0%)"));
  CHECK_THAT(ttft3, Contains("500 ms* (-33.3%)"));

  const std::string html = fleetsim::compare_html({base, cand});
  CHECK_THAT(html, Contains("<td class=\"best\" title=\"best\">600 ms *</td><td class=\"rel\">(-20.0%)</td>"));
  CHECK_THAT(html, Contains("<th colspan=\"2\">base (baseline)</th>"));
  CHECK_THAT(html, Contains("weird&quot;&lt;b&gt;&amp;\\name"));
  CHECK_THAT(html, !Contains("<script"));
  CHECK_THAT(html, !Contains("http://"));
  CHECK_THAT(html, !Contains("https://"));
  CHECK(fleetsim::compare_html({base, cand}) == html);
}

TEST_CASE("bad run directories give diagnostics with file and line", "[reports]") {
  Scratch s;
  SECTION("no such directory") {
    const Diagnostics e = errors_of(s.dir / "nope");
    CHECK_THAT(e.items()[0].file, Contains("nope"));
  }
  SECTION("missing result.json") {
    const fs::path dir = s.make("no-result");
    write_file(dir / "timeseries.csv", timeseries_fixture());
    const Diagnostics e = errors_of(dir);
    CHECK_THAT(e.items()[0].file, Contains("result.json"));
    CHECK_THAT(e.items()[0].message, Contains("missing"));
  }
  SECTION("malformed JSON") {
    const fs::path dir = s.make("malformed");
    write_file(dir / "result.json", "{\n  \"schema_version\": 1,\n  \"run\": {\n    \"seed\": 1,,\n  }\n}\n");
    const Diagnostics e = errors_of(dir);
    CHECK_THAT(e.items()[0].file, Contains("result.json"));
    CHECK(e.items()[0].line == 4);
    CHECK_THAT(e.items()[0].message, Contains("malformed JSON"));
    CHECK_THAT(e.to_string(), Contains("result.json:4:"));
  }
  SECTION("wrong schema_version") {
    const fs::path dir = write_fixture(s, "v2", result_json(overall_block(), Block{}, weird_block(), false, 2));
    const Diagnostics e = errors_of(dir);
    REQUIRE(e.size() == 1);
    CHECK_THAT(e.items()[0].file, Contains("result.json"));
    CHECK(e.items()[0].line == 2);
    CHECK_THAT(e.items()[0].message, Contains("schema_version 2"));
  }
  SECTION("a wrong type deep inside, with its key path and line") {
    ordered j = ordered::parse(default_result());
    j["models"]["alpha"]["ttft_s"]["p50"] = "fast";
    j["overall"].erase("requests");
    const std::string text = j.dump(2);
    const fs::path dir = write_fixture(s, "typed", text);
    const Diagnostics e = errors_of(dir);
    INFO(e.to_string());
    REQUIRE(e.size() == 2);
    CHECK(e.items()[0].path == "overall");
    CHECK_THAT(e.items()[0].message, Contains("missing key \"requests\""));
    CHECK(e.items()[0].line == line_containing(text, "\"overall\""));
    CHECK(e.items()[1].path == "models.alpha.ttft_s.p50");
    CHECK(e.items()[1].line == line_containing(text, "\"p50\": \"fast\""));
  }
  SECTION("a CSV row with a bad number") {
    const fs::path dir = write_fixture(s, "bad-csv", default_result());
    std::string ts = timeseries_fixture();
    ts.insert(ts.find('\n', ts.find('\n') + 1) + 1, "120,alpha,arrivals,1x2\n");  // becomes line 3
    write_file(dir / "timeseries.csv", ts);
    write_file(dir / "cold_starts.csv", cold_starts_fixture() + "alpha,9,0,abc,40,0,2,8,20,model-store,0\nalpha,9,0\n");
    const Diagnostics e = errors_of(dir);
    INFO(e.to_string());
    REQUIRE(e.size() == 3);
    CHECK_THAT(e.items()[0].file, Contains("timeseries.csv"));
    CHECK(e.items()[0].line == 3);
    CHECK(e.items()[0].column == 4);
    CHECK_THAT(e.items()[0].message, Contains("1x2"));
    CHECK_THAT(e.items()[1].file, Contains("cold_starts.csv"));
    CHECK(e.items()[1].line == 6);
    CHECK(e.items()[1].path == "placed_s");
    CHECK(e.items()[2].line == 7);
    CHECK_THAT(e.items()[2].message, Contains("expected 11 fields"));
  }
  SECTION("a CSV with the wrong header") {
    const fs::path dir = write_fixture(s, "bad-header", default_result());
    write_file(dir / "timeseries.csv", "time,model,value\n60,alpha,1\n");
    const Diagnostics e = errors_of(dir);
    CHECK(e.items()[0].line == 1);
    CHECK_THAT(e.items()[0].message, Contains("series"));
  }
}

#ifdef FLEETSIM_BINARY
TEST_CASE("reports of a real run", "[reports]") {
  Scratch s;
  const fs::path dir = s.dir / "real";
  const std::string run = shell_quote(FLEETSIM_BINARY) + " run " + shell_quote(std::string(FLEETSIM_SOURCE_DIR) + "/scenarios/default.yaml") +
                          " --out " + shell_quote(dir.string()) + " --set duration=1h -q";
  REQUIRE(std::system(run.c_str()) == 0);
  const Diagnostics errors = fleetsim::write_run_reports(dir.string());
  INFO(errors.to_string());
  REQUIRE(errors.empty());
  const std::string html = read_file(dir / "report.html");
  CHECK_THAT(html, Contains("llama-3.1-8b"));
  // `fleetsim run` always writes both files, so both charts must be there.
  REQUIRE(fs::exists(dir / "timeseries.csv"));
  REQUIRE(fs::exists(dir / "cold_starts.csv"));
  CHECK_THAT(html, Contains("id=\"chart-gpus\""));
  CHECK_THAT(html, Contains("id=\"chart-cold-start-timeline\""));
  // vLLM's histograms: every completed request of a model counted once, as in its TTFT summary.
  const std::string prom = read_file(dir / "result.prom");
  const std::string count = line_starting(prom, "fleetsim_ttft_seconds_count{model=\"llama-3.1-8b\"} ");
  const std::string n = count.substr(count.rfind(' ') + 1);
  CHECK(n != "0");
  CHECK_THAT(prom, Contains("\nvllm:time_to_first_token_seconds_count{model_name=\"llama-3.1-8b\"} " + n + "\n"));
  CHECK_THAT(prom, Contains("\nvllm:time_to_first_token_seconds_bucket{model_name=\"llama-3.1-8b\",le=\"+Inf\"} " + n + "\n"));
  CHECK_THAT(prom, Contains("\nvllm:e2e_request_latency_seconds_bucket{model_name=\"llama-3.1-8b\",le=\"7680\"} "));
  CHECK_THAT(prom, Contains("\nvllm:time_per_output_token_seconds_bucket{model_name=\"llama-3.1-8b\",le=\"0.025\"} "));
  if (on_path("promtool")) {
    check_promtool(dir / "result.prom", s.dir);
  } else {
    WARN("SKIPPED `promtool check metrics` of the real run: promtool is not installed (Debian package prometheus)");
  }
  // The CLI: `report` and `compare` are subcommands.
  const fs::path help = s.dir / "help.txt";
  REQUIRE(std::system((shell_quote(FLEETSIM_BINARY) + " --help > " + shell_quote(help.string()) + " 2>&1").c_str()) == 0);
  REQUIRE_THAT(read_file(help), Contains("\n  report ") && Contains("\n  compare "));
  fs::remove(dir / "report.html");
  const fs::path out = s.dir / "out.txt";
  CHECK(std::system((shell_quote(FLEETSIM_BINARY) + " report " + shell_quote(dir.string()) + " > " + shell_quote(out.string())).c_str()) == 0);
  CHECK_THAT(read_file(out), Contains("report.html"));
  CHECK(fs::exists(dir / "report.html"));
  const fs::path html_out = s.dir / "compare.html";
  CHECK(std::system((shell_quote(FLEETSIM_BINARY) + " compare " + shell_quote(dir.string()) + " " + shell_quote(dir.string()) +
                     " --html " + shell_quote(html_out.string()) + " > " + shell_quote(out.string()))
                        .c_str()) == 0);
  CHECK_THAT(read_file(out), Contains("TTFT p99"));
  CHECK(fs::exists(html_out));
  const int bad = std::system((shell_quote(FLEETSIM_BINARY) + " compare " + shell_quote(dir.string()) + " " +
                               shell_quote((s.dir / "nope").string()) + " > /dev/null 2>&1")
                                  .c_str());
  CHECK(WIFEXITED(bad));
  CHECK(WEXITSTATUS(bad) == 2);
}
#endif

TEST_CASE("report.html renders in headless Chromium without console errors", "[reports]") {
  const std::string chromium = "/usr/bin/chromium";
  if (!fs::exists(chromium)) {
    // A missing dependency, said so (Catch2 2 has no SKIP): nothing else here can run without it.
    WARN("SKIPPED the rendering check: Chromium is not installed (Debian packages chromium, chromium-driver)");
    return;
  }
  Scratch s;
  const fs::path dir = write_fixture(s, "render", default_result(true));
  REQUIRE(fleetsim::write_run_reports(dir.string()).empty());
  // A real run makes a richer picture when the binary is there.
#ifdef FLEETSIM_BINARY
  const fs::path real = s.dir / "real";
  REQUIRE(std::system((shell_quote(FLEETSIM_BINARY) + " run " + shell_quote(std::string(FLEETSIM_SOURCE_DIR) + "/scenarios/default.yaml") +
                       " --out " + shell_quote(real.string()) + " --set duration=6h -q > /dev/null 2>&1")
                          .c_str()) == 0);
  REQUIRE(fleetsim::write_run_reports(real.string()).empty());
  const bool have_real = true;
#else
  const fs::path real;
  const bool have_real = false;
#endif
  const fs::path output = fs::current_path() / "test-output";
  fs::create_directories(output);
  for (const auto& [name, from] : {std::pair<std::string, fs::path>{"report-fixture", dir}, {"report", real}}) {
    if (name == "report" && !have_real) continue;
    const fs::path html = output / (name + ".html");
    const fs::path png = output / (name + ".png");
    fs::copy_file(from / "report.html", html, fs::copy_options::overwrite_existing);
    fs::remove(png);
    const fs::path profile = s.dir / ("chromium-profile-" + name);
    const fs::path log = s.dir / (name + "-chromium.log");
    const std::string command = "timeout 120 " + chromium +
                                " --headless --no-sandbox --disable-gpu --disable-quic --no-first-run"
                                " --disable-background-networking --disable-component-update --disable-sync"
                                " --user-data-dir=" + shell_quote(profile.string()) + " --screenshot=" + shell_quote(png.string()) +
                                " --window-size=1400,3000 --enable-logging=stderr --v=0 " +
                                shell_quote("file://" + html.string()) + " > " + shell_quote(log.string()) + " 2>&1";
    const int rc = std::system(command.c_str());
    const std::string stderr_text = read_file(log);
    INFO(name << ": chromium exit " << rc << "\n" << stderr_text);
    CHECK(rc == 0);
    REQUIRE(fs::exists(png));
    CHECK(fs::file_size(png) > 20000);
    CHECK(read_file(png).substr(0, 8) == "\x89PNG\r\n\x1a\n");
    std::istringstream lines(stderr_text);
    for (std::string line; std::getline(lines, line);) {
      INFO(line);
      CHECK(line.find("Uncaught") == std::string::npos);
      CHECK(line.find("ERROR:CONSOLE") == std::string::npos);
      CHECK(line.find(":CONSOLE") == std::string::npos);  // the page has no script: nothing may log
    }
  }
}
