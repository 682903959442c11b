// cold_starts.csv read back (run_data.hpp): its rows, streamed one at a time, and what the report
// keeps of them, a ColdStartDigest whose size does not grow with the number of cold starts. A
// 100-day run has a quarter of a million cold starts; the report draws at most 400 bars a model
// on its timeline and about 280 bars in its phases chart, and its counts and means per model come
// from result.json, so holding every row (0.8 MB a simulated day) bought nothing.
//
// Per lane (a model drawn one by one, or the one "other (N models)" lane) the digest keeps:
//   - its number of cold starts, exact;
//   - the timeline's columns: per kColdStartColumnPx pixel column of the timeline chart, the cold
//     starts placed in it, how many were aborted and the sums of their phases, exact (what a lane
//     with more than 400 cold starts is drawn as);
//   - a sample of its rows: every row while the lane has at most kColdStartSample, so the report
//     is the same as when every row was kept; beyond that a uniform random sample of
//     kColdStartSample rows (reservoir sampling, Vitter's Algorithm R) from a stream seeded by the
//     run's seed and the lane's name: the same files always give the same sample. Sorted by
//     placement (then file order), as the charts draw them.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <string>
#include <unordered_map>
#include <vector>

#include "policies/api/random.hpp"
#include "reports/svg_chart.hpp"
#include "sim/diagnostics.hpp"

namespace fleetsim {

// One row of cold_starts.csv.
struct ColdStartRow {
  std::string model, replica, node;
  double placed_s = 0, ready_s = 0, image_pull_s = 0, weight_load_s = 0, engine_startup_s = 0;
  double node_provision_s = 0;  // optional column
  std::string source;  // where the weights came from: disk-cache | model-store | none | ...
  bool aborted = false;
  std::uint64_t index = 0;  // its place among the file's valid rows (0: the first)
};

// Rows sampled per lane: every row up to this many (2.8 days of the default scenario's busiest
// model), a uniform sample of this many beyond. About 0.8 MB a lane.
inline constexpr std::size_t kColdStartSample = 4096;

// The timeline chart's plot area (html_report_cold_starts.cpp) in pixels, and the width of the
// columns a dense lane is drawn in: the digest bins placements into those columns as it reads,
// on the same axis as the chart (cold_start_timeline_axis), so the counts are those the chart
// would have made from every row.
inline constexpr double kColdStartTimelineLeft = 170, kColdStartTimelineRight = 770, kColdStartColumnPx = 3;
inline constexpr std::size_t kColdStartColumns = 200;  // ceil((right - left) / column width)
static_assert(kColdStartColumns * kColdStartColumnPx >= kColdStartTimelineRight - kColdStartTimelineLeft);

// Simulated time 0..end_s on the timeline's plot area.
svg::Axis cold_start_timeline_axis(double end_s);
// The column of `axis` (cold_start_timeline_axis) a cold start placed at `placed_s` is counted in.
std::size_t cold_start_column(const svg::Axis& axis, double placed_s);

struct ColdStartColumn {
  std::uint64_t count = 0, aborted = 0;
  // Sums over its cold starts, in file order.
  double node_provision_s = 0, image_pull_s = 0, weight_load_s = 0, engine_startup_s = 0;
};

struct ColdStartLane {
  std::string name;       // the model, or "other (N models)"
  std::uint64_t rows = 0;  // cold starts in the lane
  std::vector<ColdStartRow> sample;      // at most kColdStartSample, by (placed_s, index)
  std::vector<ColdStartColumn> columns;  // kColdStartColumns once the lane has a row, else none
  bool sampled() const { return rows > sample.size(); }  // some rows are not in `sample`
};

struct ColdStartDigest {
  std::uint64_t rows = 0;            // valid rows read
  bool any_node_provision = false;   // some row has node_provision_s > 0
  double max_ready_s = 0;            // the latest ready_s (0: none)
  double timeline_end_s = 0;         // the end of the axis the columns were binned on
  std::vector<ColdStartLane> lanes;  // the report's lanes, in its order (some may be empty)
  std::size_t rows_held() const;     // rows in the samples, all lanes together
};

// Builds a ColdStartDigest from rows given in file order.
class ColdStartDigestBuilder {
 public:
  // `lanes`: the models drawn one by one, in the report's order. `other`: the name of one more
  // lane, last, for every model not among them; empty: a model not among them gets a lane of its
  // own, appended in order of first appearance. `end_s`: the timeline's end (the run's end and
  // its time series'); a row that ends later raises max_ready_s past it, and the caller reads the
  // file again with that end (load_run_dir). `seed`: the run's, for the samples' streams.
  ColdStartDigestBuilder(const std::vector<std::string>& lanes, const std::string& other, double end_s,
                         std::uint64_t seed);
  void add(ColdStartRow&& row);
  ColdStartDigest finish();

 private:
  std::size_t lane_of(const std::string& model);
  std::size_t add_lane(const std::string& name);

  ColdStartDigest digest_;
  svg::Axis axis_;
  std::uint64_t seed_;
  bool open_;  // no "other" lane: unknown models get lanes of their own
  std::unordered_map<std::string, std::size_t> lane_index_;
  std::vector<RngStream> streams_;  // per lane, for its reservoir
};

// Reads cold_starts.csv a line at a time, calling `row` with each valid row (index set) in file
// order; problems go to `errors` with the line and column. The columns: model, replica, node,
// placed_s, ready_s, [node_provision_s,] image_pull_s, weight_load_s, engine_startup_s, source,
// aborted; `has_node_provision` tells whether the optional one is there.
void read_cold_starts_csv(std::istream& in, const std::string& file, Diagnostics& errors,
                          const std::function<void(ColdStartRow&&)>& row, bool* has_node_provision = nullptr);
// Every row of a whole file's text (the validation of a real run against its simulation,
// reports/validation.hpp, compares them one by one).
std::vector<ColdStartRow> parse_cold_starts_csv(const std::string& text, const std::string& file,
                                                Diagnostics& errors, bool* has_node_provision = nullptr);

}  // namespace fleetsim
