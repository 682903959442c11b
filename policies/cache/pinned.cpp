// pinned: KServe's LocalModelCache idea — the listed models are kept on the nodes of the
// listed pools (all pools when none are listed): prefetched into their disk caches before the
// run and never evicted. Other models are cached LRU in whatever room is left; when only
// pinned models remain, a new model is not admitted.
#include <algorithm>
#include <vector>

#include "policies/builtin.hpp"

namespace fleetsim {

namespace {
class Pinned final : public CachePolicy {
 public:
  Pinned(std::vector<std::uint32_t> models, std::vector<std::uint32_t> pools)
      : models_(std::move(models)), pools_(std::move(pools)) {}

  bool admit(CacheTier, std::uint32_t, double, const NodeView&) override { return true; }

  std::size_t victim(CacheTier tier, std::span<const CacheEntry> entries, const NodeView& node) override {
    std::vector<CacheEntry> unpinned;
    std::vector<std::size_t> index;
    for (std::size_t i = 0; i < entries.size(); ++i)
      if (!(tier == CacheTier::Disk && pinned_here(entries[i].model, node))) {
        unpinned.push_back(entries[i]);
        index.push_back(i);
      }
    if (unpinned.empty()) return kKeepAll;
    return index[least_recently_used(unpinned)];
  }

  std::vector<std::uint32_t> prefetch_at_start(const NodeView& node) override {
    return covers(node) ? models_ : std::vector<std::uint32_t>{};
  }

 private:
  bool covers(const NodeView& node) const {
    return pools_.empty() || std::find(pools_.begin(), pools_.end(), node.pool) != pools_.end();
  }
  bool pinned_here(std::uint32_t model, const NodeView& node) const {
    return covers(node) && std::find(models_.begin(), models_.end(), model) != models_.end();
  }
  std::vector<std::uint32_t> models_;
  std::vector<std::uint32_t> pools_;
};
}  // namespace

PolicyInfo pinned_policy() {
  PolicyInfo info;
  info.family = PolicyFamily::Cache;
  info.name = "pinned";
  info.params = {
      {"models", ParamType::ModelList, "", 0, 0, "comma-separated model names kept on the nodes"},
      {"pools", ParamType::PoolList, "", 0, 0, "comma-separated pool names; empty means every pool"},
  };
  info.make_cache = [](const PolicyContext& context) {
    const ParamValues& p = context.params;
    return std::make_unique<Pinned>(p.ids("models"), p.ids("pools"));
  };
  return info;
}

}  // namespace fleetsim
