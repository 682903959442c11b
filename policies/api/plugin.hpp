// Writing a plugin: a shared library that describes its policies with PolicyInfo, exactly as the
// built-ins do (policies/<family>/*.cpp), and registers them with FLEETSIM_PLUGIN:
//
//   #include "policies/api/plugin.hpp"
//   FLEETSIM_PLUGIN(registrar) { registrar.add(my_placement_policy()); }
//
// and is loaded with `fleetsim run SCENARIO --plugin libmine.so` or a scenario's `plugins:` list.
//
// The binary boundary is a versioned C++ interface, not a C one: a policy is a C++ object
// (a family interface) made by a factory that receives the same PolicyContext as a built-in, so a
// plugin and a built-in are one code path and cost the same per decision. The price is that the
// plugin must be built with a compatible C++ standard library: the loader compares, before
// calling anything else, the SDK major version (refused if different, or if the plugin's minor
// version is newer than the program's: within a major version the SDK only grows), the standard
// library and its string ABI, and the sizes of the types that cross the boundary.
#pragma once
#include <string>

#include "policies/api/policy_info.hpp"

// 2.0: ClusterView::index (the free-GPU index) and visit_candidates(); BatchState's
// chunked_prefill and kv_block_size. A 1.x plugin is rebuilt against it unchanged (its source
// compiles as it is), but the views it receives grew.
// 3.0: Router::reads() and route_ready() with ReadyReplicas (routing from the engine's index,
// policies/routing/router.hpp). Router's virtual table grew — a size check cannot see that, so
// it is a major version: a 2.x plugin is rebuilt against it unchanged.
// 3.1: RouteCandidate::offload_hit_tokens (in the struct's tail padding: its size is unchanged,
// so 3.0 plugins load as they are).
#define FLEETSIM_SDK_VERSION_MAJOR 3
#define FLEETSIM_SDK_VERSION_MINOR 1

namespace fleetsim {

// What a plugin was built with. Its first two fields never move, so any version can read them.
struct PluginAbi {
  int sdk_major = 0;
  int sdk_minor = 0;
  int libstdcxx = 0;          // 1: built with GNU libstdc++
  int cxx11_string_abi = 0;   // _GLIBCXX_USE_CXX11_ABI
  unsigned long layout = 0;   // sizes of the boundary's types, folded together
  const char* compiler = "";  // for messages
};

// The boundary's types, by size: a change in any of them changes this number.
constexpr unsigned long plugin_layout() {
  unsigned long h = 0;
  for (unsigned long size :
       {sizeof(std::string), sizeof(PolicyInfo), sizeof(PolicyContext), sizeof(ParamSpec), sizeof(ParamValues),
        sizeof(PlacementRequest), sizeof(NodeView), sizeof(ClusterView), sizeof(RouteCandidate), sizeof(RouteRequest), sizeof(JobView),
        sizeof(QueueContext), sizeof(BatchState), sizeof(CacheEntry), sizeof(FreeGpuIndex),
        sizeof(FreeGpuIndex::Group), sizeof(FreeGpuIndex::Bucket)})
    h = h * 1000003UL + size;
  return h;
}

inline PluginAbi this_build_abi() {
  PluginAbi abi;
  abi.sdk_major = FLEETSIM_SDK_VERSION_MAJOR;
  abi.sdk_minor = FLEETSIM_SDK_VERSION_MINOR;
#if defined(__GLIBCXX__)
  abi.libstdcxx = 1;
  abi.cxx11_string_abi = _GLIBCXX_USE_CXX11_ABI;
#endif
  abi.layout = plugin_layout();
#if defined(__VERSION__)
  abi.compiler = __VERSION__;
#endif
  return abi;
}

// What a plugin's registration function is given: add() each policy (its family and name must
// not be taken — a duplicate makes the whole plugin fail to load, nothing of it registered).
class PluginRegistrar {
 public:
  virtual void add(PolicyInfo info) = 0;

 protected:
  ~PluginRegistrar() = default;
};

}  // namespace fleetsim

// The two symbols the loader looks up. The body that follows the macro is the registration.
#define FLEETSIM_PLUGIN(registrar)                                                               \
  extern "C" __attribute__((visibility("default"))) const fleetsim::PluginAbi* fleetsim_plugin_abi() { \
    static const fleetsim::PluginAbi abi = fleetsim::this_build_abi();                           \
    return &abi;                                                                                 \
  }                                                                                              \
  extern "C" __attribute__((visibility("default"))) void fleetsim_plugin_register(               \
      fleetsim::PluginRegistrar& registrar)
