// KV offload tiers (README "KV offload tiers"; sim/kv_offload.cpp): blocks evicted from a
// replica's prefix cache go to host memory, the node's disk or a shared store, and a later hit
// there is loaded back when that beats recomputing — hand-computed TTFTs for each tier and for
// the load-or-recompute decision both ways, bad input, determinism and invariants on a shipped
// scenario with a small GPU cache.
#include <catch2/catch.hpp>

#include <cmath>
#include <string>
#include <vector>

#include "sim/llm_perf_model.hpp"
#include "tests/support.hpp"

using namespace fleetsim;
using namespace fleetsim::test;

namespace {

SimTime ceil_ns(double seconds) { return static_cast<SimTime>(std::ceil(seconds * 1e9)); }

// One 8B replica on an H100 with 0.19 of its memory: (0.19 × 80 GiB − 16 GB) / 128 KiB = 2,448
// tokens of KV cache, 4 blocks of 512 tokens; prefix blocks of 512 tokens (64 MiB each). The
// trace: A (prefix a1 a2 a3) at 1 s; B (b1 b2 b3) at 2 s; C (A's prompt again) at 2.01 s, while
// B prefills. Each has 1,536 prompt tokens and 1 output token (4 KV blocks: one at a time).
// When B's prefill ends the cache holds a1..a3 and b1..b3 in 4 blocks of room: the two least
// recently used, a3 then a2, are evicted (a1, touched last when A's blocks went in, stays); then
// C is admitted: a1 in the KV cache, a2 and a3 in the offload tiers.
std::string yaml_for(const std::string& trace, const std::string& offload, const std::string& extra = "",
                     const std::string& pool_extra = "") {
  return "duration: 1h\nwarm_start: true\n" + extra +
         "cluster:\n  pools:\n    - {name: a, nodes: 1, gpu: H100-80GB, gpus_per_node: 1" + pool_extra + "}\n"
         "performance: {compute_efficiency: 0.5, memory_efficiency: 0.5, iteration_overhead: 0s}\n"
         "policies: {placement: {impl: first-fit}, autoscaler: {impl: fixed, replicas: 1}}\n"
         "models:\n  - {name: m, parameters: 8e9, kv_cache_per_token: 128KiB, gpu_memory_utilization: 0.19,\n"
         "     kv_block_size: 512, prefix_block_tokens: 512" +
         (offload.empty() ? "" : ", kv_offload: " + offload) + "}\n"
         "workloads:\n  - trace: " + trace + "\n";
}

const std::string kTrace =
    "timestamp,model,input_tokens,output_tokens,prefix_hashes\n"
    "1.0,m,1536,1,11 12 13\n"
    "2.0,m,1536,1,21 22 23\n"
    "2.01,m,1536,1,11 12 13\n";

constexpr double kBlockBytes = 512.0 * 131072;  // 64 MiB

struct Case {
  Scenario sc;
  RunOutput out;
  LlmPerfModel perf;
  SimTime queue = 0;  // C's wait for B's prefill
  SimTime ttft_c() const { return out.requests[2].end - out.requests[2].arrival; }
};

Case run_case(const TempDir& dir, const std::string& offload, const std::string& extra = "",
              const std::string& pool_extra = "") {
  Scenario sc = scenario_from(yaml_for(dir.write("t.csv", kTrace), offload, extra, pool_extra));
  RunOutput out = run_scenario(sc);
  LlmPerfModel perf(sc.models[0], sc.gpu_types[0], sc.perf);
  Case c{sc, out, perf};
  REQUIRE(c.out.violations.empty());
  REQUIRE(c.out.requests.size() == 3);
  // The setting the hand computation rests on: 4 blocks of KV cache, C queued behind B.
  REQUIRE(std::floor(perf.kv_capacity_tokens() / 512) == 4);
  const SimTime b_end = 2 * kSecond + ceil_ns(perf.prefill_seconds(1536));
  REQUIRE(c.out.requests[1].end == b_end);
  c.queue = b_end - c.out.requests[2].arrival;
  REQUIRE(c.queue > 0);
  return c;
}

}  // namespace

