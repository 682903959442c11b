// none: nodes keep no model weights; every cold start reads from the model store.
#include "policies/builtin.hpp"

namespace fleetsim {

namespace {
class NoCache final : public CachePolicy {
 public:
  bool admit(CacheTier, std::uint32_t, double, const NodeView&) override { return false; }
  std::size_t victim(CacheTier, std::span<const CacheEntry>, const NodeView&) override { return kKeepAll; }
};
}  // namespace

PolicyInfo no_cache_policy() {
  PolicyInfo info;
  info.family = PolicyFamily::Cache;
  info.name = "none";
  info.make_cache = [](const PolicyContext&) { return std::make_unique<NoCache>(); };
  return info;
}

}  // namespace fleetsim
