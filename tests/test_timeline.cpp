// The timeline (`fleetsim run --timeline FILE`, reports/timeline.hpp): a Chrome trace-event file.
// Checked here: it is valid JSON in the trace-event object format; every event has the fields
// its phase needs; every process and thread is named; on every thread the events come in time
// order and the slices nest (children within parents, never a partial overlap); what it shows
// agrees with the run (cold starts, phases, batch steps, sampled requests); the size bound holds;
// and the CLI writes the file only when the run succeeds.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>
#include <tuple>

#include <nlohmann/json.hpp>

#include "reports/timeline.hpp"
#include "tests/support.hpp"

using namespace fleetsim;
using namespace fleetsim::test;
using Catch::Contains;
using nlohmann::json;

namespace {

// An elastic pool (a node provisioned and released), a scale-to-zero LLM with sparse on/off
// traffic (cold starts, batch steps, requests that wait in the buffer) and a busy service-time
// model on fixed replicas (overlapping requests: several lanes).
const char* kScenario = R"(name: timeline-test
seed: 3
duration: 2h
cluster:
  pools:
    - {name: base, nodes: 1, gpu: H100-80GB, gpus_per_node: 2, disk_cache: 1TB}
    - {name: burst, nodes: 0, max_nodes: 1, gpu: H100-80GB, gpus_per_node: 2,
       provisioning_time: {dist: fixed, value: 2min}, node_idle_timeout: 5min}
policies:
  autoscaler: {impl: kpa, target_concurrency: 4}
models:
  - {name: chat-8b, parameters: 8e9, kv_cache_per_token: 128KiB, image_size: 10GB, startup_time: 20s,
     autoscaler: {min_scale: 0}}
  - {name: "embed \"q\"", kind: service-time, parameters: 3e8, memory_per_gpu: 4GiB, image_size: 2GB,
     startup_time: 5s, service_time: {dist: exponential, mean: 2s, max: 20s}, max_concurrency: 64,
     autoscaler: {impl: fixed, replicas: 1}}
workloads:
  - model: chat-8b
    arrivals: {process: on-off, rate: 4/s, on: 10min, off: 25min}
    input_tokens: {dist: lognormal, median: 400, sigma: 0.5, max: 4000}
    output_tokens: {dist: lognormal, median: 150, sigma: 0.5, max: 800}
  - model: "embed \"q\""
    arrivals: {process: poisson, rate: 2/s}
    input_tokens: {dist: fixed, value: 100}
    output_tokens: {dist: fixed, value: 1}
)";

struct Timeline {
  json doc;
  RunStatus status;
  RunMetrics metrics;
  std::vector<ColdStartRecord> cold_starts;
  std::uint64_t requests = 0;
  std::string text;
};

struct ColdStarts : SimObserver {
  std::vector<ColdStartRecord> records;
  void on_cold_start(const ColdStartRecord& c) override { records.push_back(c); }
};

Timeline run_with_timeline(const Scenario& scenario, TimelineOptions options) {
  Simulation sim(build_setup(scenario, registry()));
  MetricsCollector metrics(sim.scenario());
  ColdStarts cold;
  std::ostringstream out;
  TimelineWriter writer(sim.scenario(), sim.nodes(), out, options);
  sim.add_observer(&metrics);
  sim.add_observer(&cold);
  sim.add_observer(&writer);
  Timeline t;
  t.status = sim.run();
  REQUIRE(t.status.ok);
  REQUIRE(writer.ok());
  t.metrics = metrics.result();
  t.cold_starts = cold.records;
  t.requests = t.status.requests;
  t.text = out.str();
  t.doc = json::parse(t.text);  // throws (fails the test) on invalid JSON
  return t;
}

// Integer nanoseconds from the file's microseconds (written with at most 3 decimals).
std::int64_t ns(const json& us) { return std::llround(us.get<double>() * 1000.0); }

struct Slice {
  std::int64_t start, end;
  std::string name;
  std::string cat;
};
using Track = std::pair<std::int64_t, std::int64_t>;  // (pid, tid)