// The times the decision compares for C (prompt 1,536 tokens, a1 cached): loading k of a2, a3
// (each `load_a2`, `load_a3` seconds) and computing the rest: 1,024, 512 or 1 token (one is
// always computed).
struct Costs {
  double none, one, both;
};
Costs costs_of(const LlmPerfModel& perf, double load_a2, double load_a3) {
  return {perf.prefill_seconds(1024), load_a2 + perf.prefill_seconds(512), load_a2 + load_a3 + perf.prefill_seconds(1)};
}

TEST_CASE("kv offload: a repeated prompt's evicted blocks load back from host memory", "[kv-offload]") {
  TempDir dir;
  SECTION("without tiers C recomputes what was evicted") {
    Case c = run_case(dir, "");
    CHECK(c.ttft_c() == c.queue + ceil_ns(c.perf.prefill_seconds(1024)));
    CHECK(c.out.status.kv[0].prefix_hit_tokens == 512);
    CHECK(c.out.status.kv[0].prefix_evicted_blocks == 4);  // a3, a2 when B ends; b3, b2 when C ends
    CHECK(c.out.status.kv[0].offload[kTierHostMemory].offloaded_blocks == 0);
  }
  SECTION("with host memory C loads a2 and a3 and computes one token") {
    Case c = run_case(dir, "{host_memory: 1GiB}");
    const double load = kBlockBytes / 50e9;  // H100's host-to-device rate (sim/gpu_catalog.cpp), 1 GPU
    const Costs k = costs_of(c.perf, load, load);  // 33.1 ms, 17.9 ms, 12.2 ms
    REQUIRE(k.both < k.one);
    REQUIRE(k.one < k.none);
    CHECK(c.ttft_c() == c.queue + ceil_ns(c.perf.prefill_seconds(1) + (load + load)));
    const KvCounts& kv = c.out.status.kv[0];
    CHECK(kv.prefix_evicted_blocks == 4);  // a3, a2 when B ends; b3, b2 when C ends
    CHECK(kv.offload[kTierHostMemory].offloaded_blocks == 4);
    CHECK(kv.offload[kTierHostMemory].loaded_blocks == 2);
    CHECK(kv.offload[kTierHostMemory].hit_tokens == 1023);  // 512 + 511 (one token is computed)
    CHECK(kv.offload[kTierHostMemory].bytes_loaded == 2 * kBlockBytes);
    CHECK(kv.offload[kTierHostMemory].load_seconds == Approx(2 * load));
    CHECK(kv.prefix_hit_tokens == 512 + 1023);
    CHECK(kv.offload_declined_tokens == 0);
    CHECK(kv.offload[kTierDisk].offloaded_blocks == 0);
  }
}

TEST_CASE("kv offload: loading or recomputing, whichever is faster", "[kv-offload]") {
  TempDir dir;
  SECTION("a slow link: recomputing both blocks wins") {
    Case c = run_case(dir, "{host_memory: 1GiB}", "gpu_types:\n  - {name: H100-80GB, host_to_device_bandwidth: 1GB/s}\n");
    const double load = kBlockBytes / 1e9;
    const Costs k = costs_of(c.perf, load, load);
    REQUIRE(k.none < k.one);
    REQUIRE(k.none < k.both);
    CHECK(c.ttft_c() == c.queue + ceil_ns(c.perf.prefill_seconds(1024)));
    CHECK(c.out.status.kv[0].offload[kTierHostMemory].loaded_blocks == 0);
    CHECK(c.out.status.kv[0].offload[kTierHostMemory].load_seconds == 0);
    CHECK(c.out.status.kv[0].offload_declined_tokens == 1023);
    CHECK(c.out.status.kv[0].prefix_hit_tokens == 512);
  }
  SECTION("in between: loading a2 and computing a3 wins") {
    Case c = run_case(dir, "{host_memory: 1GiB}", "gpu_types:\n  - {name: H100-80GB, host_to_device_bandwidth: 6GB/s}\n");
    const double load = kBlockBytes / 6e9;  // 11.2 ms: 33.1, 27.8, 31.9 ms
    const Costs k = costs_of(c.perf, load, load);
    REQUIRE(k.one < k.none);
    REQUIRE(k.one < k.both);
    CHECK(c.ttft_c() == c.queue + ceil_ns(c.perf.prefill_seconds(512) + load));
    CHECK(c.out.status.kv[0].offload[kTierHostMemory].loaded_blocks == 1);
    CHECK(c.out.status.kv[0].offload[kTierHostMemory].hit_tokens == 512);
    CHECK(c.out.status.kv[0].offload_declined_tokens == 511);
  }
}

