// Reading cold_starts.csv back (cold_start_log.hpp): the streamed reader, the whole-text parse
// built on it, and the digest the report draws from.
#include "reports/cold_start_log.hpp"

#include <algorithm>
#include <sstream>

#include "reports/csv_reader.hpp"

namespace fleetsim {

svg::Axis cold_start_timeline_axis(double end_s) {
  svg::Axis x = svg::time_axis(end_s);
  x.p0 = kColdStartTimelineLeft;
  x.p1 = kColdStartTimelineRight;
  return x;
}

std::size_t cold_start_column(const svg::Axis& x, double placed_s) {
  // The arithmetic the timeline chart used when it binned every row itself: the same columns.
  const double at = std::clamp((x.px(placed_s) - kColdStartTimelineLeft) / kColdStartColumnPx, 0.0,
                               static_cast<double>(kColdStartColumns - 1));
  return static_cast<std::size_t>(at);
}

std::size_t ColdStartDigest::rows_held() const {
  std::size_t n = 0;
  for (const ColdStartLane& l : lanes) n += l.sample.size();
  return n;
}

ColdStartDigestBuilder::ColdStartDigestBuilder(const std::vector<std::string>& lanes, const std::string& other,
                                               double end_s, std::uint64_t seed)
    : axis_(cold_start_timeline_axis(end_s)), seed_(seed), open_(other.empty()) {
  digest_.timeline_end_s = end_s;
  for (const std::string& m : lanes)
    if (!lane_index_.count(m)) lane_index_.emplace(m, add_lane(m));
  if (!open_) add_lane(other);
}

std::size_t ColdStartDigestBuilder::add_lane(const std::string& name) {
  digest_.lanes.push_back(ColdStartLane{name, 0, {}, {}});
  // A stream of the lane's own: which rows one lane keeps does not depend on the others.
  streams_.emplace_back(seed_, "report/cold-start-sample/" + name);
  return digest_.lanes.size() - 1;
}

std::size_t ColdStartDigestBuilder::lane_of(const std::string& model) {
  if (auto it = lane_index_.find(model); it != lane_index_.end()) return it->second;
  if (!open_) return digest_.lanes.size() - 1;  // the "other" lane
  const std::size_t lane = add_lane(model);
  lane_index_.emplace(model, lane);
  return lane;
}

void ColdStartDigestBuilder::add(ColdStartRow&& r) {
  ++digest_.rows;
  digest_.any_node_provision = digest_.any_node_provision || r.node_provision_s > 0;
  digest_.max_ready_s = std::max(digest_.max_ready_s, r.ready_s);
  const std::size_t g = lane_of(r.model);
  ColdStartLane& lane = digest_.lanes[g];
  if (lane.columns.empty()) lane.columns.resize(kColdStartColumns);
  ColdStartColumn& c = lane.columns[cold_start_column(axis_, r.placed_s)];
  ++c.count;
  if (r.aborted) ++c.aborted;
  c.node_provision_s += r.node_provision_s;
  c.image_pull_s += r.image_pull_s;
  c.weight_load_s += r.weight_load_s;
  c.engine_startup_s += r.engine_startup_s;
  const std::uint64_t seen = lane.rows++;  // rows of the lane before this one
  if (lane.sample.size() < kColdStartSample) {
    lane.sample.push_back(std::move(r));
    return;
  }
  // Algorithm R: the (seen+1)-th row replaces a random kept one with probability K / (seen+1),
  // which leaves every row read so far kept with the same probability.
  const std::uint64_t j = streams_[g].below(seen + 1);
  if (j < kColdStartSample) lane.sample[static_cast<std::size_t>(j)] = std::move(r);
}

ColdStartDigest ColdStartDigestBuilder::finish() {
  for (ColdStartLane& lane : digest_.lanes)
    std::sort(lane.sample.begin(), lane.sample.end(), [](const ColdStartRow& a, const ColdStartRow& b) {
      return a.placed_s != b.placed_s ? a.placed_s < b.placed_s : a.index < b.index;
    });
  return std::move(digest_);
}

void read_cold_starts_csv(std::istream& in, const std::string& file, Diagnostics& errors,
                          const std::function<void(ColdStartRow&&)>& row, bool* has_node_provision) {
  const std::vector<std::string> columns{"model",        "replica",       "node",             "placed_s",
                                         "ready_s",      "image_pull_s",  "weight_load_s",    "engine_startup_s",
                                         "source",       "aborted"};
  std::vector<std::size_t> at;
  std::vector<std::string> header;
  // The optional node_provision_s column: its position in the header, if there (the header is
  // read before the first row).
  std::size_t provision_at = std::string::npos;
  bool header_seen = false;
  std::uint64_t index = 0;
  auto find_provision = [&] {
    if (header_seen) return;
    header_seen = true;
    for (std::size_t k = 0; k < header.size(); ++k)
      if (header[k] == "node_provision_s") provision_at = k;
  };
  read_csv(
      in, file, columns, at, errors,
      [&](int line, const std::vector<std::string>& f) {
        find_provision();
        ColdStartRow r;
        if (provision_at != std::string::npos &&
            (!parse_number(f[provision_at], r.node_provision_s) || r.node_provision_s < 0)) {
          errors.add({file, line, static_cast<int>(provision_at) + 1, "node_provision_s",
                      "expected seconds (a number >= 0), got \"" + f[provision_at] + "\""});
          return;
        }
        r.model = f[at[0]];
        r.replica = f[at[1]];
        r.node = f[at[2]];
        r.source = f[at[8]];
        bool ok = true;
        double* numbers[] = {&r.placed_s, &r.ready_s, &r.image_pull_s, &r.weight_load_s, &r.engine_startup_s};
        for (std::size_t k = 0; k < 5; ++k) {
          const std::string& field = f[at[3 + k]];
          if (!parse_number(field, *numbers[k]) || *numbers[k] < 0) {
            errors.add({file, line, static_cast<int>(at[3 + k]) + 1, columns[3 + k],
                        "expected seconds (a number >= 0), got \"" + field + "\""});
            ok = false;
          }
        }
        const std::string& aborted = f[at[9]];
        if (aborted == "0" || aborted == "1") {
          r.aborted = aborted == "1";
        } else {
          errors.add({file, line, static_cast<int>(at[9]) + 1, "aborted", "expected 0 or 1, got \"" + aborted + "\""});
          ok = false;
        }
        if (r.model.empty()) {
          errors.add({file, line, static_cast<int>(at[0]) + 1, "model", "must not be empty"});
          ok = false;
        }
        if (!ok) return;
        r.index = index++;
        row(std::move(r));
      },
      &header);
  find_provision();
  if (has_node_provision) *has_node_provision = provision_at != std::string::npos;
}

std::vector<ColdStartRow> parse_cold_starts_csv(const std::string& text, const std::string& file,
                                                Diagnostics& errors, bool* has_node_provision) {
  std::vector<ColdStartRow> out;
  // Sized once rather than doubled (a doubling holds the old and the new array at once).
  out.reserve(static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')));
  std::istringstream in(text);
  read_cold_starts_csv(in, file, errors, [&](ColdStartRow&& r) { out.push_back(std::move(r)); }, has_node_provision);
  return out;
}

}  // namespace fleetsim
