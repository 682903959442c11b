#include "bench/gate/gate.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "reports/result_json.hpp"
#include "scenarios/loader/build.hpp"
#include "scenarios/loader/scenario_loader.hpp"
#include "sim/event_heap.hpp"
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

// The reference workload: a 4-ary event heap kept at 4,096 pending events, pop one / push one,
// with a fixed random stream. Operations per second of this loop are the unit of engine speed.
// (The heap was the engine's queue until session 10; it stays the unit, so that baselines
// recorded before and after the engine changed queue compare.)
double reference_ops_per_second() {
  struct Payload {
    std::uint32_t a, b, c, d;
  };
  EventHeap<Payload> queue;
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

std::optional<std::string> read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The options of `fleetsim jobs` and `fleetsim saturation` whose value is a file.
bool names_a_file(const std::string& option) {
  for (const char* o : {"--trace", "--nodes", "--pods", "--runtimes", "--throughputs"})
    if (option == o) return true;
  return false;
}

// `args` with each file they name made relative to `root` (`--trace FILE` and `--trace=FILE`).
std::vector<std::string> rooted(const std::vector<std::string>& args, const std::string& root) {
  auto at_root = [&](const std::string& path) {
    return path.empty() || std::filesystem::path(path).is_absolute() ? path : root + "/" + path;
  };
  std::vector<std::string> out;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    const auto eq = a.find('=');
    if (a.rfind("--", 0) == 0 && eq != std::string::npos && names_a_file(a.substr(0, eq))) {
      out.push_back(a.substr(0, eq + 1) + at_root(a.substr(eq + 1)));
    } else {
      out.push_back(a);
      if (names_a_file(a) && i + 1 < args.size()) out.push_back(at_root(args[++i]));
    }
  }
  return out;
}

