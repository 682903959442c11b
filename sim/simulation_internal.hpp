// Private to the Simulation's own .cpp files (simulation.cpp, request_routing.cpp, batching.cpp,
// replica_lifecycle.cpp, model_loading.cpp, lora_adapters.cpp, node_pools.cpp,
// colocated_jobs.cpp): helpers and constants more than one of them uses. Include nowhere else
// (but tests/test_engine.cpp, which checks ceil_ns).
#pragma once
#include <cmath>
#include <cstdint>

#include "sim/time.hpp"

namespace fleetsim::simulation_internal {

// Durations computed from the performance model are rounded up to the next nanosecond, so a
// batch step never ends before its exact time and progress never overshoots a sequence's end.
// (std::ceil without SSE4.1 is a dozen instructions; this is it for every positive ns below
// 2^63: the truncation is exact, and short of the value by under 1 only when it was not whole.
// Not positive, or NaN: 0.)
inline SimTime ceil_ns(double seconds) {
  const double ns = seconds * 1e9;
  if (!(ns > 0)) return 0;
  const auto whole = static_cast<SimTime>(ns);
  return whole + (static_cast<double>(whole) < ns ? 1 : 0);
}

inline constexpr std::uint32_t kNoNode = 0xFFFFFFFFu;

// Transfer owners: a replica id (its cold-start phase), kPrefetchOwner + index into
// prefetches_, kKvOwner + request id (a KV cache moving to a decode replica,
// sim/disaggregation.cpp), kOffloadOwner + 2 × request id + (0: disk, 1: shared store) (a KV
// offload load, sim/kv_offload.cpp), or kAdapterOwner + (replica << 20) + adapter (a LoRA adapter
// load).
inline constexpr std::uint64_t kPrefetchOwner = 1ULL << 40;
inline constexpr std::uint64_t kOffloadOwner = 1ULL << 45;
inline constexpr std::uint64_t kAdapterOwner = 1ULL << 60;
inline constexpr std::uint64_t kKvOwner = 1ULL << 50;

}  // namespace fleetsim::simulation_internal
