// The one SVG chart helper behind report.html's charts, a sweep's pareto.svg and
// `fleetsim saturation`'s saturation.svg: nice tick steps; linear, simulated-time, log-latency and
// percent axes; the plot frame with its grid, ticks, tick labels and axis titles; lines, points and
// legends; and escaping. Output is deterministic (same calls, same bytes) and styled with
// presentation attributes, not CSS classes, so a chart looks the same inline in a page and as a
// .svg file of its own. Coordinates are written with one decimal.
#pragma once
#include <cstddef>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace fleetsim {

// Escapes & < > " ' for HTML text and attribute values (and SVG text).
std::string html_escape(const std::string& text);

namespace svg {

using Points = std::vector<std::pair<double, double>>;

std::string coord(double v);         // a pixel coordinate: one decimal, never "-0.0"
std::string short_number(double v);  // up to 6 significant digits, never "-0": tick labels, widths
// Cuts `text` to `n` characters (UTF-8 code points), adding an ellipsis.
std::string truncate(const std::string& text, std::size_t n);

// The smallest of 1, 2, 2.5 and 5 times a power of ten that is at least `raw`; `integral` leaves
// out 2.5, so whole-number ticks stay whole.
double nice_step(double raw, bool integral = false);

struct Axis {
  double lo = 0, hi = 1;
  bool log = false;
  double pad = 0;  // share of the span left free beyond lo and beyond hi, so end points clear the frame
  std::vector<double> ticks;
  std::function<std::string(double)> label = short_number;
  std::string title;
  double p0 = 0, p1 = 1;  // pixel ends of the axis (Chart::x_axis and y_axis set them)

  double px(double v) const;  // the pixel position of a data value (clamped just outside the ends)
};

// lo..hi rounded out to about `target` nice steps; `min_step` 1 (or any value >= 1) keeps ticks
// integral. An empty span grows to 0..1 when lo is 0, else by 10% of |lo| on each side.
Axis linear_axis(double lo, double hi, std::string title, double min_step = 0, int target = 5);
// Simulated time from 0 to end_s, labelled in s, min or h depending on the span.
Axis time_axis(double end_s);
// A log axis over whole decades covering [lo, hi] (lo > 0), labelled µs / ms / s.
Axis latency_axis(double lo, double hi, std::string title);
// 0..1 labelled 0%..100%.
Axis percent_axis(std::string title);

struct LineStyle {
  std::string color, dash;
  double width = 1.6;
};

struct Series {
  std::string label;  // the tooltip
  LineStyle style;
  Points pts;  // data coordinates
  bool markers = false;
};

enum class Swatch { Line, Box, LineMarker, Marker, None };

struct LegendItem {
  LegendItem(std::string label_, std::string color_, Swatch swatch_ = Swatch::Line, std::string dash_ = "",
             std::string stroke_ = "", double opacity_ = 1)
      : label(std::move(label_)), color(std::move(color_)), swatch(swatch_), dash(std::move(dash_)),
        stroke(std::move(stroke_)), opacity(opacity_) {}

  std::string label;
  std::string color;  // of the swatch; of the text for Swatch::None
  Swatch swatch;
  std::string dash;
  std::string stroke;  // outline of a box or a marker
  double opacity;
};

enum class LegendAt {
  Right,          // a column in the right margin ("… and N more" when it runs out of room)
  InsideTopLeft,  // a boxed column in the plot's top-left corner
  Above,          // one row between the title and the plot
};

// Pixel margins round the plot area.
struct Layout {
  int width = 1000, height = 340;
  double left = 78, right = 230, top = 44, bottom = 56;
  bool standalone = false;  // a .svg file of its own: adds the xmlns declaration
};

class Chart {
 public:
  Chart(std::string title, Layout layout);

  double left() const { return left_; }
  double right() const { return right_; }
  double top() const { return top_; }
  double bottom() const { return bottom_; }
  // Elements added here are drawn in order, after the ones added before.
  std::string& body() { return body_; }

  // Ticks, tick labels, the axis line and the title; grid lines across the plot unless grid is
  // false. They set the axis' pixel ends to the plot area's.
  void x_axis(Axis& a, bool grid = true);
  void y_axis(Axis& a, bool grid = true);
  void left_axis_line();    // for charts with no y axis ticks (bars, lanes)
  void bottom_axis_line();  // for charts with no x axis ticks
  void frame();             // a box round the plot area
  // One polyline per series, thinned to first/min/max/last per pixel column when long.
  void lines(const Axis& x, const Axis& y, const std::vector<Series>& series);
  void legend(const std::vector<LegendItem>& items, LegendAt at = LegendAt::Right);

  std::string svg() const;

  static std::string line(double x1, double y1, double x2, double y2, const std::string& color,
                          double width = 1, const std::string& dash = "");
  // Escapes `content`; `attrs` (e.g. "text-anchor=\"end\"") go into the tag as they are.
  static std::string text(double x, double y, const std::string& content, const std::string& attrs = "");
  // A dot; `tooltip` (escaped here) becomes its <title>.
  static std::string circle(double x, double y, double r, const std::string& fill, const std::string& attrs = "",
                            const std::string& tooltip = "");
  static std::string polyline(const Points& px, const LineStyle& style);
  // A named group of elements, one per line: <g id="ID">, `content`, </g>. `id` goes in as it is.
  static std::string group(const std::string& id, const std::string& content);
  static std::string points_attr(const Points& px);  // "x,y x,y ..." for polyline and polygon

 private:
  void axis(Axis& a, bool horizontal, bool grid);

  std::string title_;
  Layout layout_;
  double left_, right_, top_, bottom_;
  std::string body_;
};

}  // namespace svg
}  // namespace fleetsim
