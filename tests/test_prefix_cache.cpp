// Prefix caching (README "Prefix caching"): the cache on its own (match, LRU order, eviction),
// the trace's prefix_hashes column and its bad inputs, a hit's skipped prefill computed by hand,
// and the Mooncake conversation trace against its published hit ratio.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "sim/llm_perf_model.hpp"
#include "sim/prefix_cache.hpp"
#include "tests/support.hpp"
#include "traces/request_csv.hpp"

using namespace fleetsim;
using namespace fleetsim::test;

namespace {

SimTime ceil_ns(double seconds) { return static_cast<SimTime>(std::ceil(seconds * 1e9)); }

std::string yaml_for(const std::string& trace, const std::string& extra_model = "", int replicas = 1) {
  return "duration: 1h\nwarm_start: true\n"
         "cluster:\n  pools:\n    - {name: a, nodes: 1, gpu: H100-80GB, gpus_per_node: 8}\n"
         "performance: {compute_efficiency: 0.5, memory_efficiency: 0.5, iteration_overhead: 0s}\n"
         "policies: {placement: {impl: first-fit}, autoscaler: {impl: fixed, replicas: " +
         std::to_string(replicas) + "}}\n"
         "models:\n  - {name: m, parameters: 8e9, kv_cache_per_token: 128KiB, prefix_block_tokens: 4" + extra_model +
         "}\n"
         "workloads:\n  - trace: " + trace + "\n";
}

const std::string kHeader = "timestamp,model,input_tokens,output_tokens,prefix_hashes\n";

}  // namespace

TEST_CASE("prefix cache: leading matches, LRU order, eviction", "[prefix-cache]") {
  PrefixCache cache;
  const std::vector<std::uint64_t> a = {1, 2, 3}, b = {1, 2, 9}, c = {7, 2, 3};
  CHECK(cache.insert(a) == 3);
  CHECK(cache.match(a) == 3);
  CHECK(cache.match(b) == 2);  // a shared prefix of two blocks
  CHECK(cache.match(c) == 0);  // a shared block after a different first one is no prefix
  CHECK(cache.insert(b) == 1);
  CHECK(cache.size() == 4);
  // Recency, oldest first: 3 (a's tail), then 9, 2, 1 (b touched last, first block newest).
  CHECK(cache.shrink_to(3) == 1);
  CHECK(cache.match(a) == 2);
  CHECK(cache.match(b) == 3);
  CHECK(cache.shrink_to(1) == 2);
  CHECK(cache.match(b) == 1);
  CHECK(cache.shrink_to(0) == 1);
  CHECK(cache.size() == 0);
  CHECK(cache.insert(c) == 3);  // slots are reused
  CHECK(cache.match(c) == 3);
}

TEST_CASE("prefix caching: a hit skips the cached blocks' prefill", "[prefix-cache]") {
  TempDir dir;
  // Blocks of 4 tokens. The second request shares the first's two leading blocks (8 tokens) and
  // arrives after the first ended: it prefills 20 − 8 = 12 tokens. The third shares none.
  const std::string trace = dir.write("t.csv", kHeader +
                                                   "1.0,m,20,1,10 11 12 13 14\n"
                                                   "2.0,m,20,1,10 11 99 98 97\n"
                                                   "3.0,m,20,1,50 51 52 53 54\n");
  const Scenario sc = scenario_from(yaml_for(trace));
  RunOutput out = run_scenario(sc);
  REQUIRE(out.violations.empty());
  REQUIRE(out.requests.size() == 3);
  const LlmPerfModel perf(sc.models[0], sc.gpu_types[0], sc.perf);
  CHECK(out.requests[0].end - out.requests[0].arrival == ceil_ns(perf.prefill_seconds(20)));
  CHECK(out.requests[1].end - out.requests[1].arrival == ceil_ns(perf.prefill_seconds(12)));
  CHECK(out.requests[2].end - out.requests[2].arrival == ceil_ns(perf.prefill_seconds(20)));
  CHECK(out.status.kv[0].prompt_tokens == 60);
  CHECK(out.status.kv[0].prefix_hit_tokens == 8);

  SECTION("switched off, nothing is cached") {
    RunOutput off = run_scenario(scenario_from(yaml_for(trace, ", prefix_caching: false")));
    CHECK(off.status.kv[0].prefix_hit_tokens == 0);
    CHECK(off.requests[1].end - off.requests[1].arrival == ceil_ns(perf.prefill_seconds(20)));
  }
  SECTION("a whole-prompt hit still computes one token") {
    const std::string again = dir.write("u.csv", kHeader + "1.0,m,8,1,10 11\n2.0,m,8,1,10 11\n");
    RunOutput twice = run_scenario(scenario_from(yaml_for(again)));
    CHECK(twice.status.kv[0].prefix_hit_tokens == 7);
    CHECK(twice.requests[1].end - twice.requests[1].arrival == ceil_ns(perf.prefill_seconds(1)));
  }
}

