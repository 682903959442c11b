#include "reports/svg_chart.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace fleetsim {

std::string html_escape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

namespace svg {

namespace {

constexpr const char* kGridColor = "#e8e8e8";
constexpr const char* kAxisColor = "#444444";
constexpr const char* kAxisTitleColor = "#555555";
constexpr double kLegendRow = 18;
constexpr double kCharWidth = 6.6;  // of a 12 px sans-serif label, roughly: sizes the legend's box and row

std::size_t chars_of(const std::string& s) {
  std::size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

// Pixel points, thinned to first/min/max/last per pixel column when there are many.
Points thin(const Points& pts, double width) {
  if (pts.size() <= static_cast<std::size_t>(2 * width)) return pts;
  Points out;
  std::size_t i = 0;
  while (i < pts.size()) {
    const long column = std::lround(std::floor(pts[i].first));
    std::size_t j = i, lo = i, hi = i;
    while (j < pts.size() && std::lround(std::floor(pts[j].first)) == column) {
      if (pts[j].second < pts[lo].second) lo = j;
      if (pts[j].second > pts[hi].second) hi = j;
      ++j;
    }
    std::vector<std::size_t> keep{i, lo, hi, j - 1};
    std::sort(keep.begin(), keep.end());
    keep.erase(std::unique(keep.begin(), keep.end()), keep.end());
    for (std::size_t k : keep) out.push_back(pts[k]);
    i = j;
  }
  return out;
}

std::string latency_tick(double v) {
  char b[32];
  if (v < 1e-3) std::snprintf(b, sizeof b, "%g µs", v * 1e6);
  else if (v < 1) std::snprintf(b, sizeof b, "%g ms", v * 1e3);
  else std::snprintf(b, sizeof b, "%g s", v);
  return b;
}

}  // namespace

std::string coord(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.1f", v);
  if (std::string(b) == "-0.0") return "0.0";
  return b;
}

std::string short_number(double v) {
  if (std::fabs(v) < 1e-12) v = 0;
  char b[32];
  std::snprintf(b, sizeof b, "%.6g", v);
  return b;
}

std::string truncate(const std::string& s, std::size_t n) {
  std::size_t chars = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) {
      if (chars == n) return s.substr(0, i) + "…";
      ++chars;
    }
  }
  return s;
}

// ---------------------------------------------------------------------------------------------
// Axes

double nice_step(double raw, bool integral) {
  if (!(raw > 0) || !std::isfinite(raw)) return 1;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double r = raw / mag;
  const double m = r <= 1 ? 1 : r <= 2 ? 2 : (r <= 2.5 && !integral) ? 2.5 : r <= 5 ? 5 : 10;
  return m * mag;
}

double Axis::px(double v) const {
  double t;
  if (log) {
    const double l = std::log10(std::max(v, lo));
    t = (l - std::log10(lo)) / (std::log10(hi) - std::log10(lo));
  } else {
    t = (v - lo) / (hi - lo);
  }
  if (!std::isfinite(t)) t = 0;
  t = (std::clamp(t, -0.01, 1.01) + pad) / (1 + 2 * pad);
  return p0 + t * (p1 - p0);
}

Axis linear_axis(double lo, double hi, std::string title, double min_step, int target) {
  Axis a;
  a.title = std::move(title);
  if (!std::isfinite(lo) || !std::isfinite(hi)) lo = 0, hi = 1;
  if (hi <= lo) {
    const double grow = std::fabs(lo) * 0.1;
    hi = lo == 0 ? 1 : lo + grow;
    if (lo != 0) lo -= grow;
  }
  const double step = std::max(nice_step((hi - lo) / target, min_step >= 1), min_step);
  a.lo = std::floor(lo / step + 1e-9) * step;
  a.hi = std::ceil(hi / step - 1e-9) * step;
  if (a.hi <= a.lo) a.hi = a.lo + step;
  for (int k = 0;; ++k) {
    double v = a.lo + k * step;
    if (v > a.hi + step * 1e-9) break;
    if (std::fabs(v) < step * 1e-9) v = 0;
    a.ticks.push_back(v);
  }
  return a;
}