// Checks the structure; returns every slice per track (B/E pairs and X events).
std::map<Track, std::vector<Slice>> check_structure(const json& doc) {
  REQUIRE(doc.is_object());
  REQUIRE(doc.contains("traceEvents"));
  REQUIRE(doc["traceEvents"].is_array());
  REQUIRE(doc.contains("otherData"));
  std::set<std::int64_t> named_processes, used_processes;
  std::set<Track> named_threads, used_threads;
  std::map<Track, std::int64_t> last_ts;
  std::map<Track, std::vector<Slice>> open, slices;
  for (const json& e : doc["traceEvents"]) {
    INFO(e.dump());
    REQUIRE(e.is_object());
    REQUIRE(e.contains("ph"));
    REQUIRE(e["pid"].is_number_integer());
    REQUIRE(e["tid"].is_number_integer());
    const std::string ph = e["ph"];
    const Track track{e["pid"].get<std::int64_t>(), e["tid"].get<std::int64_t>()};
    if (ph == "M") {
      REQUIRE(e["name"].is_string());
      const std::string what = e["name"];
      REQUIRE(e["args"].is_object());
      if (what == "process_name" || what == "thread_name") {
        REQUIRE(e["args"]["name"].is_string());
        REQUIRE_FALSE(e["args"]["name"].get<std::string>().empty());
        if (what == "process_name") named_processes.insert(track.first);
        else named_threads.insert(track);
      } else {
        REQUIRE((what == "process_sort_index" || what == "thread_sort_index"));
        REQUIRE(e["args"]["sort_index"].is_number_integer());
      }
      continue;
    }
    REQUIRE((ph == "X" || ph == "B" || ph == "E"));
    REQUIRE(e["ts"].is_number());
    const std::int64_t ts = ns(e["ts"]);
    REQUIRE(ts >= 0);
    used_processes.insert(track.first);
    used_threads.insert(track);
    // Times never go back on a thread.
    if (last_ts.count(track)) REQUIRE(ts >= last_ts[track]);
    last_ts[track] = ts;
    if (ph == "X") {
      REQUIRE(e["name"].is_string());
      REQUIRE(e["cat"].is_string());
      REQUIRE(e["dur"].is_number());
      REQUIRE(ns(e["dur"]) >= 0);
      slices[track].push_back(Slice{ts, ts + ns(e["dur"]), e["name"], e["cat"]});
    } else if (ph == "B") {
      REQUIRE(e["name"].is_string());
      REQUIRE(e["cat"].is_string());
      open[track].push_back(Slice{ts, -1, e["name"], e["cat"]});
    } else {
      REQUIRE_FALSE(open[track].empty());  // an E closes the last B of its thread
      Slice s = open[track].back();
      open[track].pop_back();
      s.end = ts;
      slices[track].push_back(s);
    }
  }
  for (const auto& [track, stack] : open) {
    INFO("pid " << track.first << " tid " << track.second);
    REQUIRE(stack.empty());  // every B was closed
  }
  for (std::int64_t pid : used_processes) REQUIRE(named_processes.count(pid));
  for (const Track& t : used_threads) {
    INFO("pid " << t.first << " tid " << t.second);
    REQUIRE(named_threads.count(t));
  }
  // Nesting: sorted by start (longest first at equal starts), each slice lies within the
  // innermost slice still open at its start, or starts after it ends.
  for (auto& [track, list] : slices) {
    std::stable_sort(list.begin(), list.end(), [](const Slice& a, const Slice& b) {
      return a.start != b.start ? a.start < b.start : a.end > b.end;
    });
    std::vector<Slice> stack;
    for (const Slice& s : list) {
      while (!stack.empty() && s.start >= stack.back().end) stack.pop_back();
      if (!stack.empty()) {
        INFO("pid " << track.first << " tid " << track.second << ": " << s.name << " [" << s.start << ", " << s.end
                    << "] in " << stack.back().name << " [" << stack.back().start << ", " << stack.back().end << "]");
        REQUIRE(s.end <= stack.back().end);  // no partial overlap
      }
      stack.push_back(s);
    }
  }
  return slices;
}

std::size_t count_named(const std::map<Track, std::vector<Slice>>& slices, const std::string& name,
                        const std::string& cat = "") {
  std::size_t n = 0;
  for (const auto& [track, list] : slices)
    for (const Slice& s : list) n += s.name == name && (cat.empty() || s.cat == cat);
  return n;
}

