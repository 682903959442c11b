// The paged KV cache and chunked prefill against hand computations (README "The KV cache"):
// block accounting, recompute preemption of the newest request, the reserve rule, prompt
// chunks under a token budget, and the invariants under heavy KV pressure.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <string>

#include "scenarios/loader/build.hpp"
#include "sim/llm_perf_model.hpp"
#include "sim/timeseries.hpp"
#include "tests/support.hpp"

using namespace fleetsim;
using namespace fleetsim::test;

namespace {

SimTime ceil_ns(double seconds) { return static_cast<SimTime>(std::ceil(seconds * 1e9)); }

// One H100 node; an 8B-parameter model in bf16 (16 GB of weights); efficiencies 0.5 / 0.5,
// no step overhead. KV: (80 GiB · 0.75 − 16e9) / 47,289,560 B = 1,024 tokens exactly: 64 blocks
// of 16 tokens (a tiny cache, so that two requests fill it).
constexpr const char* kTinyCache = "kv_cache_per_token: 47289560B, gpu_memory_utilization: 0.75";
constexpr const char* kBigCache = "kv_cache_per_token: 128KiB";  // ~467k tokens

std::string kv_yaml(const std::string& trace, const std::string& extra_model = "", const std::string& cache = kTinyCache) {
  return "duration: 1h\nwarm_start: true\n"
         "cluster:\n  pools:\n"
         "    - {name: a, nodes: 1, gpu: H100-80GB, gpus_per_node: 8}\n"
         "performance: {compute_efficiency: 0.5, memory_efficiency: 0.5, iteration_overhead: 0s}\n"
         "policies: {placement: {impl: first-fit}, autoscaler: {impl: fixed, replicas: 1}}\n"
         "models:\n"
         "  - {name: m, parameters: 8e9, " + cache + extra_model + "}\n"
         "workloads:\n  - trace: " + trace + "\n";
}

}  // namespace

TEST_CASE("paged KV: the newest request is preempted when blocks run out, and recomputed", "[kv-cache]") {
  TempDir dir;
  // A and B: 480-token prompts (30 blocks), 400 tokens out; at their longest 55 blocks each,
  // 110 together: more than the 64 the cache has.
  const std::string trace = dir.write("t.csv", "timestamp,model,input_tokens,output_tokens\n1.0,m,480,400\n1.001,m,480,400\n");
  const Scenario sc = scenario_from(kv_yaml(trace));
  RunOutput out = run_scenario(sc);
  REQUIRE(out.violations.empty());
  const RequestResult& a = by_serial(out, 0);
  const RequestResult& b = by_serial(out, 1);
  REQUIRE(a.outcome == RequestOutcome::Completed);
  REQUIRE(b.outcome == RequestOutcome::Completed);

  const LlmPerfModel perf(sc.models[0], sc.gpu_types[0], sc.perf);
  REQUIRE(perf.kv_capacity_tokens() == 1024);
  // A's prefill; B arrives during it and is admitted after: 31 blocks held by A (481 tokens)
  // + B's 30 + a 1-block watermark = 62 of 64.
  const SimTime a_first = kSecond + ceil_ns(perf.prefill_seconds(480));
  const SimTime b_first = a_first + ceil_ns(perf.prefill_seconds(480));
  CHECK(a.first_token == a_first);
  CHECK(b.first_token == b_first);
  // Both decode from 481 tokens. The step from 512 tokens each needs 2 · ⌈513/16⌉ = 66 blocks:
  // after 31 steps B (admitted last) is preempted with 32 tokens generated, its 512 tokens dropped.
  const SimTime preempted = b_first + ceil_ns(perf.decode_seconds(31, 2, 962));
  // A decodes alone to its 400th token: 399 − 31 = 368 more steps from 512 tokens.
  const SimTime a_end = preempted + ceil_ns(perf.decode_seconds(368, 1, 512));
  CHECK(a.end == a_end);
  // B is readmitted when A's blocks are free: it prefills its prompt and its 32 tokens again,
  // which puts out its 33rd token, then decodes 367 steps from 513 tokens.
  const SimTime b_again = a_end + ceil_ns(perf.prefill_seconds(512));
  CHECK(b.end == b_again + ceil_ns(perf.decode_seconds(367, 1, 513)));
  REQUIRE(out.status.kv.size() == 1);
  CHECK(out.status.kv[0].preemptions == 1);
  CHECK(out.status.kv[0].recomputed_tokens == 512);
  CHECK(out.status.kv[0].chunked_steps == 0);

  SECTION("reserve: B waits until A's whole need is released, nothing is preempted") {
    RunOutput reserve = run_scenario(scenario_from(kv_yaml(trace, ", kv_allocation: reserve")));
    REQUIRE(reserve.violations.empty());
    const SimTime a_alone = a_first + ceil_ns(perf.decode_seconds(399, 1, 481));
    CHECK(by_serial(reserve, 0).end == a_alone);
    CHECK(by_serial(reserve, 1).first_token == a_alone + ceil_ns(perf.prefill_seconds(480)));
    CHECK(reserve.status.kv[0].preemptions == 0);
  }
}