Axis time_axis(double end_s) {
  Axis a;
  if (!(end_s > 0) || !std::isfinite(end_s)) end_s = 1;
  double unit = 1;
  std::string name = "s";
  std::vector<double> steps;
  if (end_s >= 3 * 3600) {
    unit = 3600, name = "h";
    steps = {0.25, 0.5, 1, 2, 3, 4, 6, 8, 12, 24, 48, 72, 96, 168, 336, 720, 1440, 2880, 8760};
  } else if (end_s >= 180) {
    unit = 60, name = "min";
    steps = {0.5, 1, 2, 5, 10, 15, 20, 30, 60};
  }
  const double span = end_s / unit;
  double step = nice_step(span / 6);
  for (double s : steps)
    if (span / s <= 8) {
      step = s;
      break;
    }
  a.lo = 0;
  a.hi = end_s;
  for (int k = 0; k * step <= span * (1 + 1e-9); ++k) a.ticks.push_back(k * step * unit);
  a.label = [unit](double v) { return short_number(v / unit); };
  a.title = "simulated time (" + name + ")";
  return a;
}

Axis latency_axis(double lo, double hi, std::string title) {
  Axis a;
  a.log = true;
  a.title = std::move(title);
  if (!(lo > 0) || !std::isfinite(lo)) lo = 1e-3;
  if (!(hi > lo) || !std::isfinite(hi)) hi = lo * 10;
  int d0 = static_cast<int>(std::floor(std::log10(lo) + 1e-9));
  int d1 = static_cast<int>(std::ceil(std::log10(hi) - 1e-9));
  if (d1 <= d0) d1 = d0 + 1;
  a.lo = std::pow(10.0, d0);
  a.hi = std::pow(10.0, d1);
  for (int d = d0; d <= d1; ++d) {
    const double base = std::pow(10.0, d);
    a.ticks.push_back(base);
    if (d1 - d0 <= 2 && d < d1) {
      a.ticks.push_back(2 * base);
      a.ticks.push_back(5 * base);
    }
  }
  std::sort(a.ticks.begin(), a.ticks.end());
  a.label = latency_tick;
  return a;
}

Axis percent_axis(std::string title) {
  Axis a = linear_axis(0, 1, std::move(title), 0.2);
  a.label = [](double v) { return short_number(v * 100) + "%"; };
  return a;
}

// ---------------------------------------------------------------------------------------------
// Elements

std::string Chart::line(double x1, double y1, double x2, double y2, const std::string& color, double width,
                        const std::string& dash) {
  return "<line x1=\"" + coord(x1) + "\" y1=\"" + coord(y1) + "\" x2=\"" + coord(x2) + "\" y2=\"" + coord(y2) +
         "\" stroke=\"" + color + "\"" + (width == 1 ? "" : " stroke-width=\"" + short_number(width) + "\"") +
         (dash.empty() ? "" : " stroke-dasharray=\"" + dash + "\"") + "/>\n";
}

std::string Chart::text(double x, double y, const std::string& content, const std::string& attrs) {
  return "<text x=\"" + coord(x) + "\" y=\"" + coord(y) + "\"" + (attrs.empty() ? "" : " " + attrs) + ">" +
         html_escape(content) + "</text>\n";
}

std::string Chart::circle(double x, double y, double r, const std::string& fill, const std::string& attrs,
                          const std::string& tooltip) {
  const std::string head = "<circle cx=\"" + coord(x) + "\" cy=\"" + coord(y) + "\" r=\"" + short_number(r) +
                           "\" fill=\"" + fill + "\"" + (attrs.empty() ? "" : " " + attrs);
  return tooltip.empty() ? head + "/>" : head + "><title>" + html_escape(tooltip) + "</title></circle>";
}

std::string Chart::group(const std::string& id, const std::string& content) {
  return "<g id=\"" + id + "\">\n" + content + "</g>\n";
}

std::string Chart::points_attr(const Points& px) {
  std::string s;
  s.reserve(px.size() * 12);
  for (const auto& [x, y] : px) {
    if (!s.empty()) s += ' ';
    s += coord(x) + "," + coord(y);
  }
  return s;
}