TEST_CASE("prefix caching: the trace's prefix_hashes column is checked", "[prefix-cache][bad-input]") {
  TempDir dir;
  auto error_of = [&](const std::string& rows) {
    const std::string path = dir.write("bad.csv", kHeader + rows);
    Diagnostics errors;
    check_request_csv(path, {{"m", ModelRef{0}}}, errors);
    return errors.empty() ? std::string() : errors.items().front().to_string();
  };
  CHECK(error_of("1.0,m,20,1,1 2 3\n1.0,m,20,1,\n").empty());  // an empty list: no prefix
  CHECK_THAT(error_of("1.0,m,20,1,1 x 3\n"), Catch::Contains("prefix_hashes") && Catch::Contains("unsigned integers"));
  CHECK_THAT(error_of("1.0,m,20,1,-4\n"), Catch::Contains("unsigned integers"));
  CHECK_THAT(error_of("1.0,m,20,1,18446744073709551616\n"), Catch::Contains("unsigned integers"));
  CHECK_THAT(error_of("1.0,m,20,1\n"), Catch::Contains("expected 5 fields"));
  CHECK_THAT(error_of("1.0,m,20,1,1,2\n"), Catch::Contains("expected 5 fields"));
}

TEST_CASE("prefix caching: the Mooncake conversation trace hits as published", "[prefix-cache][mooncake]") {
  const std::string in = std::string(FLEETSIM_SOURCE_DIR) + "/../shared/traces/mooncake-fast25/conversation_trace.jsonl";
  if (!std::filesystem::exists(in)) {
    WARN("skipped: " << in << " is absent");
    return;
  }
  TempDir dir;
  const std::string csv = dir.path("mc.csv");
  REQUIRE(run_fleetsim("trace import mooncake " + shell_quote(in) + " --keep-prefix-hashes -o " + shell_quote(csv)).code ==
          0);
  // One replica with a KV cache of ~60M tokens (1 KiB per token): 116k prefix blocks of 512.
  // The trace's README measures 37.4% of prompt tokens in a leading run of blocks seen before
  // (an infinite cache, blocks known the instant a request arrives); here blocks are cached
  // when a prefill ends and the cache is finite, so a little less.
  const std::string yaml =
      "duration: 1h\nwarm_start: true\n"
      "cluster:\n  pools:\n    - {name: a, nodes: 1, gpu: H100-80GB, gpus_per_node: 8}\n"
      "policies: {autoscaler: {impl: fixed, replicas: 1}}\n"
      "models:\n  - {name: mooncake, parameters: 8e9, kv_cache_per_token: 1KiB, chunked_prefill: true}\n"
      "workloads:\n  - trace: " + csv + "\n";
  RunOutput out = run_scenario(scenario_from(yaml));
  REQUIRE(out.violations.empty());
  const KvCounts& kv = out.status.kv[0];
  const double rate = static_cast<double>(kv.prefix_hit_tokens) / static_cast<double>(kv.prompt_tokens);
  CHECK(rate > 0.36);
  CHECK(rate < 0.374);
  CHECK(kv.prefix_evicted_blocks > 0);
}

