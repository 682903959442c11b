// The helpers html_report_parts.hpp declares, shared by the run, jobs and saturation reports:
// series styles, the report chart and its figure, legends, time-series points, horizontal bar
// charts, and the page frame of the jobs and saturation pages.
#include "reports/html_report_parts.hpp"

#include <algorithm>
#include <cmath>

#include "reports/html_report.hpp"

namespace fleetsim::html_parts {

std::string esc(const std::string& s) { return html_escape(s); }

Style model_style(std::size_t i) {
  Style s;
  s.color = kPalette[i % 10];
  s.dash = i < 10 ? "" : i < 20 ? "7 3" : "2 2";
  return s;
}

Style all_style() { return Style{kAllColor, "", 2.2}; }

Style other_style() { return Style{kOtherColor, "6 3", 1.6}; }

// A report chart: 1000 px wide, the legend in a 230 px column on the right.
Chart report_chart(std::string title, int height, double left) {
  return Chart(std::move(title), svg::Layout{kWidth, height, left, 230, 44, 56, false});
}

std::string figure(const std::string& id, const std::string& svg, const std::string& caption) {
  return "<figure id=\"" + esc(id) + "\">\n" + svg + "<figcaption>" + esc(caption) + "</figcaption>\n</figure>\n";
}

std::string missing(const std::string& text) { return "<p class=\"missing\">" + esc(text) + "</p>\n"; }

std::vector<LegendItem> legend_of(const std::vector<Line>& lines) {
  std::vector<LegendItem> items;
  for (const Line& l : lines)
    items.push_back({l.label, l.style.color, l.markers ? Swatch::LineMarker : Swatch::Line, l.style.dash});
  return items;
}

std::size_t index_of(const std::vector<std::string>& v, const std::string& s) {
  return static_cast<std::size_t>(std::find(v.begin(), v.end(), s) - v.begin());
}

bool drawn(const std::vector<std::string>& order, const std::string& model) {
  return index_of(order, model) < order.size();
}

std::size_t undrawn(const RunData& run) {
  return run.models.size() > kDrawnModels ? run.models.size() - kDrawnModels : 0;
}

std::string other_label(std::size_t n) { return other_models_label(n); }

std::string left_out_note(const RunData& run) {
  const std::size_t n = undrawn(run);
  if (n == 0) return "";
  return " Only the " + std::to_string(kDrawnModels) + " models with the most requests are drawn; the other " +
         format_count(n) + " are in the tables.";
}

std::vector<std::pair<double, double>> points_of(const RunSeries* s) {
  std::vector<std::pair<double, double>> out;
  if (!s) return out;
  for (std::size_t i = 0; i < s->time_s.size(); ++i) out.emplace_back(s->time_s[i], s->value[i]);
  return out;
}

double time_end(const RunData& run) { return run.time_end(); }

double max_y(const std::vector<Line>& lines) {
  double hi = 0;
  for (const Line& l : lines)
    for (const auto& p : l.pts)
      if (std::isfinite(p.second)) hi = std::max(hi, p.second);
  return hi;
}

std::string hbar_chart(const std::string& id, const std::string& title, const std::vector<std::string>& segment_names,
                       const std::vector<std::string>& segment_colors, const std::vector<BarRow>& rows,
                       const std::string& x_title, const std::string& caption) {
  double hi = 0;
  for (const BarRow& r : rows) {
    double total = 0;
    for (double v : r.segments) total += std::max(0.0, std::isfinite(v) ? v : 0.0);
    hi = std::max(hi, total);
  }
  const int row_h = 26;
  Chart c = report_chart(title, 44 + static_cast<int>(rows.size()) * row_h + 62, 170);
  Axis x = linear_axis(0, hi * 1.2, x_title);
  c.x_axis(x);
  std::string& b = c.body();
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const BarRow& r = rows[i];
    const double y = c.top() + 6 + static_cast<double>(i) * row_h;
    b += "<text x=\"" + coord(c.left() - 8) + "\" y=\"" + coord(y + 13) + "\" text-anchor=\"end\"" +
         (r.overall ? " font-weight=\"bold\"" : "") + "><title>" + esc(r.label) + "</title>" + esc(truncate(r.label, 22)) +
         "</text>\n";
    double at = 0;
    for (std::size_t s = 0; s < r.segments.size(); ++s) {
      const double v = std::isfinite(r.segments[s]) ? std::max(0.0, r.segments[s]) : 0.0;
      if (v <= 0) continue;
      const double x0 = x.px(at), x1 = x.px(at + v);
      b += "<rect x=\"" + coord(x0) + "\" y=\"" + coord(y) + "\" width=\"" + coord(std::max(0.5, x1 - x0)) +
           "\" height=\"18\" fill=\"" + segment_colors[s] + "\"><title>" + esc(r.label + ": " + segment_names[s] + " " +
           short_number(v)) + "</title></rect>\n";
      at += v;
    }
    b += "<text x=\"" + coord(x.px(at) + 6) + "\" y=\"" + coord(y + 13) + "\">" + esc(r.value_label) + "</text>\n";
  }
  c.left_axis_line();
  if (segment_names.size() > 1) {
    std::vector<LegendItem> legend;
    for (std::size_t s = 0; s < segment_names.size(); ++s)
      legend.push_back({segment_names[s], segment_colors[s], Swatch::Box});
    c.legend(legend);
  } else if (segment_names.size() == 1) {
    c.legend({{segment_names[0], segment_colors[0], Swatch::Box}});
  }
  return figure(id, c.svg(), caption);
}

std::string page_start(const RunData& run, const std::string& title) {
  std::string h = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                  "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>" +
                  esc(title) + "</title>\n<style>\n" + report_css() + "</style>\n</head>\n<body>\n";
  h += "<header>\n<h1>" + esc(title) + "</h1>\n";
  if (!run.scenario_description.empty()) h += "<p class=\"desc\">" + esc(run.scenario_description) + "</p>\n";
  return h;
}

std::string page_end(const RunData& run) {
  return "<footer>Generated by fleetsim " + esc(run.fleetsim_version) + " from " + esc(run.name) +
         "/result.json. Self-contained: no scripts, fonts or network resources.</footer>\n</body>\n</html>\n";
}

std::string meta_list(const std::vector<std::pair<std::string, std::string>>& items) {
  std::string m = "<dl class=\"meta\">\n";
  for (const auto& [k, v] : items) m += "<dt>" + esc(k) + "</dt><dd>" + esc(v) + "</dd>\n";
  return m + "</dl>\n";
}

}  // namespace fleetsim::html_parts
