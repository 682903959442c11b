// Placement, routing and cache policies: tie-breaks pinned, contracts checked, and every
// registered policy exercised in a run with the invariant checker (the registry loop means a
// new policy is covered without touching this file).
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "tests/support.hpp"

using namespace fleetsim;
using namespace fleetsim::test;

namespace {

std::vector<NodeView> cluster(const GpuType& gpu, std::vector<int> free_gpus) {
  std::vector<NodeView> nodes;
  for (std::size_t i = 0; i < free_gpus.size(); ++i) {
    NodeView n;
    n.id = static_cast<std::uint32_t>(i);
    n.gpu_type = &gpu;
    n.gpus.assign(8, GpuSlot{});
    for (int g = 0; g < 8 - free_gpus[i]; ++g) n.gpus[static_cast<std::size_t>(g)] = GpuSlot{gpu.memory_bytes * 0.9, 1};
    n.free_gpus = free_gpus[i];
    nodes.push_back(n);
  }
  return nodes;
}

PlacementAnswer place(const std::string& name, const std::vector<NodeView>& nodes, int gpus) {
  auto policy = registry().make_placement(PolicyChoice{name, {}});
  PlacementRequest request;
  request.gpus = gpus;
  request.memory_fraction = 0.9;
  return policy->place(request, ClusterView{0, nodes});
}

}  // namespace

TEST_CASE("placement policies choose as documented, with pinned tie-breaks", "[policies][placement]") {
  const GpuType& h100 = builtin_gpu_types()[0];
  auto nodes = cluster(h100, {3, 1, 8, 3, 2});
  // first-fit: lowest node id with room.
  REQUIRE(place("first-fit", nodes, 2)->node == 0);
  REQUIRE(place("first-fit", nodes, 4)->node == 2);
  // best-fit: fewest free GPUs that still fit; ties -> lowest id.
  REQUIRE(place("best-fit", nodes, 2)->node == 4);
  REQUIRE(place("best-fit", nodes, 3)->node == 0);
  REQUIRE(place("best-fit", nodes, 1)->node == 1);
  // spread: most free GPUs.
  REQUIRE(place("spread", nodes, 1)->node == 2);
  // GPUs are the lowest free ones.
  REQUIRE(place("first-fit", nodes, 2)->gpus == std::vector<int>{5, 6});
  REQUIRE_FALSE(place("best-fit", nodes, 9).has_value());
}

TEST_CASE("routers pick as documented", "[policies][routing]") {
  std::vector<RouteCandidate> c = {{0, 3, 3}, {1, 1, 1}, {2, 1, 1}, {3, 5, 5}};
  auto lo = registry().make_router(PolicyChoice{"least-outstanding", {}});
  REQUIRE(lo->route(c, RouteRequest{}) == 1);  // tie between 1 and 2 -> lowest id
  auto rr = registry().make_router(PolicyChoice{"round-robin", {}});
  std::vector<std::size_t> picks;
  for (int i = 0; i < 5; ++i) picks.push_back(rr->route(c, RouteRequest{}));
  REQUIRE(picks == std::vector<std::size_t>{0, 1, 2, 3, 0});
  // Per-model cursors.
  REQUIRE(rr->route(c, RouteRequest{7, 0, 0}) == 0);
}

TEST_CASE("least-tokens takes the fewest outstanding tokens, whatever the request count", "[policies][routing]") {
  // {replica, outstanding, running, has_adapter, outstanding_tokens}
  std::vector<RouteCandidate> c = {{0, 1, 1, false, 4000}, {1, 3, 3, false, 120}, {2, 3, 3, false, 120},
                                   {3, 1, 0, false, 250}};
  auto lt = registry().make_router(PolicyChoice{"least-tokens", {}});
  REQUIRE(lt->route(c, RouteRequest{}) == 1);  // 120 twice: lowest id
  // least-outstanding on the same: one request on 0 and on 3, lowest id.
  REQUIRE(registry().make_router(PolicyChoice{"least-outstanding", {}})->route(c, RouteRequest{}) == 0);
  c[3].outstanding_tokens = 119.5;  // a decode stretch's fraction counts
  REQUIRE(lt->route(c, RouteRequest{}) == 3);
  REQUIRE(lt->route(std::span<const RouteCandidate>(c).first(1), RouteRequest{}) == 0);
}

