// The serving model against hand computations from the documented formulas (README, "How
// results are computed"): one request on a warm replica, cold starts phase by phase, the
// node cache, KV capacity, the buffer timeout.
#include <catch2/catch.hpp>

#include <array>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>

#include "sim/timeseries.hpp"
#include "tests/support.hpp"
#include "traces/generators.hpp"

using namespace fleetsim;
using namespace fleetsim::test;

namespace {

std::string write_trace(const std::string& name, const std::string& rows) {
  auto path = std::filesystem::temp_directory_path() / ("fleetsim_test_" + name + ".csv");
  std::ofstream(path) << "timestamp,model,input_tokens,output_tokens\n" << rows;
  return path.string();
}

SimTime ceil_ns(double seconds) { return static_cast<SimTime>(std::ceil(seconds * 1e9)); }

// One H100 node; an 8B-parameter model in bf16; efficiencies 0.5 / 0.5 for round numbers.
std::string base_yaml(const std::string& trace, const std::string& extra_model = "",
                      const std::string& autoscaler = "{impl: fixed, replicas: 1}",
                      bool warm = true) {
  return std::string("duration: 1h\n") + "warm_start: " + (warm ? "true" : "false") + "\n" +
         "cluster:\n  pools:\n"
         "    - {name: a, nodes: 1, gpu: H100-80GB, gpus_per_node: 8, disk_cache: 1TB,\n"
         "       disk_read_bandwidth: 5GB/s, network_bandwidth: 10GB/s}\n"
         "performance: {compute_efficiency: 0.5, memory_efficiency: 0.5, iteration_overhead: 0s}\n"
         "policies: {placement: {impl: first-fit}, autoscaler: " + autoscaler + "}\n"
         "models:\n"
         "  - {name: m, parameters: 8e9, kv_cache_per_token: 128KiB, image_size: 20GB, startup_time: 5s" +
         extra_model + "}\n"
         "workloads:\n  - trace: " + trace + "\n";
}

}  // namespace

TEST_CASE("one request on a warm replica matches the hand computation", "[serving]") {
  const std::string trace = write_trace("warm", "1.0,m,1000,11\n");
  RunOutput out = run_scenario(scenario_from(base_yaml(trace)));
  REQUIRE(out.violations.empty());
  REQUIRE(out.requests.size() == 1);
  const RequestResult& r = out.requests[0];
  REQUIRE(r.outcome == RequestOutcome::Completed);
  REQUIRE_FALSE(r.waited_for_replica);

  // H100: 989e12 FLOP/s, 3350e9 B/s; efficiencies 0.5 each.
  const double flops = 989e12 * 0.5, bandwidth = 3350e9 * 0.5;
  const double weights = 8e9 * 2, kv = 131072;
  // prefill(1000) = max(2·N·P / F', W / B')
  const double prefill = std::max(2 * 8e9 * 1000 / flops, weights / bandwidth);
  REQUIRE(prefill == Approx(0.0323559).epsilon(1e-5));
  REQUIRE(r.first_token - r.arrival == ceil_ns(prefill));
  // 10 decode steps, batch 1, context 1001 growing by 1 per step:
  // T = (W/B' + 2N/F' + kv·C0/B')·10 + (kv/B')·1·10²/2
  const double linear = weights / bandwidth + 2 * 8e9 / flops + kv * 1001 / bandwidth;
  const double decode = linear * 10 + kv / bandwidth * 100 / 2;
  REQUIRE(r.end - r.first_token == ceil_ns(decode));
  REQUIRE(r.arrival == kSecond);
  // TPOT as reported: (e2e - ttft) / (output - 1).
  REQUIRE(out.metrics.models[0].tpot.quantile(0.5) == Approx(to_seconds(ceil_ns(decode)) / 10).epsilon(0.006));
}

TEST_CASE("continuous batching: a second request joins after its prefill and both progress together", "[serving]") {
  // Two identical requests 1 ms apart: the second's prefill pauses the first's decode, then
  // both decode in one batch. Each must take longer than it would alone, and the first to
  // arrive finishes first.
  const std::string trace = write_trace("batch", "1.0,m,1000,101\n1.001,m,1000,101\n");
  RunOutput out = run_scenario(scenario_from(base_yaml(trace)));
  REQUIRE(out.violations.empty());
  REQUIRE(out.requests.size() == 2);
  const std::string solo_trace = write_trace("solo", "1.0,m,1000,101\n");
  RunOutput solo = run_scenario(scenario_from(base_yaml(solo_trace)));
  const SimTime alone = solo.requests[0].end - solo.requests[0].arrival;
  REQUIRE(out.requests[0].serial == 0);
  REQUIRE(out.requests[0].end - out.requests[0].arrival > alone);
  REQUIRE(out.requests[1].end - out.requests[1].arrival > alone);
  // The batch of two costs far less than running them one after the other.
  REQUIRE(out.requests[1].end - kSecond < 2 * alone);
}

