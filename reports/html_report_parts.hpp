// Private to reports/: the pieces the run report (html_report.cpp) shares with the jobs and
// saturation reports (html_report_jobs.cpp, html_report_saturation.cpp); defined once, in
// html_report_parts.cpp. Not part of the library's interface: include html_report.hpp instead.
#pragma once
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "reports/run_data.hpp"
#include "reports/svg_chart.hpp"

namespace fleetsim::html_parts {

// Tableau 10: distinguishable, and readable for the common color-vision deficiencies.
inline constexpr const char* kPalette[] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                                           "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"};
inline constexpr const char* kAllColor = "#222222";
// The "other (N models)" sum of the models not drawn one by one (run_data.hpp, kDrawnModels):
// a mid gray, dashed, apart from the palette.
inline constexpr const char* kOtherColor = "#8c8c8c";
inline constexpr int kWidth = 1000;

using svg::Axis;
using svg::Chart;
using svg::coord;
using svg::latency_axis;
using svg::LegendItem;
using svg::linear_axis;
using svg::percent_axis;
using svg::short_number;
using svg::Swatch;
using svg::time_axis;
using svg::truncate;
using Style = svg::LineStyle;
using Line = svg::Series;

std::string esc(const std::string& s);
Style model_style(std::size_t i);
Style all_style();
Style other_style();
// A report chart: 1000 px wide, the legend in a 230 px column on the right.
Chart report_chart(std::string title, int height, double left = 78);
std::string figure(const std::string& id, const std::string& svg, const std::string& caption);
std::string missing(const std::string& text);
std::vector<LegendItem> legend_of(const std::vector<Line>& lines);

// The models drawn one by one (html_report.cpp's model_order): where `s` is in `v` (v.size() if
// nowhere); whether `model` is drawn; how many of result.json's models are not (0: every one is);
// the name of the lane or series that sums them; a caption sentence saying they are left out of
// a per-model chart (empty when every model is drawn: the report is then as it always was).
std::size_t index_of(const std::vector<std::string>& v, const std::string& s);
bool drawn(const std::vector<std::string>& order, const std::string& model);
std::size_t undrawn(const RunData& run);
std::string other_label(std::size_t n);
std::string left_out_note(const RunData& run);

// Time series: a series' (time, value) points; the run's last time; the highest finite y.
std::vector<std::pair<double, double>> points_of(const RunSeries* s);
double time_end(const RunData& run);
double max_y(const std::vector<Line>& lines);

// Horizontal bars (one row per model, stacked segments)
struct BarRow {
  std::string label;
  std::vector<double> segments;
  std::string value_label;
  bool overall = false;
};

std::string hbar_chart(const std::string& id, const std::string& title, const std::vector<std::string>& segment_names,
                       const std::vector<std::string>& segment_colors, const std::vector<BarRow>& rows,
                       const std::string& x_title, const std::string& caption);

// The page frame of the jobs and saturation reports: <head>, title and description; footer; the
// key-value list under the title.
std::string page_start(const RunData& run, const std::string& title);
std::string page_end(const RunData& run);
std::string meta_list(const std::vector<std::pair<std::string, std::string>>& items);

// The run report's cold-start section (html_report_cold_starts.cpp): the table, the mean phases,
// the timeline and the phases of single cold starts, for the models in `order`.
std::string cold_start_section(const RunData& run, const std::vector<std::string>& order);

// The whole page of a `fleetsim jobs` result (html_report_jobs.cpp) and of a `fleetsim
// saturation` result (html_report_saturation.cpp).
std::string jobs_report(const RunData& run);
std::string saturation_report(const RunData& run);

}  // namespace fleetsim::html_parts