TEST_CASE("kv offload: host memory passes its evictions to disk, disk to the shared store", "[kv-offload]") {
  // A load from the disk or the store is a transfer on the node's link: C waits for it (alone on
  // the link: bytes / bandwidth, its end rounded up to the nanosecond), then its step computes
  // one token, with the host-memory block's copy added to that step.
  TempDir dir;
  const double host = kBlockBytes / 50e9;
  SECTION("disk") {
    // Host memory holds one block: a3 (evicted first, the older) goes on to the node's disk.
    Case c = run_case(dir, "{host_memory: 64MiB, disk: 1GiB}", "", ", disk_read_bandwidth: 20GB/s");
    const double disk = kBlockBytes / 20e9;
    const Costs k = costs_of(c.perf, host, disk);  // 33.1, 17.9, 14.2 ms
    REQUIRE(k.both < k.one);
    CHECK(c.ttft_c() == c.queue + ceil_ns(disk) + ceil_ns(c.perf.prefill_seconds(1) + host));
    const KvCounts& kv = c.out.status.kv[0];
    // When B ends, a3 and a2 leave the KV cache (a3 goes on to the disk when a2 comes). C, waiting
    // for a3, holds its 3 prompt blocks, so when a3 lands the cache keeps 1 block of 6: b3, b2,
    // b1 and two of a1..a3 go down, host memory taking 4 new ones (a2 is there already) and
    // passing 3 new ones to the disk (a3 is there).
    CHECK(kv.offload[kTierHostMemory].offloaded_blocks == 6);
    CHECK(kv.offload[kTierDisk].offloaded_blocks == 4);
    CHECK(kv.offload[kTierHostMemory].hit_tokens == 512);
    CHECK(kv.offload[kTierDisk].hit_tokens == 511);
    CHECK(kv.offload[kTierDisk].load_seconds == Approx(disk));
    CHECK(kv.offload[kTierDisk].bytes_loaded == kBlockBytes);
    bool carried = false;  // the node's disk link moved the block
    for (const LinkUsage& l : c.out.status.links)
      if (l.name == "node-0/disk") carried = l.bytes == Approx(kBlockBytes);
    CHECK(carried);
  }
  SECTION("a slow disk: only the host-memory block is worth loading") {
    Case c = run_case(dir, "{host_memory: 64MiB, disk: 1GiB}", "", ", disk_read_bandwidth: 2GB/s");
    const Costs k = costs_of(c.perf, host, kBlockBytes / 2e9);  // 33.1, 17.9, 44.5 ms
    REQUIRE(k.one < k.both);
    CHECK(c.ttft_c() == c.queue + ceil_ns(c.perf.prefill_seconds(512) + host));
    CHECK(c.out.status.kv[0].offload[kTierDisk].loaded_blocks == 0);
    CHECK(c.out.status.kv[0].offload_declined_tokens == 511);
  }
  SECTION("shared store, over the node's network link") {
    Case c = run_case(dir, "{host_memory: 64MiB, shared_store: 1GiB}", "", ", network_bandwidth: 100Gbit/s");
    const double store = kBlockBytes / 12.5e9;
    const Costs k = costs_of(c.perf, host, store);  // 33.1, 17.9, 16.3 ms
    REQUIRE(k.both < k.one);
    CHECK(c.ttft_c() == c.queue + ceil_ns(store) + ceil_ns(c.perf.prefill_seconds(1) + host));
    CHECK(c.out.status.kv[0].offload[kTierSharedStore].load_seconds == Approx(ceil_ns(store) * 1e-9));
    CHECK(c.out.status.kv[0].offload[kTierSharedStore].offloaded_blocks == 4);  // (as on the disk above)
    CHECK(c.out.status.kv[0].offload[kTierSharedStore].hit_tokens == 511);
  }
}