TEST_CASE("one cold start equals image pull + weight load + start-up computed by hand", "[serving][cold-start]") {
  // warm_start off: the replica asked for at t = 0 cold-starts. Image 20 GB over 10 GB/s = 2 s;
  // weights 16 GB from the model store at min(10 GB/s network, 50 GB/s host-to-device) = 1.6 s;
  // engine start-up 5 s. The request at t = 1 s waits for it.
  const std::string trace = write_trace("cold", "1.0,m,100,2\n");
  RunOutput out = run_scenario(scenario_from(base_yaml(trace, "", "{impl: fixed, replicas: 1}", false)));
  REQUIRE(out.violations.empty());
  REQUIRE(out.cold_starts.size() == 1);
  const ColdStartRecord& c = out.cold_starts[0];
  REQUIRE(c.image_pull == 2 * kSecond);
  REQUIRE(c.weight_load == 1600 * kMillisecond);
  REQUIRE(c.engine_startup == 5 * kSecond);
  REQUIRE(c.source == WeightSource::ModelStore);
  REQUIRE(c.ready - c.placed == 8600 * kMillisecond);
  const RequestResult& r = out.requests[0];
  REQUIRE(r.waited_for_replica);
  REQUIRE(r.dispatched == 8600 * kMillisecond);
  REQUIRE(out.metrics.models[0].requests_waited == 1);
  REQUIRE(out.metrics.models[0].wait_for_replica.max() == Approx(7.6).epsilon(1e-9));
}

TEST_CASE("a second replica on the same node skips the pull and reads the node cache", "[serving][cold-start]") {
  // KPA from a cold start at t = 0 (one replica kept: min_scale 1), then a burst of long
  // requests makes it add exactly one more (max_scale 2); the only node already has the image
  // and (LRU cache) the weights: 16 GB at 5 GB/s disk = 3.2 s.
  std::string rows;
  for (int i = 0; i < 40; ++i) rows += "100." + std::to_string(10 + i) + ",m,2000,2000\n";
  const std::string trace = write_trace("second", rows);
  RunOutput out = run_scenario(scenario_from(base_yaml(
      trace, "", "{impl: kpa, target_concurrency: 4, min_scale: 1, max_scale: 2}", false)));
  REQUIRE(out.violations.empty());
  REQUIRE(out.cold_starts.size() >= 2);  // later ones: scale-down and up again as the burst drains
  REQUIRE(out.cold_starts[0].image_pull == 2 * kSecond);
  REQUIRE(out.cold_starts[0].source == WeightSource::ModelStore);
  const ColdStartRecord& second = out.cold_starts[1];
  REQUIRE(second.placed > 100 * kSecond);
  REQUIRE(second.image_pull == 0);
  REQUIRE(second.source == WeightSource::DiskCache);
  REQUIRE(second.weight_load == 3200 * kMillisecond);
  REQUIRE(second.ready - second.placed == 8200 * kMillisecond);
  REQUIRE(out.metrics.cache_hits >= 1);
}

TEST_CASE("two replicas loading on one node share its disk and both take twice as long", "[serving][cold-start]") {
  // As above, but two more replicas start at the same instant: each reads 16 GB at half of
  // the 5 GB/s disk, 6.4 s instead of 3.2 s.
  std::string rows;
  for (int i = 0; i < 40; ++i) rows += "100." + std::to_string(10 + i) + ",m,2000,2000\n";
  const std::string trace = write_trace("shared", rows);
  RunOutput out = run_scenario(scenario_from(base_yaml(
      trace, "", "{impl: kpa, target_concurrency: 4, min_scale: 1, max_scale: 3}", false)));
  REQUIRE(out.violations.empty());
  REQUIRE(out.cold_starts.size() >= 3);
  REQUIRE(out.cold_starts[1].placed == out.cold_starts[2].placed);
  for (int i : {1, 2}) {
    REQUIRE(out.cold_starts[static_cast<std::size_t>(i)].source == WeightSource::DiskCache);
    REQUIRE(out.cold_starts[static_cast<std::size_t>(i)].weight_load == 6400 * kMillisecond);
  }
}

TEST_CASE("a load from host memory, from disk and from the store, by tier", "[serving][cold-start]") {
  // Tiers: host memory (host-to-device 50 GB/s) > disk (5 GB/s) > store (network 10 GB/s,
  // store aggregate 4 GB/s here). 16 GB of weights: 0.32 s, 3.2 s and 4 s.
  const std::string trace = write_trace("tiers", "1.0,m,100,2\n");
  auto load = [&](const std::string& pool_extra, WeightSource expected) {
    std::string yaml = std::string("duration: 1min\nwarm_start: false\n") +
                       "cluster:\n  model_store_bandwidth: 4GB/s\n  pools:\n"
                       "    - {name: a, nodes: 1, gpu: H100-80GB, disk_read_bandwidth: 5GB/s,"
                       " network_bandwidth: 10GB/s" + pool_extra + "}\n"
                       "policies: {autoscaler: {impl: fixed, replicas: 1}, cache: {impl: pinned, models: m}}\n"
                       "models: [{name: m, parameters: 8e9, kv_cache_per_token: 128KiB, image_size: 0GB}]\n"
                       "workloads:\n  - trace: " + trace + "\n";
    RunOutput out = run_scenario(scenario_from(yaml));
    REQUIRE(out.cold_starts.size() == 1);
    REQUIRE(out.cold_starts[0].source == expected);
    return out.cold_starts[0].weight_load;
  };
  // pinned prefetches m into the disk cache at start; without a disk cache it cannot.
  REQUIRE(load("", WeightSource::ModelStore) == 4 * kSecond);
  REQUIRE(load(", disk_cache: 100GB", WeightSource::DiskCache) == 3200 * kMillisecond);
}

