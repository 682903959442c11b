// The report of a run with more models than it draws one by one (kDrawnModels, run_data.hpp):
// the top models by requests are drawn (ties by name), the rest summed into "other (N models)"
// as timeseries.csv is read, and every table still lists every model. With kDrawnModels or
// fewer, nothing changes. Fixtures: a hand-written run folder of 15 (or 10) models.
#include <catch2/catch.hpp>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "reports/html_report.hpp"
#include "reports/run_data.hpp"
#include "tests/support.hpp"

namespace fs = std::filesystem;
using fleetsim::RunData;

namespace {

using ordered = nlohmann::ordered_json;

ordered latency(std::uint64_t count, double base) {
  ordered j;
  j["count"] = count;
  j["mean"] = base;
  j["p50"] = base;
  j["p90"] = base * 2;
  j["p99"] = base * 3;
  j["max"] = base * 4;
  j["cdf"] = ordered::array({{base / 2, 0.0}, {base, 0.5}, {base * 2, 0.9}, {base * 3, 0.99}, {base * 4, 1.0}});
  return j;
}

ordered metrics(std::uint64_t requests) {
  ordered j;
  j["requests"] = requests;
  j["completed"] = requests;
  j["failed"] = 0;
  j["failed_by_reason"] = ordered::object();
  j["slo_attainment"] = 1.0;
  j["ttft_s"] = latency(requests, 0.25);
  j["tpot_s"] = latency(requests, 0.03125);
  j["e2e_s"] = latency(requests, 4);
  ordered cs;
  cs["count"] = 2;
  cs["aborted"] = 0;
  cs["requests_waited"] = 1;
  cs["share_of_requests_waited"] = 0.5;
  cs["added_latency_s"] = latency(1, 16);
  cs["duration_s"] = latency(2, 30);
  cs["mean_image_pull_s"] = 2.0;
  cs["mean_weight_load_s"] = 8.0;
  cs["mean_engine_startup_s"] = 20.0;
  cs["weights_from_disk_cache"] = 1;
  cs["weights_from_model_store"] = 1;
  cs["unschedulable_scale_ups"] = 0;
  j["cold_starts"] = cs;
  j["gpu_seconds"] = {{"allocated", 3600.0}, {"busy", 1800.0}, {"idle", 900.0}, {"starting", 900.0}};
  j["replicas"] = {{"peak", 2}, {"mean", 1.5}};
  return j;
}

std::string name_of(std::size_t i) { return (i < 10 ? "m0" : "m1") + std::to_string(i % 10); }

// Requests per model: the top ten are m09 m01 m03 m04 m05 m00 m08 m13 m06 and, of m02 and m07
// (200 each), m02 — the name first in byte order. Not drawn: m07 m10 m11 m12 m14.
const std::vector<std::uint64_t> kRequests = {500, 900, 200, 800, 700, 600, 300, 200,
                                              400, 1000, 50, 60, 70, 400, 80};

// result.json, timeseries.csv (every model and "all", three series, five sample times; model i
// at sample k has the value i + 1 + k) and cold_starts.csv (one cold start per model) of the
// first `n` models.
fs::path write_run(const fleetsim::test::TempDir& tmp, std::size_t n) {
  const fs::path dir = tmp.dir / ("run" + std::to_string(n));
  fs::create_directories(dir);
  ordered j;
  j["schema_version"] = 1;
  j["fleetsim_version"] = "0.1.0";
  j["scenario"] = {{"name", "many"}, {"description", "many models"}, {"seed", 7}};
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < n; ++i) total += kRequests[i];
  j["run"] = {{"seed", 7}, {"end_time_s", 300.0}, {"events", 100}, {"requests", total}, {"percentile_relative_error", 0.005}};
  j["overall"] = metrics(total);
  for (std::size_t i = 0; i < n; ++i) j["models"][name_of(i)] = metrics(kRequests[i]);
  fleetsim::test::write_file(dir / "result.json", j.dump(2) + "\n");
  std::string ts = "time_s,model,series,value\n";
  for (int k = 1; k <= 5; ++k)
    for (const char* series : {"replicas_ready", "gpus_allocated", "arrivals"}) {
      double all = 0;
      for (std::size_t i = 0; i < n; ++i) {
        const double v = static_cast<double>(i + 1) + k;
        all += v;
        ts += std::to_string(60 * k) + "," + name_of(i) + "," + series + "," + std::to_string(v) + "\n";
      }
      ts += std::to_string(60 * k) + ",all," + series + "," + std::to_string(all) + "\n";
    }
  fleetsim::test::write_file(dir / "timeseries.csv", ts);
  std::string cs = "model,replica,node,placed_s,ready_s,image_pull_s,weight_load_s,engine_startup_s,source,aborted\n";
  for (std::size_t i = 0; i < n; ++i)
    cs += name_of(i) + ",1,0," + std::to_string(10 * i) + "," + std::to_string(10 * i + 30) + ",2,8,20,disk-cache,0\n";
  fleetsim::test::write_file(dir / "cold_starts.csv", cs);
  return dir;
}

RunData load(const fs::path& dir, std::size_t drawn = fleetsim::kDrawnModels) {
  fleetsim::LoadedRun loaded = fleetsim::load_run_dir(dir.string(), drawn);
  INFO(loaded.errors.to_string());
  REQUIRE(loaded.errors.empty());
  REQUIRE(loaded.run);
  return *loaded.run;
}

// The figure with this id, from its opening tag to its end.
std::string figure_of(const std::string& html, const std::string& id) {
  const auto at = html.find("<figure id=\"" + id + "\"");
  REQUIRE(at != std::string::npos);
  return html.substr(at, html.find("</figure>", at) - at);
}

