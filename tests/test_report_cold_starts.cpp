// The report's memory for cold starts does not grow with their number (issue 14): cold_starts.csv
// is streamed into a ColdStartDigest (reports/cold_start_log.hpp) that keeps exact counts and
// timeline columns per lane and a sample of at most kColdStartSample rows a lane. These tests
// feed it many more rows than that and check the bound, that the counts and sums equal those of
// every row of the file, that the sample is spread over the whole file, and that the same file
// always gives the same digest and the same report. Fixtures: generated cold_starts.csv text
// (phases in halves of a second, so every sum is exact whatever its order).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "reports/cold_start_log.hpp"
#include "reports/html_report.hpp"
#include "reports/run_data.hpp"
#include "tests/support.hpp"

namespace fs = std::filesystem;
using fleetsim::ColdStartDigest;
using fleetsim::ColdStartRow;
using fleetsim::Diagnostics;
using fleetsim::kColdStartSample;

namespace {

const std::string kHeader =
    "model,replica,node,placed_s,ready_s,node_provision_s,image_pull_s,weight_load_s,engine_startup_s,source,aborted\n";

// `counts[k]` rows of `models[k]`, interleaved, placed over [0, span_s) out of order (a file is in
// order of ready, not of placement); every phase a multiple of 0.5 s.
std::string cold_starts_csv(const std::vector<std::string>& models, const std::vector<std::size_t>& counts,
                            double span_s) {
  std::string csv = kHeader;
  std::vector<std::size_t> left = counts;
  std::size_t i = 0;
  for (bool more = true; more;) {
    more = false;
    for (std::size_t k = 0; k < models.size(); ++k) {
      if (left[k] == 0) continue;
      --left[k];
      more = true;
      const double placed = static_cast<double>((i * 7919) % 100000) / 100000.0 * span_s;
      const double provision = i % 13 == 0 ? 2 : 0, pull = static_cast<double>(i % 5),
                   load = 0.5 * static_cast<double>(i % 7), startup = 10 + static_cast<double>(i % 3);
      const double ready = placed + provision + pull + load + startup;
      std::ostringstream row;
      row.precision(17);
      row << models[k] << ',' << i << ',' << i % 8 << ',' << placed << ',' << ready << ',' << provision << ',' << pull
          << ',' << load << ',' << startup << ',' << (i % 2 ? "disk-cache" : "model-store") << ','
          << (i % 11 == 0 ? 1 : 0) << '\n';
      csv += row.str();
      ++i;
    }
  }
  return csv;
}

ColdStartDigest digest_of(const std::string& csv, const std::vector<std::string>& lanes, const std::string& other,
                          double end_s, std::uint64_t seed = 42) {
  fleetsim::ColdStartDigestBuilder builder(lanes, other, end_s, seed);
  std::istringstream in(csv);
  Diagnostics errors;
  fleetsim::read_cold_starts_csv(in, "cold_starts.csv", errors, [&](ColdStartRow&& r) { builder.add(std::move(r)); });
  INFO(errors.to_string());
  REQUIRE(errors.empty());
  return builder.finish();
}

std::vector<std::uint64_t> indices(const fleetsim::ColdStartLane& lane) {
  std::vector<std::uint64_t> out;
  for (const ColdStartRow& r : lane.sample) out.push_back(r.index);
  return out;
}

}  // namespace