namespace {
std::unique_ptr<Router> power_of_two(std::uint64_t seed, bool by_tokens = false) {
  PolicyChoice choice{"power-of-two", {}};
  choice.params.set_number("by_tokens", by_tokens ? 1 : 0);
  PolicyRunInfo run;
  run.seed = seed;
  return registry().make_router(choice, run);
}
}  // namespace

TEST_CASE("power-of-two: the less loaded of two distinct draws, from a seeded stream", "[policies][routing]") {
  // One candidate: that one. Two: always the less loaded, the lower id on a tie.
  std::vector<RouteCandidate> two = {{0, 5, 5, false, 100}, {1, 2, 2, false, 900}};
  auto p2 = power_of_two(1);
  REQUIRE(p2->route(std::span<const RouteCandidate>(two).first(1), RouteRequest{}) == 0);
  for (int i = 0; i < 50; ++i) REQUIRE(p2->route(two, RouteRequest{}) == 1);
  REQUIRE(power_of_two(1, true)->route(two, RouteRequest{}) == 0);  // by tokens: 100 < 900
  two[1].outstanding = 5;
  for (int i = 0; i < 50; ++i) REQUIRE(p2->route(two, RouteRequest{}) == 0);

  // Five replicas with loads 4, 0, 3, 1, 2 (requests). Each pair is drawn with probability
  // 1/10 and its less loaded wins, so the replica of load rank k (0: least) is picked with
  // probability (4 - k) / 10, and the most loaded never.
  std::vector<RouteCandidate> five = {{0, 4, 4}, {1, 0, 0}, {2, 3, 3}, {3, 1, 1}, {4, 2, 2}};
  const std::vector<double> expected = {0.0, 0.4, 0.1, 0.3, 0.2};
  std::vector<int> picks(5, 0);
  auto router = power_of_two(7);
  // The draws as the policy makes them (its stream is RngStream(seed, "router/power-of-two")):
  // a first index, then one of the other four; the request never goes to the busier of the two.
  RngStream draws(7, "router/power-of-two");
  const int n = 20000;
  for (int i = 0; i < n; ++i) {
    std::size_t a = static_cast<std::size_t>(draws.below(5)), b = static_cast<std::size_t>(draws.below(4));
    if (b >= a) ++b;
    const std::size_t pick = router->route(five, RouteRequest{});
    REQUIRE((pick == a || pick == b));
    REQUIRE(five[pick].outstanding <= five[pick == a ? b : a].outstanding);
    ++picks[pick];
  }
  for (std::size_t i = 0; i < 5; ++i) CHECK(picks[i] / double(n) == Approx(expected[i]).margin(0.015));

  // Deterministic for a seed; another seed draws differently. Equal loads: the pick is the
  // lower of the two draws, so it shows the draws.
  const std::vector<RouteCandidate> even(8);
  auto sequence = [&](std::uint64_t seed) {
    auto r = power_of_two(seed);
    std::vector<std::size_t> out;
    for (int i = 0; i < 100; ++i) out.push_back(r->route(even, RouteRequest{}));
    return out;
  };
  REQUIRE(sequence(3) == sequence(3));
  REQUIRE(sequence(3) != sequence(4));
}

TEST_CASE("lru evicts the least recently used, then the oldest, then the lowest model id", "[policies][cache]") {
  auto lru = registry().make_cache(PolicyChoice{"lru", {}});
  NodeView node;
  std::vector<CacheEntry> entries = {{5, 1e9, 0, 30, 1}, {3, 1e9, 10, 20, 0}, {4, 1e9, 5, 20, 2}};
  REQUIRE(lru->victim(CacheTier::Disk, entries, node) == 2);  // last_used 20 twice: inserted 5 < 10
  entries[2].inserted = 10;
  REQUIRE(lru->victim(CacheTier::Disk, entries, node) == 1);  // all equal but model: 3 < 4
  REQUIRE(lru->admit(CacheTier::Disk, 0, 1e9, node));
  REQUIRE_FALSE(registry().make_cache(PolicyChoice{"none", {}})->admit(CacheTier::Disk, 0, 1e9, node));
}

