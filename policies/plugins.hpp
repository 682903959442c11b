// Loading policy plugins (shared libraries written against the SDK, policies/api/plugin.hpp)
// into the registry, where they sit beside the built-ins and are chosen the same way.
#pragma once
#include <string>

#include "policies/registry.hpp"

namespace fleetsim {

// Loads the plugin at `path` and registers its policies in `registry`. Returns "" on success
// (also when that file was loaded already), else why not — file not found, not a shared library,
// no registration symbol, another SDK version or standard library, a policy name already taken,
// a registration that threw — and then registers nothing of it. A loaded library stays loaded
// for the life of the program (its policies' code must).
std::string load_plugin(PolicyRegistry& registry, const std::string& path);

}  // namespace fleetsim
