// fgd: Fragmentation Gradient Descent (Weng et al., "Beware of Fragmentation: Scheduling
// GPU-Sharing Workloads with Fragmentation Gradient Descent", USENIX ATC'23; reference code in
// hkust-adsl/kubernetes-scheduler-simulator, fgd_score.go). For every node with room and every
// distinct GPU choice on it, the node's expected fragmentation against the target workload is
// computed before and after the hypothetical placement; the placement with the smallest increase
// wins.
//
// Fragmentation (policies/placement/fragmentation.hpp has the full definition): for a pod size m,
// F_n(m) is the unallocated GPU capacity of node n that a pod of size m cannot use — all of it if
// m cannot run on n (asks for no GPU, wrong GPU type, not enough CPU or host memory, too few GPUs
// with m's per-GPU demand free), else the free capacity of the GPUs with less than m's per-GPU
// demand free. The node's expected fragmentation is F_n = sum over sizes m of p_m * F_n(m), p_m the
// popularity of size m in the target workload.
//
// Target workload: the sizes (GPUs or GPU share, CPU, host memory, allowed GPU types) of the
// requests this policy has been asked to place so far (a request marked asked_before once), the
// current one included (policy state:
// a policy sees only its arguments). The paper takes it from the whole trace in advance (and keeps
// the most popular sizes covering 95% of pods); here it is learnt online and every size counts.
//
// Comparing increases. By default as the reference code does: the increase dF (in milli GPUs of
// expected fragmentation) becomes the integer score trunc(100 * sigmoid(-dF / 1000)), 0..100, and
// the best score wins, so increases within one score step (about 40 milli near 0) tie and the
// tie-break (lowest node id) packs them. With `exact: true` increases are compared exactly (integer
// milli x pods). On the openb traces the reference scoring allocates more at saturation (exact
// minimisation chases tiny differences and spreads pods); both are kept for comparison.
//
// GPU choice: whole GPUs take the lowest free ones (which free GPUs does not change F_n); a GPU
// share is tried on each GPU with room, one per distinct free amount (equal GPUs are equivalent).
//
// Ties: lowest node id, then lowest GPU index. The reference breaks node ties at random (the
// Kubernetes scheduler's choice among equal scores).
//
// Cost: nodes in the same state score alike, so only the first of each state is evaluated. A
// node's state key (sorted GPU shares) and its hash are kept between decisions and recomputed
// only when the node's state differs, bit for bit, from the one they were computed from; the
// states seen in a decision go in an open-addressing table of node ids, emptied by a generation
// count instead of a clear. (Before, every decision built, sorted, hashed and stored a key per
// node with room.)
#include <algorithm>
#include <cmath>
#include <cstring>

#include "policies/builtin.hpp"
#include "policies/placement/fragmentation.hpp"

namespace fleetsim {

namespace {

// A node's state as far as this policy's score and choices go: two nodes with equal keys score
// the same, so only the lower-numbered one (the tie winner) needs evaluating. Kept per node with
// the raw state it was computed from (the same words, the GPUs in index order).
struct StateKey {
  std::vector<double> words;
  std::vector<double> raw;
  std::size_t hash = 0;
  bool valid = false;
};

std::size_t hash_words(const std::vector<double>& words) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (double w : words) {
    std::uint64_t bits;
    std::memcpy(&bits, &w, sizeof bits);
    h ^= bits + 0x9E3779B97F4A7C15ULL + (h << 6) + (h >> 2);
  }
  return static_cast<std::size_t>(h);
}

bool same_bits(double a, double b) {
  std::uint64_t x, y;
  std::memcpy(&x, &a, sizeof x);
  std::memcpy(&y, &b, sizeof y);
  return x == y;
}

class Fgd final : public PlacementPolicy {
 public:
  explicit Fgd(bool exact) : exact_(exact) {}

  PlacementAnswer place(const PlacementRequest& request, const ClusterView& cluster) override {
    if (!request.asked_before) model_.add(pod_size(request));
    const bool share = request.milli_gpu > 0;
    bool found = false;
    std::int64_t best_delta = 0;
    Placement best;
    begin_decision(cluster.nodes.size());
    for (const NodeView& node : cluster.nodes) {
      if (!node_fits(node, request)) continue;
      if (!first_of_its_state(node)) continue;
      NodeResources now = node_resources(node, free_);
      const std::int64_t before = model_.weighted(now);
      NodeResources after = now;
      after.cpu_used += request.cpu;
      after.host_memory_used += request.host_memory;
      auto consider = [&](std::int64_t weighted_after, std::vector<int> gpus) {
        const std::int64_t delta = cost(weighted_after - before);
        if (!found || delta < best_delta) {
          found = true;
          best_delta = delta;
          best = Placement{node.id, std::move(gpus)};
        }
      };
      if (share) {
        tried_.clear();
        for (std::size_t g = 0; g < node.gpus.size(); ++g) {
          if (!gpu_fits(node, node.gpus[g], request)) continue;
          const int f = free_[g];
          if (std::find(tried_.begin(), tried_.end(), f) != tried_.end()) continue;
          tried_.push_back(f);
          free_[g] = f - request.milli_gpu;
          after.free_milli = free_;
          const std::int64_t w = model_.weighted(after);
          free_[g] = f;
          consider(w, {static_cast<int>(g)});
        }
      } else {
        std::vector<int> gpus = lowest_free_gpus(node, request);
        for (int g : gpus) free_[static_cast<std::size_t>(g)] = 0;
        after.free_milli = free_;
        consider(model_.weighted(after), std::move(gpus));
      }
    }
    if (!found) return nothing_fits(request, cluster);
    return best;
  }