TEST_CASE("with cache none every load reads the model store", "[serving][cold-start]") {
  std::string rows;
  for (int i = 0; i < 40; ++i) rows += "100." + std::to_string(10 + i) + ",m,2000,2000\n";
  const std::string trace = write_trace("nocache", rows);
  std::string yaml = base_yaml(trace, "", "{impl: kpa, target_concurrency: 4}", false);
  LoadOptions options;
  options.overrides = {"policies.cache.impl=none"};
  RunOutput out = run_scenario(scenario_from(yaml, options));
  REQUIRE(out.cold_starts.size() >= 2);
  for (const auto& c : out.cold_starts) REQUIRE(c.source == WeightSource::ModelStore);
}

TEST_CASE("a request that can never fit the KV cache fails as too-long", "[serving]") {
  // KV capacity: (80 GiB · 0.9 − 16 GB) / 128 KiB ≈ 467k tokens.
  const std::string trace = write_trace("toolong", "1.0,m,400000,100000\n2.0,m,100,10\n");
  RunOutput out = run_scenario(scenario_from(base_yaml(trace)));
  REQUIRE(out.violations.empty());
  REQUIRE(out.metrics.models[0].outcomes[static_cast<int>(RequestOutcome::TooLong)] == 1);
  REQUIRE(out.metrics.models[0].completed() == 1);
}

TEST_CASE("max_model_len: prompt + output above it ends as too-long at arrival", "[serving][max-model-len]") {
  // 4,096 tokens: 100 + 10 fits, 4,000 + 96 = 4,096 fits exactly, 4,000 + 97 does not, nor a
  // 191k-token prompt.
  const std::string trace =
      write_trace("maxlen", "1.0,m,100,10\n2.0,m,4000,96\n3.0,m,4000,97\n4.0,m,191000,100\n5.0,m,100,10\n");
  RunOutput out = run_scenario(scenario_from(base_yaml(trace, ", max_model_len: 4096")));
  REQUIRE(out.violations.empty());
  const auto& outcomes = out.metrics.models[0].outcomes;
  CHECK(outcomes[static_cast<int>(RequestOutcome::TooLong)] == 2);
  CHECK(out.metrics.models[0].completed() == 3);
  for (const RequestResult& r : out.requests)
    if (r.outcome == RequestOutcome::TooLong) {
      CHECK(r.end == r.arrival);
      CHECK(r.input_tokens + r.output_tokens > 4096);
    }
  // Without the key all five fit the KV cache (~467k tokens) and complete.
  RunOutput unlimited = run_scenario(scenario_from(base_yaml(trace, "")));
  CHECK(unlimited.metrics.models[0].completed() == 5);
}

TEST_CASE("max_model_len: a too-long request wakes no replica", "[serving][max-model-len]") {
  const std::string trace = write_trace("maxlen_wake", "1.0,m,5000,10\n");
  RunOutput out = run_scenario(scenario_from(
      base_yaml(trace, ", max_model_len: 4096", "{impl: kpa, initial_scale: 0}", /*warm=*/false)));
  REQUIRE(out.violations.empty());
  CHECK(out.metrics.models[0].outcomes[static_cast<int>(RequestOutcome::TooLong)] == 1);
  CHECK(out.cold_starts.empty());
}

TEST_CASE("max_model_len: validated by the loader", "[serving][max-model-len][bad-input]") {
  const std::string trace = write_trace("maxlen_bad", "1.0,m,100,10\n");
  CHECK_THAT(errors_of(base_yaml(trace, ", max_model_len: 0")), Catch::Contains("models[0].max_model_len"));
  CHECK_THAT(errors_of(base_yaml(trace, ", max_model_len: 1.5")), Catch::Contains("expected an integer"));
  CHECK_THAT(errors_of(base_yaml(trace, ", max_model_len: 4k")), Catch::Contains("models[0].max_model_len"));
  // Service-time models have no context: the key is unknown there.
  CHECK_THAT(errors_of(base_yaml(trace, ", kind: service-time, service_time: {fixed: 1s}, max_model_len: 10")),
             Catch::Contains("max_model_len"));
}

