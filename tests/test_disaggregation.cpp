// Disaggregated prefill and decode against hand computations (README "Disaggregated prefill and
// decode"): a request's prefill on the prefill pool, its KV cache's transfer over NVLink or the
// nodes' network links (shared between concurrent transfers), its decode on the decode pool;
// scale to zero of the decode pool; the loader's errors; invariants and determinism.
#include <catch2/catch.hpp>

#include <cmath>
#include <string>

#include "real/controller/worker_backend.hpp"
#include "reports/result_json.hpp"
#include "sim/llm_perf_model.hpp"
#include "tests/support.hpp"

using namespace fleetsim;
using namespace fleetsim::test;

namespace {

SimTime ceil_ns(double seconds) { return static_cast<SimTime>(std::ceil(seconds * 1e9)); }

// An 8B model in bf16 on H100s, efficiencies 0.5 / 0.5, no step overhead; KV 128 KiB a token,
// so a 1,000-token prompt's KV cache is 131,072,000 bytes. One prefill and one decode replica.
// `cluster`: the pools; `transfer`: the disaggregated section's transfer map.
std::string disagg_yaml(const std::string& trace, const std::string& cluster, const std::string& transfer,
                        const std::string& decode = "{}") {
  return "duration: 1h\nwarm_start: true\n"
         "cluster:\n  pools:\n" + cluster +
         "performance: {compute_efficiency: 0.5, memory_efficiency: 0.5, iteration_overhead: 0s}\n"
         "policies: {placement: {impl: first-fit}, autoscaler: {impl: fixed, replicas: 1}}\n"
         "models:\n"
         "  - name: m\n    parameters: 8e9\n    kv_cache_per_token: 128KiB\n"
         "    disaggregated: {prefill: {}, decode: " + decode + ", transfer: " + transfer + "}\n"
         "workloads:\n  - trace: " + trace + "\n";
}

const char* kOneNode = "    - {name: a, nodes: 1, gpu: H100-80GB, gpus_per_node: 8}\n";
// Two nodes of one GPU each: the prefill replica lands on the first, the decode replica on the
// second; each node's network link is 10 GB/s.
const char* kTwoNodes = "    - {name: a, nodes: 2, gpu: H100-80GB, gpus_per_node: 1, network_bandwidth: 10GB/s}\n";

constexpr double kPromptKvBytes = 1000.0 * 131072;

}  // namespace

TEST_CASE("disaggregated: prefill, KV over NVLink, decode, by hand", "[disaggregation]") {
  TempDir dir;
  const std::string trace = dir.write("t.csv", "timestamp,model,input_tokens,output_tokens\n1.0,m,1000,11\n");
  const Scenario sc = scenario_from(disagg_yaml(trace, kOneNode, "{nvlink_bandwidth: 100GB/s}"));
  REQUIRE(sc.models.size() == 2);
  CHECK(sc.models[1].name == "m/decode");
  CHECK(sc.models[0].role == ModelSpec::Role::Prefill);
  CHECK(sc.models[1].role == ModelSpec::Role::Decode);
  CHECK(sc.models[0].partner == 1);
  CHECK(sc.models[1].partner == 0);
  RunOutput out = run_scenario(sc);
  REQUIRE(out.violations.empty());
  REQUIRE(out.requests.size() == 1);
  const RequestResult& a = out.requests[0];
  REQUIRE(a.outcome == RequestOutcome::Completed);
  CHECK(a.model == 0);  // reported under the model's own name

  const LlmPerfModel prefill(sc.models[0], sc.gpu_types[0], sc.perf);
  const LlmPerfModel decode(sc.models[1], sc.gpu_types[0], sc.perf);
  // The prefill puts out the first token; 131,072,000 bytes at 100 GB/s take 1.31072 ms; the
  // decode replica then runs the other 10 tokens' steps from 1,001 tokens of context.
  const SimTime first = kSecond + ceil_ns(prefill.prefill_seconds(1000));
  const SimTime landed = first + 1'310'720;
  CHECK(a.first_token == first);
  CHECK(a.end == landed + ceil_ns(decode.decode_seconds(10, 1, 1001)));

  REQUIRE(out.status.kv_transfers.size() == 2);
  const KvTransferCounts& k = out.status.kv_transfers[0];
  CHECK(k.transfers == 1);
  CHECK(k.same_node == 1);
  CHECK(k.bytes == kPromptKvBytes);
  CHECK(k.transfer_seconds.max() == Approx(1.31072e-3).epsilon(1e-9));
  // The time to decode, split: no queue, the prefill, the transfer, no wait on the decode side.
  CHECK(k.queue.max() == 0);
  CHECK(k.prefill.max() == Approx(to_seconds(first - kSecond)).epsilon(1e-12));
  CHECK(k.transfer.max() == Approx(1.31072e-3).epsilon(1e-9));
  CHECK(k.decode_wait.max() == 0);
  // Its link carried the bytes; the decode pool is a model of its own in the metrics.
  bool nvlink = false;
  for (const LinkUsage& l : out.status.links)
    if (l.name == "node-0/nvlink") nvlink = l.bytes == kPromptKvBytes;
  CHECK(nvlink);
  CHECK(out.metrics.models[0].completed() == 1);
  CHECK(out.metrics.models[1].requests == 0);
  CHECK(out.metrics.models[1].gpu_seconds_allocated > 0);

  SECTION("a one-token request ends on its prefill replica: nothing moves") {
    const std::string one = dir.write("one.csv", "timestamp,model,input_tokens,output_tokens\n1.0,m,1000,1\n");
    RunOutput single = run_scenario(scenario_from(disagg_yaml(one, kOneNode, "{}")));
    REQUIRE(single.violations.empty());
    CHECK(single.requests.at(0).end == first);
    CHECK(single.status.kv_transfers[0].transfers == 0);
  }
}