TEST_CASE("the engine rejects a placement that over-commits a GPU, naming the policy", "[policies][contract]") {
  struct Greedy : PlacementPolicy {
    PlacementAnswer place(const PlacementRequest& r, const ClusterView&) override {
      return Placement{0, std::vector<int>(static_cast<std::size_t>(r.gpus), 0)};  // GPU 0 again and again
    }
  };
  Scenario sc = scenario_from(
      "duration: 1min\ncluster: {pools: [{name: a, nodes: 1, gpu: H100-80GB}]}\n"
      "policies: {autoscaler: {impl: fixed, replicas: 2}}\n"
      "models: [{name: m, parameters: 1e9, kv_cache_per_token: 1KiB}]\n"
      "workloads: [{model: m, arrivals: {process: poisson, rate: 1/s},"
      " input_tokens: {dist: fixed, value: 1}, output_tokens: {dist: fixed, value: 1}}]\n");
  SimulationSetup setup = build_setup(sc, registry());
  // The engine names the policy the scenario chose; the one that broke the contract here is
  // Greedy, so the scenario names it (the default, best-fit, never ran).
  setup.placement = std::make_unique<Greedy>();
  setup.scenario.placement.impl = "greedy";
  Simulation sim(std::move(setup));
  RunStatus status = sim.run();
  REQUIRE_FALSE(status.ok);
  REQUIRE_THAT(status.errors.to_string(), Catch::Contains("placement policy 'greedy'") &&
                                              Catch::Contains("over-committed GPU 0"));
  REQUIRE_THAT(status.errors.to_string(), !Catch::Contains("best-fit"));
}

TEST_CASE("every registered policy runs a scenario without breaking an invariant", "[policies][smoke]") {
  const std::string yaml =
      "duration: 20min\nseed: 9\n"
      "cluster: {pools: [{name: a, nodes: 2, gpu: H100-80GB, gpus_per_node: 4, disk_cache: 100GB}]}\n"
      "policies: {autoscaler: {impl: kpa, target_concurrency: 4}}\n"
      "models:\n"
      "  - {name: a, parameters: 8e9, kv_cache_per_token: 128KiB, image_size: 5GB}\n"
      "  - {name: b, parameters: 30e9, gpus_per_replica: 2, kv_cache_per_token: 256KiB, image_size: 5GB}\n"
      "  - {name: e, kind: service-time, memory_per_gpu: 2GiB, service_time: {dist: exponential, mean: 50ms}}\n"
      "workloads:\n"
      "  - {model: a, arrivals: {process: gamma, rate: 3/s, cv: 3},"
      " input_tokens: {dist: uniform, low: 10, high: 2000}, output_tokens: {dist: uniform, low: 1, high: 400}}\n"
      "  - {model: b, arrivals: {process: on-off, rate: 2/s, on: 3min, off: 4min},"
      " input_tokens: {dist: lognormal, median: 500, sigma: 1}, output_tokens: {dist: fixed, value: 50}}\n"
      "  - {model: e, arrivals: {process: poisson, rate: 10/s}}\n";
  const std::map<PolicyFamily, std::string> key = {{PolicyFamily::Placement, "policies.placement.impl"},
                                                    {PolicyFamily::Router, "policies.router.impl"},
                                                    {PolicyFamily::Batching, "policies.batching.impl"},
                                                    {PolicyFamily::Cache, "policies.cache.impl"},
                                                    {PolicyFamily::Autoscaler, "policies.autoscaler"}};
  for (const PolicyInfo& p : registry().all()) {
    if (p.family == PolicyFamily::Queue) continue;  // job policies: tests/test_jobs.cpp
    DYNAMIC_SECTION(family_name(p.family) << " " << p.name) {
      LoadOptions options;
      options.overrides = {p.family == PolicyFamily::Autoscaler ? key.at(p.family) + "={impl: " + p.name + "}"
                                                                : key.at(p.family) + "=" + p.name};
      RunOutput out = run_scenario(scenario_from(yaml, options));
      INFO(out.status.errors.to_string());
      REQUIRE(out.status.ok);
      for (const auto& v : out.violations) FAIL(v);
      REQUIRE(out.status.requests > 1000);
      REQUIRE(out.metrics.overall.completed() > out.status.requests * 9 / 10);
    }
  }
}

TEST_CASE("lfu evicts the least used, ties broken by recency then model id", "[policies][cache]") {
  auto lfu = registry().make_cache(PolicyChoice{"lfu", {}});
  NodeView node;
  //                                model bytes inserted last_used hits
  std::vector<CacheEntry> entries = {{1, 1e9, 0, 50, 3}, {2, 1e9, 0, 40, 1}, {3, 1e9, 0, 30, 1}};
  REQUIRE(lfu->victim(CacheTier::Disk, entries, node) == 2);  // hits 1 twice: last_used 30 < 40
  entries[2].last_used = 40;
  REQUIRE(lfu->victim(CacheTier::Disk, entries, node) == 1);  // all equal but model: 2 < 3
}