TEST_CASE("kv offload: a shared-store load shares the node's network link with a weight download", "[kv-offload]") {
  // The run_case setting with the shared store as the only tier (a2 and a3 both go there) and a
  // 100 Gbit/s (12.5 GB/s) node link, on a node of two GPUs. A second model, w (16 GB of weights,
  // scaled from zero, no image), gets a request at 1.5 s: its replica downloads its weights from
  // the model store over the same link while C's load runs. Both transfers get half the link
  // (6.25 GB/s; the replicas' 50 GB/s host-to-device caps do not bind).
  TempDir dir;
  auto yaml = [&](bool download) {
    std::string trace = kTrace;
    if (download) trace.insert(trace.find("2.0,m"), "1.5,w,10,1,\n");
    std::string y = yaml_for(dir.write("t.csv", trace),
                             "{shared_store: 1GiB}", "", ", gpus_per_node: 2, network_bandwidth: 100Gbit/s");
    y.replace(y.find("gpus_per_node: 1, "), 18, "");  // (the pool's gpus_per_node is set above)
    y.replace(y.find("workloads:"), 0,
              "  - {name: w, parameters: 8e9, kv_cache_per_token: 128KiB, image_size: 0B,\n"
              "     autoscaler: {impl: kpa, initial_scale: 0}}\n");
    return y;
  };
  const double link = 12.5e9, store_alone = kBlockBytes / link, store_shared = kBlockBytes / (link / 2);

  SECTION("alone on the link: C loads both blocks") {
    const Scenario sc = scenario_from(yaml(false));
    RunOutput out = run_scenario(sc);
    REQUIRE(out.violations.empty());
    LlmPerfModel perf(sc.models[0], sc.gpu_types[0], sc.perf);
    REQUIRE(std::floor(perf.kv_capacity_tokens() / 512) == 4);
    const SimTime b_end = 2 * kSecond + ceil_ns(perf.prefill_seconds(1536));
    REQUIRE(by_serial(out, 1).end == b_end);
    // Loading a2 and a3 (the estimate: the whole link) beats loading a2 or neither.
    const Costs k = costs_of(perf, store_alone, store_alone);  // 33.1, 22.3, 20.2 ms
    REQUIRE(k.both < k.one);
    REQUIRE(k.both < k.none);
    CHECK(by_serial(out, 2).end == b_end + ceil_ns(2 * store_alone) + ceil_ns(perf.prefill_seconds(1)));
    CHECK(out.status.kv[0].offload[kTierSharedStore].loaded_blocks == 2);
  }
  SECTION("beside a weight download: half the link, C loads one block and computes the other") {
    const Scenario sc = scenario_from(yaml(true));
    RunOutput out = run_scenario(sc);
    for (const auto& v : out.violations) FAIL(v);
    REQUIRE(out.violations.empty());
    LlmPerfModel perf(sc.models[0], sc.gpu_types[0], sc.perf);
    const SimTime b_end = 2 * kSecond + ceil_ns(perf.prefill_seconds(1536));
    REQUIRE(by_serial(out, 2).end == b_end);  // (serials: A, w's request, B, C)
    // w's download: from the start of its LoadingWeights phase to the start of its engine's.
    SimTime w_start = 0, w_end = 0;
    for (const PhaseEvent& p : out.phases)
      if (p.replica.model == 1 && p.phase == ReplicaPhase::LoadingWeights) w_start = p.time;
      else if (p.replica.model == 1 && p.phase == ReplicaPhase::StartingEngine) w_end = p.time;
    const double weights = sc.models[1].weight_bytes();  // 16 GB: 1.28 s alone
    REQUIRE(w_start > 0);
    REQUIRE(w_start < b_end);
    REQUIRE(static_cast<double>(w_start) + weights / link * 1e9 > static_cast<double>(b_end) + 1e7);  // still going
    // At C's admission the link holds the download: the estimate is half of it, so loading a2
    // and computing a3 wins.
    const Costs k = costs_of(perf, store_shared, store_shared);  // 33.1, 27.3, 31.0 ms
    REQUIRE(k.one < k.both);
    REQUIRE(k.one < k.none);
    // C's load moves at 6.25 GB/s from b_end; it lands 10.7 ms later and C computes 512 tokens.
    const double landed = static_cast<double>(b_end) + kBlockBytes / (link / 2) * 1e9;
    CHECK(static_cast<double>(by_serial(out, 3).end) ==
          Approx(landed + static_cast<double>(ceil_ns(perf.prefill_seconds(512)))).margin(2));
    // The download: alone until b_end, at half the link while C's block moves, alone again.
    const double alone_before = link * to_seconds(b_end - w_start);
    const double during = (link / 2) * (landed - static_cast<double>(b_end)) * 1e-9;
    const double download_end = landed + (weights - alone_before - during) / link * 1e9;
    CHECK(static_cast<double>(w_end) == Approx(download_end).margin(2));
    const KvCounts& kv = out.status.kv[0];
    CHECK(kv.offload[kTierSharedStore].loaded_blocks == 1);
    CHECK(kv.offload[kTierSharedStore].hit_tokens == 512);
    CHECK(kv.offload_declined_tokens == 511);
    CHECK(kv.offload[kTierSharedStore].load_seconds == Approx(store_shared).epsilon(1e-6));
    bool carried = false;  // the node's network link moved the weights and the block
    for (const LinkUsage& l : out.status.links)
      if (l.name == "node-0/network") carried = l.bytes == Approx(weights + kBlockBytes);
    CHECK(carried);
  }
}

