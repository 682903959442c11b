// The free-GPU index (policies/api/free_gpu_index.hpp) kept by ClusterState, and the placement
// policies that visit its candidates instead of every node: on random clusters (pools and GPU
// types interleaved, nodes up and down) under random allocate/free sequences, (1) every query of
// the index answers what a walk over the nodes answers, in the same order, and (2) every
// built-in placement policy decides exactly what it decides walking the nodes — against a view
// without the index, and for first-fit, best-fit and spread against their loops as they were
// before the index (kept here as the reference).
#include <catch2/catch.hpp>

#include <algorithm>

#include "sim/cluster_state.hpp"
#include "sim/rng.hpp"
#include "tests/support.hpp"

using namespace fleetsim;
using namespace fleetsim::test;

namespace {

constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;

const std::vector<GpuType>& catalog() {
  static const std::vector<GpuType> types = {GpuType{"a", 80 * kGiB}, GpuType{"b", 24 * kGiB}, GpuType{"c", 48 * kGiB}};
  return types;
}

// A random cluster of `nodes` nodes: 3 pools, 3 GPU types, 0–8 GPUs a node, groups interleaved
// in id order, a tenth down, half with CPU and host memory modelled. `uniform`: one pool, one
// type, 8 GPUs each (one group; its buckets below 8 sparse, as in a large idle cluster).
ClusterState random_cluster(RngStream& rng, int nodes, bool uniform = false) {
  ClusterState c(catalog());
  for (int i = 0; i < nodes; ++i) {
    const std::uint32_t pool = uniform ? 0 : static_cast<std::uint32_t>(rng.below(3));
    const std::uint32_t type = uniform ? 0 : static_cast<std::uint32_t>(rng.below(3));
    const std::uint32_t n = c.add_node(pool, type, uniform ? 8 : static_cast<int>(rng.below(9)), rng.uniform() < 0.9);
    if (rng.uniform() < 0.5) {
      c.node_for_update(n).cpu_capacity = 16;
      c.node_for_update(n).host_memory_capacity = 64 * kGiB;
    }
  }
  return c;
}

PlacementRequest random_request(RngStream& rng, std::span<const std::uint32_t> pools, std::span<const std::uint32_t> types,
                                std::span<const GpuType> cat) {
  PlacementRequest r;
  r.model = static_cast<std::uint32_t>(rng.below(4));
  const double kind = rng.uniform();
  if (kind < 0.3) {
    r.gpus = 0;
    r.milli_gpu = 100 + static_cast<int>(rng.below(800));
    r.memory_per_gpu = rng.uniform() * 8 * kGiB;
    r.min_gpu_memory = r.memory_per_gpu;
  } else if (kind < 0.35) {
    r.gpus = 0;  // CPU only
  } else {
    r.gpus = 1 + static_cast<int>(rng.below(8));
    r.memory_fraction = 0.5 + 0.4 * rng.uniform();
    r.min_gpu_memory = rng.uniform() * 60 * kGiB;
  }
  r.cpu = rng.uniform() * 6;
  r.host_memory = rng.uniform() * 16 * kGiB;
  if (rng.uniform() < 0.3) r.pools = pools;
  if (rng.uniform() < 0.3) {
    r.gpu_types = types;
    r.catalog = cat;
  }
  return r;
}

// One random step: a departure, a node going down or up, a node moved to another pool (the
// index rebuilds), or an arrival on the first node that fits from a random one on.
void random_step(RngStream& rng, ClusterState& c, std::vector<Allocation>& held) {
  const double what = rng.uniform();
  if (!held.empty() && what < 0.3) {
    const std::size_t k = rng.below(held.size());
    c.release(held[k]);
    held.erase(held.begin() + static_cast<std::ptrdiff_t>(k));
    return;
  }
  const std::uint32_t n = static_cast<std::uint32_t>(rng.below(c.size()));
  if (what < 0.36) {  // up or down (a node with allocations stays up, as in the engine)
    const NodeView& node = c.node(n);
    const bool busy = node.free_gpus < static_cast<int>(node.gpus.size()) || node.cpu_used > 0;
    if (!busy) c.node_for_update(n).up = !node.up;
    return;
  }
  if (what < 0.37) {
    c.node_for_update(n).pool = static_cast<std::uint32_t>(rng.below(3));
    return;
  }
  const PlacementRequest r = random_request(rng, {}, {}, {});
  for (std::size_t k = 0; k < c.size(); ++k) {  // the first node that fits from a random one on
    const NodeView& node = c.node(static_cast<std::uint32_t>((n + k) % c.size()));
    if (node_fits(node, r)) {
      const Placement p{node.id, lowest_free_gpus(node, r)};
      REQUIRE(c.check(r, p, "x").ok);
      held.push_back(c.allocation_for(r, p));
      c.reserve(held.back());
      return;
    }
  }
}

// What FreeGpuIndex::visit() must visit: the nodes that are up, in the groups, with free GPUs
// in [lo, hi], in id order.
std::vector<std::uint32_t> walk(const ClusterState& c, const FreeGpuIndex& index, std::span<const std::uint32_t> groups,
                                int lo, int hi) {
  std::vector<std::uint32_t> out;
  for (const NodeView& n : c.nodes()) {
    const auto& g = index.groups()[index.group_of(n.id)];
    if (!n.up || n.free_gpus < lo || n.free_gpus > hi) continue;
    const bool in = std::any_of(groups.begin(), groups.end(), [&](std::uint32_t k) {
      return index.groups()[k].pool == g.pool && index.groups()[k].gpu_type == g.gpu_type;
    });
    if (in) out.push_back(n.id);
  }
  return out;
}

// The placement loops as they were before the index, for the reference.
PlacementAnswer first_fit_walk(const PlacementRequest& r, const ClusterView& v) {
  for (const NodeView& node : v.nodes)
    if (node_fits(node, r)) return Placement{node.id, lowest_free_gpus(node, r)};
  return nothing_fits(r, v);
}
std::int64_t free_milli(const NodeView& node) {
  std::int64_t s = 0;
  for (const GpuSlot& slot : node.gpus) s += 1000 - std::min<std::uint32_t>(slot.milli_used, 1000);
  return s;
}
PlacementAnswer best_fit_walk(const PlacementRequest& r, const ClusterView& v) {
  const bool share = r.milli_gpu > 0;
  const NodeView* best = nullptr;
  std::int64_t best_milli = 0;
  for (const NodeView& node : v.nodes) {
    if (!node_fits(node, r)) continue;
    if (!best || node.free_gpus < best->free_gpus) {
      best = &node;
      if (share) best_milli = free_milli(node);
    } else if (share && node.free_gpus == best->free_gpus) {
      const std::int64_t milli = free_milli(node);
      if (milli < best_milli) {
        best = &node;
        best_milli = milli;
      }
    }
  }
  if (!best) return nothing_fits(r, v);
  if (!share) return Placement{best->id, lowest_free_gpus(*best, r)};
  int g = -1;  // the fitting GPU with the least free milli (tightest_gpus)
  for (std::size_t i = 0; i < best->gpus.size(); ++i)
    if (gpu_fits(*best, best->gpus[i], r) &&
        (g < 0 || best->gpus[i].milli_used > best->gpus[static_cast<std::size_t>(g)].milli_used))
      g = static_cast<int>(i);
  return Placement{best->id, {g}};
}
PlacementAnswer spread_walk(const PlacementRequest& r, const ClusterView& v) {
  const NodeView* best = nullptr;
  for (const NodeView& node : v.nodes) {
    if (!node_fits(node, r)) continue;
    if (!best || node.free_gpus > best->free_gpus || (node.free_gpus == best->free_gpus && node.replicas < best->replicas))
      best = &node;
  }
  if (!best) return nothing_fits(r, v);
  return Placement{best->id, lowest_free_gpus(*best, r)};
}

std::string describe(const PlacementAnswer& a) {
  if (a.never()) return "never";
  if (!a) return "not now";
  std::string s = "node " + std::to_string(a->node) + " gpus";
  for (int g : a->gpus) s += " " + std::to_string(g);
  return s;
}

}  // namespace