TEST_CASE("disaggregated: concurrent transfers share the link", "[disaggregation]") {
  TempDir dir;
  // At 1 GB/s a prompt's KV cache takes 131 ms, four prefills' time: B's prefill ends while A's
  // KV is still moving. A moves alone until then, both at 0.5 GB/s until A's is done, then B's
  // alone again. Two tokens out: one decode step each, A's over before B's KV lands.
  const std::string trace =
      dir.write("t.csv", "timestamp,model,input_tokens,output_tokens\n1.0,m,1000,2\n1.0,m,1000,2\n");
  const Scenario sc = scenario_from(disagg_yaml(trace, kOneNode, "{nvlink_bandwidth: 1GB/s}"));
  RunOutput out = run_scenario(sc);
  REQUIRE(out.violations.empty());
  const LlmPerfModel prefill(sc.models[0], sc.gpu_types[0], sc.perf);
  const LlmPerfModel decode(sc.models[1], sc.gpu_types[0], sc.perf);
  const RequestResult& a = by_serial(out, 0);
  const RequestResult& b = by_serial(out, 1);
  // B arrives as A's prefill starts: it waits for that step to end (no chunking).
  const SimTime a_first = kSecond + ceil_ns(prefill.prefill_seconds(1000));
  const SimTime b_first = a_first + ceil_ns(prefill.prefill_seconds(1000));
  CHECK(a.first_token == a_first);
  CHECK(b.first_token == b_first);
  const double alone = 1e9 * to_seconds(b_first - a_first);  // bytes A moved alone
  const double a_left = kPromptKvBytes - alone;
  const double a_landed = static_cast<double>(b_first) + a_left / 0.5;  // ns: 0.5 bytes a ns
  const double b_landed = a_landed + (kPromptKvBytes - a_left) / 1.0;
  // Within 2 ns: the shared rates are floating point, each completion rounded up.
  CHECK(static_cast<double>(a.end) == Approx(a_landed + ceil_ns(decode.decode_seconds(1, 1, 1001))).margin(2));
  CHECK(static_cast<double>(b.end) == Approx(b_landed + ceil_ns(decode.decode_seconds(1, 1, 1001))).margin(2));
  const KvTransferCounts& k = out.status.kv_transfers[0];
  CHECK(k.transfers == 2);
  CHECK(k.transfer_seconds.max() == Approx((a_landed - a_first) * 1e-9).epsilon(1e-6));
  CHECK(k.transfer_seconds.min() == Approx((b_landed - b_first) * 1e-9).epsilon(1e-6));
}

TEST_CASE("disaggregated: between nodes the KV crosses both network links", "[disaggregation]") {
  TempDir dir;
  const std::string trace = dir.write("t.csv", "timestamp,model,input_tokens,output_tokens\n1.0,m,1000,11\n");
  const Scenario sc = scenario_from(disagg_yaml(trace, kTwoNodes, "{}"));
  RunOutput out = run_scenario(sc);
  REQUIRE(out.violations.empty());
  const LlmPerfModel prefill(sc.models[0], sc.gpu_types[0], sc.perf);
  const LlmPerfModel decode(sc.models[1], sc.gpu_types[0], sc.perf);
  const SimTime first = kSecond + ceil_ns(prefill.prefill_seconds(1000));
  // 131,072,000 bytes at 10 GB/s (both nodes' links): 13.1072 ms.
  const RequestResult& a = out.requests.at(0);
  CHECK(a.first_token == first);
  CHECK(a.end == first + 13'107'200 + ceil_ns(decode.decode_seconds(10, 1, 1001)));
  CHECK(out.status.kv_transfers[0].same_node == 0);
  CHECK(out.status.kv_transfers[0].transfer_seconds.max() == Approx(13.1072e-3).epsilon(1e-9));
  int links = 0;
  for (const LinkUsage& l : out.status.links)
    if ((l.name == "node-0/network" || l.name == "node-1/network") && l.bytes == kPromptKvBytes) ++links;
  CHECK(links == 2);

  SECTION("capped per transfer at the model's network bandwidth") {
    RunOutput capped = run_scenario(scenario_from(disagg_yaml(trace, kTwoNodes, "{network_bandwidth: 4GB/s}")));
    REQUIRE(capped.violations.empty());
    CHECK(capped.requests.at(0).end == first + 32'768'000 + ceil_ns(decode.decode_seconds(10, 1, 1001)));
  }
}

