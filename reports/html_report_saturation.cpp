// The report.html of a `fleetsim saturation` result (kind saturation): per policy the allocation
// ratio, unallocated and fragmented GPUs and failed pods, and their curves against arrived workload.
#include <algorithm>

#include "reports/html_report_parts.hpp"

namespace fleetsim::html_parts {

namespace {

std::string saturation_table(const RunData& run) {
  std::vector<int> marks;  // every mark any policy has, in order
  for (const SaturationPolicyResult& p : run.saturation)
    for (const SaturationMark& m : p.marks)
      if (std::find(marks.begin(), marks.end(), m.arrived_pct) == marks.end()) marks.push_back(m.arrived_pct);
  std::sort(marks.begin(), marks.end());
  const int end_pct = run.saturation.empty() || !run.saturation.front().has_end ? 0 : run.saturation.front().end.arrived_pct;
  std::string t = "<div class=\"scroll\"><table class=\"summary\">\n<thead><tr><th class=\"name\" rowspan=\"2\">policy"
                  "</th><th rowspan=\"2\">pods arrived</th><th rowspan=\"2\">placed</th><th rowspan=\"2\">failed</th>"
                  "<th colspan=\"" + std::to_string(marks.size() + 1) + "\">GPU allocation ratio at arrived</th>"
                  "<th colspan=\"2\">unallocated GPUs</th><th colspan=\"2\">fragmented GPUs</th>"
                  "<th rowspan=\"2\">fragmentation ratio at " + std::to_string(end_pct) + "%</th></tr>\n<tr>";
  for (int m : marks) t += "<th>" + std::to_string(m) + "%</th>";
  t += "<th>" + std::to_string(end_pct) + "% (end)</th><th>at 100%</th><th>at end</th><th>at 100%</th><th>at end</th>"
       "</tr></thead>\n<tbody>\n";
  for (const SaturationPolicyResult& p : run.saturation) {
    const SaturationMark* at100 = p.at(100);
    t += "<tr><td class=\"name\">" + esc(p.name) + "</td><td>" + format_count(p.arrived_pods) + "</td><td>" +
         format_count(p.placed_pods) + "</td><td>" + format_count(p.failed_pods) + "</td>";
    for (int m : marks) {
      const SaturationMark* at = p.at(m);
      t += "<td>" + (at ? format_percent(at->allocation_ratio, 2) : std::string("-")) + "</td>";
    }
    t += "<td>" + (p.has_end ? format_percent(p.end.allocation_ratio, 2) : std::string("-")) + "</td>";
    t += "<td>" + (at100 ? format_fixed(at100->unallocated_gpus, 1) : std::string("-")) + "</td><td>" +
         (p.has_end ? format_fixed(p.end.unallocated_gpus, 1) : std::string("-")) + "</td>";
    t += "<td>" + (at100 ? format_fixed(at100->frag_gpus, 1) : std::string("-")) + "</td><td>" +
         (p.has_end ? format_fixed(p.end.frag_gpus, 1) : std::string("-")) + "</td>";
    t += "<td>" + (p.has_end ? format_percent(p.end.frag_ratio, 1) : std::string("-")) + "</td></tr>\n";
  }
  return t + "</tbody></table></div>\n";
}

// One line per policy of `value` against the arrived workload.
std::string saturation_chart(const RunData& run, const std::string& id, const std::string& title,
                             double SaturationMark::*value, bool percent, const std::string& y_title,
                             const std::string& caption) {
  std::vector<Line> lines;
  int max_pct = 10;
  for (std::size_t i = 0; i < run.saturation.size(); ++i) {
    const SaturationPolicyResult& p = run.saturation[i];
    if (p.curve.empty()) continue;
    Line l{p.name, model_style(i), {}, false};
    for (const SaturationMark& m : p.curve) l.pts.emplace_back(m.arrived_pct, m.*value);
    max_pct = std::max(max_pct, p.curve.back().arrived_pct);
    lines.push_back(std::move(l));
  }
  if (lines.empty()) return missing(title + ": result.json has no curves.");
  Axis x = linear_axis(0, max_pct, "arrived workload (GPU requests, % of cluster GPU capacity)", 5);
  Axis y = percent ? percent_axis(y_title) : linear_axis(0, max_y(lines), y_title);
  Chart c = report_chart(title, 380);
  c.x_axis(x);
  c.y_axis(y);
  // Where the arrived demand equals the capacity.
  if (x.hi >= 100) c.body() += Chart::line(x.px(100), c.top(), x.px(100), c.bottom(), "#999999", 1, "4 4");
  c.lines(x, y, lines);
  c.legend(legend_of(lines));
  return figure(id, c.svg(), caption);
}

}  // namespace

std::string saturation_report(const RunData& run) {
  const std::string title = "fleetsim saturation report: " + (run.scenario_name.empty() ? run.name : run.scenario_name);
  std::string h = page_start(run, title);
  h += meta_list({{"front end", "fleetsim saturation"},
                  {"run directory", run.name},
                  {"fleetsim version", run.fleetsim_version.empty() ? "unknown" : run.fleetsim_version},
                  {"seed", std::to_string(run.seed)},
                  {"cluster", format_count(run.cluster_nodes) + " nodes, " + short_number(run.saturation_capacity_gpus) +
                                  " GPUs"},
                  {"policies", std::to_string(run.saturation.size())},
                  {"pod arrivals", format_count(run.events) + " (all policies)"},
                  {"read from", "result.json"}});
  h += "<nav><a href=\"#summary\">Summary</a><a href=\"#allocation\">Allocation</a><a "
       "href=\"#fragmentation\">Fragmentation</a><a href=\"#failures\">Failed pods</a></nav>\n</header>\n";
  h += "<section id=\"summary\">\n<h2>Summary</h2>\n" + saturation_table(run) +
       "<p class=\"note\">Pods arrive (sampled with replacement) and never leave until the arrived GPU demand reaches "
       "the stop multiple of the cluster's GPU capacity. Allocation ratio: allocated GPUs over capacity. "
       "Fragmented GPUs: free GPU capacity that the pods seen so far cannot use, summed over nodes (the FGD "
       "paper's measure); the ratio is that over the unallocated GPUs.</p>\n</section>\n";
  h += "<section id=\"allocation\">\n<h2>Allocation</h2>\n" +
       saturation_chart(run, "chart-allocation", "GPU allocation ratio against arrived workload",
                        &SaturationMark::allocation_ratio, true, "GPU allocation ratio (% of capacity)",
                        "Allocated GPUs as a share of the cluster's GPU capacity as the pods arrive, one line per "
                        "policy; the dashed line is where the arrived demand equals the capacity.") +
       "</section>\n";
  h += "<section id=\"fragmentation\">\n<h2>Fragmentation</h2>\n" +
       saturation_chart(run, "chart-fragmentation", "Fragmented GPUs against arrived workload", &SaturationMark::frag_gpus,
                        false, "fragmented GPUs",
                        "Free GPU capacity the arrived pod sizes cannot use, in GPUs, one line per policy.") +
       saturation_chart(run, "chart-unallocated", "Unallocated GPUs against arrived workload",
                        &SaturationMark::unallocated_gpus, false, "unallocated GPUs",
                        "GPUs not allocated to any pod, one line per policy.") +
       "</section>\n";
  std::vector<BarRow> rows;
  for (const SaturationPolicyResult& p : run.saturation)
    rows.push_back({p.name, {static_cast<double>(p.failed_pods)},
                    format_count(p.failed_pods) + " of " + format_count(p.arrived_pods), false});
  h += "<section id=\"failures\">\n<h2>Failed pods</h2>\n" +
       hbar_chart("chart-failed-pods", "Failed pods per policy", {"failed pods"}, {"#e15759"}, rows, "pods",
                  "Pods the policy could not place when they arrived (they do not come back).") +
       "</section>\n";
  return h + page_end(run);
}

}  // namespace fleetsim::html_parts
