// The built-in policies' descriptors (name, parameters, factory), one function per policy,
// each defined beside its implementation; policies/builtin_list.hpp lists them (one line each).
#pragma once
#include "policies/registry.hpp"

namespace fleetsim {

#define FLEETSIM_POLICY(function, description) PolicyInfo function();
#include "policies/builtin_list.hpp"
#undef FLEETSIM_POLICY

// Shared by cache policies: the LRU entry (oldest last_used, then inserted, then model id).
std::size_t least_recently_used(std::span<const CacheEntry> entries);

}  // namespace fleetsim
