// The human-readable summary `fleetsim run` prints: one row per model and an overall row.
#pragma once
#include <string>

#include "sim/metrics.hpp"
#include "sim/scenario.hpp"
#include "sim/simulation.hpp"

namespace fleetsim {

std::string summary_table(const Scenario& scenario, const RunMetrics& metrics,
                          const RunStatus& status);

}  // namespace fleetsim
