// A run's results as Prometheus / OpenMetrics text (`result.prom`), for pushing a simulated
// run's figures next to real ones (node_exporter textfile collector, Pushgateway, promtool).
//
// Every family has # HELP and # TYPE lines, and # UNIT where it has a unit; the text ends with
// `# EOF`. Names start with `fleetsim_`, use base units (seconds) and counters end in `_total`.
// Per-model samples carry model="NAME"; the overall figures carry model="all" (as in
// timeseries.csv), so sum() over models must exclude it. Latencies are summaries (quantile
// 0.5 / 0.9 / 0.99 plus _count and _sum = mean × count; quantiles are NaN when count is 0), their
// maxima a gauge fleetsim_latency_max_seconds{latency=...}.
//
// A jobs result exports the jobs block (fleetsim_jobs_*, fleetsim_job_* summaries, utilization,
// makespan; by gang size with size="..." and per tenant with tenant="..."), a saturation result
// per policy (policy="...") its pods and, at each recorded arrived_pct, the allocation ratio,
// unallocated and fragmented GPUs; both carry kind="jobs|saturation" on fleetsim_run_info.
//
// Counter families are named with their `_total` suffix on the # HELP / # TYPE / # UNIT lines,
// as in the Prometheus text format: `promtool check metrics` (which lints with the text-format
// parser) requires that, and Prometheus' own OpenMetrics parser accepts it.
#pragma once
#include <cstdint>
#include <string>

#include "reports/run_data.hpp"

namespace fleetsim {

std::string prometheus_export(const RunData& run);

// A sample value as the exposition formats write it: the shortest text that reads back as the
// same double, NaN / +Inf / -Inf as the formats spell them; counts as integers. Shared by
// result.prom and the live /metrics endpoint (metrics_server).
std::string prometheus_value(double v);
std::string prometheus_value(std::uint64_t v);

// A label value escaped for the exposition formats: \ -> \\, " -> \", newline -> \n.
std::string prometheus_label_escape(const std::string& value);

}  // namespace fleetsim