TEST_CASE("swap preemption: the newest request's blocks go to host memory and back, nothing is recomputed", "[kv-cache][swap]") {
  TempDir dir;
  // As above: A and B, 480-token prompts, 400 out, a 64-block cache. B is preempted after 31
  // decode steps holding 512 tokens: 32 blocks of 16 × 47,289,560 B.
  const std::string trace = dir.write("t.csv", "timestamp,model,input_tokens,output_tokens\n1.0,m,480,400\n1.001,m,480,400\n");
  const Scenario sc = scenario_from(kv_yaml(trace, ", kv_preemption: swap, swap_space: 32GiB"));
  RunOutput out = run_scenario(sc);
  REQUIRE(out.violations.empty());
  const LlmPerfModel perf(sc.models[0], sc.gpu_types[0], sc.perf);
  const double pcie = sc.gpu_types[0].host_to_device_bandwidth;  // one GPU
  REQUIRE(pcie > 0);
  const double copy = 32 * 16 * 47289560.0 / pcie;  // 32 blocks, each way
  const SimTime a_first = kSecond + ceil_ns(perf.prefill_seconds(480));
  const SimTime b_first = a_first + ceil_ns(perf.prefill_seconds(480));
  const SimTime preempted = b_first + ceil_ns(perf.decode_seconds(31, 2, 962));
  // The replica copies B's blocks out (a step of its own), then A decodes alone to its end.
  const SimTime a_end = preempted + ceil_ns(copy) + ceil_ns(perf.decode_seconds(368, 1, 512));
  CHECK(by_serial(out, 0).end == a_end);
  // B is readmitted: its blocks come back during a one-token step (its 33rd token), then it
  // decodes 367 steps from 513 tokens.
  const SimTime b_again = a_end + ceil_ns(perf.prefill_seconds(1) + copy);
  CHECK(by_serial(out, 1).end == b_again + ceil_ns(perf.decode_seconds(367, 1, 513)));
  const KvCounts& kv = out.status.kv[0];
  CHECK(kv.preemptions == 1);
  CHECK(kv.swaps == 1);
  CHECK(kv.recomputed_tokens == 0);
  CHECK(kv.swapped_blocks == 32);
  CHECK(kv.swap_seconds == Approx(2 * copy).epsilon(1e-12));

  SECTION("a swap space too small for the blocks: recomputed instead") {
    // The default 4 GiB holds 5 of these 757 MB blocks.
    RunOutput small = run_scenario(scenario_from(kv_yaml(trace, ", kv_preemption: swap")));
    REQUIRE(small.violations.empty());
    CHECK(small.status.kv[0].preemptions == 1);
    CHECK(small.status.kv[0].swaps == 0);
    CHECK(small.status.kv[0].recomputed_tokens == 512);
  }
  SECTION("bad values are errors") {
    CHECK_THAT(errors_of(kv_yaml(trace, ", kv_preemption: swapping")),
               Catch::Contains("unknown kv_preemption \"swapping\" (expected recompute or swap)"));
  }
}

TEST_CASE("paged KV: a request whose prompt + output exceeds the cache's blocks is too-long", "[kv-cache]") {
  TempDir dir;
  // 1,016 + 9 = 1,025 tokens: 65 blocks of 64. 1,024 tokens (64 blocks) fit, alone.
  const std::string trace =
      dir.write("t.csv", "timestamp,model,input_tokens,output_tokens\n1.0,m,1016,9\n2.0,m,1016,8\n");
  RunOutput out = run_scenario(scenario_from(kv_yaml(trace)));
  REQUIRE(out.violations.empty());
  CHECK(by_serial(out, 0).outcome == RequestOutcome::TooLong);
  CHECK(by_serial(out, 1).outcome == RequestOutcome::Completed);
}