std::set<std::string> names_of(const json& doc, const std::string& what) {
  std::set<std::string> names;
  for (const json& e : doc["traceEvents"])
    if (e["ph"] == "M" && e["name"] == what) names.insert(e["args"]["name"].get<std::string>());
  return names;
}

}  // namespace

TEST_CASE("the timeline is a well-formed trace: named tracks, time order, proper nesting", "[timeline]") {
  const Scenario scenario = scenario_from(kScenario);
  TimelineOptions options;
  options.request_sample = 7;
  const Timeline t = run_with_timeline(scenario, options);
  const auto slices = check_structure(t.doc);

  // Names: node processes, replica threads (model names quoted correctly), request processes.
  const auto processes = names_of(t.doc, "process_name");
  REQUIRE(processes.count("node 0 · base (2× H100-80GB)"));
  REQUIRE(processes.count("node 1 · burst (2× H100-80GB)"));  // the elastic pool grew
  REQUIRE(processes.count("requests · chat-8b (1 in 7)"));
  REQUIRE(processes.count("requests · embed \"q\" (1 in 7)"));
  const auto threads = names_of(t.doc, "thread_name");
  REQUIRE(threads.count("replica 0 · chat-8b (1 GPU)"));
  REQUIRE(threads.count("lane 0"));
  REQUIRE(threads.count("node"));

  // One cold-start slice per cold start (aborted ones too), each holding its phases.
  REQUIRE(t.cold_starts.size() >= 3);
  REQUIRE(count_named(slices, "cold start") == t.cold_starts.size());
  REQUIRE(count_named(slices, "weight load") > 0);
  REQUIRE(count_named(slices, "engine start-up") > 0);
  REQUIRE(count_named(slices, "image pull") > 0);
  // Batch steps of the LLM; the service-time model has none.
  REQUIRE(count_named(slices, "prefill", "batch") > 0);
  REQUIRE(count_named(slices, "decode", "batch") > 0);
  REQUIRE(t.doc["otherData"]["batch_steps"].get<std::uint64_t>() ==
          count_named(slices, "prefill", "batch") + count_named(slices, "decode", "batch"));
  REQUIRE(count_named(slices, "up") >= 1);  // the burst node's time up

  // Requests: serials 0, 7, 14, ... each drawn once (none lacked a lane here).
  std::uint64_t drawn = 0;
  std::set<std::int64_t> serials;
  for (const json& e : t.doc["traceEvents"])
    if (e["ph"] == "X" && e["cat"] == "request" && e.contains("args")) {
      const std::int64_t serial = e["args"]["serial"];
      REQUIRE(serial % 7 == 0);
      REQUIRE(serials.insert(serial).second);
      ++drawn;
    }
  REQUIRE(t.doc["otherData"]["requests_without_lane"] == 0);
  REQUIRE(drawn == (t.requests + 6) / 7);
  REQUIRE(t.doc["otherData"]["requests_drawn"] == drawn);
  REQUIRE(count_named(slices, "waiting for a replica") > 0);  // scale to zero: some waited
  REQUIRE(count_named(slices, "to first token") > 0);
  REQUIRE(t.doc["otherData"]["detail_stopped_s"].is_null());
  std::size_t lanes = 0;
  for (const auto& [track, list] : slices) lanes += track.first == 2 + 1 + 1;  // embed's requests
  REQUIRE(lanes > 1);  // its requests overlap: several lanes
}

TEST_CASE("the timeline is deterministic and its detail stops at the size limit", "[timeline]") {
  const Scenario scenario = scenario_from(kScenario);
  TimelineOptions options;
  const Timeline a = run_with_timeline(scenario, options);
  const Timeline b = run_with_timeline(scenario, options);
  REQUIRE(a.text == b.text);

  options.detail_limit_bytes = 20000;
  options.request_sample = 1;
  const Timeline small = run_with_timeline(scenario, options);
  const auto slices = check_structure(small.doc);
  REQUIRE_FALSE(small.doc["otherData"]["detail_stopped_s"].is_null());
  // Replicas and cold starts are still all there, after the limit too.
  REQUIRE(count_named(slices, "cold start") == small.cold_starts.size());
  // The detail ends near the limit: what follows it is replicas, cold starts and the tail.
  REQUIRE(small.text.size() < a.text.size());
  REQUIRE(small.doc["otherData"]["requests_after_limit"].get<std::uint64_t>() > 0);

  options.request_sample = 0;  // no requests at all
  options.detail_limit_bytes = 100000000;
  const Timeline none = run_with_timeline(scenario, options);
  check_structure(none.doc);
  REQUIRE(none.doc["otherData"]["requests_drawn"] == 0);
  REQUIRE(names_of(none.doc, "process_name").count("requests · chat-8b (1 in 7)") == 0);
}