TEST_CASE("a request waiting longer than request_timeout fails with reason timeout", "[serving]") {
  // No node can take a second model's replica while the first holds every GPU: its requests
  // wait in the buffer and time out after 30 s; the run still ends with every request ended.
  const std::string trace = write_trace("timeout", "1.0,m,100,10\n1.0,n,100,10\n");
  std::string yaml = std::string("duration: 10min\nrequest_timeout: 30s\n") +
                     "cluster:\n  pools:\n    - {name: a, nodes: 1, gpu: H100-80GB, gpus_per_node: 1}\n"
                     "policies: {autoscaler: {impl: fixed, replicas: 1}}\n"
                     "models:\n"
                     "  - {name: m, parameters: 8e9, kv_cache_per_token: 128KiB}\n"
                     "  - {name: n, parameters: 8e9, kv_cache_per_token: 128KiB}\n"
                     "workloads:\n  - trace: " + trace + "\n";
  RunOutput out = run_scenario(scenario_from(yaml));
  REQUIRE(out.violations.empty());
  REQUIRE(out.metrics.models[0].completed() == 1);
  REQUIRE(out.metrics.models[1].outcomes[static_cast<int>(RequestOutcome::TimedOut)] == 1);
  REQUIRE(out.metrics.models[1].unschedulable > 0);
  // It waited for a replica the whole time (the review found it counted as not waiting).
  REQUIRE(out.metrics.models[1].requests_waited == 1);
  REQUIRE(out.metrics.models[1].wait_for_replica.max() == Approx(30.0));
  for (const auto& r : out.requests)
    if (r.model == 1) {
      REQUIRE(r.end == 31 * kSecond);
      REQUIRE(r.dispatched == 31 * kSecond);  // never reached a replica: its wait ran to its end
      REQUIRE(r.waited_for_replica);
    }
}

TEST_CASE("service-time models serve up to max_concurrency at once", "[serving]") {
  std::string rows;
  for (int i = 0; i < 4; ++i) rows += "1.0,e,1,1\n";
  const std::string trace = write_trace("service", rows);
  std::string yaml = std::string("duration: 1min\n") +
                     "cluster:\n  pools:\n    - {name: a, nodes: 1, gpu: L4, gpus_per_node: 1}\n"
                     "policies: {autoscaler: {impl: fixed, replicas: 1}}\n"
                     "models:\n"
                     "  - {name: e, kind: service-time, memory_per_gpu: 2GiB, max_concurrency: 2,\n"
                     "     service_time: {dist: fixed, value: 100ms}}\n"
                     "workloads:\n  - trace: " + trace + "\n";
  RunOutput out = run_scenario(scenario_from(yaml));
  REQUIRE(out.violations.empty());
  REQUIRE(out.requests.size() == 4);
  // Two finish at 1.1 s, two at 1.2 s.
  std::vector<SimTime> ends;
  for (const auto& r : out.requests) ends.push_back(r.end);
  std::sort(ends.begin(), ends.end());
  REQUIRE(ends == std::vector<SimTime>{1100 * kMillisecond, 1100 * kMillisecond, 1200 * kMillisecond,
                                       1200 * kMillisecond});
}

TEST_CASE("GPU-seconds split into starting, busy and idle and add up", "[serving][metrics]") {
  const std::string trace = write_trace("gpusec", "10.0,m,100,2\n");
  RunOutput out = run_scenario(scenario_from(base_yaml(trace, ", gpus_per_replica: 2", "{impl: fixed, replicas: 1}", false)));
  const ModelMetrics& m = out.metrics.models[0];
  REQUIRE(out.status.end_time == kHour);
  REQUIRE(m.gpu_seconds_allocated == Approx(2 * 3600.0));
  REQUIRE(m.gpu_seconds_starting + m.gpu_seconds_busy + m.gpu_seconds_idle == Approx(m.gpu_seconds_allocated));
  // Cold start with TP 2: pull 2 s + load 16 GB at min(10, 2·50) GB/s = 1.6 s + start-up 5 s.
  REQUIRE(m.gpu_seconds_starting == Approx(2 * 8.6));
  REQUIRE(m.peak_replicas == 1);
}

TEST_CASE("a replica that finds no room waits for a new node, the idle node is released", "[serving][nodes]") {
  // An empty elastic pool (nodes 0, max_nodes 1), a node takes exactly 2 min to provision.
  // The request at 10 s wakes the autoscaler; no node -> one is requested at 10 s, up at 130 s;
  // then the usual cold start (2 s pull + 1.6 s load + 5 s start-up): ready at 138.6 s.
  const std::string trace = write_trace("provision", "10.0,m,100,2\n");
  std::string yaml = std::string("duration: 1h\nwarm_start: false\n") +
                     "cluster:\n  pools:\n"
                     "    - {name: a, nodes: 0, max_nodes: 1, gpu: H100-80GB, network_bandwidth: 10GB/s,\n"
                     "       provisioning_time: {dist: fixed, value: 2min}, node_idle_timeout: 5min}\n"
                     "policies: {autoscaler: {impl: kpa, initial_scale: 0}}\n"
                     "models: [{name: m, parameters: 8e9, kv_cache_per_token: 128KiB, image_size: 20GB, startup_time: 5s}]\n"
                     "workloads:\n  - trace: " + trace + "\n";
  Scenario sc = scenario_from(yaml);
  Simulation sim(build_setup(sc, registry()));
  InvariantChecker checker(sim);
  MetricsCollector metrics(sim.scenario());
  sim.add_observer(&checker);
  sim.add_observer(&metrics);
  RunStatus status = sim.run();
  REQUIRE(status.ok);
  REQUIRE(checker.violations.empty());
  const ModelMetrics& m = metrics.result().models[0];
  REQUIRE(m.cold_starts == 1);
  REQUIRE(m.node_provision_seconds == Approx(120.0));
  REQUIRE(m.wait_for_replica.max() == Approx(128.6));
  REQUIRE(m.cold_start_duration.max() == Approx(128.6).epsilon(0.006));
  REQUIRE(status.pools.size() == 1);
  REQUIRE(status.pools[0].provisioned == 1);
  REQUIRE(status.pools[0].released == 1);
  REQUIRE(status.pools[0].peak_nodes == 1);
  // Up from 130 s until released: the replica stops after the KPA's 60 s window + 30 s grace
  // (ticks every 2 s), then the node stands idle 5 min. Well under the hour.
  REQUIRE(status.pools[0].node_seconds > 130 + 90 + 300 - 130);
  REQUIRE(status.pools[0].node_seconds < 140 + 100 + 300);
}