// Runs `binary COMMAND ARGS... --out DIR` in a scratch directory (its output to a log there)
// and returns the result.json it wrote; on failure, nullopt and the reason in `errors`.
// `seconds` is how long the program ran.
std::optional<std::string> run_command_case(const std::string& binary, const GateCase& c, const std::string& root,
                                            Diagnostics& errors, double& seconds) {
  namespace fs = std::filesystem;
  static std::atomic<int> counter{0};
  const fs::path scratch =
      fs::temp_directory_path() / ("fleetsim-gate-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
  std::error_code ec;
  fs::remove_all(scratch, ec);
  fs::create_directories(scratch, ec);
  const std::string out = (scratch / "out").string(), log = (scratch / "log.txt").string();
  std::vector<std::string> argv{binary, c.command};
  for (const std::string& a : rooted(c.args, root)) argv.push_back(a);
  argv.push_back("--out");
  argv.push_back(out);
  std::vector<char*> raw;
  for (std::string& a : argv) raw.push_back(a.data());
  raw.push_back(nullptr);
  posix_spawn_file_actions_t files;
  posix_spawn_file_actions_init(&files);
  posix_spawn_file_actions_addopen(&files, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&files, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&files, 1, 2);
  const auto start = Clock::now();
  pid_t pid = 0;
  const int spawned = posix_spawn(&pid, binary.c_str(), &files, nullptr, raw.data(), environ);
  posix_spawn_file_actions_destroy(&files);
  int status = 0;
  if (spawned == 0) waitpid(pid, &status, 0);
  seconds = std::chrono::duration<double>(Clock::now() - start).count();
  std::string command_line;
  for (std::size_t i = 1; i < argv.size(); ++i) command_line += (i > 1 ? " " : "") + argv[i];
  std::optional<std::string> result;
  if (spawned != 0) {
    errors.add(Diagnostic{c.name, 0, 0, "command", "cannot start " + binary + ": " + std::strerror(spawned)});
  } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::string output = read_text(log).value_or("");
    if (output.size() > 2000) output = "..." + output.substr(output.size() - 2000);
    errors.add(Diagnostic{c.name, 0, 0, "command",
                          "fleetsim " + command_line + " failed (" +
                              (WIFEXITED(status) ? "exit " + std::to_string(WEXITSTATUS(status)) : std::string("killed")) +
                              "):\n" + output});
  } else if (!(result = read_text(fs::path(out) / "result.json"))) {
    errors.add(Diagnostic{c.name, 0, 0, "command", "fleetsim " + command_line + " wrote no result.json"});
  }
  fs::remove_all(scratch, ec);
  return result;
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

const std::vector<std::string>& gate_metric_paths(const std::string& command) {
  static const std::vector<std::string> jobs = {
      "jobs.jobs",           "jobs.completed",         "jobs.rejected",      "jobs.mean_jct_s",
      "jobs.jct_s.p50",      "jobs.jct_s.p99",         "jobs.mean_queueing_s", "jobs.queueing_s.p99",
      "jobs.preemptions",    "jobs.futile_preemptions", "jobs.lost_gpu_hours", "jobs.utilization",
      "jobs.makespan_s",     "run.end_time_s",
  };
  static const std::vector<std::string> saturation = {
      "failed_pods", "at.100.allocation_ratio", "at.100.frag_gpus", "end.allocation_ratio", "end.frag_gpus",
  };
  if (command == "jobs") return jobs;
  if (command == "saturation") return saturation;
  return gate_metric_paths();
}

namespace {

// The gate's metrics of one result (result.json text) of `command`.
std::map<std::string, double> metrics_of(const std::string& command, const json& j) {
  std::map<std::string, double> out;
  if (command == "saturation") {
    // Policy specs may hold dots (fgd:x=0.5): walk the policies instead of splitting paths.
    const json* policies = find_path(j, "saturation.policies");
    if (!policies || !policies->is_object()) return out;
    for (const auto& [policy, block] : policies->items())
      for (const std::string& suffix : gate_metric_paths(command)) {
        const json* v = find_path(block, suffix);
        if (v && v->is_number()) out["saturation.policies." + policy + "." + suffix] = v->get<double>();
      }
    return out;
  }
  for (const auto& path : gate_metric_paths(command)) {
    const json* v = find_path(j, path);
    if (v && v->is_number()) out[path] = v->get<double>();
  }
  return out;
}

}  // namespace

std::string missing_requirement(const GateCase& c, const std::string& root) {
  std::error_code ec;
  for (const std::string& file : c.requires_files) {
    const std::filesystem::path at = std::filesystem::path(file).is_absolute() ? std::filesystem::path(file)
                                                                               : std::filesystem::path(root) / file;
    if (!std::filesystem::exists(at, ec)) return file;
  }
  return "";
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
      gc.command = c.value("command", std::string("run"));
      if (gc.command != "run" && gc.command != "jobs" && gc.command != "saturation") {
        errors.add(Diagnostic{path, 0, 0, "cases." + gc.name + ".command",
                              "expected run, jobs or saturation, got \"" + gc.command + "\""});
        continue;
      }
      if (gc.command == "run") {
        gc.scenario = c.at("scenario").get<std::string>();
      } else {
        gc.args = c.at("args").get<std::vector<std::string>>();
      }
      gc.set = c.value("set", std::vector<std::string>{});
      gc.labels = c.value("labels", std::vector<std::string>{"ci"});
      gc.requires_files = c.value("requires", std::vector<std::string>{});
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
    if (c.command == "run") {
      jc["scenario"] = c.scenario;
      jc["set"] = c.set;
    } else {
      jc["command"] = c.command;
      jc["args"] = c.args;
    }
    jc["labels"] = c.labels;
    if (!c.requires_files.empty()) jc["requires"] = c.requires_files;
    jc["events"] = c.events;
    // Speed ratios are measured, not exact: two significant digits keep the diff readable.
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3g", c.speed_ratio);
    jc["speed_ratio"] = std::stod(buf);
    json m = json::object();
    if (c.command == "saturation") {
      for (const auto& [path, value] : c.metrics) m[path] = value;  // per policy: in path order
    } else {
      for (const auto& path : gate_metric_paths(c.command))
        if (c.metrics.count(path)) m[path] = c.metrics.at(path);
    }
    jc["metrics"] = m;
    cases.push_back(jc);
  }
  j["cases"] = cases;
  return j.dump(2) + "\n";
}