TEST_CASE("cold-start digest: a bounded sample, exact counts and sums, however many cold starts", "[reports]") {
  // 12,000 cold starts of one model (about 3 samples' worth), 300 of another, 5,000 of a model
  // named only in the file (it gets a lane of its own).
  const double end = 86400;
  const std::string csv = cold_starts_csv({"big", "small", "late"}, {12000, 300, 5000}, end);
  Diagnostics errors;
  const std::vector<ColdStartRow> every = fleetsim::parse_cold_starts_csv(csv, "cold_starts.csv", errors);
  REQUIRE(errors.empty());
  REQUIRE(every.size() == 17300);
  const ColdStartDigest d = digest_of(csv, {"small", "big", "idle"}, "", end);

  CHECK(d.rows == every.size());
  REQUIRE(d.lanes.size() == 4);  // small, big, idle (no cold starts), late
  CHECK(d.lanes[0].name == "small");
  CHECK(d.lanes[1].name == "big");
  CHECK(d.lanes[2].name == "idle");
  CHECK(d.lanes[3].name == "late");
  // The bound: no lane holds more than kColdStartSample rows, whatever it had.
  for (const auto& lane : d.lanes) CHECK(lane.sample.size() <= kColdStartSample);
  CHECK(d.rows_held() == 300 + 2 * kColdStartSample);
  CHECK(d.lanes[1].sampled());
  CHECK_FALSE(d.lanes[0].sampled());
  CHECK(d.lanes[2].rows == 0);
  CHECK(d.lanes[2].columns.empty());

  // Counts, column by column, and the phase sums (hence means) equal those of every row.
  const fleetsim::svg::Axis axis = fleetsim::cold_start_timeline_axis(end);
  std::map<std::string, std::size_t> lane_of{{"small", 0}, {"big", 1}, {"idle", 2}, {"late", 3}};
  std::vector<std::vector<fleetsim::ColdStartColumn>> expected(4, std::vector<fleetsim::ColdStartColumn>(
                                                                       fleetsim::kColdStartColumns));
  std::vector<std::uint64_t> rows(4, 0);
  double pull_sum = 0, provision_sum = 0, max_ready = 0;
  for (const ColdStartRow& r : every) {
    const std::size_t g = lane_of.at(r.model);
    ++rows[g];
    fleetsim::ColdStartColumn& c = expected[g][fleetsim::cold_start_column(axis, r.placed_s)];
    ++c.count;
    c.aborted += r.aborted ? 1 : 0;
    c.node_provision_s += r.node_provision_s;
    c.image_pull_s += r.image_pull_s;
    c.weight_load_s += r.weight_load_s;
    c.engine_startup_s += r.engine_startup_s;
    pull_sum += r.image_pull_s;
    provision_sum += r.node_provision_s;
    max_ready = std::max(max_ready, r.ready_s);
  }
  double digest_pull = 0, digest_provision = 0;
  for (std::size_t g = 0; g < 4; ++g) {
    INFO("lane " << d.lanes[g].name);
    CHECK(d.lanes[g].rows == rows[g]);
    if (rows[g] == 0) continue;
    REQUIRE(d.lanes[g].columns.size() == fleetsim::kColdStartColumns);
    std::uint64_t counted = 0;
    for (std::size_t k = 0; k < fleetsim::kColdStartColumns; ++k) {
      const auto& got = d.lanes[g].columns[k];
      const auto& want = expected[g][k];
      CHECK(got.count == want.count);
      CHECK(got.aborted == want.aborted);
      CHECK(got.node_provision_s == want.node_provision_s);
      CHECK(got.image_pull_s == want.image_pull_s);
      CHECK(got.weight_load_s == want.weight_load_s);
      CHECK(got.engine_startup_s == want.engine_startup_s);
      counted += got.count;
      digest_pull += got.image_pull_s;
      digest_provision += got.node_provision_s;
    }
    CHECK(counted == rows[g]);
  }
  CHECK(digest_pull / static_cast<double>(d.rows) == pull_sum / static_cast<double>(every.size()));
  CHECK(digest_provision == provision_sum);
  CHECK(d.any_node_provision);
  CHECK(d.max_ready_s == max_ready);

  // A lane within the bound keeps every row; each lane's sample is in order of placement, and
  // every sampled row is the file's row of that index.
  CHECK(d.lanes[0].sample.size() == 300);
  for (const auto& lane : d.lanes)
    for (std::size_t i = 0; i < lane.sample.size(); ++i) {
      const ColdStartRow& r = lane.sample[i];
      REQUIRE(r.index < every.size());
      CHECK(every[r.index].model == lane.name);
      CHECK(every[r.index].placed_s == r.placed_s);
      CHECK(every[r.index].replica == r.replica);
      if (i > 0) {
        const ColdStartRow& p = lane.sample[i - 1];
        CHECK((p.placed_s < r.placed_s || (p.placed_s == r.placed_s && p.index < r.index)));
      }
    }
  // The big lane's sample is spread over the whole file, not its first rows: about a third of it
  // comes from the lane's last third (a uniform sample of 4,096 of 12,000: 1,365 expected, sd 25).
  std::vector<std::uint64_t> rank(every.size(), 0);
  std::map<std::string, std::uint64_t> seen;
  for (const ColdStartRow& r : every) rank[r.index] = seen[r.model]++;
  std::size_t last_third = 0;
  for (const ColdStartRow& r : d.lanes[1].sample) last_third += rank[r.index] >= 8000 ? 1 : 0;
  CHECK(last_third > 1150);
  CHECK(last_third < 1580);

  // The same rows and seed give the same sample; another seed another one.
  const ColdStartDigest again = digest_of(csv, {"small", "big", "idle"}, "", end);
  CHECK(indices(again.lanes[1]) == indices(d.lanes[1]));
  CHECK(indices(again.lanes[3]) == indices(d.lanes[3]));
  CHECK(indices(digest_of(csv, {"small", "big", "idle"}, "", end, 43).lanes[1]) != indices(d.lanes[1]));
}