 private:
  // Lower is better: the exact increase (milli x pods), or minus the reference's integer score.
  std::int64_t cost(std::int64_t weighted_increase) const {
    if (exact_) return weighted_increase;
    const double increase = static_cast<double>(weighted_increase) / static_cast<double>(model_.pods());
    return -static_cast<std::int64_t>(100.0 / (1.0 + std::exp(increase / 1000.0)));
  }

  // Readies the table of states seen for a decision over `nodes` nodes.
  void begin_decision(std::size_t nodes) {
    if (keys_.size() < nodes) keys_.resize(nodes);
    std::size_t capacity = 16;
    while (capacity < 2 * nodes) capacity *= 2;
    if (seen_.size() != capacity) {
      seen_.assign(capacity, Slot{});
      generation_ = 0;
    }
    if (++generation_ == 0) {  // wrapped: empty the table for real
      std::fill(seen_.begin(), seen_.end(), Slot{});
      generation_ = 1;
    }
  }

  // The node's key, recomputed when its state differs from the one it was computed from.
  const StateKey& key_of(const NodeView& node) {
    if (node.id >= keys_.size()) keys_.resize(node.id + 1);  // ids are positions; a view may be odd
    StateKey& k = keys_[node.id];
    const double head[] = {static_cast<double>(reinterpret_cast<std::uintptr_t>(node.gpu_type)),
                           static_cast<double>(node.pool), node.cpu_capacity, node.cpu_used,
                           node.host_memory_capacity, node.host_memory_used};
    bool same = k.valid && k.raw.size() == 6 + 2 * node.gpus.size();
    for (std::size_t i = 0; same && i < 6; ++i) same = same_bits(k.raw[i], head[i]);
    for (std::size_t g = 0; same && g < node.gpus.size(); ++g)
      same = same_bits(k.raw[6 + 2 * g], node.gpus[g].milli_used) && same_bits(k.raw[7 + 2 * g], node.gpus[g].memory_used);
    if (same) return k;
    k.raw.assign(head, head + 6);
    k.words.assign(head, head + 6);
    pairs_.clear();
    for (const GpuSlot& s : node.gpus) {
      k.raw.push_back(s.milli_used);
      k.raw.push_back(s.memory_used);
      pairs_.emplace_back(s.milli_used, s.memory_used);
    }
    std::sort(pairs_.begin(), pairs_.end());
    for (const auto& [milli, memory] : pairs_) {
      k.words.push_back(milli);
      k.words.push_back(memory);
    }
    k.hash = hash_words(k.words);
    k.valid = true;
    return k;
  }

  // Whether no node visited before in this decision had the same state (equal hash, and the
  // words equal as doubles compare: what the hash set this replaced answered).
  bool first_of_its_state(const NodeView& node) {
    const StateKey& k = key_of(node);
    const std::size_t mask = seen_.size() - 1;
    for (std::size_t i = k.hash & mask;; i = (i + 1) & mask) {
      Slot& slot = seen_[i];
      if (slot.generation != generation_) {
        slot = Slot{node.id, generation_};
        return true;
      }
      const StateKey& other = keys_[slot.node];
      if (other.hash == k.hash && other.words == k.words) return false;
    }
  }

  struct Slot {
    std::uint32_t node = 0;
    std::uint32_t generation = 0;  // in the table for the decision of this generation
  };

  bool exact_ = false;
  FragmentationModel model_;
  std::vector<int> free_;
  std::vector<int> tried_;
  std::vector<std::pair<double, double>> pairs_;
  std::vector<StateKey> keys_;   // per node id
  std::vector<Slot> seen_;       // the states seen in this decision (a power of two of slots)
  std::uint32_t generation_ = 0;
};

}  // namespace

PolicyInfo fgd_policy() {
  PolicyInfo info;
  info.family = PolicyFamily::Placement;
  info.name = "fgd";
  info.params = {{"exact", ParamType::Bool, "false", 0, 1,
                  "compare fragmentation increases exactly instead of by the reference code's 0..100 score"}};
  info.make_placement = [](const PolicyContext& context) { return std::make_unique<Fgd>(context.params.flag("exact")); };
  return info;
}

}  // namespace fleetsim