TEST_CASE("a run without a timeline builds no batch-step records", "[timeline]") {
  // The engine hands batch steps only to observers that ask for them.
  struct Counter : SimObserver {
    bool want = false;
    std::uint64_t steps = 0;
    bool wants_batch_steps() const override { return want; }
    void on_batch_step(const BatchStepRecord& s) override {
      ++steps;
      REQUIRE(s.end >= s.start);
    }
  };
  const Scenario scenario = scenario_from(kScenario);
  Counter quiet, asking;
  asking.want = true;
  Simulation sim(build_setup(scenario, registry()));
  sim.add_observer(&quiet);
  sim.add_observer(&asking);
  REQUIRE(sim.run().ok);
  REQUIRE(quiet.steps == 0);
  REQUIRE(asking.steps > 0);
}

TEST_CASE("fleetsim run --timeline writes the file only when the run succeeds", "[timeline][cli]") {
  TempDir dir("timeline");
  const std::string scenario = dir.write("s.yaml", kScenario);
  const std::string file = dir.path("trace/run.json");
  auto run = [&](const std::string& args) {
    const std::string command = shell_quote(FLEETSIM_BINARY) + " run " + shell_quote(scenario) + " -q --out " +
                                shell_quote(dir.path("out")) + " " + args + " > /dev/null 2> " +
                                shell_quote(dir.path("err.txt"));
    return std::system(command.c_str());
  };
  REQUIRE(run("--timeline " + shell_quote(file) + " --timeline-sample 10 --timeline-limit 5MB") == 0);
  const json doc = json::parse(read_file(file));
  check_structure(doc);
  REQUIRE(doc["otherData"]["request_sample"] == 10);
  REQUIRE(doc["otherData"]["detail_limit_bytes"] == 5000000);
  // No staging file left behind.
  for (const auto& e : std::filesystem::directory_iterator(dir.dir / "trace"))
    REQUIRE(e.path().filename() == "run.json");

  // A failing run (a bad override is caught before; a bad flag value too) leaves nothing.
  const std::string other = dir.path("other.json");
  REQUIRE(run("--timeline " + shell_quote(other) + " --timeline-limit lots") != 0);
  REQUIRE_THAT(read_file(dir.path("err.txt")), Contains("--timeline-limit"));
  REQUIRE_FALSE(std::filesystem::exists(other));
  REQUIRE(run("--timeline-sample 5") != 0);  // needs --timeline
  REQUIRE(run("--timeline " + shell_quote(dir.path("s.yaml/x.json"))) != 0);  // its folder is a file
  REQUIRE_THAT(read_file(dir.path("err.txt")), Contains("cannot write the timeline"));

  // A run that stops half-way (a trace row out of time order) removes the timeline it streamed.
  std::string trace = "timestamp,model,input_tokens,output_tokens\n";
  for (int i = 1; i <= 50; ++i) trace += std::to_string(i * 10) + ",m,100,10\n";
  trace += "5,m,100,10\n";
  const std::string trace_path = dir.write("trace.csv", trace);
  const std::string broken = dir.write(
      "broken.yaml", "duration: 1h\ncluster: {pools: [{name: a, nodes: 1, gpu: H100-80GB}]}\n"
                     "models: [{name: m, parameters: 1e9, kv_cache_per_token: 1KiB}]\n"
                     "workloads: [{trace: " + trace_path + "}]\n");
  const std::string command = shell_quote(FLEETSIM_BINARY) + " run " + shell_quote(broken) + " -q --out " +
                              shell_quote(dir.path("broken-out")) + " --timeline " + shell_quote(other) +
                              " > /dev/null 2>&1";
  REQUIRE(std::system(command.c_str()) != 0);
  REQUIRE_FALSE(std::filesystem::exists(other));
  for (const auto& e : std::filesystem::directory_iterator(dir.dir))
    REQUIRE_THAT(e.path().filename().string(), !Contains("partial"));
}