TEST_CASE("chunked prefill: a long prompt in chunks of the token budget", "[kv-cache][chunked]") {
  TempDir dir;
  const std::string trace = dir.write("t.csv", "timestamp,model,input_tokens,output_tokens\n1.0,m,1000,1\n");
  const Scenario sc = scenario_from(kv_yaml(trace, ", max_prefill_tokens: 256, chunked_prefill: true", kBigCache));
  RunOutput out = run_scenario(sc);
  REQUIRE(out.violations.empty());
  const LlmPerfModel perf(sc.models[0], sc.gpu_types[0], sc.perf);
  // 1,000 = 256 + 256 + 256 + 232: four steps, the last one puts out the only token.
  const SimTime chunk = ceil_ns(perf.mixed_step_seconds(256, 0, 0));
  CHECK(out.requests.at(0).end == kSecond + 3 * chunk + ceil_ns(perf.mixed_step_seconds(232, 0, 0)));
  CHECK(out.status.kv[0].chunked_steps == 4);
  // With no decodes a mixed step is a prefill.
  CHECK(perf.mixed_step_seconds(256, 0, 0) == perf.prefill_seconds(256));
}

TEST_CASE("chunked prefill: decoding goes on during a long prefill, which takes longer", "[kv-cache][chunked]") {
  TempDir dir;
  // A decodes 1,000 tokens; B's 1,000-token prompt arrives meanwhile.
  const std::string trace =
      dir.write("t.csv", "timestamp,model,input_tokens,output_tokens\n1.0,m,100,1000\n2.0,m,1000,1\n");
  const std::string model = ", max_prefill_tokens: 256";
  RunOutput whole = run_scenario(scenario_from(kv_yaml(trace, model, kBigCache)));
  RunOutput chunked = run_scenario(scenario_from(kv_yaml(trace, model + ", chunked_prefill: true", kBigCache)));
  REQUIRE(whole.violations.empty());
  REQUIRE(chunked.violations.empty());
  // A's own prompt: one step. B's: A's decode takes 1 token of each step's 256, so 255 · 3 + 235.
  CHECK(chunked.status.kv[0].chunked_steps == 1 + 4);
  CHECK(whole.status.kv[0].chunked_steps == 0);
  // Unchunked, A stops for B's whole prefill; chunked, A puts out a token with each chunk.
  CHECK(by_serial(chunked, 0).end < by_serial(whole, 0).end);
  // B pays: four weight passes instead of one compute-bound prefill.
  CHECK(by_serial(chunked, 1).first_token - by_serial(chunked, 1).arrival >
        by_serial(whole, 1).first_token - by_serial(whole, 1).arrival);
}

TEST_CASE("paged KV under pressure: invariants hold and runs are deterministic", "[kv-cache][invariants]") {
  // Poisson arrivals of long requests onto two replicas with 64-block caches, with and
  // without chunked prefill: many preemptions; every request ends once, no cache over-full.
  for (const std::string chunking : {"false", "true"}) {
    const std::string yaml =
        "duration: 2min\nwarm_start: true\nseed: 7\n"
        "cluster:\n  pools:\n    - {name: a, nodes: 1, gpu: H100-80GB, gpus_per_node: 8}\n"
        "policies: {placement: {impl: first-fit}, autoscaler: {impl: fixed, replicas: 2}}\n"
        "models:\n  - {name: m, parameters: 8e9, kv_cache_per_token: 47289560B, gpu_memory_utilization: 0.75,\n"
        "      max_prefill_tokens: 128, chunked_prefill: " + chunking + "}\n"
        "workloads:\n  - {model: m, arrivals: {process: poisson, rate: 5/s},\n"
        "      input_tokens: {dist: uniform, low: 20, high: 500}, output_tokens: {dist: uniform, low: 1, high: 400}}\n";
    RunOutput first = run_scenario(scenario_from(yaml));
    RunOutput second = run_scenario(scenario_from(yaml));
    INFO("chunked_prefill: " << chunking);
    REQUIRE(first.violations.empty());
    CHECK(first.ended == first.status.requests);
    CHECK(first.status.kv[0].preemptions > 10);
    CHECK(first.metrics.models[0].completed() > 100);
    CHECK(first.status.kv[0].preemptions == second.status.kv[0].preemptions);
    REQUIRE(first.requests.size() == second.requests.size());
    for (std::size_t i = 0; i < first.requests.size(); ++i) {
      CHECK(first.requests[i].serial == second.requests[i].serial);
      CHECK(first.requests[i].end == second.requests[i].end);
    }
  }
}

