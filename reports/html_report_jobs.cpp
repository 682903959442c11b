// The report.html of a `fleetsim jobs` result (kind jobs): the headline table, the JCT and
// queueing CDFs, GPU utilization over time, JCT by gang size and fairness per tenant.
#include <algorithm>
#include <cmath>

#include "reports/html_report_parts.hpp"

namespace fleetsim::html_parts {

namespace {

std::string jobs_summary_table(const JobsStats& j) {
  auto lat = [](const LatencyStats& s, double v) { return s.count ? format_span(v) : std::string("-"); };
  std::string t = "<div class=\"scroll\"><table class=\"summary\">\n<thead><tr><th rowspan=\"2\">jobs</th>"
                  "<th rowspan=\"2\">completed</th><th rowspan=\"2\" title=\"could never fit the cluster\">rejected</th>"
                  "<th colspan=\"5\">job completion time (JCT)</th><th colspan=\"4\">queueing delay</th>"
                  "<th rowspan=\"2\">preemptions</th><th rowspan=\"2\" title=\"preemptions whose resources no job "
                  "started in the same pass used\">futile</th><th rowspan=\"2\">GPU-h lost</th>"
                  "<th rowspan=\"2\">GPU utilization</th><th rowspan=\"2\">makespan</th></tr>\n<tr><th>mean</th>"
                  "<th>p50</th><th>p90</th><th>p99</th><th>max</th><th>mean</th><th>p50</th><th>p99</th><th>max</th>"
                  "</tr></thead>\n<tbody>\n<tr class=\"overall\">";
  t += "<td>" + format_count(j.jobs) + "</td><td>" + format_count(j.completed) + "</td><td>" + format_count(j.rejected) +
       "</td>";
  t += "<td>" + (j.jct.count ? format_span(j.mean_jct_s) : std::string("-")) + "</td><td>" + lat(j.jct, j.jct.p50) +
       "</td><td>" + lat(j.jct, j.jct.p90) + "</td><td>" + lat(j.jct, j.jct.p99) + "</td><td>" + lat(j.jct, j.jct.max) +
       "</td>";
  t += "<td>" + (j.queueing.count ? format_span(j.mean_queueing_s) : std::string("-")) + "</td><td>" +
       lat(j.queueing, j.queueing.p50) + "</td><td>" + lat(j.queueing, j.queueing.p99) + "</td><td>" +
       lat(j.queueing, j.queueing.max) + "</td>";
  t += "<td>" + format_count(j.preemptions) + "</td><td>" + format_count(j.futile_preemptions) + "</td><td>" +
       format_fixed(j.lost_gpu_hours, 1) + "</td><td>" + format_percent(j.utilization, 1) + "</td><td>" +
       format_span(j.makespan_s) + "</td></tr>\n</tbody></table></div>\n";
  return t;
}

// JCT and queueing delay, CDFs on a log time axis.
std::string jobs_cdf_chart(const RunData& run) {
  std::vector<Line> lines;
  auto add = [&](const LatencyStats& s, const std::string& label, Style style) {
    if (s.count == 0) return;
    Line l{label, std::move(style), s.cdf, false};
    if (s.cdf.empty()) {
      l.pts = {{s.p50, 0.5}, {s.p90, 0.9}, {s.p99, 0.99}, {s.max, 1.0}};
      l.markers = true;
    }
    lines.push_back(std::move(l));
  };
  add(run.jobs.jct, "job completion time", model_style(0));
  add(run.jobs.queueing, "queueing delay", model_style(1));
  if (lines.empty()) return missing("Job completion times: no job completed.");
  // Job times span minutes to days: a linear axis in the unit that reads best.
  double hi = 0;
  for (const Line& l : lines)
    for (const auto& [v, f] : l.pts)
      if (std::isfinite(v)) hi = std::max(hi, v);
  const auto [unit, unit_name] = hi >= 7200 ? std::pair{3600.0, "hours"} : hi >= 120 ? std::pair{60.0, "minutes"}
                                                                                     : std::pair{1.0, "seconds"};
  for (Line& l : lines)
    for (auto& p : l.pts) p.first /= unit;
  Axis x = linear_axis(0, hi / unit, std::string("time (") + unit_name + ")");
  Axis y = percent_axis("share of completed jobs");
  Chart c = report_chart("Job completion time and queueing delay, CDF", 380);
  c.x_axis(x);
  c.y_axis(y);
  c.lines(x, y, lines);
  c.legend(legend_of(lines));
  return figure("chart-jct-cdf", c.svg(),
                "Cumulative distribution over completed jobs of the job completion time (submit to end) and of the "
                "queueing delay (submit to first start).");
}

std::string jobs_utilization_chart(const RunData& run) {
  const RunSeries* s = run.timeseries.find("all", "utilization");
  if (!s) return missing("GPU utilization over time: timeseries.csv has no \"utilization\" series.");
  std::vector<Line> lines{{"GPU utilization", all_style(), points_of(s), false}};
  Axis x = time_axis(time_end(run));
  Axis y = percent_axis("busy GPUs, share of the cluster");
  Chart c = report_chart("GPU utilization over time", 340);
  c.x_axis(x);
  c.y_axis(y);
  c.lines(x, y, lines);
  c.legend(legend_of(lines));
  return figure("chart-utilization", c.svg(),
                "GPUs running jobs at each sample time, as a share of the cluster's GPUs.");
}

std::string jobs_by_size(const RunData& run) {
  if (run.job_sizes.empty()) return missing("result.json has no jobs by size (by_gpus).");
  std::string t = "<div class=\"scroll\"><table>\n<thead><tr><th class=\"name\">GPUs per job</th><th>jobs</th>"
                  "<th>completed</th><th>JCT mean</th><th>JCT p50</th><th>JCT p99</th><th>queueing mean</th></tr>"
                  "</thead>\n<tbody>\n";
  std::vector<BarRow> rows;
  for (const JobSizeRow& r : run.job_sizes) {
    const bool done = r.completed > 0;
    t += "<tr><td class=\"name\">" + esc(r.label) + "</td><td>" + format_count(r.jobs) + "</td><td>" +
         format_count(r.completed) + "</td><td>" + (done ? format_span(r.mean_jct_s) : "-") + "</td><td>" +
         (done ? format_span(r.jct_p50_s) : "-") + "</td><td>" + (done ? format_span(r.jct_p99_s) : "-") + "</td><td>" +
         (done ? format_span(r.mean_queueing_s) : "-") + "</td></tr>\n";
    if (done)
      rows.push_back({r.label, {r.mean_jct_s / 3600},
                      format_span(r.mean_jct_s) + " (" + format_count(r.completed) + " jobs)", false});
  }
  t += "</tbody></table></div>\n";
  if (!rows.empty())
    t += hbar_chart("chart-jct-by-size", "Mean job completion time by gang size", {"mean JCT (hours)"}, {"#4e79a7"},
                    rows, "hours", "Mean JCT of the completed jobs of each size class (GPUs of the whole gang).");
  return t;
}

std::string tenants_table(const RunData& run) {
  std::string t = "<div class=\"scroll\"><table>\n<thead><tr><th class=\"name\">tenant</th><th>completed jobs</th>"
                  "<th>JCT mean</th><th title=\"finish-time fairness: JCT / time alone on an equal share; &lt;= 1 is "
                  "fair\">rho mean</th><th>rho max</th></tr></thead>\n<tbody>\n";
  for (const TenantRow& r : run.tenants)
    t += "<tr><td class=\"name\">" + esc(r.tenant.empty() ? "(none)" : r.tenant) + "</td><td>" +
         format_count(r.completed_jobs) + "</td><td>" + format_span(r.mean_jct_s) + "</td><td>" +
         format_fixed(r.mean_rho, 2) + "</td><td>" + format_fixed(r.max_rho, 2) + "</td></tr>\n";
  return t + "</tbody></table></div>\n";
}

}  // namespace

std::string jobs_report(const RunData& run) {
  const std::string title = "fleetsim jobs report: " + (run.scenario_name.empty() ? run.name : run.scenario_name);
  std::string h = page_start(run, title);
  std::string files = "result.json";
  if (run.has_timeseries) files += ", timeseries.csv";
  h += meta_list({{"front end", "fleetsim jobs"},
                  {"run directory", run.name},
                  {"fleetsim version", run.fleetsim_version.empty() ? "unknown" : run.fleetsim_version},
                  {"seed", std::to_string(run.seed)},
                  {"simulated time", format_fixed(run.end_time_s / 3600, 2) + " h"},
                  {"cluster", format_count(run.cluster_nodes) + " nodes, " + short_number(run.cluster_gpus) + " GPUs"},
                  {"jobs", format_count(run.jobs.jobs)},
                  {"events", format_count(run.events)},
                  {"read from", files}});
  h += "<nav><a href=\"#summary\">Summary</a><a href=\"#completion\">Completion times</a><a "
       "href=\"#utilization\">Utilization</a><a href=\"#sizes\">By size</a>";
  if (run.tenants.size() > 1) h += "<a href=\"#tenants\">Tenants</a>";
  h += "</nav>\n</header>\n";
  h += "<section id=\"summary\">\n<h2>Summary</h2>\n" + jobs_summary_table(run.jobs) +
       "<p class=\"note\">Times of completed jobs (JCT: submit to end; queueing: submit to first start). GPU "
       "utilization: busy GPU-seconds over GPUs × makespan (first submit to last completion). Lost GPU-hours: work "
       "that preemptions threw away.</p>\n</section>\n";
  h += "<section id=\"completion\">\n<h2>Completion times</h2>\n" + jobs_cdf_chart(run) + "</section>\n";
  h += "<section id=\"utilization\">\n<h2>Utilization</h2>\n";
  h += run.has_timeseries && !run.timeseries.empty()
           ? jobs_utilization_chart(run)
           : missing("No time series in this run (the run directory has no timeseries.csv).");
  h += "</section>\n";
  h += "<section id=\"sizes\">\n<h2>By gang size</h2>\n" + jobs_by_size(run) + "</section>\n";
  if (run.tenants.size() > 1) h += "<section id=\"tenants\">\n<h2>Tenants</h2>\n" + tenants_table(run) + "</section>\n";
  return h + page_end(run);
}

}  // namespace fleetsim::html_parts
