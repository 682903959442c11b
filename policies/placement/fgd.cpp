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
#include <algorithm>
#include <cmath>
#include <cstring>
#include <unordered_set>

#include "policies/builtin.hpp"
#include "policies/placement/fragmentation.hpp"

namespace fleetsim {

namespace {

// A node's state as far as this policy's score and choices go: two nodes with equal keys score
// the same, so only the lower-numbered one (the tie winner) needs evaluating.
struct StateKey {
  std::vector<double> words;
  bool operator==(const StateKey&) const = default;
};
struct StateKeyHash {
  std::size_t operator()(const StateKey& k) const {
    std::uint64_t h = 0xcbf29ce484222325ULL;
    for (double w : k.words) {
      std::uint64_t bits;
      std::memcpy(&bits, &w, sizeof bits);
      h ^= bits + 0x9E3779B97F4A7C15ULL + (h << 6) + (h >> 2);
    }
    return static_cast<std::size_t>(h);
  }
};

class Fgd final : public PlacementPolicy {
 public:
  explicit Fgd(bool exact) : exact_(exact) {}

  PlacementAnswer place(const PlacementRequest& request, const ClusterView& cluster) override {
    if (!request.asked_before) model_.add(pod_size(request));
    const bool share = request.milli_gpu > 0;
    bool found = false;
    std::int64_t best_delta = 0;
    Placement best;
    seen_.clear();
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

  bool first_of_its_state(const NodeView& node) {
    key_.words.clear();
    key_.words.push_back(static_cast<double>(reinterpret_cast<std::uintptr_t>(node.gpu_type)));
    key_.words.push_back(static_cast<double>(node.pool));
    key_.words.push_back(node.cpu_capacity);
    key_.words.push_back(node.cpu_used);
    key_.words.push_back(node.host_memory_capacity);
    key_.words.push_back(node.host_memory_used);
    pairs_.clear();
    for (const GpuSlot& s : node.gpus) pairs_.emplace_back(s.milli_used, s.memory_used);
    std::sort(pairs_.begin(), pairs_.end());
    for (const auto& [milli, memory] : pairs_) {
      key_.words.push_back(milli);
      key_.words.push_back(memory);
    }
    return seen_.insert(key_).second;
  }

  bool exact_ = false;
  FragmentationModel model_;
  std::vector<int> free_;
  std::vector<int> tried_;
  StateKey key_;
  std::vector<std::pair<double, double>> pairs_;
  std::unordered_set<StateKey, StateKeyHash> seen_;
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