TEST_CASE("paged KV: the bounded checks decide as the pass over every sequence does", "[kv-cache][invariants]") {
  // A 4,096-block cache (65,536 tokens) that dozens of long-output requests keep full: each
  // admission, step and stretch asks whether the blocks fit, mostly answered from the decoding
  // sequences' count and kv_base sum (sim/kv_blocks.cpp, kv_fits). With the bound switched off
  // every answer is the pass's; the runs must agree to the nanosecond.
  for (const std::string extra : {"", ", chunked_prefill: true, max_prefill_tokens: 512",
                                  ", kv_preemption: swap, swap_space: 4GiB"}) {
    const std::string yaml =
        "duration: 2min\nwarm_start: true\nseed: 11\n"
        "cluster:\n  pools:\n    - {name: a, nodes: 1, gpu: H100-80GB, gpus_per_node: 8}\n"
        "policies: {placement: {impl: first-fit}, autoscaler: {impl: fixed, replicas: 2}}\n"
        "models:\n  - {name: m, parameters: 8e9, kv_cache_per_token: 738899B, gpu_memory_utilization: 0.75" +
        extra + "}\n"
        "workloads:\n  - {model: m, arrivals: {process: poisson, rate: 30/s},\n"
        "      input_tokens: {dist: uniform, low: 20, high: 400}, output_tokens: {dist: uniform, low: 100, high: 1500}}\n";
    INFO("model:" << extra);
    const Scenario sc = scenario_from(yaml);
    const RunOutput bounded = run_scenario(sc);
    SimulationSetup setup = build_setup(sc, registry());
    setup.kv_bounds = false;
    const RunOutput passes = run_setup(std::move(setup));
    SimulationSetup refreshing = build_setup(sc, registry());
    refreshing.kv_base_refresh = 0;  // the running sum taken afresh at nearly every check
    const RunOutput refreshed = run_setup(std::move(refreshing));
    for (const RunOutput* out : {&bounded, &passes, &refreshed}) {
      REQUIRE(out->status.ok);
      for (const auto& v : out->violations) FAIL(v);  // (the checker recounts the kv_base sum)
    }
    REQUIRE(bounded.status.kv[0].preemptions > 50);
    REQUIRE(bounded.metrics.models[0].completed() > 1000);
    for (const RunOutput* other : {&passes, &refreshed}) {
      CHECK(bounded.status.kv[0].preemptions == other->status.kv[0].preemptions);
      REQUIRE(bounded.requests.size() == other->requests.size());
      for (std::size_t i = 0; i < bounded.requests.size(); ++i) {
        const RequestResult &a = bounded.requests[i], &b = other->requests[i];
        INFO("request end #" << i);
        REQUIRE(a.serial == b.serial);
        REQUIRE(a.first_token == b.first_token);
        REQUIRE(a.end == b.end);
      }
    }
  }
}

TEST_CASE("KV cache keys: validated by the loader", "[kv-cache][bad-input]") {
  TempDir dir;
  const std::string trace = dir.write("t.csv", "timestamp,model,input_tokens,output_tokens\n1.0,m,10,10\n");
  CHECK_THAT(errors_of(kv_yaml(trace, ", kv_allocation: swap")), Catch::Contains("expected paged or reserve"));
  CHECK_THAT(errors_of(kv_yaml(trace, ", kv_block_size: 0")), Catch::Contains("models[0].kv_block_size"));
  CHECK_THAT(errors_of(kv_yaml(trace, ", chunked_prefill: sometimes")), Catch::Contains("models[0].chunked_prefill"));
}

