// Turning a resolved Scenario into a ready-to-run Simulation: policies from the registry,
// request sources from the workloads.
#pragma once
#include <memory>

#include "policies/registry.hpp"
#include "sim/simulation.hpp"

namespace fleetsim {

SimulationSetup build_setup(const Scenario& scenario, const PolicyRegistry& registry);

}  // namespace fleetsim