TEST_CASE("kv offload: a replica that fails while a request waits for its load cancels the load", "[kv-offload][faults]") {
  // The run_case setting with the shared store only: C's two blocks start moving when B ends
  // (2.05 s) and take 10.7 ms at 12.5 GB/s. The replica is killed at 2.052 s, mid-load: the load
  // is cancelled (no load time counted, nothing lands), C is re-queued and runs on the fixed
  // autoscaler's new replica after its cold start.
  TempDir dir;
  const std::string yaml = yaml_for(dir.write("t.csv", kTrace), "{shared_store: 1GiB}",
                                    "faults:\n  - {kill_replica: 0, at: 2.052s}\n", ", network_bandwidth: 100Gbit/s");
  const Scenario sc = scenario_from(yaml);
  RunOutput out = run_scenario(sc);
  for (const auto& v : out.violations) FAIL(v);
  REQUIRE(out.requests.size() == 3);
  LlmPerfModel perf(sc.models[0], sc.gpu_types[0], sc.perf);
  const SimTime b_end = 2 * kSecond + ceil_ns(perf.prefill_seconds(1536));
  REQUIRE(by_serial(out, 1).end == b_end);
  REQUIRE(b_end < 2'052'000'000);
  REQUIRE(b_end + ceil_ns(2 * kBlockBytes / 12.5e9) > 2'052'000'000);  // the kill falls mid-load
  const RequestResult& c = by_serial(out, 2);
  CHECK(c.outcome == RequestOutcome::Completed);
  CHECK(c.end > 2 * kSecond + 10 * kSecond);  // after the new replica's cold start (16 GB of weights, engine start)
  const KvCounts& kv = out.status.kv[0];
  // Counted at the admission that decided them, as every hit is (a readmitted request is counted
  // again): a2 and a3, 1,023 tokens. On the new replica a1 is in no tier (it went with the failed
  // replica's KV cache), so nothing after it is loadable: C computes its whole prompt there.
  CHECK(kv.offload[kTierSharedStore].loaded_blocks == 2);
  CHECK(kv.offload[kTierSharedStore].hit_tokens == 1023);
  CHECK(kv.offload[kTierSharedStore].load_seconds == 0);  // it never landed
  CHECK(kv.prefix_hit_tokens == 512 + 1023);
  CHECK(out.status.faults.replicas_failed == 1);
}

TEST_CASE("kv offload: bad input is an error naming the key", "[kv-offload][bad-input]") {
  TempDir dir;
  const std::string trace = dir.write("t.csv", kTrace);
  CHECK_THAT(errors_of(yaml_for(trace, "{host_memroy: 1GiB}")),
             Catch::Contains("kv_offload.host_memroy") && Catch::Contains("host_memory"));
  CHECK_THAT(errors_of(yaml_for(trace, "{disk: 100}")), Catch::Contains("kv_offload.disk"));
  CHECK_THAT(errors_of(yaml_for(trace, "{disk: -1GiB}")), Catch::Contains("kv_offload.disk"));
  CHECK_THAT(errors_of(yaml_for(trace, "{shared_store: 1MiB}")),
             Catch::Contains("kv_offload.shared_store") && Catch::Contains("holds no prefix block") &&
                 Catch::Contains("67108864"));
  CHECK_THAT(errors_of(yaml_for(trace, "{host_memory: 1GiB}, prefix_caching: false")),
             Catch::Contains("kv_offload") && Catch::Contains("prefix_caching"));
  CHECK_THAT(errors_of(yaml_for(trace, "4GiB")), Catch::Contains("kv_offload"));
  // All tiers 0: no offload, and no error.
  const Scenario none = scenario_from(yaml_for(trace, "{host_memory: 0B, disk: 0B}"));
  CHECK_FALSE(none.models[0].kv_offload());
}

TEST_CASE("kv offload: a shipped scenario with a small GPU cache runs the same twice, within its invariants",
          "[kv-offload]") {
  LoadOptions options;
  options.overrides = {"duration=4min", "models[0].gpu_memory_utilization=0.25",
                       "models[0].kv_offload.host_memory=8GiB", "models[0].kv_offload.disk=40GiB",
                       "models[0].kv_offload.shared_store=100GiB", "cluster.pools[0].disk_read_bandwidth=7GB/s"};
  const Scenario sc = scenario_from(read_file(std::string(FLEETSIM_SOURCE_DIR) + "/scenarios/prefix-cache.yaml"), options);
  REQUIRE(sc.models[0].kv_offload());
  RunOutput a = run_scenario(sc);
  RunOutput b = run_scenario(sc);
  CHECK(a.violations.empty());
  CHECK(a.ended == a.status.requests);
  const KvCounts& kv = a.status.kv[0];
  std::uint64_t tier_hits = 0;
  for (const KvCounts::Tier& t : kv.offload) {
    tier_hits += t.hit_tokens;
    CHECK(t.bytes_loaded == Approx(t.loaded_blocks * 256.0 * 131072));
    CHECK(t.hit_tokens <= t.loaded_blocks * 256);
  }
  CHECK(kv.offload[kTierHostMemory].offloaded_blocks > 0);
  CHECK(kv.offload[kTierHostMemory].hit_tokens > 0);  // the scenario exercises the tiers
  CHECK(kv.offload[kTierDisk].hit_tokens > 0);        // (loads on the shared links)
  CHECK(kv.offload[kTierSharedStore].hit_tokens > 0);
  CHECK(tier_hits <= kv.prefix_hit_tokens);
  CHECK(kv.prefix_hit_tokens <= kv.prompt_tokens);
  CHECK(kv.offload[kTierHostMemory].offloaded_blocks <= kv.prefix_evicted_blocks);
  // Determinism: the same requests end at the same instants, and the counts agree.
  REQUIRE(a.requests.size() == b.requests.size());
  bool same = true;
  for (std::size_t i = 0; i < a.requests.size(); ++i) same = same && a.requests[i].end == b.requests[i].end;
  CHECK(same);
  CHECK(a.status.events == b.status.events);
  CHECK(b.status.kv[0].offload[kTierDisk].hit_tokens == kv.offload[kTierDisk].hit_tokens);
  CHECK(b.status.kv[0].offload_declined_tokens == kv.offload_declined_tokens);

  // Offload only adds hits: the same run without tiers hits less.
  LoadOptions plain = options;
  plain.overrides.resize(2);
  RunOutput off = run_scenario(scenario_from(read_file(std::string(FLEETSIM_SOURCE_DIR) + "/scenarios/prefix-cache.yaml"), plain));
  CHECK(off.status.kv[0].prefix_hit_tokens < kv.prefix_hit_tokens);
}