TEST_CASE("free-GPU index: every query visits what a walk over the nodes visits, in id order",
          "[free-gpu-index][property]") {
  const std::uint64_t seed = GENERATE(1, 2, 3, 4, 5, 6, 7, 8);
  const int nodes = GENERATE(1, 7, 130, 5000, 9000);
  RngStream rng(seed, "free-gpu-index/queries");
  // 9,000 nodes in one group: more than 4,096 positions, so skipping goes through several
  // summary words.
  ClusterState c = random_cluster(rng, nodes, nodes == 9000);
  std::vector<Allocation> held;
  const int steps = nodes > 1000 ? 150 : 400;
  for (int step = 0; step < steps; ++step) {
    random_step(rng, c, held);
    if (rng.uniform() < 0.02) {  // a scheduler's plan: a copy carries its index along
      ClusterState copy = c;
      c = copy;
    }
    const FreeGpuIndex& index = c.index();
    REQUIRE(index.size() == c.size());
    for (int q = 0; q < 4; ++q) {
      std::vector<std::uint32_t> groups;
      for (std::uint32_t g = 0; g < index.groups().size(); ++g)
        if (rng.uniform() < 0.6) groups.push_back(g);
      const int lo = static_cast<int>(rng.below(10)) - 1;
      const int hi = lo + static_cast<int>(rng.below(10));
      std::vector<std::uint32_t> got;
      index.visit(groups, lo, hi, [&](std::uint32_t n) {
        got.push_back(n);
        return false;
      });
      INFO("seed " << seed << " nodes " << nodes << " step " << step << " free in [" << lo << ", " << hi << "]");
      REQUIRE(got == walk(c, index, groups, lo, hi));
      // Stopping: visit() stops at the visitor's first true and says so.
      if (!got.empty()) {
        const std::size_t stop = rng.below(got.size());
        std::size_t seen = 0;
        REQUIRE(index.visit(groups, lo, hi, [&](std::uint32_t) { return seen++ == stop; }));
        REQUIRE(seen == stop + 1);
      }
    }
    // Each node sits in its own group, in the bucket of its free GPUs, or in none while down.
    for (const NodeView& n : c.nodes()) {
      const auto& g = index.groups()[index.group_of(n.id)];
      REQUIRE(g.pool == n.pool);
      REQUIRE(g.gpu_type == c.type_index(n));
      REQUIRE(index.bucket_of(n.id) == (n.up ? static_cast<std::uint32_t>(n.free_gpus) : FreeGpuIndex::kNotIndexed));
    }
  }
}