TEST_CASE("a LoRA adapter is loaded onto the running replica instead of starting a new one", "[serving][lora]") {
  // One warm replica holding one adapter at a time. Adapters of 1 GB: from the model store
  // over the 10 GB/s link 0.1 s; from the node's disk (after a first load) at 5 GB/s 0.2 s.
  // Requests: m:a at 1 s, m:b at 5 s (evicts a), m:a at 10 s (a again, now from disk).
  const std::string trace = write_trace("lora", "1.0,m:a,1000,2\n5.0,m:b,1000,2\n10.0,m:a,1000,2\n");
  RunOutput out = run_scenario(scenario_from(base_yaml(
      trace, ", max_adapters: 1, adapters: [{name: a, size: 1GB}, {name: b, size: 1GB}]")));
  REQUIRE(out.violations.empty());
  REQUIRE(out.requests.size() == 3);
  REQUIRE(out.cold_starts.empty());  // the warm replica served all three
  const ModelMetrics& m = out.metrics.models[0];
  REQUIRE(m.adapter_loads == 3);
  REQUIRE(m.adapter_loads_from_disk == 1);
  const double flops = 989e12 * 0.5;
  const SimTime prefill = ceil_ns(2 * 8e9 * 1000 / flops);
  REQUIRE(out.requests[0].first_token - out.requests[0].arrival == 100 * kMillisecond + prefill);
  REQUIRE(out.requests[1].first_token - out.requests[1].arrival == 100 * kMillisecond + prefill);
  REQUIRE(out.requests[2].first_token - out.requests[2].arrival == 200 * kMillisecond + prefill);
}

TEST_CASE("the router prefers a replica that already holds the adapter", "[serving][lora]") {
  std::vector<RouteCandidate> c = {{0, 2, 2, false}, {1, 5, 5, true}, {2, 9, 9, true}};
  auto lo = registry().make_router(PolicyChoice{"least-outstanding", {}});
  REQUIRE(lo->route(c, RouteRequest{}) == 1);  // 5 - 4 = 1 < 2
  c[1].outstanding = 7;                         // 7 - 4 = 3 > 2: too busy
  REQUIRE(lo->route(c, RouteRequest{}) == 0);
}

namespace {

const RequestResult& with_serial(const RunOutput& out, std::uint64_t serial) {
  for (const RequestResult& r : out.requests)
    if (r.serial == serial) return r;
  FAIL("no request " << serial);
  return out.requests.front();
}

RunOutput run_routed(const std::string& yaml, const std::string& router, const std::string& seed = "1") {
  LoadOptions options;
  options.overrides = {"policies.router.impl=" + router, "seed=" + seed};
  RunOutput out = run_scenario(scenario_from(yaml, options));
  INFO(out.status.errors.to_string());
  REQUIRE(out.status.ok);
  for (const auto& v : out.violations) FAIL(v);
  return out;
}

// Two warm replicas. L (2,000 tokens in, 2,000 out) at 1 s goes to the first (both empty);
// A (10 in, 50 out) at 1.001 s to the other (L is still in its 65 ms prefill); B (10 in, 10 out)
// at 1.1 s finds one request on each: L decoding its 1,999 tokens left, A its 49. The trace
// goes to `dir` (tests that share a file race when ctest runs them in parallel).
std::string long_and_short_yaml(const TempDir& dir) {
  const std::string trace = dir.write("long_short.csv", "timestamp,model,input_tokens,output_tokens\n"
                                                        "1.0,m,2000,2000\n1.001,m,10,50\n1.1,m,10,10\n");
  return base_yaml(trace, "", "{impl: fixed, replicas: 2}");
}

}  // namespace

TEST_CASE("least-tokens sends a short request away from a replica holding one long one", "[serving][routing]") {
  TempDir dir;
  const RunOutput tokens = run_routed(long_and_short_yaml(dir), "least-tokens");
  const RunOutput requests = run_routed(long_and_short_yaml(dir), "least-outstanding");
  for (const RunOutput* out : {&tokens, &requests}) {
    REQUIRE(out->requests.size() == 3);
    REQUIRE(with_serial(*out, 0).replica != with_serial(*out, 1).replica);
  }
  // least-outstanding ties (one request each) and takes the lower id: B waits behind L's batch.
  CHECK(with_serial(requests, 2).replica == with_serial(requests, 0).replica);
  // least-tokens: 49 < 1,999.
  CHECK(with_serial(tokens, 2).replica == with_serial(tokens, 1).replica);
}

