#include "reports/html_report.hpp"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <limits>
#include <map>

#include "reports/html_report_parts.hpp"
#include "reports/svg_chart.hpp"

namespace fleetsim {

namespace {

using namespace html_parts;

// ---------------------------------------------------------------------------------------------
// The models drawn one by one, in a fixed order: result.json's, then any others the CSVs name
// ("all" excluded). With more than kDrawnModels models in result.json, only the kDrawnModels with
// the most requests (drawn_models, run_data.hpp); the rest are summed or left to the tables.

std::vector<std::string> model_order(const RunData& run) {
  if (run.models.size() > kDrawnModels) return drawn_models(run);
  std::vector<std::string> out;
  auto add = [&](const std::string& m) {
    if (m == "all") return;
    if (std::find(out.begin(), out.end(), m) == out.end()) out.push_back(m);
  };
  for (const auto& m : run.models) add(m.name);
  for (const auto& m : run.timeseries.models()) add(m);
  for (const ColdStartLane& l : run.cold_start_log.lanes) add(l.name);
  return out;
}

std::string summed_note(const RunData& run, const std::string& drawn_as = "gray dashed line") {
  const std::size_t n = run.timeseries.other_models;
  if (n == 0) return "";
  return " The " + format_count(n) + " models beyond the " + std::to_string(kDrawnModels) +
         " with the most requests are summed into one " + drawn_as + ", \"" + other_label(n) +
         "\"; every model is in the tables.";
}

// ---------------------------------------------------------------------------------------------
// Summary

std::string summary_row(const ModelResult& m, bool overall) {
  auto lat = [](const LatencyStats& s, double v) { return s.count ? format_latency(v) : std::string("-"); };
  std::string r = overall ? "<tr class=\"overall\">" : "<tr>";
  r += "<td class=\"name\">" + esc(overall ? "overall" : m.name) + "</td>";
  r += "<td>" + format_count(m.requests) + "</td>";
  r += "<td>" + format_count(m.failed) + "</td>";
  r += "<td>" + format_percent(m.slo_attainment, 2) + "</td>";
  for (const LatencyStats* s : {&m.ttft, &m.tpot, &m.e2e})
    r += "<td>" + lat(*s, s->p50) + "</td><td>" + lat(*s, s->p90) + "</td><td>" + lat(*s, s->p99) + "</td>";
  r += "<td>" + format_count(m.cold_starts.count) + "</td>";
  r += "<td>" + format_percent(m.cold_starts.share_of_requests_waited, 2) + "</td>";
  r += "<td>" + format_fixed(m.gpu_seconds_allocated / 3600, 1) + "</td>";
  r += "<td>" + format_fixed(m.gpu_seconds_idle / 3600, 1) + "</td>";
  r += "<td>" + format_fixed(m.replicas_mean, 2) + "</td>";
  r += "<td>" + std::to_string(m.replicas_peak) + "</td>";
  return r + "</tr>\n";
}

std::string summary_table(const RunData& run) {
  std::string t = "<div class=\"scroll\"><table class=\"summary\">\n<thead><tr><th class=\"name\" rowspan=\"2\">model</th>"
                  "<th rowspan=\"2\">requests</th><th rowspan=\"2\">failed</th><th rowspan=\"2\" title=\"share of all "
                  "requests that met both the TTFT and the end-to-end SLO\">SLO met</th>"
                  "<th colspan=\"3\">TTFT</th><th colspan=\"3\">TPOT</th><th colspan=\"3\">end-to-end</th>"
                  "<th rowspan=\"2\">cold starts</th><th rowspan=\"2\" title=\"share of requests that found no ready "
                  "replica and waited for a cold start\">waited</th><th rowspan=\"2\">GPU-h allocated</th>"
                  "<th rowspan=\"2\">GPU-h idle</th><th rowspan=\"2\">mean replicas</th><th rowspan=\"2\">peak "
                  "replicas</th></tr>\n<tr>";
  for (int i = 0; i < 3; ++i) t += "<th>p50</th><th>p90</th><th>p99</th>";
  t += "</tr></thead>\n<tbody>\n";
  for (const ModelResult& m : run.models) t += summary_row(m, false);
  t += summary_row(run.overall, true);
  t += "</tbody></table></div>\n";
  return t;
}

// ---------------------------------------------------------------------------------------------
// Latency CDFs

std::string cdf_chart(const RunData& run, const std::vector<std::string>& order, const std::string& id,
                      const std::string& title, const LatencyStats ModelResult::*pick, const std::string& what) {
  std::vector<Line> lines;
  bool approximate = false;
  auto add = [&](const ModelResult& m, Style style, const std::string& label) {
    const LatencyStats& s = m.*pick;
    if (s.count == 0) return;
    Line l{label, std::move(style), {}, false};
    if (!s.cdf.empty()) {
      l.pts = s.cdf;
    } else {
      l.pts = {{s.p50, 0.5}, {s.p90, 0.9}, {s.p99, 0.99}, {s.max, 1.0}};
      l.markers = true;
      approximate = true;
    }
    lines.push_back(std::move(l));
  };
  for (const ModelResult& m : run.models)
    if (drawn(order, m.name)) add(m, model_style(index_of(order, m.name)), m.name);
  add(run.overall, all_style(), "all models");
  if (lines.empty()) return missing(title + ": no completed requests in this run.");
  double lo = std::numeric_limits<double>::infinity(), hi = 0;
  for (const Line& l : lines)
    for (const auto& [v, f] : l.pts)
      if (v > 0 && std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
  Axis x = latency_axis(lo, hi, what + " (log scale)");
  Axis y = percent_axis("share of completed requests");
  Chart c = report_chart(title, 380);
  c.x_axis(x);
  c.y_axis(y);
  c.lines(x, y, lines);
  c.legend(legend_of(lines));
  std::string caption = "Cumulative distribution of " + what + " per model (completed requests): the curve reaches y at x when a "
                        "share y of the requests took at most x.";
  if (approximate)
    caption += " Models drawn with dots have no cdf in result.json: only p50, p90, p99 and the maximum are plotted.";
  return figure(id, c.svg(), caption + left_out_note(run));
}

// ---------------------------------------------------------------------------------------------
// Time series

// A count per interval as a rate (per second): the interval ends at each sample time. A reduced
// series keeps each sample's own interval (its kept neighbours are further apart).
std::vector<std::pair<double, double>> rate_of(const RunSeries* s) {
  std::vector<std::pair<double, double>> out;
  if (!s) return out;
  const bool own = s->interval_s.size() == s->time_s.size();
  for (std::size_t i = 0; i < s->time_s.size(); ++i) {
    const double dt = own ? s->interval_s[i] : i == 0 ? s->time_s[0] : s->time_s[i] - s->time_s[i - 1];
    if (dt > 0) out.emplace_back(s->time_s[i], s->value[i] / dt);
  }
  return out;
}

// One line per model (and a black one for "all") of `series`.
std::string series_chart(const RunData& run, const std::vector<std::string>& order, const std::string& id,
                         const std::string& title, const std::string& series, const std::string& y_title,
                         const std::string& caption, bool integral) {
  std::vector<Line> lines;
  for (std::size_t i = 0; i < order.size(); ++i)
    if (const RunSeries* s = run.timeseries.find(order[i], series))
      lines.push_back({order[i], model_style(i), points_of(s), false});
  if (const RunSeries* s = run.timeseries.find_other(series)) lines.push_back({s->model, other_style(), points_of(s), false});
  if (const RunSeries* s = run.timeseries.find("all", series)) lines.push_back({"all models", all_style(), points_of(s), false});
  if (lines.empty()) return missing(title + ": timeseries.csv has no \"" + series + "\" series.");
  Axis x = time_axis(time_end(run));
  Axis y = linear_axis(0, max_y(lines), y_title, integral ? 1 : 0);
  Chart c = report_chart(title, 340);
  c.x_axis(x);
  c.y_axis(y);
  c.lines(x, y, lines);
  c.legend(legend_of(lines));
  return figure(id, c.svg(), caption + summed_note(run));
}

// KV-cache utilisation: per LLM model (and all together) the share of its ready replicas' KV
// cache that running requests hold, kv_cache_used_gb / kv_cache_gb at each sample (bucket means
// when the series were reduced: both are sampled at the same times). "" without those series.
std::string kv_cache_chart(const RunData& run, const std::vector<std::string>& order) {
  auto utilisation = [](const RunSeries* used, const RunSeries* capacity) {
    std::vector<std::pair<double, double>> out;
    const auto u = used->reduced() ? used->bucket_means : points_of(used);
    const auto c = capacity->reduced() ? capacity->bucket_means : points_of(capacity);
    for (std::size_t i = 0; i < u.size() && i < c.size(); ++i)
      out.emplace_back(u[i].first, c[i].second > 0 ? 100 * u[i].second / c[i].second : 0);
    return out;
  };
  std::vector<Line> lines;
  for (std::size_t i = 0; i < order.size(); ++i) {
    const RunSeries* used = run.timeseries.find(order[i], "kv_cache_used_gb");
    const RunSeries* capacity = run.timeseries.find(order[i], "kv_cache_gb");
    if (used && capacity) lines.push_back({order[i], model_style(i), utilisation(used, capacity), false});
  }
  if (lines.empty()) return "";
  if (const RunSeries* used = run.timeseries.find("all", "kv_cache_used_gb"))
    if (const RunSeries* capacity = run.timeseries.find("all", "kv_cache_gb"))
      lines.push_back({"all models", all_style(), utilisation(used, capacity), false});
  Axis x = time_axis(time_end(run));
  Axis y = linear_axis(0, std::max(100.0, max_y(lines)), "% of KV cache", 0);
  Chart c = report_chart("KV cache in use", 340);
  c.x_axis(x);
  c.y_axis(y);
  c.lines(x, y, lines);
  c.legend(legend_of(lines));
  return figure("chart-kv-cache", c.svg(),
                "The share of each LLM model's KV cache (its ready replicas' blocks) that running requests hold "
                "at each sample; cached prefix blocks no request uses count as free. Per model, and over all "
                "LLM models' caches together (black). timeseries.csv: kv_cache_used_gb / kv_cache_gb." +
                    summed_note(run));
}

std::string replicas_chart(const RunData& run, const std::vector<std::string>& order) {
  std::vector<Line> lines;
  std::vector<LegendItem> legend;
  for (std::size_t i = 0; i < order.size(); ++i) {
    const RunSeries* ready = run.timeseries.find(order[i], "replicas_ready");
    const RunSeries* starting = run.timeseries.find(order[i], "replicas_starting");
    if (!ready && !starting) continue;
    Style st = model_style(i);
    if (ready) lines.push_back({order[i] + ": ready", st, points_of(ready), false});
    if (starting) {
      Style dotted = st;
      dotted.dash = "2 3";
      dotted.width = 1.3;
      lines.push_back({order[i] + ": starting", dotted, points_of(starting), false});
    }
    legend.push_back({order[i], st.color, Swatch::Line, st.dash});
  }
  {
    const RunSeries* ready = run.timeseries.find_other("replicas_ready");
    const RunSeries* starting = run.timeseries.find_other("replicas_starting");
    if (ready || starting) {
      const Style st = other_style();
      const std::string label = (ready ? ready : starting)->model;
      if (ready) lines.push_back({label + ": ready", st, points_of(ready), false});
      if (starting) {
        Style dotted = st;
        dotted.dash = "2 3";
        dotted.width = 1.3;
        lines.push_back({label + ": starting", dotted, points_of(starting), false});
      }
      legend.push_back({label, st.color, Swatch::Line, st.dash});
    }
  }
  if (const RunSeries* s = run.timeseries.find("all", "replicas_ready")) {
    lines.push_back({"all models: ready", all_style(), points_of(s), false});
    legend.push_back({"all models (ready)", kAllColor, Swatch::Line});
  }
  if (lines.empty()) return missing("Replicas over time: timeseries.csv has no replicas_ready or replicas_starting series.");
  legend.push_back({"solid: ready", "#777777", Swatch::Line});
  legend.push_back({"dotted: starting", "#777777", Swatch::Line, "2 3"});
  Axis x = time_axis(time_end(run));
  Axis y = linear_axis(0, max_y(lines), "replicas", 1);
  Chart c = report_chart("Replicas over time", 360);
  c.x_axis(x);
  c.y_axis(y);
  c.lines(x, y, lines);
  c.legend(legend);
  return figure("chart-replicas", c.svg(),
                "Replicas per model at each sample time: ready (solid) and starting — pulling the image, loading weights "
                "or starting the engine (dotted); the black line is the total of ready replicas." +
                    summed_note(run));
}

// Stacked areas of GPUs allocated per model, with the "all" total as a line.
std::string gpus_chart(const RunData& run, const std::vector<std::string>& order) {
  std::vector<std::string> names;
  std::vector<Style> styles;
  std::vector<const RunSeries*> layers;
  for (std::size_t i = 0; i < order.size(); ++i)
    if (const RunSeries* s = run.timeseries.find(order[i], "gpus_allocated")) {
      names.push_back(order[i]);
      styles.push_back(model_style(i));
      layers.push_back(s);
    }
  if (const RunSeries* s = run.timeseries.find_other("gpus_allocated")) {  // on top of the stack
    names.push_back(s->model);
    styles.push_back(other_style());
    layers.push_back(s);
  }
  const RunSeries* all = run.timeseries.find("all", "gpus_allocated");
  if (layers.empty() && !all) return missing("GPUs allocated over time: timeseries.csv has no gpus_allocated series.");
  bool any_reduced = false;
  for (const RunSeries* s : layers) any_reduced = any_reduced || s->reduced();
  // Reduced layers (long runs: run_data.hpp) are stacked from their bucket means, which fall at
  // the same times in every series of the run and add up to the total's mean; a whole layer from
  // its samples. The time grid: every time of any layer, in order.
  auto points = [](const RunSeries* s) { return s->reduced() ? s->bucket_means : points_of(s); };
  std::vector<std::vector<std::pair<double, double>>> layer_pts;
  for (const RunSeries* s : layers) layer_pts.push_back(points(s));
  std::vector<double> grid;
  for (const auto& pts : layer_pts)
    for (const auto& p : pts) grid.push_back(p.first);
  if (all && !any_reduced) grid.insert(grid.end(), all->time_s.begin(), all->time_s.end());
  std::sort(grid.begin(), grid.end());
  grid.erase(std::unique(grid.begin(), grid.end()), grid.end());
  // A layer without a point at a grid time adds 0 there — unless it was reduced: then it holds
  // its latest mean between its first and last one, so the stack has no gaps where series
  // reduced over different spans (a hand-made file) keep different times.
  std::vector<std::vector<double>> cum(layers.size(), std::vector<double>(grid.size(), 0));
  for (std::size_t l = 0; l < layers.size(); ++l) {
    std::map<double, double> at;
    for (const auto& [t, v] : layer_pts[l]) at[t] = v;
    const bool hold = layers[l]->reduced() && !at.empty();
    for (std::size_t g = 0; g < grid.size(); ++g) {
      auto it = at.find(grid[g]);
      if (it == at.end() && hold && grid[g] > at.begin()->first && grid[g] < at.rbegin()->first)
        it = std::prev(at.upper_bound(grid[g]));
      cum[l][g] = (l ? cum[l - 1][g] : 0) + (it != at.end() && std::isfinite(it->second) ? it->second : 0);
    }
  }
  double hi = 0;
  if (!cum.empty())
    for (double v : cum.back()) hi = std::max(hi, v);
  if (all)
    for (double v : all->value) hi = std::max(hi, v);
  Axis x = time_axis(time_end(run));
  Axis y = linear_axis(0, hi, "GPUs", 1);
  Chart c = report_chart("GPUs allocated over time", 360);
  c.x_axis(x);
  c.y_axis(y);
  // Thin to at most ~one sample per pixel column: the maximum of each cumulative layer in a column
  // keeps the layers ordered.
  const double width = c.right() - c.left();
  std::vector<std::size_t> starts;  // first grid index of each column
  for (std::size_t g = 0; g < grid.size(); ++g)
    if (grid.size() <= 2 * width || g == 0 ||
        std::floor(x.px(grid[g])) != std::floor(x.px(grid[g - 1])))
      starts.push_back(g);
  auto column_max = [&](const std::vector<double>& v, std::size_t k) {
    const std::size_t end = k + 1 < starts.size() ? starts[k + 1] : grid.size();
    double m = v[starts[k]];
    for (std::size_t g = starts[k]; g < end; ++g) m = std::max(m, v[g]);
    return m;
  };
  std::vector<LegendItem> legend;
  for (std::size_t l = 0; l < layers.size(); ++l) {
    std::vector<std::pair<double, double>> poly;
    for (std::size_t k = 0; k < starts.size(); ++k) poly.emplace_back(x.px(grid[starts[k]]), y.px(column_max(cum[l], k)));
    for (std::size_t k = starts.size(); k-- > 0;)
      poly.emplace_back(x.px(grid[starts[k]]), y.px(l ? column_max(cum[l - 1], k) : 0));
    const Style& st = styles[l];
    c.body() += "<g><title>" + esc(names[l]) + "</title><polygon fill=\"" + st.color +
                "\" fill-opacity=\"0.85\" stroke=\"" + st.color + "\" stroke-width=\"0.5\" points=\"" +
                Chart::points_attr(poly) + "\"/></g>\n";
    legend.push_back({names[l], st.color, Swatch::Box, "", "", 0.85});
  }
  if (all) {
    c.lines(x, y, {Line{"all models", all_style(), points_of(all), false}});
    legend.push_back({"all models (total)", kAllColor, Swatch::Line});
  }
  std::reverse(legend.begin(), legend.end() - (all ? 1 : 0));  // top layer first, like the chart
  c.legend(legend);
  return figure("chart-gpus", c.svg(),
                "GPUs allocated to each model's replicas (placed and not yet stopped, starting ones included), stacked; "
                "the black line is the cluster total." +
                    std::string(any_reduced ? " Over this long a run each layer is its mean over each time bucket, so "
                                              "the total's peaks rise above the stack."
                                            : "") +
                    summed_note(run, "gray layer on top"));
}

std::string rate_chart(const RunData& run, const std::vector<std::string>& order) {
  std::vector<Line> lines;
  for (std::size_t i = 0; i < order.size(); ++i)
    if (const RunSeries* s = run.timeseries.find(order[i], "arrivals"))
      lines.push_back({order[i] + ": arrivals", model_style(i), rate_of(s), false});
  if (const RunSeries* s = run.timeseries.find_other("arrivals"))
    lines.push_back({s->model, other_style(), rate_of(s), false});  // ": arrivals" would not fit the legend
  if (const RunSeries* s = run.timeseries.find("all", "arrivals"))
    lines.push_back({"all models: arrivals", all_style(), rate_of(s), false});
  if (const RunSeries* s = run.timeseries.find("all", "completions")) {
    Style st = all_style();
    st.dash = "5 3";
    st.width = 1.4;
    lines.push_back({"all models: completions", st, rate_of(s), false});
  }
  if (lines.empty()) return missing("Request rate: timeseries.csv has no arrivals or completions series.");
  Axis x = time_axis(time_end(run));
  Axis y = linear_axis(0, max_y(lines), "requests per second");
  Chart c = report_chart("Request rate", 340);
  c.x_axis(x);
  c.y_axis(y);
  c.lines(x, y, lines);
  c.legend(legend_of(lines));
  return figure("chart-rate", c.svg(),
                "Arrivals per second in each sample interval, per model and in total, and completions per second in "
                "total (dashed)." +
                    summed_note(run));
}
// ---------------------------------------------------------------------------------------------
// GPU time and cost

std::string gpu_time_charts(const RunData& run, const std::vector<std::string>& order) {
  std::vector<BarRow> idle, states;
  auto add = [&](const ModelResult& m, bool overall) {
    const double share = m.gpu_seconds_allocated > 0 ? m.gpu_seconds_idle / m.gpu_seconds_allocated : 0;
    idle.push_back({overall ? "overall" : m.name, {m.gpu_seconds_idle / 3600},
                    format_fixed(m.gpu_seconds_idle / 3600, 2) + " GPU-h (" + format_percent(share, 1) + " of allocated)",
                    overall});
    states.push_back({overall ? "overall" : m.name,
                      {m.gpu_seconds_busy / 3600, m.gpu_seconds_starting / 3600, m.gpu_seconds_idle / 3600},
                      format_fixed(m.gpu_seconds_allocated / 3600, 2) + " GPU-h", overall});
  };
  for (const ModelResult& m : run.models)
    if (drawn(order, m.name)) add(m, false);
  std::string out = hbar_chart("chart-idle-gpu", "Idle GPU time per model", {"idle GPU-hours"}, {"#e15759"}, idle,
                               "idle GPU-hours (GPU-seconds / 3600)",
                               "GPU time of ready replicas with no request queued or running, per model." +
                                   left_out_note(run));
  add(run.overall, true);
  out += hbar_chart("chart-gpu-states", "GPU time by state per model", {"busy", "starting", "idle"},
                    {"#4e79a7", "#f28e2b", "#e15759"}, states, "GPU-hours",
                    "Allocated GPU time split into busy (ready, serving at least one request), starting (placed, not "
                    "yet ready) and idle (ready, no request); the label is the allocated total." +
                        left_out_note(run));
  return out;
}

std::string pools_and_links(const RunData& run) {
  std::string t;
  if (!run.pools.empty()) {
    t += "<h3>Node pools</h3>\n<div class=\"scroll\"><table>\n<thead><tr><th class=\"name\">pool</th><th>node-hours</th>"
         "<th>peak nodes</th><th>nodes provisioned</th><th>nodes released</th></tr></thead>\n<tbody>\n";
    for (const PoolRow& p : run.pools)
      t += "<tr><td class=\"name\">" + esc(p.pool) + "</td><td>" + format_fixed(p.node_hours, 2) + "</td><td>" +
           format_count(p.peak_nodes) + "</td><td>" + format_count(p.provisioned) + "</td><td>" +
           format_count(p.released) + "</td></tr>\n";
    t += "</tbody></table></div>\n";
  }
  if (!run.links.empty()) {
    t += "<h3>Data moved per link</h3>\n<div class=\"scroll\"><table>\n<thead><tr><th class=\"name\">link</th>"
         "<th>GB moved</th><th>bandwidth (GB/s)</th></tr></thead>\n<tbody>\n";
    for (const LinkRow& l : run.links)
      t += "<tr><td class=\"name\">" + esc(l.link) + "</td><td>" + format_fixed(l.bytes / 1e9, 1) + "</td><td>" +
           (l.bandwidth_bytes_per_s < 0 ? std::string("unlimited") : format_fixed(l.bandwidth_bytes_per_s / 1e9, 3)) +
           "</td></tr>\n";
    t += "</tbody></table></div>\n";
  }
  return t;
}

std::string cost_section(const RunData& run, const std::vector<std::string>& order) {
  // Every cost field any block has, in order of first appearance.
  std::vector<std::string> fields;
  auto collect = [&](const ModelResult& m) {
    for (const auto& [k, v] : m.cost)
      if (std::find(fields.begin(), fields.end(), k) == fields.end()) fields.push_back(k);
  };
  for (const ModelResult& m : run.models) collect(m);
  collect(run.overall);
  std::string currency = run.overall.cost_currency;
  for (const ModelResult& m : run.models)
    if (currency.empty()) currency = m.cost_currency;
  auto value = [](const ModelResult& m, const std::string& k) {
    for (const auto& [key, v] : m.cost)
      if (key == k) return v;
    return std::numeric_limits<double>::quiet_NaN();
  };
  std::string t = "<div class=\"scroll\"><table>\n<thead><tr><th class=\"name\">model</th>";
  for (const auto& f : fields) t += "<th>" + esc(f) + (currency.empty() ? "" : " (" + esc(currency) + ")") + "</th>";
  t += "</tr></thead>\n<tbody>\n";
  auto row = [&](const ModelResult& m, bool overall) {
    t += std::string(overall ? "<tr class=\"overall\">" : "<tr>") + "<td class=\"name\">" +
         esc(overall ? "overall" : m.name) + "</td>";
    for (const auto& f : fields) t += "<td>" + format_fixed(value(m, f), 2) + "</td>";
    t += "</tr>\n";
  };
  for (const ModelResult& m : run.models)
    if (!m.cost.empty()) row(m, false);
  if (!run.overall.cost.empty()) row(run.overall, true);
  t += "</tbody></table></div>\n";
  const std::string key =
      std::find(fields.begin(), fields.end(), "total") != fields.end() ? "total" : fields.empty() ? "" : fields[0];
  std::vector<BarRow> rows;
  for (const ModelResult& m : run.models) {
    if (!drawn(order, m.name)) continue;
    const double v = value(m, key);
    if (!std::isnan(v)) rows.push_back({m.name, {v}, format_fixed(v, 2) + (currency.empty() ? "" : " " + currency), false});
  }
  if (!rows.empty())
    t += hbar_chart("chart-cost", "Cost per model (" + key + ")", {key}, {"#59a14f"}, rows,
                    "cost" + (currency.empty() ? std::string() : " (" + currency + ")"),
                    "The \"" + key + "\" field of each model's cost block in result.json." + left_out_note(run));
  return t;
}

std::string failures_table(const RunData& run) {
  std::vector<std::string> reasons;
  auto collect = [&](const ModelResult& m) {
    for (const auto& [k, v] : m.failed_by_reason)
      if (std::find(reasons.begin(), reasons.end(), k) == reasons.end()) reasons.push_back(k);
  };
  collect(run.overall);
  for (const ModelResult& m : run.models) collect(m);
  std::string t = "<div class=\"scroll\"><table>\n<thead><tr><th class=\"name\">model</th><th>requests</th>"
                  "<th>completed</th><th>failed</th>";
  for (const auto& r : reasons) t += "<th>" + esc(r) + "</th>";
  t += "</tr></thead>\n<tbody>\n";
  auto row = [&](const ModelResult& m, bool overall) {
    t += std::string(overall ? "<tr class=\"overall\">" : "<tr>") + "<td class=\"name\">" +
         esc(overall ? "overall" : m.name) + "</td><td>" + format_count(m.requests) + "</td><td>" +
         format_count(m.completed) + "</td><td>" + format_count(m.failed) + "</td>";
    for (const auto& r : reasons) {
      std::uint64_t n = 0;
      for (const auto& [k, v] : m.failed_by_reason)
        if (k == r) n = v;
      t += "<td>" + format_count(n) + "</td>";
    }
    t += "</tr>\n";
  };
  for (const ModelResult& m : run.models) row(m, false);
  row(run.overall, true);
  return t + "</tbody></table></div>\n";
}

// Said only when timeseries.csv had series too long to keep whole (run_data.hpp).
std::string reduction_note(const RunData& run) {
  const RunSeries* longest = nullptr;
  for (const RunSeries& s : run.timeseries.series)
    if (s.reduced() && (!longest || s.samples > longest->samples)) longest = &s;
  if (!longest) return "";
  return "up to " + format_count(longest->samples) + " samples per series, drawn as the lowest and highest of each " +
         format_span(longest->bucket_s) + " bucket (" + format_count(longest->time_s.size()) + " points)";
}

std::string meta(const RunData& run) {
  std::string m = "<dl class=\"meta\">\n";
  auto item = [&](const std::string& k, const std::string& v) {
    m += "<dt>" + esc(k) + "</dt><dd>" + esc(v) + "</dd>\n";
  };
  item("scenario", run.scenario_name.empty() ? "(unnamed)" : run.scenario_name);
  item("run directory", run.name);
  item("fleetsim version", run.fleetsim_version.empty() ? "unknown" : run.fleetsim_version);
  item("seed", std::to_string(run.seed));
  item("simulated time", format_fixed(run.end_time_s, 1) + " s (" + format_fixed(run.end_time_s / 3600, 2) + " h)");
  item("requests", format_count(run.requests));
  item("events", format_count(run.events));
  item("percentiles", "within " + format_percent(run.percentile_relative_error, 1) + " relative error");
  if (!run.sample_interval.empty()) item("sample interval", run.sample_interval);
  if (run.has_cache)
    item("node cache", format_count(run.cache_hits) + " hits, " + format_count(run.cache_inserts) + " inserts, " +
                           format_count(run.cache_evictions) + " evictions");
  std::string files = "result.json";
  if (run.has_timeseries) files += ", timeseries.csv";
  if (run.has_cold_start_log) files += ", cold_starts.csv";
  item("read from", files);
  if (const std::string r = reduction_note(run); !r.empty()) item("time series", r);
  if (undrawn(run) > 0)
    item("models drawn", "the " + std::to_string(kDrawnModels) + " of " + format_count(run.models.size()) +
                             " with the most requests; the others are summed as \"other\" in the time-series charts "
                             "and listed in every table");
  return m + "</dl>\n";
}
}  // namespace

const std::string& report_css() {
  static const std::string css =
      "body{font-family:sans-serif;margin:0 auto;max-width:1180px;padding:12px 24px 40px;color:#222;"
      "background:#fff;line-height:1.4}\n"
      "h1{font-size:24px;margin:10px 0 4px}\n"
      "h2{font-size:19px;border-bottom:2px solid #ddd;padding-bottom:4px;margin:30px 0 10px}\n"
      "h3{font-size:15px;margin:18px 0 6px}\n"
      "p.desc{color:#555;margin:0 0 10px}\n"
      "nav{font-size:14px;margin:8px 0 4px}\nnav a{margin-right:14px;color:#2a5c8a}\n"
      "dl.meta{display:grid;grid-template-columns:max-content auto;gap:2px 16px;font-size:14px;margin:8px 0}\n"
      "dl.meta dt{color:#666}\ndl.meta dd{margin:0}\n"
      "div.scroll{overflow-x:auto}\n"
      "table{border-collapse:collapse;font-size:12.5px;margin:6px 0 10px}\n"
      "th,td{padding:3px 6px;border-bottom:1px solid #e4e4e4;text-align:right;white-space:nowrap}\n"
      "th{background:#f2f2f2;font-weight:600;white-space:normal}\n"
      "td.name,th.name{text-align:left}\n"
      "tr.overall td{font-weight:bold;border-top:2px solid #bbb}\n"
      "td.best{color:#1a7f37;font-weight:bold}\n"
      "figure{margin:10px 0 22px}\n"
      "figcaption{font-size:13px;color:#555;max-width:960px}\n"
      "svg.chart{display:block;max-width:100%;height:auto}\n"
      "p.missing{color:#6b5300;background:#fff8dc;padding:6px 10px;border-left:4px solid #e0b000}\n"
      "p.note{font-size:13px;color:#555}\n"
      "footer{margin-top:30px;font-size:12px;color:#888}\n";
  return css;
}

std::string html_report(const RunData& run) {
  if (run.kind == "jobs") return jobs_report(run);
  if (run.kind == "saturation") return saturation_report(run);
  const std::vector<std::string> order = model_order(run);
  const std::string title = "fleetsim report: " + (run.scenario_name.empty() ? run.name : run.scenario_name);
  std::string h;
  h.reserve(1 << 20);
  h += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
       "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>" +
       esc(title) + "</title>\n<style>\n" + report_css() + "</style>\n</head>\n<body>\n";
  h += "<header>\n<h1>" + esc(title) + "</h1>\n";
  if (!run.scenario_description.empty()) h += "<p class=\"desc\">" + esc(run.scenario_description) + "</p>\n";
  h += meta(run);
  h += "<nav><a href=\"#summary\">Summary</a><a href=\"#latency\">Latency</a><a href=\"#capacity\">Replicas and "
       "GPUs</a><a href=\"#queues\">Queues</a><a href=\"#cold-starts\">Cold starts</a><a href=\"#gpu-time\">GPU "
       "time</a>";
  if (run.has_cost()) h += "<a href=\"#cost\">Cost</a>";
  h += "<a href=\"#failures\">Failures</a></nav>\n</header>\n";

  h += "<section id=\"summary\">\n<h2>Summary</h2>\n" + summary_table(run) +
       "<p class=\"note\">Latencies of completed requests (TTFT: time to first token; TPOT: time per output token; "
       "end-to-end: arrival to last token). SLO met: share of all requests within both thresholds. Waited: share "
       "of requests that found no ready replica. GPU-hours cover placement to stop; idle is ready with no "
       "request.</p>\n</section>\n";

  h += "<section id=\"latency\">\n<h2>Latency</h2>\n";
  h += cdf_chart(run, order, "chart-ttft-cdf", "Time to first token (TTFT), CDF", &ModelResult::ttft, "TTFT");
  h += cdf_chart(run, order, "chart-e2e-cdf", "End-to-end latency, CDF", &ModelResult::e2e, "end-to-end latency");
  h += "</section>\n";

  const std::string no_series = "No time series in this run (the run directory has no timeseries.csv).";
  h += "<section id=\"capacity\">\n<h2>Replicas and GPUs over time</h2>\n";
  if (!run.has_timeseries || run.timeseries.empty()) {
    h += missing(no_series);
  } else {
    h += replicas_chart(run, order);
    h += gpus_chart(run, order);
  }
  h += "</section>\n";

  h += "<section id=\"queues\">\n<h2>Queues and traffic over time</h2>\n";
  if (!run.has_timeseries || run.timeseries.empty()) {
    h += missing(no_series);
  } else {
    h += series_chart(run, order, "chart-in-system", "Requests in the system", "requests_in_system", "requests",
                      "Requests arrived and not yet ended at each sample time (buffered, queued at a replica or "
                      "running), per model and in total (black).",
                      true);
    h += series_chart(run, order, "chart-buffered", "Requests buffered (waiting for a replica)", "requests_buffered",
                      "requests",
                      "Requests held in a model's buffer because it had no ready replica (waiting for a cold start), "
                      "per model and in total (black).",
                      true);
    h += rate_chart(run, order);
    h += kv_cache_chart(run, order);
  }
  h += "</section>\n";

  h += "<section id=\"cold-starts\">\n<h2>Cold starts</h2>\n" + cold_start_section(run, order) + "</section>\n";

  h += "<section id=\"gpu-time\">\n<h2>GPU time</h2>\n" + gpu_time_charts(run, order) + pools_and_links(run) +
       "</section>\n";
  if (run.has_cost()) h += "<section id=\"cost\">\n<h2>Cost</h2>\n" + cost_section(run, order) + "</section>\n";
  h += "<section id=\"failures\">\n<h2>Failures</h2>\n" + failures_table(run) + "</section>\n";
  h += "<footer>Generated by fleetsim " + esc(run.fleetsim_version) + " from " + esc(run.name) +
       "/result.json. Self-contained: no scripts, fonts or network resources.</footer>\n</body>\n</html>\n";
  return h;
}

}  // namespace fleetsim
