// The run report's cold-start section: the table and the mean phases per model (from
// result.json, exact), the timeline and the one-bar-per-cold-start phases chart (from the digest
// of cold_starts.csv, cold_start_log.hpp: exact counts per lane and per timeline column, and a
// sample of at most kColdStartSample rows a lane, all of them while a lane has no more).
#include <algorithm>
#include <cmath>

#include "reports/html_report_parts.hpp"

namespace fleetsim::html_parts {

namespace {

constexpr const char* kAbortedFill = "#c9c9c9";
constexpr const char* kAbortedStroke = "#d62728";

// A lane with more cold starts than this is drawn as counts per timeline column, not a bar each
// (its bars need every row: the sample holds them all).
constexpr std::size_t kMaxBars = 400;
static_assert(kColdStartSample >= kMaxBars);
// The digest's columns are binned on this chart's plot area (cold_start_log.hpp).
static_assert(kColdStartTimelineRight == kWidth - 230);

std::string others_lane_note(const RunData& run) {
  const std::size_t n = undrawn(run);
  if (n == 0) return "";
  return " The cold starts of the " + format_count(n) + " models beyond the " + std::to_string(kDrawnModels) +
         " with the most requests share one lane, \"" + other_label(n) + "\"; every model is in the tables.";
}

// The phases of a cold start, in order; node provision only where the run records it.
struct Phase {
  const char* name;
  const char* color;
  double ColdStartRow::*row;
  double ColdStartColumn::*column;
  double ColdStartStats::*mean;
};

// Node provision is drawn only when some cold start waited for a node.
bool any_node_provision(const RunData& run) {
  if (!run.has_node_provision()) return false;
  if (run.overall.cold_starts.mean_node_provision_s > 0) return true;
  for (const ModelResult& m : run.models)
    if (m.cold_starts.mean_node_provision_s > 0) return true;
  return run.cold_start_log.any_node_provision;
}

std::vector<Phase> phases_of(const RunData& run) {
  std::vector<Phase> p;
  if (any_node_provision(run))
    p.push_back({"node provision", "#b07aa1", &ColdStartRow::node_provision_s, &ColdStartColumn::node_provision_s,
                 &ColdStartStats::mean_node_provision_s});
  p.push_back({"image pull", "#4e79a7", &ColdStartRow::image_pull_s, &ColdStartColumn::image_pull_s,
               &ColdStartStats::mean_image_pull_s});
  p.push_back({"weight load", "#f28e2b", &ColdStartRow::weight_load_s, &ColdStartColumn::weight_load_s,
               &ColdStartStats::mean_weight_load_s});
  p.push_back({"engine start-up", "#59a14f", &ColdStartRow::engine_startup_s, &ColdStartColumn::engine_startup_s,
               &ColdStartStats::mean_engine_startup_s});
  return p;
}

std::string phase_tooltip(const ColdStartRow& r, const std::vector<Phase>& phases) {
  std::string t = r.model + " replica " + r.replica + " on " + r.node + ": placed at " + format_fixed(r.placed_s, 1) +
                  " s, " + (r.aborted ? "aborted" : "ready") + " at " + format_fixed(r.ready_s, 1) + " s (" +
                  format_latency(r.ready_s - r.placed_s) + "): ";
  for (std::size_t p = 0; p < phases.size(); ++p)
    t += std::string(p ? ", " : "") + phases[p].name + " " + format_latency(r.*phases[p].row);
  return t + "; weights from " + r.source;
}

// A lane's color: its model's, or the "other" lane's gray.
Style lane_style(const std::vector<std::string>& order, const ColdStartLane& lane) {
  const std::size_t i = index_of(order, lane.name);
  return i < order.size() ? model_style(i) : other_style();
}

std::vector<LegendItem> phase_legend(const std::vector<Phase>& phases) {
  std::vector<LegendItem> legend;
  for (const Phase& p : phases) legend.push_back({p.name, p.color, Swatch::Box});
  legend.push_back({"aborted", kAbortedFill, Swatch::Box, "", kAbortedStroke});
  return legend;
}

// One lane's cold starts as counts per timeline column: a stacked bar per column (height: cold
// starts placed in it, relative to the busiest column; colors: the phases' shares of their time,
// gray: aborted ones), with the counts and mean phases as its tooltip.
std::string dense_cold_starts(const ColdStartLane& lane, const std::vector<Phase>& phases, const Axis& x, double top,
                              double lane_h) {
  const double left = kColdStartTimelineLeft, bin_px = kColdStartColumnPx;
  std::uint64_t most = 1;
  for (const ColdStartColumn& k : lane.columns) most = std::max(most, k.count);
  const double px_lo = x.px(x.lo), px_hi = x.px(x.hi);  // the axis is linear: invert it from its ends
  auto time_at = [&](double px) {
    return px_hi > px_lo ? std::max(0.0, x.lo + (px - px_lo) / (px_hi - px_lo) * (x.hi - x.lo)) : x.lo;
  };
  std::string b;
  for (std::size_t i = 0; i < lane.columns.size(); ++i) {
    const ColdStartColumn& k = lane.columns[i];
    if (k.count == 0) continue;
    const double x0 = left + static_cast<double>(i) * bin_px;
    const double h = std::max(1.0, lane_h * static_cast<double>(k.count) / static_cast<double>(most));
    const double t0 = time_at(x0), t1 = time_at(x0 + bin_px);
    std::string tip = lane.name + ": " + std::to_string(k.count) + " cold start" + (k.count == 1 ? "" : "s") +
                      " placed between " + format_fixed(t0, 0) + " s and " + format_fixed(t1, 0) + " s";
    if (k.aborted) tip += " (" + std::to_string(k.aborted) + " aborted)";
    tip += "; mean";
    double sum = 0;
    for (std::size_t p = 0; p < phases.size(); ++p) {
      tip += std::string(p ? ", " : " ") + phases[p].name + " " +
             format_latency(k.*phases[p].column / static_cast<double>(k.count));
      sum += k.*phases[p].column;
    }
    b += "<g><title>" + esc(tip) + "</title>";
    double y = top + lane_h;  // stacked upwards from the lane's floor
    const double aborted_h = h * static_cast<double>(k.aborted) / static_cast<double>(k.count);
    const double phase_h = h - aborted_h;
    for (std::size_t p = 0; p < phases.size() && sum > 0; ++p) {
      const double ph = phase_h * (k.*phases[p].column) / sum;
      if (ph <= 0) continue;
      y -= ph;
      b += "<rect x=\"" + coord(x0) + "\" y=\"" + coord(y) + "\" width=\"" + coord(bin_px) + "\" height=\"" + coord(ph) +
           "\" fill=\"" + phases[p].color + "\"/>";
    }
    if (aborted_h > 0 || sum <= 0) {
      const double ah = sum > 0 ? aborted_h : h;
      b += "<rect x=\"" + coord(x0) + "\" y=\"" + coord(y - ah) + "\" width=\"" + coord(bin_px) + "\" height=\"" +
           coord(ah) + "\" fill=\"" + kAbortedFill + "\"/>";
    }
    b += "</g>\n";
  }
  return b;
}

// A Gantt-like strip: one lane per model, each cold start a bar from placement to ready split
// into its phases; overlapping cold starts take further rows of the lane.
std::string cold_start_timeline(const RunData& run) {
  const std::vector<ColdStartLane>& lanes = run.cold_start_log.lanes;
  const std::vector<Phase> phases = phases_of(run);
  // The run's end, or the last cold start's if later: the axis the digest's columns were binned on.
  Axis x = cold_start_timeline_axis(run.cold_start_log.timeline_end_s);
  const double left = kColdStartTimelineLeft, right = kColdStartTimelineRight;
  const double min_w = 2;
  // Rows per model, in pixel space.
  std::vector<std::vector<int>> row_of(lanes.size());
  std::vector<int> rows(lanes.size(), 0);
  int total_rows = 0;
  // A model with more cold starts than kMaxBars is drawn as counts per kColdStartColumnPx column
  // instead of one bar each: a long run's report stays the same size however many cold starts it had.
  constexpr double kDenseH = 48;
  std::vector<bool> dense(lanes.size(), false);
  for (std::size_t g = 0; g < lanes.size(); ++g) {
    std::vector<double> row_end;
    if (lanes[g].rows > kMaxBars || lanes[g].sampled()) {
      dense[g] = true;
      continue;
    }
    for (const ColdStartRow& r : lanes[g].sample) {
      const double x0 = x.px(r.placed_s), x1 = std::max(x.px(r.ready_s), x0 + min_w);
      std::size_t k = 0;
      while (k < row_end.size() && row_end[k] + 1 > x0) ++k;
      if (k == row_end.size()) row_end.push_back(x1);
      else row_end[k] = x1;
      row_of[g].push_back(static_cast<int>(k));
    }
    rows[g] = static_cast<int>(row_end.size());
    total_rows += rows[g];
  }
  const double row_h = std::clamp(std::floor(420.0 / std::max(1, total_rows)), 2.0, 12.0);
  const double lane_pad = 8;
  double plot_h = 0;
  for (std::size_t g = 0; g < lanes.size(); ++g)
    if (lanes[g].rows > 0) plot_h += (dense[g] ? kDenseH : rows[g] * row_h) + lane_pad;
  const int height = static_cast<int>(std::ceil(44 + std::max(plot_h, 120.0) + 56));
  Chart c = report_chart("Cold starts on the timeline", height, left);
  c.x_axis(x);
  std::string& b = c.body();
  double y = c.top();
  int lane = 0;
  for (std::size_t g = 0; g < lanes.size(); ++g) {
    if (lanes[g].rows == 0) continue;
    const double lane_h = (dense[g] ? kDenseH : rows[g] * row_h) + lane_pad;
    if (lane++ % 2 == 0)
      b += "<rect x=\"" + coord(left) + "\" y=\"" + coord(y) + "\" width=\"" + coord(right - left) + "\" height=\"" + coord(lane_h) +
           "\" fill=\"#f3f3f3\"/>\n";
    b += "<text x=\"" + coord(left - 8) + "\" y=\"" + coord(y + std::min(lane_h / 2 + 4, 16.0)) +
         "\" text-anchor=\"end\"><title>" + esc(lanes[g].name) + "</title>" + esc(truncate(lanes[g].name, 20)) + " (" +
         std::to_string(lanes[g].rows) + ")</text>\n";
    if (dense[g]) {
      b += dense_cold_starts(lanes[g], phases, x, y + lane_pad / 2, kDenseH);
      y += lane_h;
      continue;
    }
    for (std::size_t i = 0; i < lanes[g].sample.size(); ++i) {
      const ColdStartRow& r = lanes[g].sample[i];
      const double top = y + lane_pad / 2 + row_of[g][i] * row_h;
      const double h = std::max(1.0, row_h - (row_h > 4 ? 1 : 0));
      const double x0 = x.px(r.placed_s), x1 = std::max(x.px(r.ready_s), x0 + min_w);
      b += "<g><title>" + esc(phase_tooltip(r, phases)) + "</title>";
      if (r.aborted) {
        b += "<rect x=\"" + coord(x0) + "\" y=\"" + coord(top) + "\" width=\"" + coord(x1 - x0) + "\" height=\"" + coord(h) +
             "\" fill=\"" + kAbortedFill + "\" stroke=\"" + kAbortedStroke + "\" stroke-width=\"1\"/>";
      } else {
        double sum = 0;
        for (const Phase& p : phases) sum += r.*p.row;
        double at = x0;
        for (std::size_t p = 0; p < phases.size(); ++p) {
          const double w = sum > 0 ? (x1 - x0) * (r.*phases[p].row) / sum : (p + 1 == phases.size() ? x1 - x0 : 0);
          if (w <= 0) continue;
          b += "<rect x=\"" + coord(at) + "\" y=\"" + coord(top) + "\" width=\"" + coord(w) + "\" height=\"" + coord(h) +
               "\" fill=\"" + phases[p].color + "\"/>";
          at += w;
        }
      }
      b += "</g>\n";
    }
    y += lane_h;
  }
  c.left_axis_line();
  c.legend(phase_legend(phases));
  return figure("chart-cold-start-timeline", c.svg(),
                "Each bar is one cold start, from placement to ready (or to its abort), split into its phases; bars are at least 2 px wide, so short cold starts in long runs are drawn "
                "wider than they were. Overlapping cold starts of a model take extra rows; the count of cold starts "
                "is beside each model. Hover a bar for its details. A model with more than 400 cold starts is drawn as "
                "counts per 3 px column instead: a bar's height is the number of cold starts placed in that span "
                "(the tallest fills the lane), its colors each phase's share of their time, gray the aborted ones." +
                    others_lane_note(run));
}

// Stacked vertical bars, one per cold start (grouped by model, in order of placement): how long
// each phase took. With more cold starts than fit, 1 in `stride` of each model's; a model with
// more than kColdStartSample cold starts has as many bars as 1 in `stride` of them would give,
// spread evenly, by rank, over its sample.
std::string cold_start_phases_chart(const RunData& run, const std::vector<std::string>& order) {
  const std::vector<ColdStartLane>& lanes = run.cold_start_log.lanes;
  const std::vector<Phase> phases = phases_of(run);
  auto total_of = [&](const ColdStartRow& r) {
    double t = 0;
    for (const Phase& p : phases) t += r.*p.row;
    return t;
  };
  const double left = 78, right = kWidth - 230;
  const std::size_t max_bars = static_cast<std::size_t>((right - left) / 2.5);
  const std::uint64_t total = run.cold_start_log.rows;
  std::size_t nonempty = 0;
  bool sampled = false;
  for (const ColdStartLane& l : lanes) {
    nonempty += l.rows == 0 ? 0 : 1;
    sampled = sampled || l.sampled();
  }
  const std::uint64_t stride = std::max<std::uint64_t>(1, (total + max_bars - 1) / max_bars);
  std::vector<std::vector<const ColdStartRow*>> kept(lanes.size());
  std::size_t shown = 0;
  double hi = 0;
  for (std::size_t g = 0; g < lanes.size(); ++g) {
    const ColdStartLane& l = lanes[g];
    for (std::uint64_t rank = 0; rank < l.rows; rank += stride) {
      // Every row is in the sample (index = rank), or the rank's place among the sampled ones.
      const std::uint64_t i = l.sampled() ? rank * l.sample.size() / l.rows : rank;
      const ColdStartRow* r = &l.sample[static_cast<std::size_t>(i)];
      kept[g].push_back(r);
      ++shown;
      hi = std::max(hi, total_of(*r));
    }
  }
  const double slots = static_cast<double>(shown + (nonempty > 0 ? nonempty - 1 : 0));
  const double slot = (right - left) / std::max(1.0, slots);
  const double bar_w = std::max(1.0, std::min(slot * 0.8, 24.0));
  Chart c = report_chart("Cold-start phases, one bar per cold start", 380, left);
  Axis y = linear_axis(0, hi, "seconds");
  c.y_axis(y);
  std::string& b = c.body();
  c.bottom_axis_line();
  double at = left;
  for (std::size_t g = 0; g < kept.size(); ++g) {
    if (kept[g].empty()) continue;
    const double group_x0 = at;
    const Style st = lane_style(order, lanes[g]);
    for (const ColdStartRow* r : kept[g]) {
      const double cx = at + slot / 2;
      b += "<g><title>" + esc(phase_tooltip(*r, phases)) + "</title>";
      double base = 0;
      for (const Phase& p : phases) {
        const double v = r->*p.row;
        if (v <= 0) continue;
        const double y0 = y.px(base + v), y1 = y.px(base);
        b += "<rect x=\"" + coord(cx - bar_w / 2) + "\" y=\"" + coord(y0) + "\" width=\"" + coord(bar_w) + "\" height=\"" +
             coord(std::max(0.5, y1 - y0)) + "\" fill=\"" + p.color + "\"" +
             (r->aborted ? " fill-opacity=\"0.35\" stroke=\"" + std::string(kAbortedStroke) + "\" stroke-width=\"0.8\"" : "") +
             "/>";
        base += v;
      }
      b += "</g>\n";
      at += slot;
    }
    const double group_x1 = at;
    b += "<rect x=\"" + coord(group_x0) + "\" y=\"" + coord(c.bottom() + 3) + "\" width=\"" + coord(group_x1 - group_x0) +
         "\" height=\"5\" fill=\"" + st.color + "\"><title>" + esc(lanes[g].name) + "</title></rect>\n";
    if (group_x1 - group_x0 >= 40)
      b += "<text x=\"" + coord((group_x0 + group_x1) / 2) + "\" y=\"" + coord(c.bottom() + 22) +
           "\" text-anchor=\"middle\"><title>" + esc(lanes[g].name) + "</title>" +
           esc(truncate(lanes[g].name, static_cast<std::size_t>(std::max(3.0, (group_x1 - group_x0) / 7)))) + "</text>\n";
    at += slot;  // a gap between models
  }
  const std::string sample = format_count(kColdStartSample);
  b += "<text x=\"" + coord((left + right) / 2) + "\" y=\"" + coord(c.bottom() + 44) +
       "\" text-anchor=\"middle\" class=\"axis-title\">" +
       esc(sampled  ? "cold starts by model, in order of placement (about 1 in " + std::to_string(stride) + " of " +
                         std::to_string(total) + " shown, from a random sample of " + sample + " a model)"
           : stride > 1 ? "cold starts by model, in order of placement (1 in " + std::to_string(stride) + " of " +
                              std::to_string(total) + " shown)"
                        : "cold starts by model, in order of placement") +
       "</text>\n";
  std::vector<LegendItem> legend;
  for (const Phase& p : phases) legend.push_back({p.name, p.color, Swatch::Box});
  legend.push_back({"aborted (faded)", "#f28e2b", Swatch::Box, "", kAbortedStroke, 0.35});
  for (std::size_t g = 0; g < kept.size(); ++g)
    if (!kept[g].empty()) legend.push_back({lanes[g].name, lane_style(order, lanes[g]).color, Swatch::Box});
  c.legend(legend);
  return figure("chart-cold-start-phases", c.svg(),
                "Duration of each cold start split into its phases; the "
                "colored strip under the bars marks the model. An aborted cold start shows the phases recorded for "
                "it, faded." +
                    (sampled ? " A model with more than " + sample + " cold starts is drawn from a uniform random "
                               "sample of " + sample + " of them (the same for the same run), spread evenly by order of "
                               "placement; its share of the bars is its share of all cold starts."
                             : std::string()) +
                    others_lane_note(run));
}

std::string cold_start_table(const RunData& run) {
  bool host = run.overall.cold_starts.has_host_memory;
  for (const ModelResult& m : run.models) host = host || m.cold_starts.has_host_memory;
  std::string t = "<div class=\"scroll\"><table>\n<thead><tr><th class=\"name\">model</th><th>cold starts</th>"
                  "<th>aborted</th>" + std::string(host ? "<th>weights from host memory</th>" : "") +
                  "<th>weights from disk cache</th><th>weights from model store</th>"
                  "<th>unschedulable scale-ups</th><th>mean duration</th><th>p99 duration</th>"
                  "<th>requests waited</th><th>share waited</th><th>added latency p50</th><th>added latency p99</th>"
                  "</tr></thead>\n<tbody>\n";
  auto row = [&](const ModelResult& m, bool overall) {
    const ColdStartStats& c = m.cold_starts;
    auto lat = [](const LatencyStats& s, double v) { return s.count ? format_latency(v) : std::string("-"); };
    t += std::string(overall ? "<tr class=\"overall\">" : "<tr>") + "<td class=\"name\">" +
         esc(overall ? "overall" : m.name) + "</td><td>" + format_count(c.count) + "</td><td>" + format_count(c.aborted) +
         (host ? "</td><td>" + format_count(c.weights_from_host_memory) : std::string()) + "</td><td>" +
         format_count(c.weights_from_disk_cache) + "</td><td>" + format_count(c.weights_from_model_store) +
         "</td><td>" + format_count(c.unschedulable_scale_ups) + "</td><td>" + lat(c.duration, c.duration.mean) +
         "</td><td>" + lat(c.duration, c.duration.p99) + "</td><td>" + format_count(c.requests_waited) + "</td><td>" +
         format_percent(c.share_of_requests_waited, 2) + "</td><td>" + lat(c.added_latency, c.added_latency.p50) +
         "</td><td>" + lat(c.added_latency, c.added_latency.p99) + "</td></tr>\n";
  };
  for (const ModelResult& m : run.models) row(m, false);
  row(run.overall, true);
  return t + "</tbody></table></div>\n";
}

std::string mean_phases_chart(const RunData& run, const std::vector<std::string>& order) {
  const std::vector<Phase> phases = phases_of(run);
  std::vector<BarRow> rows;
  auto add = [&](const ModelResult& m, bool overall) {
    const ColdStartStats& c = m.cold_starts;
    if (!overall && (c.count == 0 || !drawn(order, m.name))) return;
    std::vector<double> means;
    double total = 0;
    for (const Phase& p : phases) {
      means.push_back(c.*p.mean);
      total += c.*p.mean;
    }
    rows.push_back({overall ? "overall" : m.name, means,
                    c.count ? format_latency(total) + " (" + format_count(c.count) + ")" : "no cold starts", overall});
  };
  for (const ModelResult& m : run.models) add(m, false);
  add(run.overall, true);
  std::vector<std::string> names, colors;
  for (const Phase& p : phases) {
    names.push_back(p.name);
    colors.push_back(p.color);
  }
  return hbar_chart("chart-cold-start-means", "Mean cold-start phases per model", names, colors, rows, "seconds",
                    "Mean time of each cold-start phase (from result.json), per model with cold starts; the label is "
                    "the mean total and, in brackets, the number of cold starts." +
                        left_out_note(run));
}

}  // namespace

std::string cold_start_section(const RunData& run, const std::vector<std::string>& order) {
  std::string h = cold_start_table(run) + mean_phases_chart(run, order);
  if (!run.has_cold_start_log) {
    h += missing("No per-cold-start log in this run (the run directory has no cold_starts.csv).");
  } else if (run.cold_start_log.rows == 0) {
    h += missing("cold_starts.csv lists no cold starts.");
  } else {
    h += cold_start_timeline(run);
    h += cold_start_phases_chart(run, order);
  }
  return h;
}

}  // namespace fleetsim::html_parts