TEST_CASE("the outstanding tokens a router sees are exact at each replica's last batch change",
          "[serving][routing]") {
  // Passes decisions to least-tokens after writing down the counts it was given.
  struct Recording : Router {
    std::unique_ptr<Router> inner = registry().make_router(PolicyChoice{"least-tokens", {}});
    std::vector<std::vector<double>>* seen = nullptr;
    std::size_t route(std::span<const RouteCandidate> candidates, const RouteRequest& request) override {
      seen->emplace_back();
      for (const RouteCandidate& c : candidates) seen->back().push_back(c.outstanding_tokens);
      return inner->route(candidates, request);
    }
  };
  std::vector<std::vector<double>> seen;
  TempDir dir;
  SimulationSetup setup = build_setup(scenario_from(long_and_short_yaml(dir)), registry());
  auto recording = std::make_unique<Recording>();
  recording->seen = &seen;
  setup.router = std::move(recording);
  const RunOutput out = run_setup(std::move(setup));
  for (const auto& v : out.violations) FAIL(v);
  // L: nothing anywhere. A: L's prompt and output, all still to do (it is prefilling). B: L's
  // prefill put out its first token at 1.065 s and its decode stretch has run since, uncounted:
  // 2,000 - 1 left; A's likewise: 50 - 1.
  REQUIRE(seen == std::vector<std::vector<double>>{{0, 0}, {4000, 0}, {1999, 49}});
}

TEST_CASE("fused prefill ends: every result and sample as with each prefill end an event of its own",
          "[serving][engine][invariants]") {
  // A prefill step that nothing can change before it ends is ended when it starts (sim/batching.cpp,
  // fuse_prefill_end). Loads that keep steps busy, so that requests arrive mid-step (the step's end
  // comes back as an event), some that end at their first token (never fused), a KV cache that
  // may fill (never fused while it may), a router reading every replica's tokens (they must read
  // as if the step had not ended), and the time series' KV samples every second (likewise).
  // Checked: each request's record, the metrics, the decisions, every sample, the invariants.
  struct FewestTokens : Router {  // reads the candidates' tokens (least-tokens keeps an index instead)
    std::size_t route(std::span<const RouteCandidate> c, const RouteRequest&) override {
      std::size_t best = 0;
      for (std::size_t i = 1; i < c.size(); ++i)
        if (c[i].outstanding_tokens < c[best].outstanding_tokens) best = i;
      return best;
    }
  };
  const std::string base =
      "duration: 3min\nwarm_start: true\nseed: 5\nsample_interval: 1s\n"
      "cluster:\n  pools:\n    - {name: a, nodes: 1, gpu: H100-80GB, gpus_per_node: 8}\n"
      "models:\n  - {name: m, parameters: 8e9, gpu_memory_utilization: 0.75";
  const std::string load =
      "workloads:\n  - {model: m, arrivals: {process: poisson, rate: 12/s},\n"
      "      input_tokens: {dist: uniform, low: 200, high: 6000}, output_tokens: {dist: uniform, low: 1, high: 300}}\n";
  for (const std::string variant : {"plain", "kv-pressure", "max-batch", "tokens-router", "kpa"}) {
    INFO(variant);
    std::string yaml = base;
    yaml += variant == "kv-pressure" ? ", kv_cache_per_token: 20000000B" : ", kv_cache_per_token: 131072B";
    if (variant == "max-batch") yaml += ", max_batch: 3";
    yaml += "}\n";
    yaml += variant == "kpa"
                ? "policies: {placement: {impl: first-fit}, autoscaler: {impl: kpa, target_concurrency: 2}}\n"
                : "policies: {placement: {impl: first-fit}, autoscaler: {impl: fixed, replicas: 3}}\n";
    yaml += load;
    const Scenario sc = scenario_from(yaml);
    std::vector<RunOutput> outs;
    std::vector<std::vector<TimeSeriesRecorder::Sample>> samples;
    for (const bool fuse : {true, false}) {
      SimulationSetup setup = build_setup(sc, registry());
      setup.fuse_prefill_ends = fuse;
      if (variant == "tokens-router") setup.router = std::make_unique<FewestTokens>();
      TimeSeriesRecorder series(sc, sc.sample_interval);
      RunOutput out = run_setup(std::move(setup), {&series});
      REQUIRE(out.status.ok);
      for (const auto& v : out.violations) FAIL(v);
      outs.push_back(std::move(out));
      samples.push_back(series.samples());
    }
    const RunOutput &fused = outs[0], &stepped = outs[1];
    // Fused steps happened, and steps came back as events (requests arrived mid-step).
    CHECK(fused.status.events < stepped.status.events);
    CHECK(stepped.status.events - fused.status.events < stepped.status.requests);
    REQUIRE(fused.requests.size() > 1000);
    REQUIRE(fused.requests.size() == stepped.requests.size());
    for (std::size_t i = 0; i < fused.requests.size(); ++i) {
      const RequestResult &a = fused.requests[i], &b = stepped.requests[i];
      INFO("request end #" << i);
      REQUIRE(a.serial == b.serial);
      REQUIRE(a.replica == b.replica);
      REQUIRE(a.first_token == b.first_token);
      REQUIRE(a.end == b.end);
      REQUIRE(a.outcome == b.outcome);
    }
    CHECK(fused.decisions == stepped.decisions);
    CHECK(fused.metrics.overall.ttft.quantile(0.99) == stepped.metrics.overall.ttft.quantile(0.99));
    CHECK(fused.metrics.overall.gpu_seconds_busy == stepped.metrics.overall.gpu_seconds_busy);
    REQUIRE(samples[0].size() == samples[1].size());
    std::size_t kv_samples = 0;
    for (std::size_t i = 0; i < samples[0].size(); ++i) {
      INFO("sample at " << samples[0][i].time);
      REQUIRE(samples[0][i].kv_sampled == samples[1][i].kv_sampled);
      REQUIRE(samples[0][i].models == samples[1][i].models);
      kv_samples += samples[0][i].kv_sampled;
    }
    CHECK(kv_samples > 100);
  }
}

