// CachePolicy: decides what a node's disk model cache keeps (gem5's replacement-policy split:
// the engine stores each entry's facts, the policy only decides).
//
// Contract
//   admit   called when weights arrive from the remote store; true to keep a copy on the node.
//           The engine then calls `victim` until the new entry fits (an entry larger than the
//           whole cache is never admitted).
//   victim  an index into `entries` (never empty) to evict.
//   state   entries carry inserted / last_used / hits; a policy needing more keeps it itself,
//           keyed by (node, model).
//   ties    LRU: oldest last_used, then oldest inserted, then lowest model id.
//   invalid an index out of range stops the run with an error naming the policy.
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>

#include "policies/api/cluster_view.hpp"

namespace fleetsim {

class CachePolicy {
 public:
  virtual ~CachePolicy() = default;
  virtual bool admit(std::uint32_t model, double bytes, const NodeView& node) = 0;
  virtual std::size_t victim(std::span<const CacheEntry> entries, const NodeView& node) = 0;
};

}  // namespace fleetsim