TEST_CASE("visit_candidates: a superset of the nodes that fit, each once, in the order asked, with or without the index",
          "[free-gpu-index][property]") {
  const std::uint64_t seed = GENERATE(1, 2, 3, 4, 5, 6);
  RngStream rng(seed, "free-gpu-index/candidates");
  ClusterState c = random_cluster(rng, 60 + static_cast<int>(rng.below(200)));
  std::vector<Allocation> held;
  const std::uint32_t pools[] = {1, 2};
  const std::uint32_t types[] = {0, 2};
  for (int step = 0; step < 300; ++step) {
    random_step(rng, c, held);
    const PlacementRequest r = random_request(rng, pools, types, c.catalog());
    const ClusterView indexed = c.view(step);
    ClusterView plain = indexed;
    plain.index = nullptr;
    for (CandidateOrder order : {CandidateOrder::ById, CandidateOrder::FewestFreeGpus, CandidateOrder::MostFreeGpus}) {
      std::vector<const NodeView*> expected;  // the fitting nodes in the order
      for (const NodeView& n : c.nodes())
        if (node_fits(n, r)) expected.push_back(&n);
      if (order != CandidateOrder::ById)
        std::stable_sort(expected.begin(), expected.end(), [&](const NodeView* a, const NodeView* b) {
          return order == CandidateOrder::FewestFreeGpus ? a->free_gpus < b->free_gpus : a->free_gpus > b->free_gpus;
        });
      for (const ClusterView* v : std::initializer_list<const ClusterView*>{&indexed, &plain}) {
        std::vector<const NodeView*> fitting;
        std::vector<int> visits(c.size(), 0);
        visit_candidates(r, *v, order, [&](const NodeView& n) {
          ++visits[n.id];
          if (node_fits(n, r)) fitting.push_back(&n);
          return false;
        });
        INFO("seed " << seed << " step " << step << " order " << static_cast<int>(order) << (v->index ? " indexed" : " plain"));
        REQUIRE(fitting == expected);
        REQUIRE(std::all_of(visits.begin(), visits.end(), [](int k) { return k <= 1; }));
        if (v->index)  // the index visits only nodes that are up
          for (const NodeView& n : c.nodes()) REQUIRE((visits[n.id] == 0 || n.up));
      }
    }
  }
}

