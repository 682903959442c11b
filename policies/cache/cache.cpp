// The cache family's helpers (part of the SDK library, fleetsim::sdk).
#include "policies/cache/cache.hpp"

namespace fleetsim {

const char* tier_name(CacheTier tier) { return tier == CacheTier::Disk ? "disk" : "host-memory"; }

}  // namespace fleetsim