TEST_CASE("gdsf ages out entries: after an eviction, newcomers outrank old frequent ones", "[policies][cache]") {
  ParamValues p;
  p.set_number("size_aware", 1);
  auto gdsf = registry().make_cache(PolicyChoice{"gdsf", p});
  NodeView node;
  node.network_bandwidth = 1e9;
  // H = L + frequency / size (size-aware). A: 1 GB, used 3 times -> 4/1; B: 2 GB, new -> 1/2.
  CacheEntry a{1, 1e9, 0, 0, 0}, b{2, 2e9, 0, 0, 0}, c{3, 0.5e9, 0, 0, 0};
  gdsf->on_insert(CacheTier::Disk, a, node);
  for (int i = 1; i <= 3; ++i) {
    a.hits = static_cast<std::uint64_t>(i);
    gdsf->on_hit(CacheTier::Disk, a, node);
  }
  gdsf->on_insert(CacheTier::Disk, b, node);
  std::vector<CacheEntry> entries = {a, b};
  REQUIRE(gdsf->victim(CacheTier::Disk, entries, node) == 1);  // B: 0.5 < A: 4
  gdsf->on_evict(CacheTier::Disk, b, node);                     // L becomes 0.5 (x1e9 scale)
  gdsf->on_insert(CacheTier::Disk, c, node);                    // C: L + 1/0.5 = 0.5 + 2 = 2.5
  entries = {a, c};
  REQUIRE(gdsf->victim(CacheTier::Disk, entries, node) == 1);   // C 2.5 < A 4
  // Other tiers and nodes age separately.
  NodeView other;
  other.id = 1;
  other.network_bandwidth = 1e9;
  gdsf->on_insert(CacheTier::Disk, b, other);
  std::vector<CacheEntry> there = {b};
  REQUIRE(gdsf->victim(CacheTier::Disk, there, other) == 0);
}

TEST_CASE("pinned models are prefetched and never evicted", "[policies][cache]") {
  // One node with room for two 16 GB models; m0 pinned. Requests for m1, m2, m3 in turn each
  // need a cold start; LRU would have evicted m0 long ago.
  auto path = std::filesystem::temp_directory_path() / "fleetsim_test_pinned.csv";
  std::ofstream(path) << "timestamp,model,input_tokens,output_tokens\n"
                         "10,m1,10,2\n20,m2,10,2\n30,m3,10,2\n40,m0,10,2\n";
  std::string models;
  for (int i = 0; i < 4; ++i)
    models += "  - {name: m" + std::to_string(i) + ", parameters: 8e9, kv_cache_per_token: 128KiB}\n";
  Scenario sc = scenario_from(
      "duration: 10min\nwarm_start: false\n"
      "cluster: {pools: [{name: a, nodes: 1, gpu: H100-80GB, gpus_per_node: 4, disk_cache: 33GB}]}\n"
      "policies: {cache: {impl: pinned, models: m0}, autoscaler: {impl: kpa, initial_scale: 0}}\n"
      "models:\n" + models + "workloads: [{trace: " + path.string() + "}]\n");
  RunOutput out = run_scenario(sc);
  REQUIRE(out.violations.empty());
  REQUIRE(out.cold_starts.size() == 4);
  for (const auto& c : out.cold_starts) {
    INFO("model " << c.replica.model);
    REQUIRE(c.source == (c.replica.model == 0 ? WeightSource::DiskCache : WeightSource::ModelStore));
  }
  // An unknown name in the list is an input error.
  REQUIRE_THAT(errors_of("duration: 1h\ncluster: {pools: [{name: a, nodes: 1, gpu: H100-80GB}]}\n"
                         "policies: {cache: {impl: pinned, models: m9}}\n"
                         "models: [{name: m0, parameters: 8e9, kv_cache_per_token: 128KiB}]\n"
                         "workloads: [{model: m0, arrivals: {process: poisson, rate: 1/s},"
                         " input_tokens: {dist: fixed, value: 1}, output_tokens: {dist: fixed, value: 1}}]\n"),
               Catch::Contains("policies.cache.models: unknown model \"m9\", did you mean m0?"));
}

