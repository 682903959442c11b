// PrefixCache: the prompt-prefix blocks one LLM replica keeps in its KV cache, by hash (vLLM's
// automatic prefix caching at the granularity of a trace's prefix blocks). A request's prompt
// is a sequence of block hashes; the blocks it shares with the cache from the start are a hit,
// and their prefill is skipped. Blocks are kept in least-recently-used order and evicted from
// the cold end when the replica's running requests need the space.
//
// Equal hashes are taken to mean equal blocks *at the same position*, as in Mooncake's traces
// (each hash id names a whole prefix up to that block), so a match is the longest run of the
// request's leading hashes that the cache holds.
#pragma once
#include <cstdint>
#include <span>
#include <unordered_map>
#include <vector>

namespace fleetsim {

class PrefixCache {
 public:
  // Leading blocks of `hashes` held now. Changes nothing (a router may ask of every replica).
  std::size_t match(std::span<const std::uint64_t> hashes) const;
  // Marks every block of `hashes` used now (most recent), adding those not held; returns how
  // many were added.
  std::size_t insert(std::span<const std::uint64_t> hashes);
  // Evicts least-recently-used blocks until at most `limit` are held; returns how many went.
  // With `evicted`, their hashes are appended to it, least recently used first (the KV offload
  // tiers take them: sim/kv_offload.cpp).
  std::size_t shrink_to(std::size_t limit, std::vector<std::uint64_t>* evicted = nullptr);
  bool contains(std::uint64_t hash) const { return map_.contains(hash); }
  void clear();

  std::size_t size() const { return map_.size(); }

 private:
  static constexpr std::uint32_t kNone = 0xFFFFFFFFu;
  struct Entry {
    std::uint64_t hash = 0;
    std::uint32_t newer = kNone;  // toward the most recently used end
    std::uint32_t older = kNone;
  };
  void unlink(std::uint32_t slot);
  void push_newest(std::uint32_t slot);

  std::unordered_map<std::uint64_t, std::uint32_t> map_;  // hash -> slot in entries_
  std::vector<Entry> entries_;
  std::vector<std::uint32_t> free_;
  std::uint32_t newest_ = kNone;
  std::uint32_t oldest_ = kNone;
};

}  // namespace fleetsim
