// Keep-alive autoscalers against hand-made idle-time sequences and short end-to-end runs.
#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cli/sweep/sweep.hpp"
#include "reports/result_json.hpp"

#include "tests/support.hpp"

using namespace fleetsim;
using namespace fleetsim::test;

namespace {

ParamValues params_of(const std::string& impl, const std::string& extra = "") {
  Scenario sc = scenario_from(
      "duration: 1h\ncluster: {pools: [{name: a, nodes: 1, gpu: H100-80GB}]}\n"
      "policies: {autoscaler: {impl: " + impl + extra + "}}\n"
      "models: [{name: m, parameters: 1e9, kv_cache_per_token: 1KiB}]\n"
      "workloads: [{model: m, arrivals: {process: poisson, rate: 1/s},"
      " input_tokens: {dist: fixed, value: 1}, output_tokens: {dist: fixed, value: 1}}]\n");
  return sc.models[0].autoscaler.params;
}

std::unique_ptr<Autoscaler> make(const std::string& impl, const std::string& extra = "") {
  return registry().make_autoscaler(PolicyChoice{impl, params_of(impl, extra)});
}

// An idle view: model went idle at `idle_since`, one ready replica, evaluated at `now`.
ScalingView idle_view(SimTime now, SimTime idle_since, std::vector<SimTime>* periods = nullptr) {
  ScalingView v;
  v.now = now;
  v.ready = 1;
  v.idle_since = idle_since;
  if (periods) v.idle_periods = *periods;
  return v;
}

}  // namespace

TEST_CASE("fixed-keepalive keeps a replica exactly the timeout after the last request", "[keepalive]") {
  auto p = make("fixed-keepalive");
  ScalingDecision d = p->evaluate(idle_view(100 * kSecond, 100 * kSecond));
  REQUIRE(d.desired == 1);
  // Idle at 100 s: expiry at 100 s + 10 min, reached exactly (no polling past it).
  d = p->evaluate(idle_view(699 * kSecond, 100 * kSecond));
  REQUIRE(d.desired == 1);
  REQUIRE(d.next_evaluation == 700 * kSecond);
  REQUIRE(p->evaluate(idle_view(700 * kSecond, 100 * kSecond)).desired == 0);
  auto p20 = make("fixed-keepalive-20min");
  REQUIRE(p20->evaluate(idle_view(1299 * kSecond, 100 * kSecond)).desired == 1);
  REQUIRE(p20->evaluate(idle_view(1300 * kSecond, 100 * kSecond)).desired == 0);
}

TEST_CASE("hybrid-histogram windows from a hand-made sequence of idle times", "[keepalive][hybrid]") {
  // 20 idle times: one of 2 min (5%, the head), 18 of 10 min, one of 29 min 30 s (the tail).
  // Bins of 1 min: head bin 2 -> 2 min; the 99th percentile falls in bin 29 -> upper edge 30 min.
  // pre-warm = 2 min · 0.9 = 108 s; keep-alive = 30 min · 1.1 − 108 s = 1872 s.
  // The bin counts are concentrated (CV ≈ 10.6 ≥ 2): representative.
  auto p = make("hybrid-histogram", ", min_samples: 5");
  std::vector<SimTime> periods = {2 * kMinute + 10 * kSecond, 29 * kMinute + 30 * kSecond};
  for (int i = 0; i < 18; ++i) periods.push_back(10 * kMinute + i * kSecond);
  const SimTime t0 = 10 * kHour;
  // The replica's last cold start took 30 s: it is released now and re-started at
  // t0 + 108 s − 30 s, to be ready when the pre-warm window ends.
  ScalingView v = idle_view(t0, t0, &periods);
  v.last_cold_start = 30 * kSecond;
  ScalingDecision d = p->evaluate(v);
  REQUIRE(d.desired == 0);
  REQUIRE(d.wakeup == t0 + 78 * kSecond);
  ScalingView w = idle_view(t0 + 78 * kSecond, t0);
  w.ready = 0;
  w.last_cold_start = 30 * kSecond;
  d = p->evaluate(w);
  REQUIRE(d.desired == 1);
  // Kept until t0 + 108 s + 1872 s = t0 + 1980 s.
  w.now = t0 + 1979 * kSecond;
  REQUIRE(p->evaluate(w).desired == 1);
  w.now = t0 + 1980 * kSecond;
  REQUIRE(p->evaluate(w).desired == 0);
}