TEST_CASE("cache-affinity takes the node where the replica loads fastest", "[policies][placement]") {
  const GpuType& h100 = builtin_gpu_types()[0];  // host-to-device 50 GB/s
  auto nodes = cluster(h100, {8, 8, 8, 2});
  for (auto& n : nodes) {
    n.network_bandwidth = 10e9;
    n.disk_read_bandwidth = 5e9;
  }
  PlacementRequest request;
  request.model = 7;
  request.gpus = 1;
  request.memory_fraction = 0.9;
  request.weight_bytes = 16e9;
  request.image_bytes = 10e9;
  auto policy = registry().make_placement(PolicyChoice{"cache-affinity", {}});
  ClusterView view{0, nodes};
  view.model_store_bandwidth = 1e30;
  view.registry_bandwidth = 1e30;
  // Nothing cached anywhere: all equal (1 s pull + 1.6 s load) -> bin-packing: node 3.
  REQUIRE(policy->place(request, view)->node == 3);
  // Node 1 has the weights on disk (16 GB at 5 GB/s = 3.2 s, plus a 1 s pull = 4.2 s) — slower
  // than the store over a free 10 GB/s link (2.6 s). Node 2 has image and weights in memory.
  nodes[1].disk_cache.push_back(CacheEntry{7, 16e9, 0, 0, 0});
  REQUIRE(policy->place(request, view)->node == 3);
  nodes[2].images.push_back(7);
  nodes[2].host_cache.push_back(CacheEntry{7, 16e9, 0, 0, 0});
  REQUIRE(policy->place(request, view)->node == 2);  // 16 GB at 50 GB/s: 0.32 s
  // Busy links count: with four transfers on node 3's network, its share is 2 GB/s.
  nodes[2].host_cache.clear();
  nodes[2].images.clear();
  nodes[3].network_transfers = 4;
  REQUIRE(policy->place(request, view)->node == 0);  // nodes 0 and 2 tie at 2.6 s: fewer free GPUs? both 8 -> lowest id
}

TEST_CASE("a cache policy's scale-up prefetch warms another node's disk in the background", "[policies][cache]") {
  // When a replica starts on node 0, the policy asks for node 1 to be warmed: 16 GB over node
  // 1's 10 GB/s link arrive at 1.6 s and land in its disk cache; node 1 never ran a replica.
  struct WarmNeighbour : CachePolicy {
    bool admit(CacheTier, std::uint32_t, double, const NodeView&) override { return true; }
    std::size_t victim(CacheTier, std::span<const CacheEntry>, const NodeView&) override { return kKeepAll; }
    std::vector<std::uint32_t> prefetch_on_scale_up(std::uint32_t, const ClusterView&) override { return {1}; }
  };
  struct InsertLog : SimObserver {
    std::vector<std::pair<SimTime, std::uint32_t>> inserts;
    void on_cache(SimTime now, std::uint32_t node, std::uint32_t, CacheEvent e) override {
      if (e == CacheEvent::Insert) inserts.push_back({now, node});
    }
  };
  Scenario sc = scenario_from(
      "duration: 1min\nwarm_start: false\n"
      "cluster: {pools: [{name: a, nodes: 2, gpu: H100-80GB, disk_cache: 100GB, network_bandwidth: 10GB/s}]}\n"
      "policies: {placement: {impl: first-fit}, autoscaler: {impl: fixed, replicas: 1}}\n"
      "models: [{name: m, parameters: 8e9, kv_cache_per_token: 128KiB, image_size: 0GB}]\n"
      "workloads: [{model: m, arrivals: {process: poisson, rate: 1/s},"
      " input_tokens: {dist: fixed, value: 10}, output_tokens: {dist: fixed, value: 2}}]\n");
  SimulationSetup setup = build_setup(sc, registry());
  setup.cache = std::make_unique<WarmNeighbour>();
  Simulation sim(std::move(setup));
  InsertLog log;
  sim.add_observer(&log);
  REQUIRE(sim.run().ok);
  REQUIRE(sim.nodes()[1].has_cached(0));
  REQUIRE(sim.nodes()[1].replicas == 0);
  // Node 0's own load and node 1's prefetch share the store but not a node link: both 1.6 s.
  REQUIRE(std::find(log.inserts.begin(), log.inserts.end(), std::make_pair(1600 * kMillisecond, 1u)) !=
          log.inserts.end());
}
