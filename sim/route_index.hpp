// RouteIndex: each model's ready replicas ordered by load, so that a router asking for the least
// loaded one (ReadyReplicas::fewest_outstanding / fewest_tokens, policies/routing/router.hpp)
// gets it without a pass over every replica. Two indexed binary min-heaps per model: one on
// (outstanding requests, replica id), one on (outstanding tokens, replica id) — the top is the
// answer, O(1); a replica whose counts changed moves in O(log n) (nothing when they did not);
// a replica joins when it becomes ready and leaves when it stops being ready. Only models with
// many ready replicas are kept in it (SimulationSetup::route_index_from; the others are scanned).
//
// The keys are copies of the counts, taken when the engine calls update() (sim/: at the end of
// each handler that may change a replica's counts, Simulation::route_load_changed); the
// invariant checker compares them with the replicas' counts between events. Token keys are
// doubles compared with `<` and `==`, as the scan over RouteCandidate compares them, so the
// index and the scan pick the same replica (ties: lowest id, the scan's first position).
//
// Storage grows with the most replicas ready at once, never per request: no allocation once
// warm. Each heap is kept only when `keep_*` says a router reads it.
#pragma once
#include <cstdint>
#include <type_traits>
#include <vector>

namespace fleetsim {

class RouteIndex {
 public:
  static constexpr std::uint32_t kNone = 0xFFFFFFFFu;

  RouteIndex() = default;
  RouteIndex(std::size_t models, bool keep_outstanding, bool keep_tokens)
      : by_outstanding_(keep_outstanding ? models : 0), by_tokens_(keep_tokens ? models : 0) {}

  bool keeps_outstanding() const { return !by_outstanding_.empty(); }
  bool keeps_tokens() const { return !by_tokens_.empty(); }
  bool contains(std::uint32_t slot) const { return slot < where_.size() && where_[slot].model != kNone; }

  // `slot` (engine storage index) of public id `id` becomes ready for `model`.
  void add(std::uint32_t model, std::uint32_t slot, std::uint32_t id, int outstanding, double tokens) {
    if (!keeps_outstanding() && !keeps_tokens()) return;
    if (slot >= where_.size()) where_.resize(slot + 1);
    Where& w = where_[slot];
    w.model = model;
    if (keeps_outstanding()) {
      auto& heap = by_outstanding_[model];
      heap.push_back({outstanding, id, slot});
      w.outstanding = static_cast<std::uint32_t>(heap.size() - 1);
      sift_up(heap, w.outstanding, &Where::outstanding);
    }
    if (keeps_tokens()) {
      auto& heap = by_tokens_[model];
      heap.push_back({tokens, id, slot});
      w.tokens = static_cast<std::uint32_t>(heap.size() - 1);
      sift_up(heap, w.tokens, &Where::tokens);
    }
  }

  // `slot` is no longer ready (drained, failed). Nothing when it is not indexed.
  void remove(std::uint32_t slot) {
    if (!contains(slot)) return;
    Where& w = where_[slot];
    if (keeps_outstanding()) erase(by_outstanding_[w.model], w.outstanding, &Where::outstanding);
    if (keeps_tokens()) erase(by_tokens_[w.model], w.tokens, &Where::tokens);
    w = Where{};
  }

  // The replica's counts now; moves it when they changed. Nothing when it is not indexed.
  void update(std::uint32_t slot, int outstanding, double tokens) {
    if (!contains(slot)) return;
    const Where& w = where_[slot];
    if (keeps_outstanding()) rekey(by_outstanding_[w.model], w.outstanding, outstanding, &Where::outstanding);
    if (keeps_tokens()) rekey(by_tokens_[w.model], w.tokens, tokens, &Where::tokens);
  }

  // A replica in the index: its engine slot and public id (both kNone: none).
  struct Pick {
    std::uint32_t slot = kNone;
    std::uint32_t id = kNone;
  };
  // The model's ready replica with the fewest outstanding requests / tokens (ties: lowest id);
  // none when the model has none or the heap is not kept. The id comes with it, read from the
  // heap's entry, not from the replica (at a fleet's scale, a cache miss).
  Pick fewest_outstanding(std::uint32_t model) const { return top(by_outstanding_, model); }
  Pick fewest_tokens(std::uint32_t model) const { return top(by_tokens_, model); }

