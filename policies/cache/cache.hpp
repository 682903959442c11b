// CachePolicy: decides what a node's model caches keep — its disk and its host memory, two
// tiers with their own capacity (gem5's replacement-policy split: the engine stores each
// entry's facts, the policy decides).
//
// Contract
//   admit     called when weights pass through a tier on their way to a GPU (a load from the
//             model store passes disk and host memory; a load from disk passes host memory);
//             true to keep a copy there. The engine then calls `victim` until the new entry
//             fits (an entry larger than the whole tier is never admitted).
//   victim    an index into `entries` (never empty) to evict, or kKeepAll to evict nothing, in
//             which case the new entry is not admitted.
//   on_insert / on_hit / on_evict  notifications, for policies that keep per-entry state
//             (keyed by node, tier and model). Entries carry inserted / last_used / hits.
//   prefetch_at_start  models to place in a node's disk cache before the run (instantly).
//   prefetch_on_scale_up  when the autoscaler starts a replica of `model`, nodes whose disk
//             cache should be warmed with it in the background (a transfer from the store).
//   ties      each built-in documents its tie-break; LRU: oldest last_used, then oldest
//             inserted, then lowest model id.
//   invalid   an index out of range stops the run with an error naming the policy.
#pragma once
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <vector>

#include "policies/api/cluster_view.hpp"
#include "policies/api/policy.hpp"

namespace fleetsim {

enum class CacheTier : std::uint8_t { HostMemory, Disk };
const char* tier_name(CacheTier tier);  // "host-memory", "disk"

class CachePolicy : public Policy {
 public:
  static constexpr std::size_t kKeepAll = std::numeric_limits<std::size_t>::max();

  virtual ~CachePolicy() = default;
  virtual bool admit(CacheTier tier, std::uint32_t model, double bytes, const NodeView& node) = 0;
  virtual std::size_t victim(CacheTier tier, std::span<const CacheEntry> entries, const NodeView& node) = 0;
  virtual void on_insert(CacheTier, const CacheEntry&, const NodeView&) {}
  virtual void on_hit(CacheTier, const CacheEntry&, const NodeView&) {}
  virtual void on_evict(CacheTier, const CacheEntry&, const NodeView&) {}
  virtual std::vector<std::uint32_t> prefetch_at_start(const NodeView&) { return {}; }
  virtual std::vector<std::uint32_t> prefetch_on_scale_up(std::uint32_t /*model*/, const ClusterView&) {
    return {};
  }
};

}  // namespace fleetsim