TEST_CASE("prefix-affinity routes to the replica holding the prefix, least-outstanding need not", "[prefix-cache][routing]") {
  TempDir dir;
  // A (prefix 10..) goes to replica 0 and D (prefix 20..) to replica 1; both end. B shares D's
  // prefix: least-outstanding sees a tie and takes replica 0 (a miss), prefix-affinity replica 1.
  const std::string trace = dir.write("t.csv", kHeader +
                                                   "1.0,m,20,1,10 11 12 13 14\n"
                                                   "1.0,m,20,1,20 21 22 23 24\n"
                                                   "5.0,m,20,1,20 21 22 23 99\n");
  const std::string base = yaml_for(trace, "", 2);
  RunOutput least = run_scenario(scenario_from(base));
  std::string affinity_yaml = base;
  affinity_yaml.replace(affinity_yaml.find("policies: {"), 11, "policies: {router: {impl: prefix-affinity}, ");
  RunOutput affinity = run_scenario(scenario_from(affinity_yaml));
  REQUIRE(least.violations.empty());
  REQUIRE(affinity.violations.empty());
  CHECK(least.status.kv[0].prefix_hit_tokens == 0);
  CHECK(affinity.status.kv[0].prefix_hit_tokens == 16);  // four whole blocks of 4 tokens
  CHECK(least.requests.back().replica != affinity.requests.back().replica);
}

TEST_CASE("prefix-affinity: cost by hand on built candidates", "[prefix-cache][routing]") {
  auto router = registry().make_router(PolicyChoice{"prefix-affinity", {}});
  // 1,000-token prompt. Replica 0: nothing cached, 100 tokens of work → 1,000 + 100.
  // Replica 1: 512 cached, 500 of work → 488 + 500. Replica 2: 512 cached, 600 → 488 + 600.
  std::vector<RouteCandidate> c(3);
  c[0].replica = 0, c[0].outstanding_tokens = 100;
  c[1].replica = 1, c[1].outstanding_tokens = 500, c[1].prefix_hit_tokens = 512;
  c[2].replica = 2, c[2].outstanding_tokens = 600, c[2].prefix_hit_tokens = 512;
  RouteRequest request;
  request.input_tokens = 1000;
  CHECK(router->route(c, request) == 1);
  c[1].outstanding_tokens = 700;  // 1,188: replica 2 (1,088) beats the empty one (1,100)
  CHECK(router->route(c, request) == 2);
  c[2].outstanding_tokens = 700;  // 1,188 too: now the empty replica wins
  CHECK(router->route(c, request) == 0);
}

TEST_CASE("prefix-affinity: blocks in KV offload tiers count offload_weight of a GPU hit", "[prefix-cache][routing]") {
  // 1,000-token prompt. Replica 0: nothing anywhere, 100 tokens of work → 1,000 + 100 = 1,100.
  // Replica 1: 512 tokens loadable from its host memory, 200 of work → 1,000 − 0.5 × 512 + 200 = 944.
  // Replica 2: 512 in its GPU cache, 300 of work → 488 + 300 = 788.
  std::vector<RouteCandidate> c(3);
  c[0].replica = 0, c[0].outstanding_tokens = 100;
  c[1].replica = 1, c[1].outstanding_tokens = 200, c[1].offload_hit_tokens = 512;
  c[2].replica = 2, c[2].outstanding_tokens = 300, c[2].prefix_hit_tokens = 512;
  RouteRequest request;
  request.input_tokens = 1000;
  auto halves = registry().make_router(PolicyChoice{"prefix-affinity", {}});
  CHECK(halves->route(c, request) == 2);  // a GPU hit beats the same tokens in a tier
  c[2].outstanding_tokens = 500;          // 988: the tier's replica (944) wins
  CHECK(halves->route(c, request) == 1);
  // offload_weight 0: the tier is ignored, replica 1 costs 1,200, and the GPU hit (988) wins again.
  auto with_weight = [](double w) {
    PolicyChoice choice{"prefix-affinity", {}};
    choice.params.set_number("offload_weight", w);
    return registry().make_router(choice);
  };
  auto ignores = with_weight(0);
  CHECK(ignores->route(c, request) == 2);
  // offload_weight 1: a tier's block is a GPU hit (488 + 200 = 688).
  auto full = with_weight(1);
  CHECK(full->route(c, request) == 1);
  // Loadable tokens never count past the prompt: 600 cached + 900 loadable on a 1,000-token
  // prompt is 400 loadable (1,000 − 600 − 0.5 × 400 = 200, + 0 of work).
  c[0].prefix_hit_tokens = 600, c[0].offload_hit_tokens = 900, c[0].outstanding_tokens = 0;
  c[1].prefix_hit_tokens = 799, c[1].offload_hit_tokens = 0, c[1].outstanding_tokens = 0;  // 201
  CHECK(halves->route(c, request) == 0);
  // Bad values are errors naming the parameter.
  LoadOptions options;
  options.overrides = {"policies.router.offload_weight=1.5"};
  CHECK_THAT(errors_of(read_file(std::string(FLEETSIM_SOURCE_DIR) + "/scenarios/prefix-cache.yaml"), options),
             Catch::Contains("offload_weight"));
}