  // The keys stored for an indexed slot (the invariant checker compares them with the replica).
  int outstanding_key(std::uint32_t slot) const { return by_outstanding_[where_[slot].model][where_[slot].outstanding].key; }
  double tokens_key(std::uint32_t slot) const { return by_tokens_[where_[slot].model][where_[slot].tokens].key; }

 private:
  template <class Key>
  struct Entry {
    Key key;
    std::uint32_t id;    // public replica id: the tie-break
    std::uint32_t slot;
    bool before(const Entry& o) const {
      // A count and the id in one unsigned word (the count's sign bit flipped keeps the order of
      // negative ones): one comparison the compiler can make without a branch. The sifts'
      // comparisons are as good as random, and their mispredicted branches were most of a
      // sift's cost at a thousand replicas a model.
      if constexpr (std::is_integral_v<Key>) return packed() < o.packed();
      return key < o.key || (key == o.key && id < o.id);
    }
    std::uint64_t packed() const {
      return (std::uint64_t{static_cast<std::uint32_t>(key) ^ 0x80000000u} << 32) | id;
    }
  };
  template <class Key>
  using Heap = std::vector<Entry<Key>>;
  struct Where {  // per slot: its model and its positions in that model's heaps
    std::uint32_t model = kNone;
    std::uint32_t outstanding = kNone;
    std::uint32_t tokens = kNone;
  };
  using Position = std::uint32_t Where::*;

  template <class Key>
  static Pick top(const std::vector<Heap<Key>>& heaps, std::uint32_t model) {
    if (model >= heaps.size() || heaps[model].empty()) return {};
    return {heaps[model].front().slot, heaps[model].front().id};
  }

  template <class Key>
  void place(Heap<Key>& heap, std::uint32_t at, const Entry<Key>& e, Position pos) {
    heap[at] = e;
    where_[e.slot].*pos = at;
  }
  template <class Key>
  void sift_up(Heap<Key>& heap, std::uint32_t at, Position pos) {
    const Entry<Key> e = heap[at];
    while (at > 0) {
      const std::uint32_t parent = (at - 1) / 2;
      if (!e.before(heap[parent])) break;
      place(heap, at, heap[parent], pos);
      at = parent;
    }
    place(heap, at, e, pos);
  }
  template <class Key>
  void sift_down(Heap<Key>& heap, std::uint32_t at, Position pos) {
    const Entry<Key> e = heap[at];
    const auto n = static_cast<std::uint32_t>(heap.size());
    while (true) {
      std::uint32_t child = 2 * at + 1;
      if (child >= n) break;
      if (child + 1 < n) child += static_cast<std::uint32_t>(heap[child + 1].before(heap[child]));
      if (!heap[child].before(e)) break;
      place(heap, at, heap[child], pos);
      at = child;
    }
    place(heap, at, e, pos);
  }
  template <class Key>
  void rekey(Heap<Key>& heap, std::uint32_t at, Key key, Position pos) {
    if (heap[at].key == key) return;  // (also keeps -0.0 and 0.0 where they are: they compare equal)
    const bool up = key < heap[at].key;
    heap[at].key = key;
    if (up)
      sift_up(heap, at, pos);
    else
      sift_down(heap, at, pos);
  }
  template <class Key>
  void erase(Heap<Key>& heap, std::uint32_t at, Position pos) {
    const Entry<Key> last = heap.back();
    heap.pop_back();
    if (at == heap.size()) return;
    const bool up = last.before(heap[at]);
    place(heap, at, last, pos);
    if (up)
      sift_up(heap, at, pos);
    else
      sift_down(heap, at, pos);
  }

  std::vector<Heap<int>> by_outstanding_;  // per model
  std::vector<Heap<double>> by_tokens_;    // per model
  std::vector<Where> where_;               // per slot
};

}  // namespace fleetsim
