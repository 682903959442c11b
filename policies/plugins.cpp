#include "policies/plugins.hpp"

#include <dlfcn.h>

#include <filesystem>
#include <vector>

#include "policies/api/plugin.hpp"
#include "sim/program_files.hpp"

namespace fleetsim {

namespace {

using AbiFunction = const PluginAbi* (*)();
using RegisterFunction = void (*)(PluginRegistrar&);
using LoadScriptFunction = void (*)(PluginRegistrar&, const char*);

std::string version(int major, int minor) { return std::to_string(major) + "." + std::to_string(minor); }

// Why a plugin built with `theirs` cannot run in this program; "" when it can.
std::string abi_mismatch(const PluginAbi& theirs) {
  const PluginAbi ours = this_build_abi();
  const std::string both = " (plugin: SDK " + version(theirs.sdk_major, theirs.sdk_minor) + ", fleetsim: SDK " +
                           version(ours.sdk_major, ours.sdk_minor) + ")";
  if (theirs.sdk_major != ours.sdk_major) return "built against another major version of the SDK" + both;
  if (theirs.sdk_minor > ours.sdk_minor) return "built against a newer SDK than this fleetsim has" + both;
  if (theirs.libstdcxx != ours.libstdcxx || theirs.cxx11_string_abi != ours.cxx11_string_abi)
    return std::string("built with another C++ standard library or string ABI (plugin compiler: ") +
           (theirs.compiler ? theirs.compiler : "?") + "; fleetsim: " + ours.compiler + ")";
  if (theirs.layout != ours.layout)
    return "built against SDK headers whose types differ from this fleetsim's" + both +
           "; rebuild it against this fleetsim's headers";
  return "";
}

// Collects a plugin's policies; they reach the registry only if all of them are acceptable.
class Collector final : public PluginRegistrar {
 public:
  Collector(const PolicyRegistry& registry, std::string origin) : registry_(registry), origin_(std::move(origin)) {}
  void add(PolicyInfo info) override {
    if (!error.empty()) return;
    info.origin = origin_;
    const std::string what = std::string(family_name(info.family)) + " policy \"" + info.name + "\"";
    if (info.name.empty()) {
      error = "registers a " + std::string(family_name(info.family)) + " policy without a name";
    } else if (const PolicyInfo* taken = registry_.find(info.family, info.name)) {
      error = "registers " + what + ", a name already taken (" + taken->origin + ")";
    } else {
      for (const PolicyInfo& p : added)
        if (p.family == info.family && p.name == info.name) error = "registers " + what + " twice";
    }
    if (error.empty()) added.push_back(std::move(info));
  }
  std::vector<PolicyInfo> added;
  std::string error;

 private:
  const PolicyRegistry& registry_;
  std::string origin_;
};

}  // namespace

std::string load_plugin(PolicyRegistry& registry, const std::string& path) {
  std::error_code ec;
  const std::filesystem::path file = std::filesystem::absolute(path, ec);
  if (ec || !std::filesystem::is_regular_file(file, ec)) return "plugin " + path + ": file not found";
  const std::string canonical = std::filesystem::canonical(file, ec).string();
  for (const std::string& loaded : registry.plugins())
    if (loaded == canonical) return "";
  const std::string name = "plugin " + path + ": ";
  // A Python script is loaded by the Python policy host, itself a plugin; its registration
  // function runs the script.
  const bool script = file.extension() == ".py";
#ifdef FLEETSIM_PYTHON_HOST_INSTALLED
  const std::string installed = FLEETSIM_PYTHON_HOST_INSTALLED;
#else
  const std::string installed;
#endif
  const std::string library =
      script ? find_program_file("libfleetsim_python.so", "FLEETSIM_PYTHON_HOST", installed) : canonical;
  if (library.empty())
    return name + "Python policies need libfleetsim_python.so, and this fleetsim was built without it "
                  "(it is built when pybind11 is found: apt-get install pybind11-dev python3-dev, then rebuild)";
  // The host is opened RTLD_GLOBAL: the extension modules a script imports look up the Python
  // interpreter's symbols globally. The host exports nothing else.
  void* handle = dlopen(library.c_str(), RTLD_NOW | (script ? RTLD_GLOBAL : RTLD_LOCAL));
  if (!handle) {
    const char* why = dlerror();
    return name + "cannot be loaded as a shared library (" + (why ? why : "unknown error") + ")";
  }
  // From here on the library stays loaded even when refused: closing a library whose static
  // objects may have run is riskier than keeping a few pages mapped.
  auto abi = reinterpret_cast<AbiFunction>(dlsym(handle, "fleetsim_plugin_abi"));
  auto register_policies = reinterpret_cast<RegisterFunction>(dlsym(handle, "fleetsim_plugin_register"));
  auto load_script = reinterpret_cast<LoadScriptFunction>(dlsym(handle, "fleetsim_python_load"));
  if (!abi || !register_policies)
    return name + "not a fleetsim plugin: it has no " +
           (abi ? "fleetsim_plugin_register" : "fleetsim_plugin_abi") + " symbol (define it with FLEETSIM_PLUGIN)";
  if (script && !load_script) return name + library + " is not the Python policy host (no fleetsim_python_load)";
  const PluginAbi* theirs = abi();
  if (!theirs) return name + "fleetsim_plugin_abi returned nothing";
  if (std::string why = abi_mismatch(*theirs); !why.empty()) return name + (script ? library + ": " : "") + why;
  Collector collector(registry, path);
  try {
    if (script)
      load_script(collector, canonical.c_str());
    else
      register_policies(collector);
  } catch (const std::exception& e) {
    return name + "its registration threw: " + e.what();
  } catch (...) {
    return name + "its registration threw an exception that is not a std::exception";
  }
  if (!collector.error.empty()) return name + collector.error;
  if (collector.added.empty()) return name + "registers no policy";
  for (PolicyInfo& info : collector.added) {
    const std::string what = std::string(family_name(info.family));
    bool has_factory = false;
    switch (info.family) {
      case PolicyFamily::Placement: has_factory = bool(info.make_placement); break;
      case PolicyFamily::Autoscaler: has_factory = bool(info.make_autoscaler); break;
      case PolicyFamily::Router: has_factory = bool(info.make_router); break;
      case PolicyFamily::Cache: has_factory = bool(info.make_cache); break;
      case PolicyFamily::Queue: has_factory = bool(info.make_queue); break;
      case PolicyFamily::Batching: has_factory = bool(info.make_batching); break;
    }
    if (!has_factory) return name + what + " policy \"" + info.name + "\" has no factory for its family (make_" + what + ")";
  }
  for (PolicyInfo& info : collector.added) registry.add(std::move(info));
  registry.note_plugin(canonical);
  return "";
}

}  // namespace fleetsim
