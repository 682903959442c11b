// ClusterState: every rule of the placement contract rejects the decision that breaks it (one
// test per rule), reserve/release account exactly, transactions undo, and — for every
// registered placement policy, on random clusters and workloads — the state after any sequence
// of decisions keeps the invariants while deliberately broken decisions are all rejected.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "sim/cluster_state.hpp"
#include "sim/gpu_catalog.hpp"
#include "sim/rng.hpp"
#include "tests/support.hpp"

using namespace fleetsim;
using namespace fleetsim::test;

namespace {

constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;

// Two pools: node 0 and 1 (pool 0, 4 × "big", 80 GiB), node 2 (pool 1, 2 × "small", 16 GiB,
// 8 cores, 32 GiB host memory), node 3 (pool 1, "small", not up).
ClusterState small_cluster() {
  ClusterState c({GpuType{"big", 80 * kGiB}, GpuType{"small", 16 * kGiB}});
  c.add_node(0, 0, 4);
  c.add_node(0, 0, 4);
  const std::uint32_t n = c.add_node(1, 1, 2);
  c.node_for_update(n).cpu_capacity = 8;
  c.node_for_update(n).host_memory_capacity = 32 * kGiB;
  c.add_node(1, 1, 2, false);
  return c;
}

std::string why(const ClusterState& c, const PlacementRequest& r, const Placement& p) {
  const Status s = c.check(r, p, "model 'm'");
  return s.ok ? "ok" : s.message;
}

PlacementRequest whole(int gpus) {
  PlacementRequest r;
  r.gpus = gpus;
  return r;
}

PlacementRequest share(int milli) {
  PlacementRequest r;
  r.gpus = 0;
  r.milli_gpu = milli;
  return r;
}

void reserve(ClusterState& c, const PlacementRequest& r, const Placement& p) {
  REQUIRE(c.check(r, p, "x").ok);
  c.reserve(c.allocation_for(r, p));
}

}  // namespace

TEST_CASE("ClusterState::check: each rule of the placement contract", "[cluster-state]") {
  ClusterState c = small_cluster();
  REQUIRE(why(c, whole(2), Placement{0, {0, 1}}) == "ok");
  SECTION("the node exists and is up") {
    REQUIRE(why(c, whole(1), Placement{9, {0}}) == "chose node 9, which does not exist (4 nodes)");
    REQUIRE(why(c, whole(1), Placement{3, {0}}) == "chose node 3, which is not up");
  }
  SECTION("the node is in an allowed pool and of an allowed GPU type") {
    const std::uint32_t pool1[] = {1};
    PlacementRequest r = whole(1);
    r.pools = pool1;
    REQUIRE(why(c, r, Placement{0, {0}}) == "put model 'm' on node 0, outside its allowed pools");
    REQUIRE(why(c, r, Placement{2, {0}}) == "ok");
    const std::uint32_t small_only[] = {1};
    PlacementRequest t = whole(1);
    t.gpu_types = small_only;
    t.catalog = c.catalog();
    REQUIRE(why(c, t, Placement{1, {0}}) == "put model 'm', which may not run on big GPUs, on node 1");
    REQUIRE(why(c, t, Placement{2, {1}}) == "ok");
  }
  SECTION("exactly the GPUs asked for, distinct, existing, big enough") {
    REQUIRE(why(c, whole(2), Placement{0, {0}}) == "gave 1 GPUs to model 'm', which needs 2");
    REQUIRE(why(c, share(300), Placement{0, {0, 1}}) == "gave 2 GPUs to model 'm', which needs 1 (a share of one)");
    REQUIRE(why(c, whole(2), Placement{0, {0, 0}}) == "chose GPU 0 of node 0 twice");
    REQUIRE(why(c, whole(1), Placement{2, {2}}) == "chose GPU 2 of node 2, which has 2");
    REQUIRE(why(c, whole(1), Placement{2, {-1}}) == "chose GPU -1 of node 2, which has 2");
    PlacementRequest big = whole(1);
    big.min_gpu_memory = 40 * kGiB;
    REQUIRE(why(c, big, Placement{2, {0}}) == "put model 'm' on node 2, whose GPUs are too small for it");
    REQUIRE(why(c, big, Placement{0, {0}}) == "ok");
  }
  SECTION("a whole GPU is held alone; shares add up to at most 1000 milli") {
    reserve(c, share(600), Placement{0, {0}});
    REQUIRE(why(c, whole(1), Placement{0, {0}}) == "over-committed GPU 0 of node 0: it is already allocated");
    REQUIRE(why(c, share(500), Placement{0, {0}}) == "over-committed GPU 0 of node 0: 600 + 500 milli > 1000");
    REQUIRE(why(c, share(400), Placement{0, {0}}) == "ok");
    reserve(c, whole(1), Placement{0, {1}});
    REQUIRE(why(c, share(1), Placement{0, {1}}) == "over-committed GPU 1 of node 0: 1000 + 1 milli > 1000");
  }
  SECTION("GPU memory: claims add up to at most the GPU's memory") {
    PlacementRequest r = share(100);
    r.memory_per_gpu = 10 * kGiB;
    reserve(c, r, Placement{2, {0}});
    REQUIRE(why(c, r, Placement{2, {0}}) == "over-committed the memory of GPU 0 of node 2");
    REQUIRE(why(c, r, Placement{2, {1}}) == "ok");
    PlacementRequest fraction = whole(1);
    fraction.memory_fraction = 1.01;
    REQUIRE(why(c, fraction, Placement{0, {3}}) == "over-committed the memory of GPU 3 of node 0");
  }
  SECTION("CPU and host memory within the node's capacity (0: not modelled)") {
    PlacementRequest r = share(100);
    r.cpu = 6;
    r.host_memory = 20 * kGiB;
    reserve(c, r, Placement{2, {0}});
    PlacementRequest cpu = share(100);
    cpu.cpu = 3;
    REQUIRE(why(c, cpu, Placement{2, {1}}) == "over-committed the CPU of node 2");
    PlacementRequest memory = share(100);
    memory.host_memory = 13 * kGiB;
    REQUIRE(why(c, memory, Placement{2, {1}}) == "over-committed the host memory of node 2");
    cpu.cpu = 1000;  // node 0 does not model CPU
    REQUIRE(why(c, cpu, Placement{0, {1}}) == "ok");
  }
}