TEST_CASE("the time series samples the KV cache each interval: blocks held, from the model's formulas", "[kv-cache][timeseries]") {
  TempDir dir;
  // One request: a 480-token prompt at 1 s, 400 tokens out; a 64-block cache of 16 tokens.
  const std::string trace = dir.write("t.csv", "timestamp,model,input_tokens,output_tokens\n1.0,m,480,400\n");
  const Scenario sc = scenario_from("sample_interval: 1s\n" + kv_yaml(trace));
  Simulation sim(build_setup(sc, registry()));
  TimeSeriesRecorder series(sc, sc.sample_interval);
  InvariantChecker checker(sim);
  sim.add_observer(&series);
  sim.add_observer(&checker);
  REQUIRE(sim.run().ok);
  REQUIRE(checker.violations.empty());

  const LlmPerfModel perf(sc.models[0], sc.gpu_types[0], sc.perf);
  const double block_gb = 16 * 47289560.0 / 1e9;
  const double capacity_gb = 64 * block_gb;
  auto at = [&](SimTime t, Series s) {
    for (const auto& sample : series.samples())
      if (sample.time == t) {
        CHECK(sample.kv_sampled);
        return sample.models[0][static_cast<std::size_t>(s)];
      }
    FAIL("no sample at " << t);
    return -1.0;
  };
  // The replica is ready from the start (warm): its whole cache, empty until the request.
  CHECK(at(kSecond, Series::KvCacheGb) == Approx(capacity_gb).epsilon(1e-12));
  CHECK(at(kSecond, Series::KvCacheUsedGb) == 0);  // the state before the arrival at 1 s
  // At 2 s it decodes: the prompt's 480 tokens, its first token, and the steps run since.
  const SimTime first = kSecond + ceil_ns(perf.prefill_seconds(480));
  const double steps = perf.decode_steps_in(to_seconds(2 * kSecond - first), 1, 481);
  REQUIRE(steps > 10);
  const double blocks = std::ceil((481 + steps) / 16 - 1e-9);
  CHECK(at(2 * kSecond, Series::KvCacheUsedGb) == Approx(blocks * block_gb).epsilon(1e-12));
  // At its longest it holds ⌈879/16⌉ = 55 blocks, never more; after it ends, none.
  double most = 0;
  for (const auto& sample : series.samples()) most = std::max(most, sample.models[0][static_cast<std::size_t>(Series::KvCacheUsedGb)]);
  CHECK(most <= 55 * block_gb * (1 + 1e-12));
  CHECK(most >= 54 * block_gb);
  const auto& last = series.samples().back();
  CHECK(last.models[0][static_cast<std::size_t>(Series::KvCacheUsedGb)] == 0);
  // The "all models" entry sums the models.
  CHECK(last.models[1][static_cast<std::size_t>(Series::KvCacheGb)] == last.models[0][static_cast<std::size_t>(Series::KvCacheGb)]);
}

TEST_CASE("timeseries.csv writes kv_cache rows for LLM models only", "[kv-cache][timeseries]") {
  TempDir dir;
  const std::string yaml =
      "duration: 5min\nwarm_start: true\n"
      "cluster:\n  pools:\n    - {name: a, nodes: 1, gpu: H100-80GB, gpus_per_node: 8}\n"
      "policies: {autoscaler: {impl: fixed, replicas: 1}}\n"
      "models:\n"
      "  - {name: llm, parameters: 8e9, kv_cache_per_token: 128KiB}\n"
      "  - {name: embed, kind: service-time, parameters: 3e8, memory_per_gpu: 4GiB, service_time: {dist: fixed, value: 10ms}, max_concurrency: 8}\n"
      "workloads:\n"
      "  - {model: llm, arrivals: {process: poisson, rate: 2/s}, input_tokens: {dist: fixed, value: 500},\n"
      "     output_tokens: {dist: fixed, value: 100}}\n"
      "  - {model: embed, arrivals: {process: poisson, rate: 2/s}}\n";
  const std::string out = dir.path("out");
  const CliRun run = run_fleetsim("run " + shell_quote(dir.write("s.yaml", yaml)) + " -q --out " + shell_quote(out));
  REQUIRE(run.code == 0);
  const std::string csv = read_file(out + "/timeseries.csv");
  CHECK(csv.find(",llm,kv_cache_used_gb,") != std::string::npos);
  CHECK(csv.find(",llm,kv_cache_gb,") != std::string::npos);
  CHECK(csv.find(",all,kv_cache_gb,") != std::string::npos);
  CHECK(csv.find(",embed,kv_cache") == std::string::npos);
  CHECK(csv.find(",embed,replicas_ready,") != std::string::npos);
  CHECK(read_file(out + "/report.html").find("id=\"chart-kv-cache\"") != std::string::npos);
}
