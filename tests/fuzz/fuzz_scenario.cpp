// Scenario loader: YAML text -> load_scenario_text with the built-in registry (no run).
// Relative trace paths resolve in an empty scratch folder; imports are cached there too.
#include "policies/registry.hpp"
#include "scenarios/loader/scenario_loader.hpp"
#include "tests/fuzz/fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const fleetsim::PolicyRegistry registry = fleetsim::builtin_policies();
  static const std::string base = fleetsim::fuzz::scratch_dir().string();
  fleetsim::LoadOptions options;
  options.import_cache_dir = base + "/imports";
  const std::string yaml(reinterpret_cast<const char*>(data), size);
  fleetsim::LoadResult r = fleetsim::load_scenario_text(yaml, "fuzz.yaml", base, registry, options);
  // A result is either a scenario or errors, never both nor neither.
  if (r.scenario.has_value() == !r.errors.empty()) __builtin_trap();
  return 0;
}
