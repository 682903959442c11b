// The Pareto frontier of a sweep's points (pareto.csv, pareto.svg): which points no other point
// beats on both axes. Pure: no files, no charts.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "cli/sweep/sweep.hpp"

namespace fleetsim {

std::vector<std::size_t> pareto_frontier(const std::vector<ParetoCandidate>& points, bool maximize_x,
                                         bool maximize_y) {
  std::vector<std::size_t> order(points.size());
  std::iota(order.begin(), order.end(), 0);
  auto mx = [&](std::size_t i) { return maximize_x ? -points[i].x : points[i].x; };
  auto my = [&](std::size_t i) { return maximize_y ? -points[i].y : points[i].y; };
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    if (mx(a) != mx(b)) return mx(a) < mx(b);
    return my(a) < my(b);
  });
  std::vector<std::size_t> out;
  double best_before = INFINITY;  // lowest y among points with a strictly lower x
  for (std::size_t g = 0; g < order.size();) {
    std::size_t h = g;
    while (h < order.size() && mx(order[h]) == mx(order[g])) ++h;
    const double group_min = my(order[g]);
    for (std::size_t k = g; k < h; ++k)
      if (my(order[k]) == group_min && group_min < best_before) out.push_back(order[k]);
    best_before = std::min(best_before, group_min);
    g = h;
  }
  std::stable_sort(out.begin(), out.end(), [&](std::size_t a, std::size_t b) {
    if (points[a].x != points[b].x) return points[a].x < points[b].x;
    if (points[a].y != points[b].y) return points[a].y < points[b].y;
    return a < b;
  });
  return out;
}

}  // namespace fleetsim