TEST_CASE("hybrid-histogram falls back to a fixed window when its histogram is not representative", "[keepalive][hybrid]") {
  SECTION("too few idle times") {
    auto p = make("hybrid-histogram", ", fallback_keepalive: 15min");
    std::vector<SimTime> periods = {5 * kMinute, 5 * kMinute};
    ScalingDecision d = p->evaluate(idle_view(kHour, kHour, &periods));
    REQUIRE(d.desired == 1);
    REQUIRE(p->evaluate(idle_view(kHour + 15 * kMinute - 1, kHour)).desired == 1);
    REQUIRE(p->evaluate(idle_view(kHour + 15 * kMinute, kHour)).desired == 0);
  }
  SECTION("idle times spread evenly over the range: CV below 2") {
    auto p = make("hybrid-histogram", ", fallback_keepalive: 15min");
    std::vector<SimTime> periods;
    for (int i = 0; i < 240; ++i) periods.push_back(i * kMinute + 30 * kSecond);  // one per bin: CV 0
    p->evaluate(idle_view(kHour, kHour, &periods));
    REQUIRE(p->evaluate(idle_view(kHour + 15 * kMinute - 1, kHour)).desired == 1);
    REQUIRE(p->evaluate(idle_view(kHour + 15 * kMinute, kHour)).desired == 0);
  }
  SECTION("most idle times beyond the 4 h range") {
    auto p = make("hybrid-histogram", ", fallback_keepalive: 15min");
    std::vector<SimTime> periods;
    for (int i = 0; i < 10; ++i) periods.push_back(5 * kHour);
    for (int i = 0; i < 5; ++i) periods.push_back(10 * kMinute);
    p->evaluate(idle_view(kHour, kHour, &periods));
    REQUIRE(p->evaluate(idle_view(kHour + 15 * kMinute - 1, kHour)).desired == 1);
    REQUIRE(p->evaluate(idle_view(kHour + 15 * kMinute, kHour)).desired == 0);
  }
}

TEST_CASE("oracle scales to zero and pre-warms one cold start ahead of the next arrival", "[keepalive][oracle]") {
  auto p = make("oracle");
  ScalingView v = idle_view(100 * kSecond, 100 * kSecond);
  v.last_cold_start = 20 * kSecond;
  v.next_arrival = 500 * kSecond;
  ScalingDecision d = p->evaluate(v);
  REQUIRE(d.desired == 0);
  REQUIRE(d.wakeup == 440 * kSecond);  // lead: the default lead_time, 60 s, exceeds the 20 s seen
  v.next_arrival = 150 * kSecond;  // sooner than the lead: keep the replica
  REQUIRE(p->evaluate(v).desired == 1);
}