TEST_CASE("prefix-affinity routes to the replica holding the prompt in host memory over an empty one",
          "[prefix-cache][routing][kv-offload]") {
  // Two 8B replicas of one H100 each, 4 blocks of 512 tokens of KV cache apiece (as in
  // tests/test_kv_offload.cpp), host-memory tiers of 16 blocks. X (no prefix, 2,000 output
  // tokens: ~20 s of decoding) goes to replica 0, so A, B and D, each 3 blocks, go to the idle
  // replica 1 one after the other; B's and D's blocks push all of A's (a1 a2 a3) out of its KV
  // cache into its host memory. At 60 s both replicas are idle and C repeats A's prompt: replica
  // 1 holds it in host memory only, replica 0 holds nothing.
  //   cost(replica 0) = 1,536                       (nothing cached, no work)
  //   cost(replica 1) = 1,536 − 0.5 × 1,536 = 768   (its 3 blocks loadable, no work)
  // so C goes to replica 1 and loads A's blocks; ignoring the tiers (offload_weight 0) both cost
  // 1,536 and the lowest id, replica 0, takes it and computes the whole prompt.
  TempDir dir;
  const std::string trace = dir.write("t.csv",
                                      "timestamp,model,input_tokens,output_tokens,prefix_hashes\n"
                                      "0.5,m,10,2000,\n"
                                      "1.0,m,1536,1,11 12 13\n"
                                      "2.0,m,1536,1,21 22 23\n"
                                      "2.5,m,1536,1,31 32 33\n"
                                      "60.0,m,1536,1,11 12 13\n");
  auto yaml = [&](const std::string& weight) {
    return "duration: 2min\nwarm_start: true\n"
           "cluster:\n  pools:\n    - {name: a, nodes: 1, gpu: H100-80GB, gpus_per_node: 2}\n"
           "performance: {compute_efficiency: 0.5, memory_efficiency: 0.5, iteration_overhead: 0s}\n"
           "policies: {placement: {impl: spread}, router: {impl: prefix-affinity, offload_weight: " + weight + "},\n"
           "           autoscaler: {impl: fixed, replicas: 2}}\n"
           "models:\n  - {name: m, parameters: 8e9, kv_cache_per_token: 128KiB, gpu_memory_utilization: 0.19,\n"
           "     kv_block_size: 512, prefix_block_tokens: 512, kv_offload: {host_memory: 1GiB}}\n"
           "workloads:\n  - trace: " + trace + "\n";
  };
  RunOutput aware = run_scenario(scenario_from(yaml("0.5")));
  for (const auto& v : aware.violations) FAIL(v);
  REQUIRE(aware.requests.size() == 5);
  CHECK(by_serial(aware, 0).replica == 0);  // X
  CHECK(by_serial(aware, 1).replica == 1);  // A, B, D: beside X's work
  CHECK(by_serial(aware, 2).replica == 1);
  CHECK(by_serial(aware, 3).replica == 1);
  REQUIRE(by_serial(aware, 0).end < 60 * kSecond);  // X is done before C arrives
  CHECK(by_serial(aware, 4).replica == 1);          // C: where its prompt is, in host memory
  const KvCounts& kv = aware.status.kv[0];
  CHECK(kv.offload[kTierHostMemory].loaded_blocks == 3);  // a1 a2 a3, loaded back
  CHECK(kv.offload[kTierHostMemory].hit_tokens == 1535);  // (one token is always computed)

  RunOutput blind = run_scenario(scenario_from(yaml("0")));
  for (const auto& v : blind.violations) FAIL(v);
  REQUIRE(blind.requests.size() == 5);
  CHECK(by_serial(blind, 3).replica == 1);
  CHECK(by_serial(blind, 4).replica == 0);  // C: the tie goes to the lowest id
  CHECK(blind.status.kv[0].offload[kTierHostMemory].loaded_blocks == 0);
  // Loading beats computing here: C's time to its token is shorter where its prompt was.
  const auto ttft = [](const RunOutput& out) { return by_serial(out, 4).end - by_serial(out, 4).arrival; };
  CHECK(ttft(aware) < ttft(blind));
}