namespace {

// Compares what a case measured with its baseline (`c` as loaded), reports what changed into
// `result` and leaves the measurement in `c` (for --update).
void record(GateCase& c, std::uint64_t events, double best_ratio, std::map<std::string, double> metrics,
            const GateBaseline& baseline, const GateOptions& options, GateResult& result) {
  const GateCase before = c;
  c.events = events;
  c.speed_ratio = best_ratio;
  c.metrics = std::move(metrics);
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
    return;
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

// A case of another front end: its command line, run `repetitions` times when timed.
void run_command(GateCase& c, const GateBaseline& baseline, const std::string& root, const GateOptions& options,
                 GateResult& result) {
  if (options.fleetsim_binary.empty()) {
    result.errors.add(Diagnostic{c.name, 0, 0, "command",
                                 "a `" + c.command + "` case needs the fleetsim program (GateOptions::fleetsim_binary)"});
    return;
  }
  // Only long runs are timed (kMinEventsToTime): a short one runs once.
  double best_ratio = 0;
  std::optional<std::string> text;
  json j;
  std::uint64_t events = 0;
  const int repetitions = options.speed ? std::max(1, baseline.repetitions) : 1;
  for (int rep = 0; rep < repetitions; ++rep) {
    const double reference = options.speed ? reference_ops_per_second() : 1.0;
    double seconds = 0;
    std::optional<std::string> now = run_command_case(options.fleetsim_binary, c, root, result.errors, seconds);
    if (!now) return;
    if (!text) {
      text = std::move(now);
      j = json::parse(*text, nullptr, false);
      const json* e = j.is_discarded() ? nullptr : find_path(j, "run.events");
      if (!e || !e->is_number_unsigned()) {
        result.errors.add(Diagnostic{c.name, 0, 0, "command", "the result.json it wrote has no run.events"});
        return;
      }
      events = e->get<std::uint64_t>();
    }
    best_ratio = std::max(best_ratio, static_cast<double>(events) / seconds / reference);
    if (events < kMinEventsToTime) break;
  }
  record(c, events, best_ratio, metrics_of(c.command, j), baseline, options, result);
}

}  // namespace

GateResult run_gate(const GateBaseline& baseline, const std::string& root, const PolicyRegistry& registry,
                    const GateOptions& options) {
  GateResult result;
  result.measured = baseline;
  for (GateCase& c : result.measured.cases) {
    if (std::find(c.labels.begin(), c.labels.end(), options.label) == c.labels.end()) continue;
    if (const std::string missing = missing_requirement(c, root); !missing.empty()) {
      GateRow skipped{c.name, "case", 0, 0, false, "skipped: " + missing + " not present"};
      result.rows.push_back(skipped);
      continue;
    }
    if (c.command != "run") {
      run_command(c, baseline, root, options, result);
      continue;
    }
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
    record(c, status.events, best_ratio, metrics_of(c.command, j), baseline, options, result);
  }
  for (const GateRow& r : result.rows)
    if (r.regression) result.passed = false;
  if (!result.errors.empty()) result.passed = false;
  return result;
}

double bare_heap_events_per_second(std::size_t pending) {
  struct Payload {  // the size of Simulation::Event
    std::uint32_t a, b, c, d;
  };
  EventHeap<Payload> queue;
  RngStream rng(1, "gate/bare-heap");
  pending = std::max<std::size_t>(pending, 1);
  for (std::size_t i = 0; i < pending; ++i) queue.push(static_cast<SimTime>(rng.below(1'000'000)), Payload{});
  // About 0.1 s at the speeds measured here, whatever the size (a pop and a push cost ~log n).
  const int events = 2'000'000;
  std::uint64_t sink = 0;
  const auto start = Clock::now();
  for (int i = 0; i < events; ++i) {
    auto e = queue.pop();
    sink += e.payload.a;
    queue.push(e.time + static_cast<SimTime>(rng.below(1'000'000)), Payload{});
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return sink == 1 ? 0 : events / seconds;  // `sink` keeps the loop from being optimised away
}

std::vector<HeapRatioRow> measure_heap_ratios(const GateBaseline& baseline, const std::string& root,
                                              const PolicyRegistry& registry, const std::string& label,
                                              Diagnostics& errors) {
  std::vector<HeapRatioRow> rows;
  for (const GateCase& c : baseline.cases) {
    if (c.command != "run" || std::find(c.labels.begin(), c.labels.end(), label) == c.labels.end()) continue;
    if (!missing_requirement(c, root).empty()) continue;  // (as the gate: skipped)
    LoadOptions load;
    load.overrides = c.set;
    LoadResult loaded = load_scenario_file(root + "/" + c.scenario, registry, load);
    if (!loaded.scenario) {
      for (auto d : loaded.errors.items()) errors.add(d);
      continue;
    }
    HeapRatioRow row;
    row.name = c.name;
    bool ok = true;
    for (int rep = 0; rep < std::max(1, baseline.repetitions) && ok; ++rep) {
      Simulation sim(build_setup(*loaded.scenario, registry));
      MetricsCollector metrics(sim.scenario());
      sim.add_observer(&metrics);
      const auto start = Clock::now();
      RunStatus status = sim.run();
      const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
      if (!status.ok) {
        for (auto d : status.errors.items()) errors.add(d);
        ok = false;
        break;
      }
      row.events = status.events;
      if (status.events < kMinEventsToTime) break;
      row.mean_pending = status.pending_events_samples > 0 ? static_cast<double>(status.pending_events_sum) /
                                                                 static_cast<double>(status.pending_events_samples)
                                                           : 0;
      row.engine_events_per_s = std::max(row.engine_events_per_s, static_cast<double>(status.events) / seconds);
    }
    if (!ok || row.events < kMinEventsToTime) continue;
    for (int rep = 0; rep < std::max(1, baseline.repetitions); ++rep)
      row.heap_events_per_s = std::max(
          row.heap_events_per_s, bare_heap_events_per_second(static_cast<std::size_t>(std::llround(row.mean_pending))));
    row.ratio = row.engine_events_per_s / row.heap_events_per_s;
    rows.push_back(row);
  }
  return rows;
}

std::string heap_ratio_table(const std::vector<HeapRatioRow>& rows) {
  std::ostringstream out;
  char line[256];
  std::snprintf(line, sizeof line, "%-18s %12s %12s %16s %16s %7s\n", "case", "events", "mean pending",
                "engine events/s", "bare heap ev/s", "ratio");
  out << line;
  for (const HeapRatioRow& r : rows) {
    std::snprintf(line, sizeof line, "%-18s %12llu %12.0f %16.0f %16.0f %7.2f\n", r.name.c_str(),
                  static_cast<unsigned long long>(r.events), r.mean_pending, r.engine_events_per_s,
                  r.heap_events_per_s, r.ratio);
    out << line;
  }
  return out.str();
}

std::string gate_table(const GateResult& result) {
  std::ostringstream out;
  char line[256];
  std::snprintf(line, sizeof line, "%-18s %-58s %16s %16s %9s  %s\n", "case", "what", "baseline", "now", "change",
                "status");
  out << line;
  for (const GateRow& r : result.rows) {
    if (r.note.rfind("skipped", 0) == 0) {  // a case whose required files are absent
      std::snprintf(line, sizeof line, "%-18s ", r.name.c_str());
      out << line << r.note << "\n";
      continue;
    }
    const double change = r.baseline != 0 ? (r.now - r.baseline) / std::abs(r.baseline) * 100 : 0;
    std::snprintf(line, sizeof line, "%-18s %-58s %16.6g %16.6g %+8.2f%%  %s%s\n", r.name.c_str(), r.what.c_str(),
                  r.baseline, r.now, change, r.note.c_str(), r.regression ? "  << REGRESSION" : "");
    out << line;
  }
  out << (result.passed ? "gate passed\n" : "gate FAILED\n");
  return out.str();
}

}  // namespace fleetsim
