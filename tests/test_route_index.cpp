// Routing without a pass over every ready replica (issue 14): the route index (sim/route_index.hpp)
// and the routers that read it through ReadyReplicas (policies/routing/router.hpp). Checked
// against brute force: (1) on random sequences of replicas becoming ready, leaving and changing
// counts, the index's least loaded is always what a scan finds; (2) each built-in router's
// route_ready() picks what its route() picks on the same replicas; (3) whole runs — autoscaling,
// a paged KV cache under pressure, LoRA adapters, a killed replica, a service-time model — route
// every request to the same replica, byte for byte the same results, whether the engine serves
// the router from its index or builds every candidate for it.
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <string>

#include "scenarios/loader/build.hpp"
#include "sim/route_index.hpp"
#include "sim/rng.hpp"
#include "tests/support.hpp"

using namespace fleetsim;
using namespace fleetsim::test;

namespace {

// The replicas a RouteIndex holds, kept plainly: model -> (id -> counts), scanned in id order.
struct Plain {
  struct Counts {
    std::uint32_t slot;
    int outstanding;
    double tokens;
  };
  std::vector<std::map<std::uint32_t, Counts>> models;

  // The slot a scan in ascending id with `<` picks: the first of the least loaded.
  template <class Load>
  std::uint32_t scan(std::uint32_t model, Load load) const {
    const auto& m = models[model];
    if (m.empty()) return RouteIndex::kNone;
    auto best = m.begin();
    for (auto it = std::next(m.begin()); it != m.end(); ++it)
      if (load(it->second) < load(best->second)) best = it;
    return best->second.slot;
  }
};

// Token counts as the engine makes them: whole numbers, halves, running sums with rounding,
// ties, zero of both signs.
double random_tokens(RngStream& rng) {
  switch (rng.below(6)) {
    case 0: return 0.0;
    case 1: return -0.0;
    case 2: return static_cast<double>(rng.below(5));
    case 3: return static_cast<double>(rng.below(4000)) / 2;
    case 4: return 0.1 * static_cast<double>(rng.below(30)) + 0.2;  // 0.1 + 0.2 != 0.3
    default: return rng.uniform() * 1e4;
  }
}

// Random joins, leaves and count changes on `models` models over `slots` engine slots, `steps` of
// them; after each, every model's least loaded (rank and slot) is what a scan in id order finds.
// Returns the most replicas a model had.
std::size_t check_against_scan(std::uint64_t seed, std::uint32_t models, std::uint32_t slots, int steps, bool keep_outstanding,
                        bool keep_tokens) {
  RngStream rng(seed, "route-index");
  RouteIndex index(models, keep_outstanding, keep_tokens);
  Plain plain;
  plain.models.resize(models);
  std::vector<std::uint32_t> model_of(slots, RouteIndex::kNone), id_of(slots, 0);
  std::uint32_t next_id = 0;
  std::size_t most = 0;
  auto rank_of = [&](std::uint32_t slot) {  // its position in its model's ready list (ids ascending)
    const auto& m = plain.models[model_of[slot]];
    return static_cast<std::uint32_t>(std::distance(m.begin(), m.find(id_of[slot])));
  };
  for (int step = 0; step < steps; ++step) {
    const auto slot = static_cast<std::uint32_t>(rng.below(slots));
    const double what = rng.uniform();
    if (model_of[slot] == RouteIndex::kNone) {
      if (what < 0.5) {  // becomes ready, with a fresh (higher) id, counts possibly not zero
        const auto model = static_cast<std::uint32_t>(rng.below(models));
        const int outstanding = static_cast<int>(rng.below(4));
        const double tokens = random_tokens(rng);
        model_of[slot] = model;
        // Mostly the newest id, as replicas placed last tend to be ready last; sometimes an id
        // between the others' (a replica that started faster than one placed before it).
        id_of[slot] = rng.uniform() < 0.8 ? (next_id += 8) : static_cast<std::uint32_t>(rng.below(next_id + 1)) | 1;
        if (plain.models[model].count(id_of[slot])) id_of[slot] = (next_id += 8);
        plain.models[model][id_of[slot]] = {slot, outstanding, tokens};
        index.insert(model, rank_of(slot), slot, outstanding, tokens);
      } else {
        index.update(static_cast<std::uint32_t>(rng.below(models)), 1u << 30, 5, 5.0);  // no such rank: nothing happens
      }
    } else if (what < 0.08) {  // stops being ready
      index.erase(model_of[slot], rank_of(slot));
      plain.models[model_of[slot]].erase(id_of[slot]);
      model_of[slot] = RouteIndex::kNone;
    } else {  // its counts change (or are reported unchanged)
      Plain::Counts& c = plain.models[model_of[slot]].at(id_of[slot]);
      if (what < 0.5) c.outstanding = std::max(0, c.outstanding + static_cast<int>(rng.below(5)) - 2);
      if (what > 0.3) c.tokens = rng.uniform() < 0.2 ? c.tokens : random_tokens(rng);
      index.update(model_of[slot], rank_of(slot), c.outstanding, c.tokens);
    }
    for (std::uint32_t m = 0; m < models; ++m) {
      INFO("seed " << seed << ", step " << step << ", model " << m);
      REQUIRE(index.size(m) == plain.models[m].size());
      most = std::max(most, index.size(m));
      const std::uint32_t fewest = plain.scan(m, [](const Plain::Counts& c) { return c.outstanding; });
      const std::uint32_t least = plain.scan(m, [](const Plain::Counts& c) { return c.tokens; });
      const RouteIndex::Pick by_outstanding = index.fewest_outstanding(m), by_tokens = index.fewest_tokens(m);
      REQUIRE(by_outstanding.slot == (keep_outstanding ? fewest : RouteIndex::kNone));
      REQUIRE(by_tokens.slot == (keep_tokens ? least : RouteIndex::kNone));
      if (by_outstanding.slot != RouteIndex::kNone) REQUIRE(by_outstanding.rank == rank_of(by_outstanding.slot));
      if (by_tokens.slot != RouteIndex::kNone) REQUIRE(by_tokens.rank == rank_of(by_tokens.slot));
    }
  }
  return most;
}

}  // namespace

