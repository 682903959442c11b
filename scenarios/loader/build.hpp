// Turning a resolved Scenario into a ready-to-run Simulation: policies from the registry,
// request sources from the workloads.
#pragma once
#include <memory>

#include "policies/registry.hpp"
#include "sim/simulation.hpp"
#include "traces/jobs/job_traces.hpp"
#include "traces/request_csv.hpp"

namespace fleetsim {

SimulationSetup build_setup(const Scenario& scenario, const PolicyRegistry& registry);

// The names a trace may use in its model column: each model, and `model:adapter` for each of
// its LoRA adapters.
TraceModelNames trace_model_names(const Scenario& scenario);

// How to open the job trace of a scenario's jobs: section.
JobTraceOptions job_trace_options(const JobsSpec& jobs);

}  // namespace fleetsim