std::size_t count(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

const std::vector<std::string> kDrawn = {"m00", "m01", "m02", "m03", "m04", "m05", "m06", "m08", "m09", "m13"};
const std::vector<std::string> kOthers = {"m07", "m10", "m11", "m12", "m14"};

}  // namespace

TEST_CASE("many models: the drawn ones are the ten with the most requests, ties by name", "[reports]") {
  fleetsim::test::TempDir tmp("many-models");
  const RunData run = load(write_run(tmp, 15));
  CHECK(fleetsim::drawn_models(run) == kDrawn);
  CHECK(fleetsim::drawn_models(run, 20).size() == 15);
}

TEST_CASE("many models: timeseries.csv keeps the drawn models and all, and sums the others per sample time",
          "[reports]") {
  fleetsim::test::TempDir tmp("many-models");
  const RunData run = load(write_run(tmp, 15));
  const fleetsim::TimeSeriesData& ts = run.timeseries;
  CHECK(ts.other_models == 5);
  for (const std::string& m : kOthers) CHECK(ts.find(m, "arrivals") == nullptr);
  for (const std::string& m : kDrawn) CHECK(ts.find(m, "arrivals") != nullptr);
  REQUIRE(ts.find("all", "arrivals") != nullptr);
  REQUIRE(ts.others.size() == 3);
  for (const char* series : {"replicas_ready", "gpus_allocated", "arrivals"}) {
    const fleetsim::RunSeries* s = ts.find_other(series);
    REQUIRE(s != nullptr);
    CHECK(s->model == "other (5 models)");
    // m07 m10 m11 m12 m14 at sample k: (8 + k) + (11 + k) + (12 + k) + (13 + k) + (15 + k).
    CHECK(s->time_s == std::vector<double>{60, 120, 180, 240, 300});
    CHECK(s->value == std::vector<double>{64, 69, 74, 79, 84});
    CHECK(s->interval_s == std::vector<double>{60, 60, 60, 60, 60});
  }
  // Without a limit every model is kept, and nothing is summed.
  const RunData whole = load(write_run(tmp, 15), 0);
  CHECK(whole.timeseries.others.empty());
  CHECK(whole.timeseries.find("m07", "arrivals") != nullptr);
}

TEST_CASE("many models: the report draws ten models, the other five as one, and lists all fifteen", "[reports]") {
  fleetsim::test::TempDir tmp("many-models");
  const std::string html = fleetsim::html_report(load(write_run(tmp, 15)));
  // Time series: ten model lines, "other (5 models)" and "all", each a line and a legend entry.
  const std::string replicas = figure_of(html, "chart-replicas");
  for (const std::string& m : kDrawn) CHECK(count(replicas, "<g><title>" + m + ": ready</title>") == 1);
  for (const std::string& m : kOthers) CHECK(count(replicas, m) == 0);
  CHECK(count(replicas, "<g><title>other (5 models): ready</title>") == 1);
  CHECK(count(replicas, "<g><title>all models: ready</title>") == 1);
  CHECK(count(replicas, "<g><title>") == 12);
  CHECK_THAT(replicas, Catch::Contains("summed into one gray dashed line"));
  const std::string rate = figure_of(html, "chart-rate");
  CHECK(count(rate, "<g><title>") == 12);
  CHECK(count(rate, "<g><title>other (5 models)</title>") == 1);
  const std::string gpus = figure_of(html, "chart-gpus");
  CHECK(count(gpus, "<polygon") == 11);
  CHECK(count(gpus, "<g><title>other (5 models)</title><polygon") == 1);
  CHECK_THAT(gpus, Catch::Contains("summed into one gray layer on top"));
  // Per-model figures from result.json: the ten only, with a caption that says so.
  const std::string cdf = figure_of(html, "chart-ttft-cdf");
  CHECK(count(cdf, "<g><title>") == 11);
  for (const std::string& m : kOthers) CHECK(count(cdf, m) == 0);
  CHECK_THAT(cdf, Catch::Contains("the other 5 are in the tables"));
  const std::string idle = figure_of(html, "chart-idle-gpu");
  for (const std::string& m : kOthers) CHECK(count(idle, m) == 0);
  // Cold starts: ten lanes and one for the others.
  const std::string lanes = figure_of(html, "chart-cold-start-timeline");
  CHECK_THAT(lanes, Catch::Contains("other (5 models) (5)"));
  for (const std::string& m : kOthers) CHECK(count(lanes, "<title>" + m + "</title>") == 0);
  // Every table row: the summary, cold-start and failures tables list all fifteen models.
  for (const std::string& m : kDrawn) CHECK(count(html, "<td class=\"name\">" + m + "</td>") == 3);
  for (const std::string& m : kOthers) CHECK(count(html, "<td class=\"name\">" + m + "</td>") == 3);
  CHECK_THAT(html, Catch::Contains("<dt>models drawn</dt>"));
}

TEST_CASE("many models: with ten models or fewer the report is the same as without a limit", "[reports]") {
  fleetsim::test::TempDir tmp("many-models");
  const fs::path dir = write_run(tmp, 10);
  const RunData limited = load(dir), whole = load(dir, 0);
  CHECK(limited.timeseries.others.empty());
  const std::string html = fleetsim::html_report(limited);
  CHECK(html == fleetsim::html_report(whole));
  CHECK(html.find("other (") == std::string::npos);
  CHECK(html.find("models drawn") == std::string::npos);
  CHECK(count(figure_of(html, "chart-replicas"), "<g><title>") == 11);
}