TEST_CASE("power-of-two: the same seed routes the same way, another seed differently", "[serving][routing]") {
  // Four warm replicas, 200 requests from a trace (the same whatever the seed), every 20 ms.
  std::string rows;
  for (int i = 0; i < 200; ++i)
    rows += std::to_string(1.0 + 0.02 * i) + ",m," + std::to_string(100 + i * 37 % 900) + "," +
            std::to_string(20 + i * 13 % 200) + "\n";
  TempDir dir;
  const std::string yaml = base_yaml(dir.write("p2.csv", "timestamp,model,input_tokens,output_tokens\n" + rows), "",
                                     "{impl: fixed, replicas: 4}");
  auto replicas = [&](const std::string& router, const std::string& seed) {
    const RunOutput out = run_routed(yaml, router, seed);
    std::vector<std::uint32_t> by_serial(out.requests.size());
    for (const RequestResult& r : out.requests) by_serial.at(r.serial) = r.replica;
    return by_serial;
  };
  const auto first = replicas("power-of-two", "1");
  REQUIRE(first.size() == 200);
  CHECK(std::set<std::uint32_t>(first.begin(), first.end()).size() == 4);
  CHECK(replicas("power-of-two", "1") == first);
  CHECK(replicas("power-of-two", "2") != first);
  // The seed reaches the router only: least-outstanding routes the same under both.
  CHECK(replicas("least-outstanding", "1") == replicas("least-outstanding", "2"));
}

TEST_CASE("diurnal arrivals follow the day: busiest at the peak, the mean at the rate", "[serving][workloads]") {
  // rate 10/s, amplitude 0.8, peak at 6 h of a 24 h period: around 6 h the rate is 18/s, around
  // 18 h 2/s; over the whole day the mean is 10/s (864,000 requests, ±1%).
  WorkloadSpec w;
  w.arrivals = WorkloadSpec::Arrivals::Diurnal;
  w.rate = 10;
  w.amplitude = 0.8;
  w.period = 24 * kHour;
  w.peak = 6 * kHour;
  w.name = "d";
  w.input_tokens = w.output_tokens = Distribution{Distribution::Kind::Fixed, 1, 0, 0};
  GeneratedSource source(w, 1, 24 * kHour);
  Diagnostics errors;
  Arrival a;
  std::uint64_t total = 0, near_peak = 0, near_trough = 0;
  while (source.next(a, errors)) {
    ++total;
    if (a.time >= 5 * kHour + 30 * kMinute && a.time < 6 * kHour + 30 * kMinute) ++near_peak;
    if (a.time >= 17 * kHour + 30 * kMinute && a.time < 18 * kHour + 30 * kMinute) ++near_trough;
  }
  REQUIRE(total == Approx(864000).epsilon(0.01));
  REQUIRE(near_peak == Approx(3600 * 10 * 1.8).epsilon(0.03));   // ≈ rate(peak) over that hour
  REQUIRE(near_trough == Approx(3600 * 10 * 0.2).epsilon(0.08));
}

// The thinning loop skips the cosine for draws below the lowest rate, and where the last cosine
// it computed bounds this one: every arrival time must be the one the plain loop (a cosine per
// candidate) gives from the same stream. Periods of 2 h and 5 min (the bound widens 24 times as
// fast, so many candidates fall back on a new cosine).
TEST_CASE("diurnal arrivals: every time as plain thinning gives it", "[serving][workloads]") {
  for (const SimTime period_length : {2 * kHour, 5 * kMinute})
  for (const double amplitude : {0.0, 0.3, 0.5, 1.0}) {
    WorkloadSpec w;
    w.arrivals = WorkloadSpec::Arrivals::Diurnal;
    w.rate = 7;
    w.amplitude = amplitude;
    w.period = period_length;
    w.peak = 30 * kMinute;
    w.name = "d";
    w.input_tokens = w.output_tokens = Distribution{Distribution::Kind::Fixed, 1, 0, 0};
    const SimTime duration = 3 * kHour;
    GeneratedSource source(w, 5, duration);
    RngStream rng(5, "arrivals/d");
    const double top = w.rate * (1 + amplitude);
    const double period = to_seconds(w.period), peak = to_seconds(w.peak), end = to_seconds(duration);
    double clock = 0;
    Diagnostics errors;
    Arrival a;
    std::uint64_t arrivals = 0;
    for (;;) {
      for (;;) {
        clock += rng.exponential(1.0 / top);
        const double now_rate = w.rate * (1 + amplitude * std::cos(2 * M_PI * (clock - peak) / period));
        if (rng.uniform() * top <= now_rate) break;
        if (clock >= end) break;
      }
      if (clock >= end) break;
      INFO("period " << to_seconds(period_length) << " s, amplitude " << amplitude << ", arrival " << arrivals);
      REQUIRE(source.next(a, errors));
      REQUIRE(a.time == from_seconds(clock));
      ++arrivals;
    }
    REQUIRE_FALSE(source.next(a, errors));
    REQUIRE(arrivals > 60000);
  }
}

