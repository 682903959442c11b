// The run report: ONE self-contained HTML file (inline CSS and SVG charts drawn with
// reports/svg_chart.hpp; no script, font, stylesheet or network reference), deterministic (same
// RunData -> same bytes).
// Sections: summary table; TTFT and end-to-end latency CDFs per model; replicas and GPUs
// allocated over time; queues (requests in system / buffered) over time; request rate; cold
// starts on a timeline with their phases (image pull / weight load / engine start-up), per cold
// start and as means per model; idle GPU time and GPU time by state per model; cost (when
// result.json has it); failures by reason. Parts whose input file is absent say so.
// A `fleetsim jobs` result (kind jobs) gets its own page in the same frame: the headline table
// (jobs, JCT and queueing percentiles, preemptions, lost GPU-hours, utilization, makespan), the
// JCT and queueing CDFs, GPU utilization over time (timeseries.csv), JCT by gang size and
// finish-time fairness per tenant; a `fleetsim saturation` result (kind saturation): per policy
// the allocation ratio at the marks and the end, unallocated and fragmented GPUs, failed pods,
// and the allocation, fragmentation and unallocated-GPU curves against arrived workload.
#pragma once
#include <string>

#include "reports/run_data.hpp"

namespace fleetsim {

std::string html_report(const RunData& run);

// The report's style sheet (shared with the comparison page), without <style> tags.
const std::string& report_css();

}  // namespace fleetsim
