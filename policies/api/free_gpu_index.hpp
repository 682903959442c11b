// FreeGpuIndex: the nodes that are up, by shape — grouped by (pool, GPU type) and, within a group,
// bucketed by free whole GPUs (GPUs with no holder, NodeView::free_gpus) — so that a placement
// policy visits the nodes that could host a request instead of every node of the cluster.
//
// The engine keeps it (sim/ClusterState: as GPUs are allocated and freed, and as nodes go up and
// down) and hands it to policies read-only through ClusterView::index; a view built by hand has
// none. Policies normally use it through visit_candidates() (policies/placement/placement.hpp),
// which also walks a view without one; visit() here is the raw query.
//
// Layout. A group lists its nodes in ascending id; a bucket is a bitset over those positions
// (bit i: the group's i-th node is up with exactly that many free GPUs) plus a summary bitset
// (bit w: word w of the bucket is not zero), so finding the next member skips 4,096 empty
// positions a step. Moving a node between buckets is O(1); visiting costs O(members visited +
// groups + words skipped / 64). Nodes that are down are in no bucket.
//
// This class is part of the plugin boundary (its layout is in plugin_layout(); the queries are
// inline, compiled into each plugin): changing its members is an SDK major version.
#pragma once
#include <bit>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace fleetsim {

class FreeGpuIndex {
 public:
  static constexpr std::uint32_t kNotIndexed = 0xFFFFFFFFu;

  struct Bucket {
    std::uint32_t count = 0;               // members
    std::vector<std::uint64_t> words;      // bit per position in the group
    std::vector<std::uint64_t> summary;    // bit per word that is not zero
  };
  struct Group {
    std::uint32_t pool = 0;
    std::uint32_t gpu_type = 0;            // the engine's catalog index
    std::uint32_t first_node = 0;          // its lowest node id: NodeView::gpu_type for the group
    std::vector<std::uint32_t> nodes;      // member node ids, ascending
    std::vector<Bucket> buckets;           // by free GPUs: buckets[f]
  };

  // --- Queries (what policies call) ---------------------------------------------------------
  std::span<const Group> groups() const { return groups_; }
  // The largest free-GPU count any group can hold (the top bucket's index), -1 when empty.
  int max_free_gpus() const { return max_free_; }
  // Nodes indexed (up) with exactly `free` free GPUs in `group`.
  std::uint32_t count(std::size_t group, int free) const {
    const Group& g = groups_[group];
    return free >= 0 && static_cast<std::size_t>(free) < g.buckets.size() ? g.buckets[static_cast<std::size_t>(free)].count : 0;
  }

  // Visits, in ascending node id, every indexed node of the groups listed in `groups` whose free
  // GPUs are in [lo, hi], until visit(node id) returns true; returns whether it stopped so.
  // `groups` must be ascending and without repeats.
  template <class Visit>
  bool visit(std::span<const std::uint32_t> groups, int lo, int hi, Visit&& visit) const {
    constexpr std::size_t kInline = 8;
    Cursor inline_cursors[kInline];
    std::vector<Cursor> more;
    Cursor* cursors = inline_cursors;
    if (groups.size() > kInline) {
      more.resize(groups.size());
      cursors = more.data();
    }
    std::size_t live = 0;
    for (std::uint32_t gi : groups) {
      Cursor c{&groups_[gi], 0, 0, 0, 0};
      const int top = static_cast<int>(c.group->buckets.size()) - 1;
      c.lo = lo < 0 ? 0 : lo;
      c.hi = hi > top ? top : hi;
      if (c.lo > c.hi || !any_member(*c.group, c.lo, c.hi)) continue;
      if (!advance(c, 0)) continue;
      cursors[live++] = c;
    }
    while (live > 0) {
      std::size_t best = 0;
      for (std::size_t i = 1; i < live; ++i)
        if (cursors[i].node() < cursors[best].node()) best = i;
      Cursor& c = cursors[best];
      if (visit(c.node())) return true;
      c.bits &= c.bits - 1;
      if (c.bits == 0 && !advance(c, c.word + 1)) cursors[best] = cursors[--live];
    }
    return false;
  }

  // --- Upkeep (the engine's side; a policy sees a const index) ------------------------------
  // Adds node `id` (ids ascending across calls) of `pool` and catalog type `gpu_type`, with
  // `gpus` GPUs, not indexed until set().
  void add_node(std::uint32_t id, std::uint32_t pool, std::uint32_t gpu_type, int gpus);
  // Puts the node in the bucket of `free` free GPUs, or in none when `up` is false.
  void set(std::uint32_t id, bool up, int free) {
    const std::uint32_t want = up && free >= 0 ? static_cast<std::uint32_t>(free) : kNotIndexed;
    if (node_bucket_[id] != want) move(id, want);
  }
  // The node's bucket (kNotIndexed: down) and group.
  std::uint32_t bucket_of(std::uint32_t id) const { return node_bucket_[id]; }
  std::uint32_t group_of(std::uint32_t id) const { return node_group_[id]; }
  std::size_t size() const { return node_group_.size(); }

 private:
  struct Cursor {
    const Group* group;
    std::size_t word;
    std::uint64_t bits;  // the members left in `word`
    int lo, hi;
    std::uint32_t node() const {
      return group->nodes[word * 64 + static_cast<std::size_t>(std::countr_zero(bits))];
    }
  };
  void move(std::uint32_t id, std::uint32_t bucket);
  static bool any_member(const Group& g, int lo, int hi) {
    for (int f = lo; f <= hi; ++f)
      if (g.buckets[static_cast<std::size_t>(f)].count > 0) return true;
    return false;
  }
  // Moves `c` to the first word at or after `from` with a member in [lo, hi]; false when none.
  static bool advance(Cursor& c, std::size_t from) {
    const std::size_t words = (c.group->nodes.size() + 63) / 64;
    std::size_t w = from;
    while (w < words) {
      std::uint64_t bits = 0;
      for (int f = c.lo; f <= c.hi; ++f) {
        const Bucket& b = c.group->buckets[static_cast<std::size_t>(f)];
        if (b.count > 0) bits |= b.words[w];
      }
      if (bits != 0) {
        c.word = w;
        c.bits = bits;
        return true;
      }
      // The next word that some bucket's summary marks.
      const std::size_t next = w + 1;
      std::uint64_t mask = ~0ULL << (next % 64);
      w = words;
      for (std::size_t s = next / 64, summaries = (words + 63) / 64; s < summaries; ++s, mask = ~0ULL) {
        std::uint64_t marks = 0;
        for (int f = c.lo; f <= c.hi; ++f) {
          const Bucket& b = c.group->buckets[static_cast<std::size_t>(f)];
          if (b.count > 0) marks |= b.summary[s];
        }
        marks &= mask;
        if (marks != 0) {
          w = s * 64 + static_cast<std::size_t>(std::countr_zero(marks));
          break;
        }
      }
    }
    return false;
  }

  std::vector<Group> groups_;
  std::vector<std::uint32_t> node_group_;   // per node id
  std::vector<std::uint32_t> node_pos_;     // its position in the group
  std::vector<std::uint32_t> node_bucket_;  // its bucket, kNotIndexed when down
  int max_free_ = -1;
};

}  // namespace fleetsim
