// The run report: ONE self-contained HTML file (inline CSS and SVG charts drawn with
// reports/svg_chart.hpp; no script, font, stylesheet or network reference), deterministic (same
// RunData -> same bytes).
// Sections: summary table; TTFT and end-to-end latency CDFs per model; replicas and GPUs
// allocated over time; queues (requests in system / buffered) over time; request rate; cold
// starts on a timeline with their phases (image pull / weight load / engine start-up), per cold
// start and as means per model; idle GPU time and GPU time by state per model; cost (when
// result.json has it); failures by reason. Parts whose input file is absent say so.
#pragma once
#include <string>

#include "reports/run_data.hpp"

namespace fleetsim {

std::string html_report(const RunData& run);

// The report's style sheet (shared with the comparison page), without <style> tags.
const std::string& report_css();

}  // namespace fleetsim