TEST_CASE("route index: the least loaded is a scan's pick under random changes, many seeds", "[routing][route-index]") {
  for (std::uint64_t seed = 1; seed <= 60; ++seed) {
    RngStream rng(seed, "route-index/size");
    const auto models = static_cast<std::uint32_t>(1 + rng.below(4));
    const std::uint32_t slots = 8 + static_cast<std::uint32_t>(rng.below(120));
    check_against_scan(seed, models, slots, 3000, seed % 5 != 1, seed % 5 != 2);
  }
}

TEST_CASE("route index: the least loaded is a scan's pick with thousands of replicas a model (trees of 3 and 4 levels)",
          "[routing][route-index]") {
  // Up to ~6,000 ready replicas of one model: 16^3 = 4,096 ranks need a fourth level.
  CHECK(check_against_scan(7, 1, 12000, 40000, true, true) > 4096);
  CHECK(check_against_scan(8, 2, 3000, 20000, true, false) > 256);
}

TEST_CASE("route index: ties go to the lowest rank (lowest id)", "[routing][route-index]") {
  RouteIndex index(1, true, true);
  // Ids 10, 20, 30, 40 in slots 1, 3, 2, 0, joining in the order 40, 10, 30, 20 (ranks as the
  // ready list has them when each joins), all at 2 requests and 7.5 tokens.
  index.insert(0, 0, 0, 2, 7.5);  // 40
  index.insert(0, 0, 1, 2, 7.5);  // 10 before it
  index.insert(0, 1, 2, 2, 7.5);  // 30 between
  index.insert(0, 1, 3, 2, 7.5);  // 20 between 10 and 30: ranks 10, 20, 30, 40 = slots 1, 3, 2, 0
  CHECK(index.fewest_outstanding(0).slot == 1);  // id 10
  CHECK(index.fewest_outstanding(0).rank == 0);
  CHECK(index.fewest_tokens(0).slot == 1);
  index.update(0, 0, 3, 8.0);  // id 10 busier: id 20 (slot 3) leads
  CHECK(index.fewest_outstanding(0).slot == 3);
  CHECK(index.fewest_tokens(0).slot == 3);
  index.update(0, 3, 1, 7.5);  // id 40: fewest requests, tied on tokens with 20 and 30 (20 wins)
  CHECK(index.fewest_outstanding(0).slot == 0);
  CHECK(index.fewest_outstanding(0).rank == 3);
  CHECK(index.fewest_tokens(0).slot == 3);
  index.erase(0, 1);  // id 20 leaves: 40 moves to rank 2
  CHECK(index.fewest_tokens(0).slot == 2);  // id 30 before id 40
  CHECK(index.fewest_outstanding(0).rank == 2);
  CHECK(index.outstanding_key(0, 2) == 1);
  CHECK(index.tokens_key(0, 1) == 7.5);
  index.clear(0);
  CHECK(index.size(0) == 0);
  CHECK(index.fewest_outstanding(0).slot == RouteIndex::kNone);
}

