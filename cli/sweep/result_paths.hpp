// Paths into result.json, as a sweep file's `metrics:` names them: dots between keys, [i] or .i
// for list elements; at each mapping the longest run of segments that is a key wins (model
// names contain dots).
#pragma once
#include <nlohmann/json.hpp>

#include <string>

#include "cli/sweep/sweep.hpp"
#include "policies/registry.hpp"
#include "sim/diagnostics.hpp"
#include "sim/scenario.hpp"

namespace fleetsim {

// The value `path` names in `root`; null when it names nothing.
const nlohmann::ordered_json* lookup_result_path(const nlohmann::ordered_json& root, const std::string& path);

// Each of the sweep's metric paths against the result.json a point of `scenario` would write (its
// layout follows from the scenario alone): an error for a path that is not there or names a
// group rather than one value. An index past the end of a list is left for after the run.
void check_metric_paths(const SweepSpec& sweep, const Scenario& scenario, const PolicyRegistry& registry,
                        Diagnostics& errors);

}  // namespace fleetsim