TEST_CASE("ClusterState: reserve and release account exactly, transactions undo", "[cluster-state]") {
  ClusterState c = small_cluster();
  PlacementRequest r = share(250);
  r.memory_per_gpu = 3 * kGiB;
  r.cpu = 2;
  r.host_memory = 4 * kGiB;
  Allocation a = c.allocation_for(r, Placement{2, {1}});
  a.counts_as_replica = true;
  c.reserve(a);
  const NodeView& n = c.node(2);
  REQUIRE(n.free_gpus == 1);
  REQUIRE(n.gpus[1].holders == 1);
  REQUIRE(n.gpus[1].milli_used == 250);
  REQUIRE(n.gpus[1].memory_used == 3 * kGiB);
  REQUIRE(n.cpu_used == 2);
  REQUIRE(n.host_memory_used == 4 * kGiB);
  REQUIRE(n.replicas == 1);
  {
    ClusterState::Transaction tx(c);
    tx.release(a);
    tx.reserve(c.allocation_for(whole(2), Placement{2, {0, 1}}));
    REQUIRE(c.node(2).free_gpus == 0);
    REQUIRE(c.node(2).gpus[1].milli_used == 1000);
  }  // rolled back
  REQUIRE(n.free_gpus == 1);
  REQUIRE(n.gpus[1].milli_used == 250);
  REQUIRE(n.gpus[0].holders == 0);
  REQUIRE(n.replicas == 1);
  {
    ClusterState::Transaction tx(c);
    tx.release(a);
    tx.commit();
  }
  REQUIRE(n.free_gpus == 2);
  REQUIRE(n.gpus[1].holders == 0);
  REQUIRE(n.gpus[1].memory_used == 0);
  REQUIRE(n.cpu_used == 0);
  REQUIRE(n.replicas == 0);

  // A copy is independent, and its nodes point into its own catalog.
  ClusterState copy = c;
  c.reserve(c.allocation_for(whole(1), Placement{0, {0}}));
  REQUIRE(copy.node(0).free_gpus == 4);
  REQUIRE(copy.node(0).gpu_type == &copy.catalog()[0]);
  REQUIRE(copy.node(2).gpu_type->name == "small");
}

