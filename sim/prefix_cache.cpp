#include "sim/prefix_cache.hpp"

namespace fleetsim {

std::size_t PrefixCache::match(std::span<const std::uint64_t> hashes) const {
  std::size_t n = 0;
  while (n < hashes.size() && map_.contains(hashes[n])) ++n;
  return n;
}

void PrefixCache::unlink(std::uint32_t slot) {
  Entry& e = entries_[slot];
  if (e.newer != kNone) entries_[e.newer].older = e.older; else newest_ = e.older;
  if (e.older != kNone) entries_[e.older].newer = e.newer; else oldest_ = e.newer;
  e.newer = e.older = kNone;
}

void PrefixCache::push_newest(std::uint32_t slot) {
  Entry& e = entries_[slot];
  e.older = newest_;
  e.newer = kNone;
  if (newest_ != kNone) entries_[newest_].newer = slot; else oldest_ = slot;
  newest_ = slot;
}

std::size_t PrefixCache::insert(std::span<const std::uint64_t> hashes) {
  std::size_t added = 0;
  // Touched from the last block to the first, so that the first (shared by the most requests)
  // ends up the most recent and is evicted last.
  for (std::size_t i = hashes.size(); i-- > 0;) {
    auto [it, fresh] = map_.try_emplace(hashes[i], kNone);
    if (fresh) {
      std::uint32_t slot;
      if (!free_.empty()) {
        slot = free_.back();
        free_.pop_back();
      } else {
        slot = static_cast<std::uint32_t>(entries_.size());
        entries_.emplace_back();
      }
      entries_[slot].hash = hashes[i];
      it->second = slot;
      ++added;
    } else {
      unlink(it->second);
    }
    push_newest(it->second);
  }
  return added;
}

std::size_t PrefixCache::shrink_to(std::size_t limit, std::vector<std::uint64_t>* evicted) {
  std::size_t count = 0;
  while (map_.size() > limit && oldest_ != kNone) {
    const std::uint32_t slot = oldest_;
    unlink(slot);
    map_.erase(entries_[slot].hash);
    if (evicted) evicted->push_back(entries_[slot].hash);
    free_.push_back(slot);
    ++count;
  }
  return count;
}

void PrefixCache::clear() {
  map_.clear();
  entries_.clear();
  free_.clear();
  newest_ = oldest_ = kNone;
}

}  // namespace fleetsim
