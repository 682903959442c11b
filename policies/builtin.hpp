// The built-in policies' descriptors (name, parameters, factory), one function per policy,
// each defined beside its implementation and collected by registry.cpp.
#pragma once
#include "policies/registry.hpp"

namespace fleetsim {

PolicyInfo first_fit_policy();
PolicyInfo best_fit_policy();
PolicyInfo spread_policy();
PolicyInfo fgd_policy();
PolicyInfo dot_product_policy();
PolicyInfo gpu_packing_policy();
PolicyInfo gpu_clustering_policy();
PolicyInfo random_fit_policy();
PolicyInfo cache_affinity_policy();
PolicyInfo kpa_policy();
PolicyInfo fixed_policy();
PolicyInfo fixed_keepalive_policy();
PolicyInfo fixed_keepalive_20min_policy();
PolicyInfo hybrid_histogram_policy();
PolicyInfo oracle_policy();
PolicyInfo least_outstanding_policy();
PolicyInfo round_robin_policy();
PolicyInfo lru_policy();
PolicyInfo no_cache_policy();
PolicyInfo lfu_policy();
PolicyInfo gdsf_policy();
PolicyInfo pinned_policy();
PolicyInfo fifo_queue_policy();
PolicyInfo sjf_queue_policy();
PolicyInfo srtf_queue_policy();
PolicyInfo las_queue_policy();
PolicyInfo priority_queue_policy();
PolicyInfo fair_share_queue_policy();

// Shared by cache policies: the LRU entry (oldest last_used, then inserted, then model id).
std::size_t least_recently_used(std::span<const CacheEntry> entries);

}  // namespace fleetsim