namespace {

// What must hold after any sequence of reserves and releases.
std::string broken_invariant(const ClusterState& c) {
  for (const NodeView& n : c.nodes()) {
    int free = 0;
    for (std::size_t g = 0; g < n.gpus.size(); ++g) {
      const GpuSlot& s = n.gpus[g];
      const std::string at = "node " + std::to_string(n.id) + " GPU " + std::to_string(g);
      free += s.holders == 0;
      if (s.milli_used > 1000) return at + ": milli over 1000";
      if (s.memory_used > n.gpu_type->memory_bytes * (1 + 1e-9)) return at + ": memory over capacity";
      if (s.holders == 0 && (s.milli_used != 0 || s.memory_used != 0)) return at + ": empty but used";
      if (s.holders > 0 && s.milli_used == 0) return at + ": held but nothing used";
    }
    if (free != n.free_gpus) return "node " + std::to_string(n.id) + ": free_gpus wrong";
    if (n.cpu_capacity > 0 && n.cpu_used > n.cpu_capacity + 1e-6) return "cpu over capacity";
    if (n.host_memory_capacity > 0 && n.host_memory_used > n.host_memory_capacity * (1 + 1e-9)) return "memory over capacity";
  }
  return "";
}

// Variations of a valid decision that each break one rule, where `c` makes that possible.
std::vector<Placement> broken_variants(const ClusterState& c, const PlacementRequest& r, const Placement& p) {
  std::vector<Placement> out;
  out.push_back(Placement{static_cast<std::uint32_t>(c.size()), p.gpus});  // no such node
  Placement extra = p;
  extra.gpus.push_back(p.gpus.empty() ? 0 : p.gpus.back());  // one GPU too many (or twice)
  out.push_back(extra);
  if (!p.gpus.empty()) {
    Placement outside = p;
    outside.gpus[0] = static_cast<int>(c.node(p.node).gpus.size());  // no such GPU
    out.push_back(outside);
    // A GPU that is held already (whole request) or too full for the share.
    const NodeView& n = c.node(p.node);
    for (std::size_t g = 0; g < n.gpus.size(); ++g) {
      const bool taken = r.milli_gpu > 0 ? n.gpus[g].milli_used + static_cast<std::uint32_t>(r.milli_gpu) > 1000
                                         : n.gpus[g].holders > 0;
      if (taken) {
        Placement over = p;
        over.gpus[0] = static_cast<int>(g);
        if (std::count(over.gpus.begin(), over.gpus.end(), over.gpus[0]) == 1) out.push_back(over);
        break;
      }
    }
  }
  for (const NodeView& n : c.nodes())
    if (!n.up) out.push_back(Placement{n.id, p.gpus});  // a node that is not up
  return out;
}

}  // namespace

TEST_CASE("every placement policy, random clusters and workloads: invariants hold, broken decisions are rejected",
          "[cluster-state][property]") {
  const std::uint64_t seed = GENERATE(1, 2, 3, 4, 5, 6);
  RngStream rng(seed, "cluster-state/property");
  for (const std::string& name : registry().names(PolicyFamily::Placement)) {
    std::vector<GpuType> catalog = {GpuType{"a", 80 * kGiB}, GpuType{"b", 24 * kGiB}};
    ClusterState c(catalog);
    const int nodes = 2 + static_cast<int>(rng.below(6));
    for (int i = 0; i < nodes; ++i) {
      const std::uint32_t n = c.add_node(static_cast<std::uint32_t>(rng.below(2)), static_cast<std::uint32_t>(rng.below(2)),
                                         1 + static_cast<int>(rng.below(8)), rng.uniform() < 0.9);
      if (rng.uniform() < 0.5) {
        c.node_for_update(n).cpu_capacity = 16;
        c.node_for_update(n).host_memory_capacity = 64 * kGiB;
      }
    }
    auto policy = registry().make_placement(PolicyChoice{name, {}});
    std::vector<Allocation> held;
    const std::uint32_t type_b[] = {1};
    int placed = 0, rejected = 0;
    for (int step = 0; step < 200; ++step) {
      if (!held.empty() && rng.uniform() < 0.3) {  // a departure
        const std::size_t k = rng.below(held.size());
        c.release(held[k]);
        held.erase(held.begin() + static_cast<std::ptrdiff_t>(k));
        continue;
      }
      PlacementRequest r;
      r.model = static_cast<std::uint32_t>(rng.below(4));
      if (rng.uniform() < 0.4) {
        r.gpus = 0;
        r.milli_gpu = 100 + static_cast<int>(rng.below(800));
        r.memory_per_gpu = rng.uniform() * 8 * kGiB;
      } else {
        r.gpus = 1 + static_cast<int>(rng.below(3));
        r.memory_fraction = 0.5 + 0.4 * rng.uniform();
      }
      r.cpu = rng.uniform() * 6;
      r.host_memory = rng.uniform() * 16 * kGiB;
      if (rng.uniform() < 0.3) {
        r.gpu_types = type_b;
        r.catalog = c.catalog();
      }
      const PlacementAnswer p = policy->place(r, c.view(step));
      if (!p) continue;
      const Status s = c.check(r, *p, "a request");
      INFO("policy " << name << " seed " << seed << " step " << step << ": " << s.message);
      REQUIRE(s.ok);
      for (const Placement& bad : broken_variants(c, r, *p)) {
        REQUIRE_FALSE(c.check(r, bad, "a request").ok);
        ++rejected;
      }
      held.push_back(c.allocation_for(r, *p));
      c.reserve(held.back());
      ++placed;
      const std::string broken = broken_invariant(c);
      INFO(broken);
      REQUIRE(broken.empty());
    }
    INFO("policy " << name);
    REQUIRE(placed > 0);
    REQUIRE(rejected > placed);
    for (const Allocation& a : held) c.release(a);
    for (const NodeView& n : c.nodes()) {
      REQUIRE(n.free_gpus == static_cast<int>(n.gpus.size()));
      REQUIRE(n.cpu_used == Approx(0).margin(1e-9));
    }
  }
}

