// second-hit-cache: an example cache plugin. A node's cache tier admits a model only the
// `admit_after`-th time its weights pass through that tier (default: the second), so a model
// loaded once — a one-off experiment, a rarely used fine-tune — does not push out the models
// that keep coming back ("cache on second hit", as CDNs do against one-hit wonders). Eviction is
// least recently used (ties: oldest inserted, then lowest model id). The passes are counted per
// node, tier and model, for the whole run.
#include <map>
#include <tuple>

#include "policies/api/plugin.hpp"

namespace {

using namespace fleetsim;

class SecondHit final : public CachePolicy {
 public:
  explicit SecondHit(std::int64_t after) : after_(after) {}

  bool admit(CacheTier tier, std::uint32_t model, double, const NodeView& node) override {
    return ++passes_[{node.id, tier, model}] >= after_;
  }
  std::size_t victim(CacheTier, std::span<const CacheEntry> entries, const NodeView&) override {
    std::size_t v = 0;
    for (std::size_t i = 1; i < entries.size(); ++i) {
      const CacheEntry& a = entries[i];
      const CacheEntry& b = entries[v];
      if (std::tie(a.last_used, a.inserted, a.model) < std::tie(b.last_used, b.inserted, b.model)) v = i;
    }
    return v;
  }

 private:
  std::int64_t after_;
  std::map<std::tuple<std::uint32_t, CacheTier, std::uint32_t>, std::int64_t> passes_;
};

PolicyInfo second_hit_cache() {
  PolicyInfo info;
  info.family = PolicyFamily::Cache;
  info.name = "second-hit-cache";
  info.description = "a tier keeps a model only from the admit_after-th time it passes through; LRU eviction";
  info.params = {ParamSpec{"admit_after", ParamType::Integer, "2", 1, 1000, "passes through a tier before it keeps a copy"}};
  info.make_cache = [](const PolicyContext& c) { return std::make_unique<SecondHit>(c.params.integer("admit_after")); };
  return info;
}

}  // namespace

FLEETSIM_PLUGIN(registrar) { registrar.add(second_hit_cache()); }