TEST_CASE("disaggregated: a decode pool at zero starts a replica, the KV waits for it", "[disaggregation]") {
  TempDir dir;
  const std::string trace = dir.write("t.csv", "timestamp,model,input_tokens,output_tokens\n1.0,m,1000,11\n"
                                               "200.0,m,1000,11\n");
  // KPA on the decode pool alone: no replica at t = 0, back to zero 30 s after the last request.
  const Scenario sc = scenario_from(disagg_yaml(trace, kOneNode, "{}",
                                                "{autoscaler: {impl: kpa, initial_scale: 0, stable_window: 6s}}"));
  RunOutput out = run_scenario(sc);
  REQUIRE(out.violations.empty());
  REQUIRE(out.requests.size() == 2);
  for (const RequestResult& r : out.requests) CHECK(r.outcome == RequestOutcome::Completed);
  // Each request's decode waited for a cold start of the decode pool (it had gone to zero).
  CHECK(out.metrics.models[1].cold_starts == 2);
  const KvTransferCounts& k = out.status.kv_transfers[0];
  CHECK(k.transfers == 2);
  CHECK(k.transfer.min() > to_seconds(sc.models[1].startup_time));
  // The prefill pool never scaled: its first token came at once.
  const LlmPerfModel prefill(sc.models[0], sc.gpu_types[0], sc.perf);
  CHECK(by_serial(out, 0).first_token == kSecond + ceil_ns(prefill.prefill_seconds(1000)));
}

TEST_CASE("disaggregated: a decode replica that fails while the KV moves to it", "[disaggregation][faults]") {
  TempDir dir;
  // At 1 GB/s the KV moves for 131 ms; the decode replica (replica 1: the prefill pool's is
  // placed first) fails 50 ms into it. When the move ends the KV goes to the replica the
  // decode pool starts in its place (a cold start), and the request completes.
  const std::string trace = dir.write("t.csv", "timestamp,model,input_tokens,output_tokens\n1.0,m,1000,11\n");
  std::string yaml = disagg_yaml(trace, kOneNode, "{nvlink_bandwidth: 1GB/s}");
  const Scenario probe = scenario_from(yaml);
  const LlmPerfModel prefill(probe.models[0], probe.gpu_types[0], probe.perf);
  const SimTime first = kSecond + ceil_ns(prefill.prefill_seconds(1000));
  yaml += "faults:\n  - {kill_replica: 1, at: " + std::to_string(first + 50'000'000) + "ns}\n";
  RunOutput out = run_scenario(scenario_from(yaml));
  REQUIRE(out.violations.empty());
  REQUIRE(out.requests.size() == 1);
  CHECK(out.requests[0].outcome == RequestOutcome::Completed);
  CHECK(out.requests[0].first_token == first);
  CHECK(out.status.faults.replicas_failed == 1);
  CHECK(out.status.faults.requests_requeued == 0);  // it was on no replica: it moved
  CHECK(out.status.kv_transfers[0].transfers == 2);
  CHECK(out.metrics.models[1].cold_starts == 1);
  CHECK(out.requests[0].end > first + 131'072'000 + out.cold_starts.at(0).ready - out.cold_starts.at(0).placed);
}

