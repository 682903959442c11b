// A run's results in the Prometheus text format (`result.prom`), for pushing a simulated run's
// figures next to real ones (node_exporter textfile collector, Pushgateway, promtool).
//
// Written with prometheus-cpp (Registry and TextSerializer, see exposition.hpp): every family
// has # HELP and # TYPE lines; labels appear in alphabetical order. Names start with `fleetsim_`,
// use base units (seconds) and counters end in `_total` (on their # HELP / # TYPE lines too,
// which `promtool check metrics` requires). Per-model samples carry model="NAME"; the overall
// figures carry model="all" (as in timeseries.csv), so sum() over models must exclude it.
// Latencies are summaries (_count, _sum = mean × count, quantile 0.5 / 0.9 / 0.99, which are NaN
// when count is 0), their maxima a gauge fleetsim_latency_max_seconds{latency=...}.
//
// A jobs result exports the jobs block (fleetsim_jobs_*, fleetsim_job_* summaries, utilization,
// makespan; by gang size with size="..." and per tenant with tenant="..."), a saturation result
// per policy (policy="...") its pods and, at each recorded arrived_pct, the allocation ratio,
// unallocated and fragmented GPUs; both carry kind="jobs|saturation" on fleetsim_run_info.
#pragma once
#include <string>

#include "reports/run_data.hpp"

namespace fleetsim {

std::string prometheus_export(const RunData& run);

}  // namespace fleetsim