TEST_CASE("end to end: the oracle has no cold-start waits on sparse traffic, fixed keep-alive has some", "[keepalive][oracle]") {
  auto path = std::filesystem::temp_directory_path() / "fleetsim_test_oracle.csv";
  {
    std::ofstream out(path);
    out << "timestamp,model,input_tokens,output_tokens\n";
    for (int i = 1; i <= 12; ++i) out << i * 1500 << ".0,m,200,20\n";  // every 25 min
  }
  auto run = [&](const std::string& policy) {
    return run_scenario(scenario_from(
        "duration: 6h\ncluster: {pools: [{name: a, nodes: 1, gpu: H100-80GB, disk_cache: 1TB}]}\n"
        "policies: {autoscaler: {impl: " + policy + "}}\n"
        "models: [{name: m, parameters: 8e9, kv_cache_per_token: 128KiB}]\n"
        "workloads: [{trace: " + path.string() + "}]\n"));
  };
  RunOutput oracle = run("oracle");
  RunOutput keep10 = run("fixed-keepalive");
  REQUIRE(oracle.violations.empty());
  REQUIRE(keep10.violations.empty());
  // The replica warm at t = 0 serves nobody before 1500 s: the oracle releases it at once and
  // re-starts it ahead of each arrival; the 10-minute window expires between requests.
  REQUIRE(oracle.metrics.models[0].requests_waited == 0);
  REQUIRE(keep10.metrics.models[0].requests_waited == 12);
  REQUIRE(oracle.metrics.models[0].gpu_seconds_idle < keep10.metrics.models[0].gpu_seconds_idle);
}

// ---------------------------------------------------------------- README's keep-alive study