TEST_CASE("cold-start digest: models not drawn share the one other lane", "[reports]") {
  const std::string csv = cold_starts_csv({"a", "b", "c"}, {10, 5000, 20}, 3600);
  const ColdStartDigest d = digest_of(csv, {"a"}, "other (2 models)", 3600);
  REQUIRE(d.lanes.size() == 2);
  CHECK(d.lanes[0].rows == 10);
  CHECK(d.lanes[1].name == "other (2 models)");
  CHECK(d.lanes[1].rows == 5020);
  CHECK(d.lanes[1].sample.size() == kColdStartSample);
}

#ifdef FLEETSIM_BINARY
TEST_CASE("cold-start digest: a run's report from many cold starts is bounded, exact in its counts and deterministic",
          "[reports]") {
  fleetsim::test::TempDir tmp("report-cold-starts");
  const fs::path dir = tmp.dir / "run";
  const auto run = fleetsim::test::run_fleetsim("run scenarios/default.yaml --set duration=1h -q --out " +
                                                fleetsim::test::shell_quote(dir.string()));
  INFO(run.err);
  REQUIRE(run.code == 0);
  // The run's own cold starts replaced by many more of its models: 10,000 of one, more than two
  // samples' worth, over the run's hour.
  const std::vector<std::string> models = {"llama-3.1-8b", "qwen2.5-32b", "phi-3-mini"};
  std::string csv = cold_starts_csv(models, {300, 10000, 2000}, 3500);
  fleetsim::test::write_file(dir / "cold_starts.csv", csv);

  auto load = [&] {
    fleetsim::LoadedRun loaded = fleetsim::load_run_dir(dir.string());
    INFO(loaded.errors.to_string());
    REQUIRE(loaded.errors.empty());
    REQUIRE(loaded.run);
    return *loaded.run;
  };
  const fleetsim::RunData data = load();
  const ColdStartDigest& d = data.cold_start_log;
  CHECK(d.rows == 12300);
  CHECK(d.rows_held() <= d.lanes.size() * kColdStartSample);
  for (const auto& lane : d.lanes) CHECK(lane.sample.size() <= kColdStartSample);
  const fleetsim::ColdStartLane* qwen = nullptr;
  for (const auto& lane : d.lanes)
    if (lane.name == "qwen2.5-32b") qwen = &lane;
  REQUIRE(qwen);
  CHECK(qwen->rows == 10000);
  CHECK(qwen->sampled());
  CHECK(d.timeline_end_s == data.time_end());

  const std::string html = fleetsim::html_report(data);
  CHECK_THAT(html, Catch::Contains(">qwen2.5-32b (10000)</text>"));
  CHECK_THAT(html, Catch::Contains(">llama-3.1-8b (300)</text>"));
  CHECK_THAT(html, Catch::Contains("of 12300 shown, from a random sample of 4,096 a model)"));
  CHECK(fleetsim::html_report(load()) == html);  // the same files, the same page

  // A cold start that ends after the run: the timeline reaches it (a second pass bins the
  // columns on that axis), and every row is still counted once.
  const double late = data.time_end() + 5000;
  csv += "phi-3-mini,99999,0,3000,";
  csv += std::to_string(late) + ",0,1,1,1,disk-cache,0\n";
  fleetsim::test::write_file(dir / "cold_starts.csv", csv);
  const fleetsim::RunData longer = load();
  CHECK(longer.cold_start_log.timeline_end_s == longer.cold_start_log.max_ready_s);
  CHECK(longer.cold_start_log.max_ready_s > data.time_end());
  std::uint64_t counted = 0;
  for (const auto& lane : longer.cold_start_log.lanes)
    for (const auto& c : lane.columns) counted += c.count;
  CHECK(counted == 12301);
}
#endif
