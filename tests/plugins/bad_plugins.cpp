// Test plugins that must be refused, one per compile definition:
//   NO_SYMBOL        a shared library without the registration symbols
//   OTHER_MAJOR      built against SDK major version 99
//   DUPLICATE        registers a placement policy named "best-fit" (a built-in's name)
//   THROWS           its registration throws
#include <stdexcept>

#include "policies/api/plugin.hpp"

#if defined(NO_SYMBOL)
extern "C" int not_a_fleetsim_plugin() { return 1; }
#elif defined(OTHER_MAJOR)
extern "C" __attribute__((visibility("default"))) const fleetsim::PluginAbi* fleetsim_plugin_abi() {
  static fleetsim::PluginAbi abi = [] {
    fleetsim::PluginAbi a = fleetsim::this_build_abi();
    a.sdk_major = 99;
    return a;
  }();
  return &abi;
}
extern "C" __attribute__((visibility("default"))) void fleetsim_plugin_register(fleetsim::PluginRegistrar&) {}
#elif defined(DUPLICATE)
FLEETSIM_PLUGIN(registrar) {
  fleetsim::PolicyInfo info;
  info.name = "best-fit";
  info.make_placement = [](const fleetsim::PolicyContext&) -> std::unique_ptr<fleetsim::PlacementPolicy> { return nullptr; };
  registrar.add(info);
}
#elif defined(THROWS)
FLEETSIM_PLUGIN(registrar) {
  (void)registrar;
  throw std::runtime_error("cannot find my configuration");
}
#endif
