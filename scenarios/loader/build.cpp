#include "scenarios/loader/build.hpp"

#include <unordered_map>

#include "traces/generators.hpp"
#include "traces/request_csv.hpp"

namespace fleetsim {

SimulationSetup build_setup(const Scenario& scenario, const PolicyRegistry& registry) {
  SimulationSetup setup;
  setup.scenario = scenario;
  setup.placement = registry.make_placement(scenario.placement);
  setup.router = registry.make_router(scenario.router);
  setup.cache = registry.make_cache(scenario.cache);
  for (const ModelSpec& m : scenario.models)
    setup.autoscalers.push_back(registry.make_autoscaler(m.autoscaler));
  std::unordered_map<std::string, std::uint32_t> names;
  for (std::uint32_t i = 0; i < scenario.models.size(); ++i) names[scenario.models[i].name] = i;
  for (const WorkloadSpec& w : scenario.workloads) {
    if (w.arrivals == WorkloadSpec::Arrivals::Trace)
      setup.sources.push_back(std::make_unique<RequestCsvReader>(w.trace_path, names, w.start));
    else
      setup.sources.push_back(std::make_unique<GeneratedSource>(w, scenario.seed, scenario.duration));
  }
  return setup;
}

}  // namespace fleetsim