TEST_CASE("disaggregated: bad input is an error naming the key", "[disaggregation][bad-input]") {
  TempDir dir;
  const std::string trace = dir.write("t.csv", "timestamp,model,input_tokens,output_tokens\n1.0,m,10,10\n");
  auto with = [&](const std::string& transfer, const std::string& decode = "{}") {
    return errors_of(disagg_yaml(trace, kOneNode, transfer, decode));
  };
  CHECK_THAT(with("{nvlink_bandwidth: fast}"), Catch::Contains("disaggregated.transfer.nvlink_bandwidth"));
  CHECK_THAT(with("{nvlink_bandwith: 1GB/s}"), Catch::Contains("did you mean nvlink_bandwidth"));
  CHECK_THAT(with("{}", "{gpus_per_replica: 0}"), Catch::Contains("disaggregated.decode.gpus_per_replica"));
  CHECK_THAT(with("{}", "{gpus_per_replica: 16}"), Catch::Contains("\"m/decode\" fits on no node"));
  CHECK_THAT(with("{}", "{pools: [b]}"), Catch::Contains("unknown pool \"b\""));
  CHECK_THAT(with("{}", "{autoscaler: {impl: nope}}"), Catch::Contains("disaggregated.decode.autoscaler"));
  CHECK_THAT(with("{}", "{replicas: 2}"), Catch::Contains("disaggregated.decode.replicas"));
  const std::string base = disagg_yaml(trace, kOneNode, "{}");
  auto replaced = [&](const std::string& from, const std::string& to) {
    std::string yaml = base;
    yaml.replace(yaml.find(from), from.size(), to);
    return errors_of(yaml);
  };
  CHECK_THAT(replaced("prefill: {}, ", ""), Catch::Contains("disaggregated.prefill: required key is missing"));
  CHECK_THAT(replaced("disaggregated: {", "disaggregated: {pool: 2, "), Catch::Contains("disaggregated.pool"));
  CHECK_THAT(replaced("disaggregated: {prefill: {}, decode: {}, transfer: {}}", "disaggregated: yes"),
             Catch::Contains("models[0].disaggregated"));
  CHECK_THAT(replaced("    kv_cache_per_token: 128KiB\n",
                      "    kv_cache_per_token: 128KiB\n    adapters: [{name: x, size: 1GB}]\n"),
             Catch::Contains("cannot have LoRA adapters"));
  CHECK_THAT(replaced("    parameters: 8e9\n    kv_cache_per_token: 128KiB\n",
                      "    kind: service-time\n    service_time: {dist: fixed, value: 1}\n"),
             Catch::Contains("only LLMs can be disaggregated"));
  CHECK_THAT(with("{}", "{autoscaler: {impl: oracle}}"), Catch::Contains("which a decode pool has none of"));
  // Real mode does not run it (yet).
  CHECK_THAT(real::real_mode_problems(scenario_from(base)).to_string(), Catch::Contains("models[0].disaggregated"));
  // The decode pool is no model a trace or workload may name.
  const std::string to_decode = dir.write("d.csv", "timestamp,model,input_tokens,output_tokens\n1.0,m/decode,10,10\n");
  CHECK_THAT(check_traces(scenario_from(disagg_yaml(to_decode, kOneNode, "{}"))).to_string(), Catch::Contains("m/decode"));
}

TEST_CASE("disaggregated: the shipped scenario keeps the invariants and is deterministic", "[disaggregation][invariants]") {
  const Scenario sc = load_scenario_file(std::string(FLEETSIM_SOURCE_DIR) + "/scenarios/disaggregated.yaml",
                                         registry()).scenario.value();
  RunOutput first = run_scenario(sc);
  RunOutput second = run_scenario(sc);
  REQUIRE(first.violations.empty());
  CHECK(first.ended == first.status.requests);
  CHECK(first.metrics.models[0].completed() > 500);
  const KvTransferCounts& k = first.status.kv_transfers.at(0);
  CHECK(k.transfers > 500);
  CHECK(k.queue.count() == first.metrics.models[0].tpot.count());  // every request with a decode
  CHECK(first.status.events == second.status.events);
  const std::string json = result_json(sc, registry(), first.metrics, first.status, "test");
  CHECK(json == result_json(sc, registry(), second.metrics, second.status, "test"));
  CHECK(json.find("\"kv_transfer\"") != std::string::npos);
  CHECK(json.find("\"other_pool\": \"llama-70b/decode\"") != std::string::npos);

  SECTION("co-located (the same file without `disaggregated`): no KV transfer, no NVLink link, one model") {
    LoadOptions options;
    options.overrides = {"models[0].disaggregated=null", "policies.autoscaler.replicas=4"};
    const Scenario co = load_scenario_file(std::string(FLEETSIM_SOURCE_DIR) + "/scenarios/disaggregated.yaml",
                                           registry(), options).scenario.value();
    REQUIRE(co.models.size() == 1);
    RunOutput out = run_scenario(co);
    REQUIRE(out.violations.empty());
    CHECK(out.status.kv_transfers.empty());
    const std::string plain = result_json(co, registry(), out.metrics, out.status, "test");
    CHECK(plain.find("kv_transfer") == std::string::npos);
    CHECK(plain.find("nvlink") == std::string::npos);
    CHECK(plain.find("\"disaggregated\": {") == std::string::npos);
  }
}
