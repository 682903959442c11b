// lfu: keep every model that passes through; evict the one loaded from this copy the fewest
// times (ties: least recently used, then oldest inserted, then lowest model id). Counts start
// at zero on insertion, so a newcomer is the first to go unless it is used.
#include "policies/builtin.hpp"

namespace fleetsim {

namespace {
class Lfu final : public CachePolicy {
 public:
  bool admit(CacheTier, std::uint32_t, double, const NodeView&) override { return true; }
  std::size_t victim(CacheTier, std::span<const CacheEntry> entries, const NodeView&) override {
    std::size_t v = 0;
    for (std::size_t i = 1; i < entries.size(); ++i) {
      const CacheEntry& a = entries[i];
      const CacheEntry& b = entries[v];
      if (a.hits != b.hits ? a.hits < b.hits
          : a.last_used != b.last_used ? a.last_used < b.last_used
          : a.inserted != b.inserted ? a.inserted < b.inserted
                                     : a.model < b.model)
        v = i;
    }
    return v;
  }
};
}  // namespace

PolicyInfo lfu_policy() {
  PolicyInfo info;
  info.family = PolicyFamily::Cache;
  info.name = "lfu";
  info.make_cache = [](const PolicyContext&) { return std::make_unique<Lfu>(); };
  return info;
}

}  // namespace fleetsim
