// RouteIndex: each model's ready replicas ordered by load, so that a router asking for the least
// loaded one (ReadyReplicas::fewest_outstanding / fewest_tokens, policies/routing/router.hpp)
// gets it without a pass over every replica. A replica is known by its rank, its position in the
// engine's ready list of its model (ascending public id); over the ranks, two tournament trees of
// fan-out 16, one on outstanding requests and one on outstanding tokens. A node holds the least
// key under it with the lowest rank holding it, so the root is the answer, O(1) (kept with that
// replica's engine slot), ties going to the lowest id as a scan's first position does. A replica
// whose counts changed rewrites its key and the nodes above it up to the first whose answer stayed:
// at most log16(n) of them (n = 18,000: four), the upper ones small enough to stay in cache. The
// binary heap this replaced moved an entry through up to log2(n) levels and wrote each moved
// entry's position beside it, each a cache miss at a fleet's scale
// (bench/PERFORMANCE-HISTORY.md, "Session 17").
// A replica joins when it becomes ready and leaves when it stops being ready: the ranks after it
// shift and their nodes are recomputed, O(n), rare beside the requests routed. Only models with
// many ready replicas are kept in it (SimulationSetup::route_index_from; the others are scanned).
//
// The keys are copies of the counts, taken when the engine calls update() (sim/: at the end of
// each handler that may change a replica's counts, Simulation::route_load_changed); the
// invariant checker compares them with the replicas' counts between events. Token keys are
// doubles compared with `<`, as the scan over RouteCandidate compares them, so the index and
// the scan pick the same replica.
//
// Storage grows with the most replicas ready at once, never per request: no allocation once
// warm. Each tree is kept only when `keep_*` says a router reads it.
#pragma once
#include <algorithm>
#include <cstdint>
#include <limits>
#include <new>
#include <vector>

namespace fleetsim {

class RouteIndex {
 public:
  static constexpr std::uint32_t kNone = 0xFFFFFFFFu;

  RouteIndex() = default;
  RouteIndex(std::size_t models, bool keep_outstanding, bool keep_tokens)
      : models_(keep_outstanding || keep_tokens ? models : 0),
        keep_outstanding_(keep_outstanding && models > 0),
        keep_tokens_(keep_tokens && models > 0) {}

  bool keeps_outstanding() const { return keep_outstanding_; }
  bool keeps_tokens() const { return keep_tokens_; }
  // The model's replicas in the index (0 for a model not in it).
  std::size_t size(std::uint32_t model) const { return model < models_.size() ? models_[model].slots.size() : 0; }

  // The replica in engine slot `slot` joins at `rank` (0 to size(model)); those after it move
  // up one. Nothing when no tree is kept.
  void insert(std::uint32_t model, std::uint32_t rank, std::uint32_t slot, int outstanding, double tokens) {
    if (models_.empty()) return;
    Model& m = models_[model];
    m.slots.insert(m.slots.begin() + rank, slot);
    if (keeps_outstanding()) m.outstanding.insert(rank, outstanding);
    if (keeps_tokens()) m.tokens.insert(rank, tokens);
    m.refresh_picks();
  }
  // The replica at `rank` leaves; those after it move down one.
  void erase(std::uint32_t model, std::uint32_t rank) {
    Model& m = models_[model];
    m.slots.erase(m.slots.begin() + rank);
    if (keeps_outstanding()) m.outstanding.erase(rank);
    if (keeps_tokens()) m.tokens.erase(rank);
    m.refresh_picks();
  }
  void clear(std::uint32_t model) {
    if (model < models_.size()) models_[model] = Model{};
  }

  // The counts now of the replica at `rank`. Nothing when `rank` is not in the index (a model
  // not indexed has no ranks).
  void update(std::uint32_t model, std::uint32_t rank, int outstanding, double tokens) {
    if (rank >= size(model)) return;
    Model& m = models_[model];
    // (The slot of a new least loaded is looked up only then: a node's slot read at each change
    // below the root was a cache miss per update at a fleet's scale.)
    if (keeps_outstanding() && m.outstanding.set(rank, outstanding)) m.fewest_outstanding = m.pick(m.outstanding);
    if (keeps_tokens() && m.tokens.set(rank, tokens)) m.fewest_tokens = m.pick(m.tokens);
  }

  // A replica in the index: its rank (its position in the ready list) and engine slot (both
  // kNone: none).
  struct Pick {
    std::uint32_t rank = kNone;
    std::uint32_t slot = kNone;
  };
  // The model's ready replica with the fewest outstanding requests / tokens (ties: lowest
  // rank); none when the model has none in the index or the tree is not kept. Read from the
  // trees' roots, not from the replica or the ready list (at a fleet's scale, cache misses).
  Pick fewest_outstanding(std::uint32_t model) const {
    return keeps_outstanding() && model < models_.size() ? models_[model].fewest_outstanding : Pick{};
  }
  Pick fewest_tokens(std::uint32_t model) const {
    return keeps_tokens() && model < models_.size() ? models_[model].fewest_tokens : Pick{};
  }

  // What is stored at a rank (the invariant checker compares it with the replicas).
  std::uint32_t slot(std::uint32_t model, std::uint32_t rank) const { return models_[model].slots[rank]; }
  int outstanding_key(std::uint32_t model, std::uint32_t rank) const { return models_[model].outstanding.key(rank); }
  double tokens_key(std::uint32_t model, std::uint32_t rank) const { return models_[model].tokens.key(rank); }

