// gdsf: Greedy-Dual-Size-Frequency (Cherkasova, "Improving WWW proxies performance with
// Greedy-Dual-Size-Frequency caching policy", HP Labs 1998). Each entry has a priority
//   H = L + frequency · cost / size,
// where L is the tier's inflation value: the priority of the last evicted entry. The lowest H
// goes first (ties: least recently used, then lowest model id). Here cost is the time it takes
// to fetch the weights again from the model store over the node's link (size / bandwidth), so
// cost / size = 1 / bandwidth and, with one link per node, H reduces to L + frequency / bandwidth:
// frequency with ageing. Set `size_aware: true` for the classic cost = 1 (H = L + f / size),
// which favours keeping small models.
#include <map>
#include <tuple>

#include "policies/builtin.hpp"

namespace fleetsim {

namespace {
class Gdsf final : public CachePolicy {
 public:
  explicit Gdsf(const ParamValues& p) : size_aware_(p.flag("size_aware")) {}

  bool admit(CacheTier, std::uint32_t, double, const NodeView&) override { return true; }

  void on_insert(CacheTier tier, const CacheEntry& e, const NodeView& node) override { touch(tier, e, node); }
  void on_hit(CacheTier tier, const CacheEntry& e, const NodeView& node) override { touch(tier, e, node); }
  void on_evict(CacheTier tier, const CacheEntry& e, const NodeView& node) override {
    auto it = priority_.find(key(tier, e.model, node));
    if (it == priority_.end()) return;
    inflation_[{node.id, tier}] = it->second;
    priority_.erase(it);
  }

  std::size_t victim(CacheTier tier, std::span<const CacheEntry> entries, const NodeView& node) override {
    std::size_t v = 0;
    double best = 0;
    for (std::size_t i = 0; i < entries.size(); ++i) {
      auto it = priority_.find(key(tier, entries[i].model, node));
      const double h = it == priority_.end() ? 0.0 : it->second;
      const CacheEntry& a = entries[i];
      const CacheEntry& b = entries[v];
      if (i == 0 || h < best ||
          (h == best && (a.last_used != b.last_used ? a.last_used < b.last_used : a.model < b.model))) {
        v = i;
        best = h;
      }
    }
    return v;
  }

 private:
  using Key = std::tuple<std::uint32_t, CacheTier, std::uint32_t>;
  static Key key(CacheTier tier, std::uint32_t model, const NodeView& node) { return {node.id, tier, model}; }

  void touch(CacheTier tier, const CacheEntry& e, const NodeView& node) {
    const double frequency = static_cast<double>(e.hits) + 1.0;
    const double per_byte = size_aware_ ? 1.0 / e.bytes : 1.0 / node.network_bandwidth;
    priority_[key(tier, e.model, node)] = inflation_[{node.id, tier}] + frequency * per_byte * 1e9;
  }

  bool size_aware_;
  std::map<Key, double> priority_;
  std::map<std::pair<std::uint32_t, CacheTier>, double> inflation_;
};
}  // namespace

PolicyInfo gdsf_policy() {
  PolicyInfo info;
  info.family = PolicyFamily::Cache;
  info.name = "gdsf";
  info.params = {{"size_aware", ParamType::Bool, "false", 0, 1,
                  "cost = 1 (prefer small models) instead of the time to re-fetch"}};
  info.make_cache = [](const PolicyContext& context) { return std::make_unique<Gdsf>(context.params); };
  return info;
}

}  // namespace fleetsim