namespace {

std::string fixed(double value, int decimals) {
  char text[64];
  std::snprintf(text, sizeof text, "%.*f", decimals, value);
  return text;
}

std::string thousands(std::uint64_t value) {
  std::string digits = std::to_string(value), out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

// A share as the README writes the spread across models: "0" for none, else one decimal.
std::string share_1(double share) { return share == 0 ? "0" : fixed(100 * share, 1); }

// README's label for an autoscaler of the study.
std::string policy_label(const std::string& impl) {
  return impl == "fixed-keepalive" ? "`fixed-keepalive` (10 min)" : "`" + impl + "`";
}

// A markdown table row's cells, trimmed, without bold marks.
std::vector<std::string> cells_of(std::string line) {
  for (std::size_t at; (at = line.find("**")) != std::string::npos;) line.erase(at, 2);
  std::vector<std::string> cells;
  std::size_t start = line.find('|') + 1;
  for (std::size_t bar; (bar = line.find('|', start)) != std::string::npos; start = bar + 1) {
    std::string cell = line.substr(start, bar - start);
    cell.erase(0, cell.find_first_not_of(' '));
    cell.erase(cell.find_last_not_of(' ') + 1);
    cells.push_back(cell);
  }
  return cells;
}

double at_path(const nlohmann::json& doc, const std::string& path) {
  const nlohmann::json* at = &doc;
  std::size_t start = 0;
  for (std::size_t dot;; start = dot + 1) {
    dot = path.find('.', start);
    at = &at->at(path.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
    if (dot == std::string::npos) break;
  }
  return at->get<double>();
}

}  // namespace

// The tables of README's "The keep-alive study" regenerated from the shipped sweep
// (scenarios/sweeps/keepalive-study.yaml): every point is run here at the sweep's seed, its
// metrics read from result.json's paths as the sweep's merged table reads them, each row written
// in the README's format and compared with the README's row. The whole sweep takes a few
// seconds (ten one-day runs of ~0.3 s), so all of it runs; nothing here reads a wall clock, and
// the README's times are not checked. A failure prints the row the README should have.
TEST_CASE("README's keep-alive study tables are what the shipped sweep gives", "[keepalive][readme]") {
  const std::string root = FLEETSIM_SOURCE_DIR;
  SweepLoadResult loaded = load_sweep_file(root + "/scenarios/sweeps/keepalive-study.yaml");
  REQUIRE(loaded.sweep);
  const SweepSpec& sweep = *loaded.sweep;

  std::map<std::pair<std::string, std::string>, std::vector<std::string>> expected;  // (label, cache)
  // The traffic-shape table: per shape (model index % 4) and policy, with LRU caches.
  struct ShapeSum {
    std::uint64_t requests = 0, waited = 0;
    double idle_s = 0;
  };
  std::map<std::pair<std::string, int>, ShapeSum> shapes;
  for (const SweepPoint& point : sweep_points(sweep)) {
    LoadOptions options;
    options.overrides = point.overrides;
    options.seed = point.seed;
    LoadResult scenario = load_scenario_file(sweep.base_path, registry(), options);
    REQUIRE(scenario.scenario);
    const Scenario& sc = *scenario.scenario;
    RunOutput run = run_scenario(sc);
    REQUIRE(run.status.ok);
    const auto doc = nlohmann::json::parse(result_json(sc, registry(), run.metrics, run.status, "test"));
    auto metric = [&](const std::string& path) { return at_path(doc, path); };
    const std::string impl = sc.models[0].autoscaler.impl;
    const std::string cache = sc.cache.impl;
    expected[{policy_label(impl), cache}] = {
        policy_label(impl),
        cache,
        fixed(100 * metric("overall.cold_starts.share_of_requests_waited"), 2) + "%",
        fixed(metric("overall.gpu_seconds.idle") / 3600, 1),
        fixed(metric("overall.gpu_seconds.allocated") / 3600, 1),
        thousands(static_cast<std::uint64_t>(metric("overall.cold_starts.count"))),
        fixed(metric("overall.ttft_s.p99"), 2) + " s",
        fixed(100 * metric("overall.slo_attainment"), 1) + "%",
        share_1(metric("overall.cold_start_share_across_models.p50")) + " / " +
            share_1(metric("overall.cold_start_share_across_models.p75")) + " / " +
            share_1(metric("overall.cold_start_share_across_models.p99")) + "%"};
    if (cache == "lru")
      for (std::size_t m = 0; m < run.metrics.models.size(); ++m) {
        ShapeSum& sum = shapes[{impl, static_cast<int>(m % 4)}];
        sum.requests += run.metrics.models[m].requests;
        sum.waited += run.metrics.models[m].requests_waited;
        sum.idle_s += run.metrics.models[m].gpu_seconds_idle;
      }
  }
  REQUIRE(expected.size() == 10);

  // README: the section, its main table's rows and the shape table's rows.
  const std::string readme = read_file(root + "/README.md");
  const std::size_t from = readme.find("\n## The keep-alive study");
  REQUIRE(from != std::string::npos);
  const std::string section = readme.substr(from, readme.find("\n## ", from + 1) - from);
  std::istringstream lines(section);
  std::size_t rows = 0, shape_rows = 0;
  const char* shape_names[] = {"Poisson", "near-periodic", "bursty", "on/off"};
  auto shape_cell = [&](const std::string& impl, int shape) {
    const ShapeSum& s = shapes.at({impl, shape});
    const double share = s.requests ? static_cast<double>(s.waited) / s.requests : 0;
    return (share == 0 && impl == "oracle" ? std::string("0") : fixed(100 * share, 2)) + "% / " +
           fixed(s.idle_s / 3600, 1) + " h";
  };
  for (std::string line; std::getline(lines, line);) {
    const std::size_t bar = line.find_first_not_of(' ');
    if (bar == std::string::npos || line[bar] != '|') continue;
    const std::vector<std::string> cells = cells_of(line);
    if (cells.size() == 9 && expected.count({cells[0], cells[1]})) {
      INFO("README row: " << line);
      const auto& want = expected.at({cells[0], cells[1]});
      std::string row = "|";
      for (const std::string& c : want) row += " " + c + " |";
      INFO("fresh run:  " << row);
      CHECK(cells == want);
      ++rows;
    }
    for (int shape = 0; shape < 4; ++shape)
      if (cells.size() == 4 && cells[0] == shape_names[shape]) {
        const std::vector<std::string> want = {shape_names[shape], shape_cell("hybrid-histogram", shape),
                                               shape_cell("fixed-keepalive", shape), shape_cell("oracle", shape)};
        INFO("README row: " << line);
        INFO("fresh run:  | " << want[0] << " | " << want[1] << " | " << want[2] << " | " << want[3] << " |");
        CHECK(cells == want);
        ++shape_rows;
      }
  }
  REQUIRE(rows == 10);
  REQUIRE(shape_rows == 4);
}