 private:
  // Storage on cache-line boundaries: a node's 16 children then span as few lines as they can
  // (one for 16 int keys, where an unaligned block straddles two).
  template <class T>
  struct LineAligned {
    using value_type = T;
    LineAligned() = default;
    template <class U>
    LineAligned(const LineAligned<U>&) {}
    T* allocate(std::size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), std::align_val_t{64})); }
    void deallocate(T* p, std::size_t) { ::operator delete(p, std::align_val_t{64}); }
    bool operator==(const LineAligned&) const { return true; }
  };
  template <class T>
  using Lines = std::vector<T, LineAligned<T>>;

  // Keys by rank under a tree of fan-out 16. Each node: the least key of its 16 children and the
  // lowest rank holding it. Levels are padded to whole nodes with kEmpty, which no key beats (a
  // key equal to it still wins: it has the lower rank).
  template <class Key>
  class MinTree {
   public:
    static constexpr Key kEmpty = std::numeric_limits<Key>::has_infinity ? std::numeric_limits<Key>::infinity()
                                                                         : std::numeric_limits<Key>::max();
    std::uint32_t top() const { return root_rank_; }  // the least's rank (kNone: empty)
    Key key(std::uint32_t rank) const { return keys_[rank]; }

    // Whether the least (its rank or key) changed.
    bool set(std::uint32_t rank, Key key) {
      if (keys_[rank] == key) return false;  // (also keeps -0.0 and 0.0 where they are: they compare equal)
      keys_[rank] = key;
      for (std::size_t level = 0; level < levels_.size(); ++level) {
        rank >>= kShift;
        if (!refresh(level, rank)) return false;  // the nodes above read only this one's answer
      }
      root_rank_ = levels_.back()[0].rank;
      return true;
    }
    void insert(std::uint32_t rank, Key key) {
      keys_.insert(keys_.begin() + rank, key);
      ++size_;
      relayout(rank);
    }
    void erase(std::uint32_t rank) {
      keys_.erase(keys_.begin() + rank);
      --size_;
      relayout(rank);
    }

   private:
    static constexpr unsigned kShift = 4;
    static constexpr std::size_t kFan = std::size_t{1} << kShift;
    struct Node {
      Key min = kEmpty;
      std::uint32_t rank = kNone;
    };
    static std::size_t nodes_over(std::size_t n) { return (n + kFan - 1) / kFan; }

    // Recomputes node `i` of `level` from its children; whether its answer changed.
    bool refresh(std::size_t level, std::size_t i) {
      Node best;
      const std::size_t first = i * kFan;
      if (level == 0) {
        const Key* child = &keys_[first];
        std::size_t at = 0;
        for (std::size_t c = 1; c < kFan; ++c)
          if (child[c] < child[at]) at = c;
        if (first + at < size_) best = {child[at], static_cast<std::uint32_t>(first + at)};
      } else {
        const Node* child = &levels_[level - 1][first];
        best = child[0];
        for (std::size_t c = 1; c < kFan; ++c)
          if (child[c].min < best.min) best = child[c];
      }
      Node& node = levels_[level][i];
      if (node.rank == best.rank && node.min == best.min) return false;
      node = best;
      return true;
    }
    // A rank came or went at `rank`: each level resized to whole nodes (the top: one node), and
    // every node over `rank` or after it recomputed (a node past the last real one: empty).
    void relayout(std::uint32_t rank) {
      if (size_ == 0) {
        keys_.clear();
        levels_.clear();
        root_rank_ = kNone;
        return;
      }
      std::size_t below = size_;  // entries at the level under the one being laid out
      keys_.resize(nodes_over(below) * kFan, kEmpty);
      std::size_t level = 0;
      for (;; ++level) {
        const std::size_t nodes = nodes_over(below);
        if (levels_.size() <= level) levels_.emplace_back();
        Lines<Node>& at = levels_[level];
        at.resize(nodes == 1 ? 1 : nodes_over(nodes) * kFan);
        rank >>= kShift;
        for (std::size_t i = rank; i < nodes; ++i) refresh(level, i);
        for (std::size_t i = std::max<std::size_t>(rank, nodes); i < at.size(); ++i) at[i] = Node{};
        if (nodes == 1) break;
        below = nodes;
      }
      levels_.resize(level + 1);
      root_rank_ = levels_.back()[0].rank;
    }

    Lines<Key> keys_;                  // by rank, padded with kEmpty
    std::vector<Lines<Node>> levels_;  // levels_[0] over the keys; back(): the root alone
    std::size_t size_ = 0;             // keys that are not padding
    std::uint32_t root_rank_ = kNone;  // the root's rank, read without two loads
  };

  struct Model {
    std::vector<std::uint32_t> slots;  // by rank
    MinTree<int> outstanding;
    MinTree<double> tokens;
    // The trees' answers with their slots, kept here: a router reads them with one load.
    Pick fewest_outstanding, fewest_tokens;

    template <class Key>
    Pick pick(const MinTree<Key>& tree) const {
      const std::uint32_t rank = tree.top();
      return rank == kNone ? Pick{} : Pick{rank, slots[rank]};
    }
    void refresh_picks() {
      fewest_outstanding = pick(outstanding);
      fewest_tokens = pick(tokens);
    }
  };

  std::vector<Model> models_;
  bool keep_outstanding_ = false;
  bool keep_tokens_ = false;
};

}  // namespace fleetsim