std::string Chart::polyline(const Points& px, const LineStyle& style) {
  return "<polyline fill=\"none\" stroke=\"" + style.color + "\" stroke-width=\"" + short_number(style.width) +
         "\" stroke-linejoin=\"round\"" + (style.dash.empty() ? "" : " stroke-dasharray=\"" + style.dash + "\"") +
         " points=\"" + points_attr(px) + "\"/>";
}

// ---------------------------------------------------------------------------------------------
// The chart: title on top, plot area inside the layout's margins.

Chart::Chart(std::string title, Layout layout)
    : title_(std::move(title)), layout_(layout), left_(layout.left), right_(layout.width - layout.right),
      top_(layout.top), bottom_(layout.height - layout.bottom) {}

void Chart::x_axis(Axis& a, bool grid) { axis(a, true, grid); }

void Chart::y_axis(Axis& a, bool grid) { axis(a, false, grid); }

// The x axis runs below the plot, the y axis left of it; at(p, out) is the point at pixel p along
// the axis and `out` pixels outward from its line (negative: into the plot).
void Chart::axis(Axis& a, bool horizontal, bool grid) {
  a.p0 = horizontal ? left_ : bottom_;
  a.p1 = horizontal ? right_ : top_;
  auto at = [&](double p, double out) {
    return horizontal ? std::pair{p, bottom_ + out} : std::pair{left_ - out, p};
  };
  const double depth = horizontal ? bottom_ - top_ : right_ - left_;
  const std::string anchor = horizontal ? "text-anchor=\"middle\"" : "text-anchor=\"end\"";
  for (double t : a.ticks) {
    const double p = a.px(t);
    const auto [x0, y0] = at(p, 0);
    const auto [x1, y1] = at(p, -depth);
    const auto [x2, y2] = at(p, 5);
    const auto [x3, y3] = at(p, horizontal ? 18 : 8);
    if (grid) body_ += line(x0, y0, x1, y1, kGridColor);
    body_ += line(x0, y0, x2, y2, kAxisColor);
    body_ += text(x3, y3 + (horizontal ? 0 : 4), a.label(t), anchor);  // +4: centred on the tick
  }
  const std::string title_attrs = "text-anchor=\"middle\" fill=\"" + std::string(kAxisTitleColor) + "\"";
  if (horizontal) {
    bottom_axis_line();
    body_ += text((left_ + right_) / 2, bottom_ + 40, a.title, title_attrs);
  } else {
    left_axis_line();
    const double cx = 18, cy = (top_ + bottom_) / 2;
    body_ += text(cx, cy, a.title, title_attrs + " transform=\"rotate(-90 " + coord(cx) + " " + coord(cy) + ")\"");
  }
}

void Chart::left_axis_line() { body_ += line(left_, top_, left_, bottom_, kAxisColor); }

void Chart::bottom_axis_line() { body_ += line(left_, bottom_, right_, bottom_, kAxisColor); }

void Chart::frame() {
  body_ += "<rect x=\"" + coord(left_) + "\" y=\"" + coord(top_) + "\" width=\"" + coord(right_ - left_) +
           "\" height=\"" + coord(bottom_ - top_) + "\" fill=\"none\" stroke=\"" + kAxisColor + "\"/>\n";
}

void Chart::lines(const Axis& x, const Axis& y, const std::vector<Series>& series) {
  for (const Series& s : series) {
    Points px;
    px.reserve(s.pts.size());
    for (const auto& [vx, vy] : s.pts)
      if (std::isfinite(vx) && std::isfinite(vy)) px.emplace_back(x.px(vx), y.px(vy));
    if (px.empty()) continue;
    px = thin(px, right_ - left_);
    body_ += "<g><title>" + html_escape(s.label) + "</title>" + polyline(px, s.style);
    if (s.markers)
      for (const auto& [px_x, px_y] : px) body_ += circle(px_x, px_y, 3, s.style.color);
    body_ += "</g>\n";
  }
}

