// JSON blocks that more than one result writer emits (result_json.cpp for `fleetsim run`,
// jobs_result.cpp, saturation_result.cpp), so that the same figure is written the same way by
// every front end. Internal to reports/: it exposes nlohmann's ordered_json, which the
// library links privately.
#pragma once
#include <nlohmann/json.hpp>

#include "policies/registry.hpp"
#include "sim/job_simulation.hpp"
#include "sim/quantile_sketch.hpp"

namespace fleetsim::json_blocks {

using ordered = nlohmann::ordered_json;

// count, mean, p50, p90, p99, max and the `cdf` ([value, fraction] at fractions 0, 0.02, ...,
// 0.98, 0.99, 0.999, 1; empty when there are no values).
ordered percentiles(const QuantileSketch& s);

// A policy choice with every parameter of its registry entry, defaults filled in.
ordered policy(const PolicyChoice& c, PolicyFamily family, const PolicyRegistry& registry);

// The `jobs` block of a job run (co-located with inference, or `fleetsim jobs`): jobs,
// completed, rejected, JCT and queueing (means and percentiles), preemptions, futile
// preemptions, lost GPU-hours, busy GPU-seconds.
ordered jobs(const JobRunResult& result);

}  // namespace fleetsim::json_blocks
