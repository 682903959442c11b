// The versioned JSON result of a run (`result.json`). Reports and the regression gate read only
// this. schema_version 1 layout:
//   { schema_version, fleetsim_version, scenario: {...echo with defaults...},
//     run: {seed, end_time_s, events, requests},
//     overall: {metrics}, models: {name: {metrics}} }
// Doubles are written with full round-trip precision, keys in a fixed order, so equal runs
// give byte-identical files. `fleetsim jobs` and `fleetsim saturation` write the same
// schema_version and top-level layout with a `kind` ("jobs", "saturation"; absent: a run) and
// their own blocks in place of overall/models (jobs_result.hpp, saturation_result.hpp).
#pragma once
#include <string>

#include "policies/registry.hpp"
#include "sim/metrics.hpp"
#include "sim/scenario.hpp"
#include "sim/simulation.hpp"

namespace fleetsim {

inline constexpr int kResultSchemaVersion = 1;

std::string result_json(const Scenario& scenario, const PolicyRegistry& registry,
                        const RunMetrics& metrics, const RunStatus& status,
                        const std::string& fleetsim_version);

// The scenario as resolved, every default filled in, as JSON text.
std::string scenario_json(const Scenario& scenario, const PolicyRegistry& registry);

}  // namespace fleetsim