void Chart::legend(const std::vector<LegendItem>& items, LegendAt at) {
  // Only the right-hand column is narrow: labels there are cut, with the whole one as a tooltip.
  const std::size_t max_chars = at == LegendAt::Right ? 26 : std::string::npos;
  auto label_chars = [&](const std::string& label) { return std::min(chars_of(label), max_chars); };
  double x = right_ + 22, y = top_ + 4;
  std::size_t rows = static_cast<std::size_t>(std::max(1.0, (layout_.height - top_ - 8) / kLegendRow));
  if (at != LegendAt::Right) rows = items.size();
  body_ += "<g class=\"legend\">\n";
  if (at == LegendAt::Above) {
    x = left_ + 8, y = top_ - 24;
  } else if (at == LegendAt::InsideTopLeft) {
    x = left_ + 20, y = top_ + 20;
    std::size_t widest = 0;
    for (const LegendItem& it : items) widest = std::max(widest, label_chars(it.label));
    body_ += "<rect x=\"" + coord(x - 12) + "\" y=\"" + coord(y - 14) + "\" width=\"" +
             coord(36 + kCharWidth * static_cast<double>(widest)) + "\" height=\"" +
             coord(kLegendRow * static_cast<double>(items.size()) + 10) +
             "\" fill=\"white\" stroke=\"#cccccc\"/>\n";
  }
  for (std::size_t i = 0; i < items.size(); ++i) {
    const LegendItem& it = items[i];
    if (i + 1 == rows && items.size() > rows) {
      body_ += text(x, y + 4, "… and " + std::to_string(items.size() - i) + " more");
      break;
    }
    double label_x = x + 24;
    switch (it.swatch) {
      case Swatch::Box:
        body_ += "<rect x=\"" + coord(x) + "\" y=\"" + coord(y - 6) + "\" width=\"16\" height=\"11\" fill=\"" +
                 it.color + "\"" + (it.opacity < 1 ? " fill-opacity=\"" + short_number(it.opacity) + "\"" : "") +
                 (it.stroke.empty() ? "" : " stroke=\"" + it.stroke + "\" stroke-width=\"1.5\"") + "/>";
        break;
      case Swatch::Line:
      case Swatch::LineMarker:
        body_ += line(x, y, x + 18, y, it.color, 2.2, it.dash);
        if (it.swatch == Swatch::LineMarker) body_ += circle(x + 9, y, 3, it.color);
        break;
      case Swatch::Marker:
        body_ += circle(x + 9, y, 4, it.color,
                        it.stroke.empty() ? "" : "stroke=\"" + it.stroke + "\" stroke-width=\"0.8\"");
        break;
      case Swatch::None:
        label_x = x;
        break;
    }
    const std::string fill = it.swatch == Swatch::None && !it.color.empty() ? " fill=\"" + it.color + "\"" : "";
    body_ += "<text x=\"" + coord(label_x) + "\" y=\"" + coord(y + 4) + "\"" + fill + "><title>" +
             html_escape(it.label) + "</title>" + html_escape(truncate(it.label, max_chars)) + "</text>\n";
    if (at == LegendAt::Above) {
      x = label_x + kCharWidth * static_cast<double>(label_chars(it.label)) + 24;
    } else {
      y += kLegendRow;
    }
  }
  body_ += "</g>\n";
}

std::string Chart::svg() const {
  const std::string w = std::to_string(layout_.width), h = std::to_string(layout_.height);
  return std::string("<svg ") + (layout_.standalone ? "xmlns=\"http://www.w3.org/2000/svg\" " : "") +
         "class=\"chart\" width=\"" + w + "\" height=\"" + h + "\" viewBox=\"0 0 " + w + " " + h +
         "\" role=\"img\" aria-label=\"" + html_escape(title_) +
         "\" font-family=\"sans-serif\" font-size=\"12\" fill=\"#333333\">\n<rect width=\"" + w + "\" height=\"" + h +
         "\" fill=\"white\"/>\n" +
         text(12, 24, title_, "font-size=\"15\" font-weight=\"bold\" fill=\"#222222\"") + body_ + "</svg>\n";
}

}  // namespace svg
}  // namespace fleetsim