// TokenLengths rounds without libm: the same counts as clamp(round(v), 1, 2e9) at every edge.
TEST_CASE("token lengths round halves away from zero, at least 1 and at most 2e9", "[serving][workloads]") {
  RngStream rng(1, "unused");
  const auto drawn = [&](double v) {
    return TokenLengths(Distribution{Distribution::Kind::Fixed, v, 0, 0}).draw(rng);
  };
  for (const double v : {-7.0, 0.0, 0.49999999999999994, 0.5, 1.0, 1.4999999999999998, 1.5, 2.4999999999999996, 2.5,
                         3.5, 1e6 + 0.49999999999999, 1e6 + 0.5, 1999999999.4999998, 1999999999.5, 2e9, 3e9, 1e300}) {
    INFO("v = " << v);
    REQUIRE(drawn(v) == static_cast<std::uint32_t>(std::clamp(std::round(v), 1.0, 2e9)));
  }
  // A capped lognormal: every draw as the formula gives it from the same stream.
  const Distribution d{Distribution::Kind::Lognormal, 300, 1.2, 5000};
  RngStream a(2, "lengths"), b(2, "lengths");
  const TokenLengths lengths(d);
  for (int i = 0; i < 10000; ++i)
    REQUIRE(lengths.draw(a) == static_cast<std::uint32_t>(std::clamp(
                                   std::round(std::min(b.lognormal(std::log(300.0), 1.2), 5000.0)), 1.0, 2e9)));
}

TEST_CASE("batching policy: fcfs fills a prefill step up to max_prefill_tokens, a policy of one's own decides",
          "[serving][batching]") {
  // r0 arrives alone and starts its prefill at once; r1 and r2 arrive during it and wait. All
  // prompts are 1,000 tokens and make one token, so each request ends with its prefill.
  // prefill(N) = max(2·P·N / F', W / B') (the hand computation above; compute-bound here).
  const std::string trace = write_trace("batching", "1.0,m,1000,1\n1.01,m,1000,1\n1.01,m,1000,1\n");
  const double flops = 989e12 * 0.5;
  auto prefill = [&](double tokens) { return ceil_ns(2 * 8e9 * tokens / flops); };
  using Ends = std::array<SimTime, 3>;
  auto ends = [](const RunOutput& out) {
    REQUIRE(out.violations.empty());
    REQUIRE(out.requests.size() == 3);
    Ends e{};
    for (const RequestResult& r : out.requests) e[r.serial] = r.end - kSecond;
    return e;
  };
  const SimTime p1 = prefill(1000);
  SECTION("fcfs, budget 8,192 tokens: r1 and r2 share one step of 2,000 tokens") {
    RunOutput out = run_scenario(scenario_from(base_yaml(trace)));
    REQUIRE(ends(out) == Ends{p1, p1 + prefill(2000), p1 + prefill(2000)});
  }
  SECTION("fcfs, budget 1,500 tokens: one request per step") {
    RunOutput out = run_scenario(scenario_from(base_yaml(trace, ", max_prefill_tokens: 1500")));
    REQUIRE(ends(out) == Ends{p1, 2 * p1, 3 * p1});
  }
  SECTION("a policy that admits one request per step is what the engine follows") {
    using Offer = std::array<std::uint32_t, 3>;  // step_requests, waiting, prompt
    struct OnePerStep final : BatchingPolicy {
      explicit OnePerStep(std::vector<Offer>& offered) : offered(offered) {}
      BatchAdmission admit(const BatchState& batch, const WaitingRequest& request) override {
        offered.push_back({batch.step_requests, batch.waiting, request.input_tokens});
        return batch.step_requests == 0 ? BatchAdmission::Admit : BatchAdmission::Stop;
      }
      std::vector<Offer>& offered;
    };
    std::vector<Offer> offered;  // outlives the run, which owns the policy
    SimulationSetup setup = build_setup(scenario_from(base_yaml(trace)), registry());
    setup.batching = std::make_unique<OnePerStep>(offered);
    RunOutput out = run_setup(std::move(setup));
    REQUIRE(ends(out) == Ends{p1, 2 * p1, 3 * p1});
    // r0 on arrival (admitted); r1 and r2 only when r0's step ends (no offer while a prefill
    // runs): r1 admitted, r2 stopped; r2 again when r1's step ends.
    REQUIRE(offered == std::vector<Offer>{{0, 1, 1000}, {0, 2, 1000}, {1, 1, 1000}, {0, 1, 1000}});
  }
}