namespace {

// ReadyReplicas over a list of candidates, answering the least loaded by a scan (the reference).
class ListReady final : public ReadyReplicas {
 public:
  explicit ListReady(std::span<const RouteCandidate> c) : c_(c) {}
  std::size_t size() const override { return c_.size(); }
  RouteCandidate candidate(std::size_t i) const override {
    ++reads;
    return c_[i];
  }
  std::size_t fewest_outstanding() const override {
    return scan([](const RouteCandidate& c) { return static_cast<double>(c.outstanding); });
  }
  std::size_t fewest_tokens() const override {
    return scan([](const RouteCandidate& c) { return c.outstanding_tokens; });
  }
  mutable std::size_t reads = 0;  // candidate() calls

 private:
  template <class Load>
  std::size_t scan(Load load) const {
    std::size_t best = 0;
    for (std::size_t i = 1; i < c_.size(); ++i)
      if (load(c_[i]) < load(c_[best])) best = i;
    return best;
  }
  std::span<const RouteCandidate> c_;
};

// A candidate holds the request's adapter only when the request names one (as the engine builds it).
std::vector<RouteCandidate> random_candidates(RngStream& rng, bool adapter_request = true) {
  std::vector<RouteCandidate> c(1 + rng.below(40));
  std::uint32_t id = static_cast<std::uint32_t>(rng.below(5));
  for (RouteCandidate& x : c) {
    x.replica = id += 1 + static_cast<std::uint32_t>(rng.below(3));
    x.outstanding = static_cast<int>(rng.below(6));
    x.running = std::min(x.outstanding, static_cast<int>(rng.below(4)));
    x.has_adapter = adapter_request && rng.uniform() < 0.3;
    x.outstanding_tokens = random_tokens(rng);
    x.prefix_hit_tokens = static_cast<std::uint32_t>(rng.below(3)) * 512;
  }
  return c;
}

}  // namespace

TEST_CASE("routers: route_ready picks what route picks on the same replicas, many seeds", "[routing][route-index]") {
  auto with = [](const std::string& impl, const std::string& param = "", double value = 0) {
    PolicyChoice choice{impl, {}};
    if (!param.empty()) choice.params.set_number(param, value);
    return choice;
  };
  const std::vector<PolicyChoice> routers = {
      with("least-outstanding"), with("least-outstanding", "adapter_affinity", 0),
      with("least-outstanding", "adapter_affinity", 2), with("least-tokens"),
      with("power-of-two"), with("power-of-two", "by_tokens", 1), with("round-robin")};
  for (const PolicyChoice& choice : routers) {
    auto by_span = registry().make_router(choice);
    auto by_index = registry().make_router(choice);  // (the same seed: power-of-two draws alike)
    INFO(choice.impl);
    CHECK(by_index->reads() != kReadsCandidates);
    RngStream rng(11, "routers/" + choice.impl);
    for (int i = 0; i < 3000; ++i) {
      RouteRequest request;
      request.model = static_cast<std::uint32_t>(rng.below(3));
      if (rng.uniform() < 0.4) request.adapter = static_cast<std::uint32_t>(rng.below(4));
      const std::vector<RouteCandidate> c = random_candidates(rng, request.has_adapter());
      const ListReady ready(c);
      REQUIRE(by_index->route_ready(ready, request) == by_span->route(c, request));
      // Reading every replica is what the index spares: only an adapter request (least-
      // outstanding with an affinity) reads them all.
      if (choice.impl == "least-tokens" || choice.impl == "round-robin" ||
          (choice.impl == "least-outstanding" && !request.has_adapter()))
        REQUIRE(ready.reads == 0);
      if (choice.impl == "power-of-two") REQUIRE(ready.reads == (c.size() == 1 ? 0u : 2u));
    }
  }
  // A router that reads the whole list keeps the span: the default route_ready() builds it.
  auto affinity = registry().make_router(PolicyChoice{"prefix-affinity", {}});
  CHECK(affinity->reads() == kReadsCandidates);
  RngStream rng(3, "prefix-affinity");
  for (int i = 0; i < 200; ++i) {
    const std::vector<RouteCandidate> c = random_candidates(rng);
    const RouteRequest request{0, static_cast<std::uint32_t>(rng.below(3000)), 10};
    REQUIRE(affinity->route_ready(ListReady(c), request) == affinity->route(c, request));
  }
}