TEST_CASE("the policy API includes nothing from sim/", "[cluster-state][api]") {
  namespace fs = std::filesystem;
  int headers = 0;
  for (const char* folder : {"policies/api", "policies/placement", "policies/autoscaling", "policies/routing",
                             "policies/batching", "policies/cache", "policies/queueing"}) {
    for (const auto& entry : fs::directory_iterator(fs::path(FLEETSIM_SOURCE_DIR) / folder)) {
      if (entry.path().extension() != ".hpp") continue;
      std::ifstream in(entry.path());
      std::stringstream text;
      text << in.rdbuf();
      INFO(entry.path().string());
      REQUIRE(text.str().find("#include \"sim/") == std::string::npos);
      ++headers;
    }
  }
  REQUIRE(headers >= 8);
}

TEST_CASE("every policy the registry makes knows its name, seeded policies draw from the run's seed",
          "[cluster-state][api]") {
  int made = 0;
  for (const PolicyInfo& info : registry().all()) {
    const PolicyChoice choice{info.name, {}};
    const Policy* policy = nullptr;
    std::unique_ptr<PlacementPolicy> placement;
    std::unique_ptr<Autoscaler> autoscaler;
    std::unique_ptr<Router> router;
    std::unique_ptr<CachePolicy> cache;
    std::unique_ptr<QueuePolicy> queue;
    std::unique_ptr<BatchingPolicy> batching;
    switch (info.family) {
      case PolicyFamily::Placement: policy = (placement = registry().make_placement(choice)).get(); break;
      case PolicyFamily::Autoscaler: policy = (autoscaler = registry().make_autoscaler(choice)).get(); break;
      case PolicyFamily::Router: policy = (router = registry().make_router(choice)).get(); break;
      case PolicyFamily::Cache: policy = (cache = registry().make_cache(choice)).get(); break;
      case PolicyFamily::Queue: policy = (queue = registry().make_queue(choice)).get(); break;
      case PolicyFamily::Batching: policy = (batching = registry().make_batching(choice)).get(); break;
    }
    REQUIRE(policy != nullptr);
    REQUIRE(policy->name() == info.name);
    ++made;
  }
  REQUIRE(made >= 20);

  // random placement: the same run seed draws the same nodes, another seed other ones.
  ClusterState c({GpuType{"g", 80 * kGiB}});
  for (int i = 0; i < 8; ++i) c.add_node(0, 0, 1);
  auto draws = [&](std::uint64_t seed) {
    auto p = registry().make_placement(PolicyChoice{"random", {}}, PolicyRunInfo{seed, {}, {}, {}});
    std::vector<std::uint32_t> nodes;
    for (int i = 0; i < 32; ++i) nodes.push_back(p->place(whole(1), c.view(0))->node);
    return nodes;
  };
  REQUIRE(draws(3) == draws(3));
  REQUIRE(draws(3) != draws(4));
}

