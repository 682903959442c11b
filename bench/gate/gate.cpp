#include "bench/gate/gate.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "reports/result_json.hpp"
#include "scenarios/loader/build.hpp"
#include "scenarios/loader/scenario_loader.hpp"
#include "sim/event_queue.hpp"
#include "sim/metrics.hpp"
#include "sim/rng.hpp"

namespace fleetsim {

namespace {

using json = nlohmann::ordered_json;
using Clock = std::chrono::steady_clock;

constexpr double kMetricTolerance = 1e-9;
// Runs shorter than this are over in a few milliseconds: their speed is mostly noise, so the
// gate checks their metrics but does not time them.
constexpr std::uint64_t kMinEventsToTime = 100'000;

// The reference workload: a queue kept at 4,096 pending events, pop one / push one, with a
// fixed random stream. Operations per second of this loop are the unit of engine speed.
double reference_ops_per_second() {
  struct Payload {
    std::uint32_t a, b, c, d;
  };
  EventQueue<Payload> queue;
  RngStream rng(1, "gate/reference");
  for (int i = 0; i < 4096; ++i) queue.push(static_cast<SimTime>(rng.below(1'000'000)), Payload{});
  constexpr int kOps = 2'000'000;
  const auto start = Clock::now();
  std::uint64_t sink = 0;
  for (int i = 0; i < kOps / 2; ++i) {
    auto e = queue.pop();
    sink += e.payload.a;
    queue.push(e.time + static_cast<SimTime>(rng.below(1'000'000)), Payload{});
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return sink == 1 ? 0 : kOps / seconds;  // `sink` keeps the loop from being optimised away
}

const json* find_path(const json& j, const std::string& path) {
  const json* at = &j;
  std::size_t start = 0;
  while (start <= path.size()) {
    const std::size_t dot = path.find('.', start);
    const std::string key = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (!at->is_object() || !at->contains(key)) return nullptr;
    at = &(*at)[key];
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return at;
}

bool same(double a, double b) {
  if (a == b) return true;
  return std::abs(a - b) <= kMetricTolerance * std::max(std::abs(a), std::abs(b));
}

}  // namespace

const std::vector<std::string>& gate_metric_paths() {
  static const std::vector<std::string> paths = {
      "overall.requests",
      "overall.completed",
      "overall.failed",
      "overall.slo_attainment",
      "overall.ttft_s.p50",
      "overall.ttft_s.p99",
      "overall.tpot_s.p50",
      "overall.e2e_s.p99",
      "overall.cold_starts.count",
      "overall.cold_starts.share_of_requests_waited",
      "overall.gpu_seconds.allocated",
      "overall.gpu_seconds.idle",
      "overall.replicas.mean",
      "overall.replicas.peak",
      "run.end_time_s",
  };
  return paths;
}

GateBaseline load_gate_baseline(const std::string& path, Diagnostics& errors) {
  GateBaseline b;
  std::ifstream in(path);
  if (!in) {
    errors.add(Diagnostic{path, 0, 0, "", "cannot open the baseline"});
    return b;
  }
  json j;
  try {
    j = json::parse(in);
  } catch (const json::parse_error& e) {
    errors.add(Diagnostic{path, 0, 0, "", std::string("not valid JSON: ") + e.what()});
    return b;
  }
  try {
    if (j.value("schema_version", 0) != 1) {
      errors.add(Diagnostic{path, 0, 0, "schema_version", "expected 1"});
      return b;
    }
    b.speed_tolerance = j.value("speed_tolerance", 0.35);
    b.repetitions = j.value("repetitions", 3);
    for (const auto& c : j.at("cases")) {
      GateCase gc;
      gc.name = c.at("name").get<std::string>();
      gc.scenario = c.at("scenario").get<std::string>();
      gc.set = c.value("set", std::vector<std::string>{});
      gc.labels = c.value("labels", std::vector<std::string>{"ci"});
      gc.events = c.value("events", std::uint64_t{0});
      gc.speed_ratio = c.value("speed_ratio", 0.0);
      if (c.contains("metrics"))
        for (const auto& [k, v] : c.at("metrics").items()) gc.metrics[k] = v.get<double>();
      b.cases.push_back(gc);
    }
  } catch (const json::exception& e) {
    errors.add(Diagnostic{path, 0, 0, "cases", std::string("malformed: ") + e.what()});
  }
  return b;
}

std::string gate_baseline_json(const GateBaseline& b) {
  json j;
  j["schema_version"] = 1;
  j["speed_tolerance"] = b.speed_tolerance;
  j["repetitions"] = b.repetitions;
  json cases = json::array();
  for (const GateCase& c : b.cases) {
    json jc;
    jc["name"] = c.name;
    jc["scenario"] = c.scenario;
    jc["set"] = c.set;
    jc["labels"] = c.labels;
    jc["events"] = c.events;
    // Speed ratios are measured, not exact: two significant digits keep the diff readable.
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3g", c.speed_ratio);
    jc["speed_ratio"] = std::stod(buf);
    json m = json::object();
    for (const auto& path : gate_metric_paths())
      if (c.metrics.count(path)) m[path] = c.metrics.at(path);
    jc["metrics"] = m;
    cases.push_back(jc);
  }
  j["cases"] = cases;
  return j.dump(2) + "\n";
}

GateResult run_gate(const GateBaseline& baseline, const std::string& root, const PolicyRegistry& registry,
                    const GateOptions& options) {
  GateResult result;
  result.measured = baseline;
  for (GateCase& c : result.measured.cases) {
    if (std::find(c.labels.begin(), c.labels.end(), options.label) == c.labels.end()) continue;
    LoadOptions load;
    load.overrides = c.set;
    LoadResult loaded = load_scenario_file(root + "/" + c.scenario, registry, load);
    if (!loaded.scenario) {
      for (auto d : loaded.errors.items()) result.errors.add(d);
      result.passed = false;
      continue;
    }
    double best_ratio = 0;
    std::string metrics_json;
    RunStatus status;
    const int repetitions = options.speed ? std::max(1, baseline.repetitions) : 1;
    for (int rep = 0; rep < repetitions; ++rep) {
      const double reference = options.speed ? reference_ops_per_second() : 1.0;
      SimulationSetup setup = build_setup(*loaded.scenario, registry);
      setup.test_slowdown = options.test_slowdown;
      Simulation sim(std::move(setup));
      MetricsCollector metrics(sim.scenario());
      sim.add_observer(&metrics);
      const auto start = Clock::now();
      status = sim.run();
      const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
      if (!status.ok) {
        for (auto d : status.errors.items()) result.errors.add(d);
        result.passed = false;
        break;
      }
      best_ratio = std::max(best_ratio, static_cast<double>(status.events) / seconds / reference);
      if (rep == 0) metrics_json = result_json(*loaded.scenario, registry, metrics.result(), status, "gate");
    }
    if (!status.ok) continue;
    const json j = json::parse(metrics_json);
    const GateCase before = c;
    c.events = status.events;
    c.speed_ratio = best_ratio;
    c.metrics.clear();
    for (const auto& path : gate_metric_paths()) {
      const json* v = find_path(j, path);
      if (v && v->is_number()) c.metrics[path] = v->get<double>();
    }
    const bool fresh = before.events == 0;
    for (const auto& [path, now] : c.metrics) {
      auto was = before.metrics.find(path);
      if (was == before.metrics.end()) {
        if (!fresh) result.rows.push_back({c.name, path, 0, now, false, "new"});
        continue;
      }
      if (!same(was->second, now)) result.rows.push_back({c.name, path, was->second, now, true, "changed"});
    }
    if (!fresh && before.events != c.events)
      result.rows.push_back({c.name, "events", static_cast<double>(before.events), static_cast<double>(c.events),
                             true, "changed"});
    if (!options.speed) {
      c.speed_ratio = before.speed_ratio;
      continue;
    }
    GateRow speed{c.name, "speed ratio", before.speed_ratio, best_ratio, false, fresh ? "new" : "ok"};
    if (c.events < kMinEventsToTime) {
      speed.note = "too short to time";
    } else if (!fresh && best_ratio < before.speed_ratio * (1 - baseline.speed_tolerance)) {
      speed.regression = true;
      speed.note = "slower";
    } else if (!fresh && best_ratio > before.speed_ratio * (1 + baseline.speed_tolerance)) {
      speed.note = "faster";
    }
    result.rows.push_back(speed);
  }
  for (const GateRow& r : result.rows)
    if (r.regression) result.passed = false;
  if (!result.errors.empty()) result.passed = false;
  return result;
}

std::string gate_table(const GateResult& result) {
  std::ostringstream out;
  char line[256];
  std::snprintf(line, sizeof line, "%-18s %-46s %16s %16s %9s  %s\n", "case", "what", "baseline", "now", "change",
                "status");
  out << line;
  for (const GateRow& r : result.rows) {
    const double change = r.baseline != 0 ? (r.now - r.baseline) / std::abs(r.baseline) * 100 : 0;
    std::snprintf(line, sizeof line, "%-18s %-46s %16.6g %16.6g %+8.2f%%  %s%s\n", r.name.c_str(), r.what.c_str(),
                  r.baseline, r.now, change, r.note.c_str(), r.regression ? "  << REGRESSION" : "");
    out << line;
  }
  out << (result.passed ? "gate passed\n" : "gate FAILED\n");
  return out.str();
}

}  // namespace fleetsim