TEST_CASE("every placement policy decides the same through the free-GPU index as walking the nodes",
          "[free-gpu-index][property]") {
  const std::uint64_t seed = GENERATE(1, 2, 3, 4, 5);
  const int nodes = GENERATE(5, 90, 700);
  for (const std::string& name : registry().names(PolicyFamily::Placement)) {
    RngStream rng(seed, "free-gpu-index/policies");
    ClusterState c = random_cluster(rng, nodes);
    // Two instances fed the same requests (the stateful ones learn alike): one sees the index,
    // the other a view without it.
    auto indexed = registry().make_placement(PolicyChoice{name, {}});
    auto plain = registry().make_placement(PolicyChoice{name, {}});
    std::vector<Allocation> held;
    const std::uint32_t pools[] = {0, 2};
    const std::uint32_t types[] = {1};
    int placed = 0;
    for (int step = 0; step < 250; ++step) {
      if (rng.uniform() < 0.3) {
        random_step(rng, c, held);
        continue;
      }
      const PlacementRequest r = random_request(rng, pools, types, c.catalog());
      const ClusterView view = c.view(step);
      ClusterView without = view;
      without.index = nullptr;
      const PlacementAnswer a = indexed->place(r, view);
      const PlacementAnswer b = plain->place(r, without);
      INFO("policy " << name << " seed " << seed << " nodes " << nodes << " step " << step);
      REQUIRE(describe(a) == describe(b));
      if (name == "first-fit") REQUIRE(describe(a) == describe(first_fit_walk(r, without)));
      if (name == "best-fit") REQUIRE(describe(a) == describe(best_fit_walk(r, without)));
      if (name == "spread") REQUIRE(describe(a) == describe(spread_walk(r, without)));
      if (!a) continue;
      REQUIRE(c.check(r, *a, "a request").ok);
      held.push_back(c.allocation_for(r, *a));
      held.back().counts_as_replica = true;
      c.reserve(held.back());
      ++placed;
    }
    INFO("policy " << name);
    REQUIRE(placed > 10);
  }
}

TEST_CASE("fgd's state keys kept between decisions: one instance deciding on two diverging clusters in turn decides as a fresh one",
          "[free-gpu-index][fgd][property]") {
  // The kept instance sees, at each node id, the other cluster's state since its last decision
  // there, and its own older states: a key reused without checking the node's state would show
  // against a fresh instance (no keys yet) that has learnt the same requests (on an empty view).
  const std::uint64_t seed = GENERATE(1, 2, 3, 4);
  const bool exact = GENERATE(false, true);
  RngStream rng(seed, "free-gpu-index/fgd");
  // Alike nodes and a few pod sizes, so that many nodes share a state and the keys decide.
  ClusterState a(catalog());
  for (int i = 0; i < 60; ++i) a.add_node(static_cast<std::uint32_t>(i % 2), 0, 4);
  ClusterState b = a;
  ParamValues params;
  params.set_number("exact", exact);
  auto kept = registry().make_placement(PolicyChoice{"fgd", params});
  std::vector<PlacementRequest> asked;
  std::vector<Allocation> held_a, held_b;
  int differ = 0;
  for (int step = 0; step < 150; ++step) {
    for (auto [c, held] : {std::pair{&a, &held_a}, std::pair{&b, &held_b}})
      if (!held->empty() && rng.uniform() < 0.4) {
        const std::size_t k = rng.below(held->size());
        c->release((*held)[k]);
        held->erase(held->begin() + static_cast<std::ptrdiff_t>(k));
      }
    PlacementRequest r;
    const int size = static_cast<int>(rng.below(5));
    r.gpus = size < 3 ? 0 : size - 2;
    r.milli_gpu = size < 3 ? 250 * (size + 1) : 0;
    asked.push_back(r);
    auto fresh = registry().make_placement(PolicyChoice{"fgd", params});
    for (const PlacementRequest& q : asked) fresh->place(q, ClusterView{});  // learns them, decides nothing
    r.asked_before = false;
    const PlacementAnswer x = kept->place(r, a.view(step));
    r.asked_before = true;  // the same pod again: learnt once
    const PlacementAnswer z = kept->place(r, b.view(step));
    const PlacementAnswer y = fresh->place(r, a.view(step));
    const PlacementAnswer w = fresh->place(r, b.view(step));
    INFO("seed " << seed << " step " << step);
    REQUIRE(describe(x) == describe(y));
    REQUIRE(describe(z) == describe(w));
    differ += describe(x) != describe(z);
    if (x) {
      held_a.push_back(a.allocation_for(r, *x));
      a.reserve(held_a.back());
    }
    if (z) {
      held_b.push_back(b.allocation_for(r, *z));
      b.reserve(held_b.back());
    }
  }
  REQUIRE(differ > 10);  // the clusters did diverge
}