namespace {

// A router that hides its inner router's reads(): the engine builds every candidate for it.
struct SpanOnly final : Router {
  std::unique_ptr<Router> inner;
  std::size_t route(std::span<const RouteCandidate> candidates, const RouteRequest& request) override {
    return inner->route(candidates, request);
  }
};

// An autoscaled LLM with LoRA adapters under a paged KV cache it outgrows (preemptions), beside a
// fixed-size one, a service-time model, and a replica killed mid-run; 12 simulated minutes.
std::string busy_yaml() {
  return R"(duration: 12min
seed: 3
cluster:
  pools:
    - {name: a, nodes: 6, gpu: H100-80GB, gpus_per_node: 8}
    - {name: b, nodes: 4, gpu: L40S, gpus_per_node: 4}
policies:
  placement: {impl: spread}
  autoscaler: {impl: kpa, target_concurrency: 6}
faults:
  - {kill_replica: 3, at: 200s}
models:
  - {name: chat, parameters: 8e9, kv_cache_per_token: 8MiB, startup_time: 5s, pools: [a],
     adapters: [{name: x, size: 300MB}, {name: y, size: 300MB}, {name: z, size: 300MB}], max_adapters: 2}
  - {name: code, parameters: 3e9, kv_cache_per_token: 128KiB, startup_time: 5s, pools: [a],
     chunked_prefill: true, max_prefill_tokens: 1024, autoscaler: {impl: fixed, replicas: 9}}
  - {name: embed, kind: service-time, parameters: 3e8, memory_per_gpu: 4GiB, startup_time: 2s, pools: [b],
     service_time: {dist: lognormal, median: 40ms, sigma: 0.5, max: 1s}, max_concurrency: 8,
     autoscaler: {target_concurrency: 4}}
workloads:
  - model: chat
    arrivals: {process: gamma, rate: 25/s, cv: 2}
    input_tokens: {dist: lognormal, median: 900, sigma: 0.9, max: 8000}
    output_tokens: {dist: lognormal, median: 200, sigma: 0.7, max: 2000}
    adapter_zipf: 1.0
  - model: chat
    arrivals: {process: poisson, rate: 10/s}
    input_tokens: {dist: uniform, low: 50, high: 400}
    output_tokens: {dist: fixed, value: 30}
  - model: code
    arrivals: {process: on-off, rate: 30/s, on: 2min, off: 3min}
    input_tokens: {dist: lognormal, median: 1500, sigma: 0.7, max: 8000}
    output_tokens: {dist: uniform, low: 20, high: 400}
  - model: embed
    arrivals: {process: poisson, rate: 80/s}
)";
}

}  // namespace

TEST_CASE("routers: whole runs route identically from the index and from every candidate", "[routing][route-index]") {
  const Scenario base = scenario_from(busy_yaml());
  for (const std::string router : {"least-outstanding", "least-tokens", "power-of-two", "round-robin"}) {
    INFO(router);
    Scenario sc = base;
    sc.router = PolicyChoice{router, {}};
    SimulationSetup setup = build_setup(sc, registry());
    auto span_only = std::make_unique<SpanOnly>();
    span_only->inner = std::move(setup.router);
    setup.router = std::move(span_only);
    const RunOutput spanned = run_setup(std::move(setup));
    // Every model in the index from its first ready replica; models entering and leaving it as
    // the autoscaler moves them across 4 (and 2) ready replicas; the default threshold.
    for (const std::uint32_t index_from : {1u, 4u, SimulationSetup{}.route_index_from}) {
      INFO("route_index_from " << index_from);
      SimulationSetup s = build_setup(sc, registry());
      s.route_index_from = index_from;
      const RunOutput indexed = run_setup(std::move(s));
      for (const RunOutput* out : {&indexed, &spanned}) {
        INFO(out->status.errors.to_string());
        REQUIRE(out->status.ok);
        for (const auto& v : out->violations) FAIL(v);  // (the checker compares the index with a scan)
      }
      REQUIRE(indexed.requests.size() > 20000);
      REQUIRE(indexed.status.faults.replicas_failed == 1);
      REQUIRE(indexed.status.kv[0].preemptions > 0);
      REQUIRE(indexed.cold_starts.size() > 15);
      REQUIRE(indexed.requests.size() == spanned.requests.size());
      for (std::size_t i = 0; i < indexed.requests.size(); ++i) {
        const RequestResult &a = indexed.requests[i], &b = spanned.requests[i];
        INFO("request end #" << i);
        REQUIRE(a.serial == b.serial);
        REQUIRE(a.replica == b.replica);
        REQUIRE(a.end == b.end);
        REQUIRE(a.first_token == b.first_token);
        REQUIRE(a.outcome == b.outcome);
      }
      CHECK(indexed.status.events == spanned.status.events);
      CHECK(indexed.decisions == spanned.decisions);
    }
  }
}