TEST_CASE("placement answers \"never\" apart from \"not now\"", "[cluster-state][api]") {
  ClusterState c = small_cluster();
  // Fill every up node's GPUs: a 1-GPU request fits none now, but could once they empty.
  for (std::uint32_t n = 0; n < 3; ++n)
    for (int g = 0; g < static_cast<int>(c.node(n).gpus.size()); ++g) reserve(c, whole(1), Placement{n, {g}});
  for (const std::string& name : registry().names(PolicyFamily::Placement)) {
    INFO(name);
    auto policy = registry().make_placement(PolicyChoice{name, {}});
    const PlacementAnswer full = policy->place(whole(1), c.view(0));
    REQUIRE_FALSE(full.has_value());
    REQUIRE_FALSE(full.never());
    const PlacementAnswer huge = policy->place(whole(5), c.view(0));  // no node has 5 GPUs
    REQUIRE_FALSE(huge.has_value());
    REQUIRE(huge.never());
    REQUIRE_FALSE(huge.why().empty());
  }
  // A node that is not up could still host it: not "never".
  PlacementRequest small_only = whole(2);
  const std::uint32_t pool1[] = {1};
  small_only.pools = pool1;
  small_only.min_gpu_memory = 10 * kGiB;
  REQUIRE_FALSE(nothing_fits(small_only, c.view(0)).never());
  small_only.min_gpu_memory = 20 * kGiB;  // pool 1 has only 16 GiB GPUs
  REQUIRE(nothing_fits(small_only, c.view(0)).never());
}

namespace {
class NeverPlacement final : public PlacementPolicy {
 public:
  PlacementAnswer place(const PlacementRequest&, const ClusterView&) override {
    return PlacementAnswer::never("this policy places nothing");
  }
};
}  // namespace

TEST_CASE("a job whose placement policy answers \"never\" is rejected, not kept waiting", "[cluster-state][jobs]") {
  JobSpec j;
  j.id = "J";
  j.workers = 1;
  j.worker.gpus = 1;
  j.duration = from_seconds(10);
  JobRunOptions options;
  options.placement = std::make_shared<NeverPlacement>();
  options.placement_name = "never";
  JobSimulation sim({{"g", 2}}, std::make_unique<ListJobs>(std::vector<JobSpec>{j}),
                    registry().make_queue(PolicyChoice{"fifo", {}}), options);
  const JobRunResult r = sim.run();
  REQUIRE(r.ok);
  REQUIRE(r.rejected == 1);
  REQUIRE(r.rejected_examples.at(0) == "job J: placement policy 'never': this policy places nothing");
  REQUIRE_FALSE(r.jobs.at(0).completed());
}

TEST_CASE("decisions the engine used to make are the policies' defaults: which replica drains, which pool grows",
          "[cluster-state][api]") {
  // choose_drain: the fewest outstanding requests, ties the newest.
  auto kpa = registry().make_autoscaler(PolicyChoice{"kpa", {}});
  const std::vector<DrainCandidate> ready = {{3, 2, 0}, {5, 0, 0}, {7, 4, 0}, {9, 0, 0}};
  REQUIRE(kpa->choose_drain(ready) == 3);  // replicas 5 and 9 idle: 9 is newer
  const std::vector<DrainCandidate> busy = {{1, 3, 0}, {2, 1, 0}};
  REQUIRE(kpa->choose_drain(busy) == 1);

  // choose_pool: the first allowed pool with room whose nodes can host the request.
  auto first_fit = registry().make_placement(PolicyChoice{"first-fit", {}});
  const GpuType small{"small", 16 * kGiB}, big{"big", 80 * kGiB};
  const std::vector<PoolView> pools = {{0, &small, 8, 2, 0, 4}, {1, &big, 4, 1, 1, 2}, {2, &big, 8, 0, 0, 3}};
  PlacementRequest r = whole(2);
  r.min_gpu_memory = 40 * kGiB;
  REQUIRE(first_fit->choose_pool(r, pools) == std::optional<std::uint32_t>(2));  // pool 0 too small, 1 full
  r.min_gpu_memory = 0;
  REQUIRE(first_fit->choose_pool(r, pools) == std::optional<std::uint32_t>(0));
  const std::uint32_t only1[] = {1};
  r.pools = only1;
  REQUIRE_FALSE(first_fit->choose_pool(r, pools).has_value());
}
