// lru: keep every model that arrives from the store; evict the least recently used by bytes
// until the new one fits (ties: oldest inserted, then lowest model id). "Used" means a replica
// loaded its weights from this copy.
#include "policies/builtin.hpp"

namespace fleetsim {

namespace {
class Lru final : public CachePolicy {
 public:
  bool admit(CacheTier, std::uint32_t, double, const NodeView&) override { return true; }
  std::size_t victim(CacheTier, std::span<const CacheEntry> entries, const NodeView&) override {
    return least_recently_used(entries);
  }
};
}  // namespace

std::size_t least_recently_used(std::span<const CacheEntry> entries) {
  std::size_t v = 0;
  for (std::size_t i = 1; i < entries.size(); ++i) {
    const CacheEntry& a = entries[i];
    const CacheEntry& b = entries[v];
    if (a.last_used != b.last_used ? a.last_used < b.last_used
        : a.inserted != b.inserted ? a.inserted < b.inserted
                                   : a.model < b.model)
      v = i;
  }
  return v;
}

PolicyInfo lru_policy() {
  PolicyInfo info;
  info.family = PolicyFamily::Cache;
  info.name = "lru";
  info.make_cache = [](const PolicyContext&) { return std::make_unique<Lru>(); };
  return info;
}

}  // namespace fleetsim
