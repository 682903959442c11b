#include "reports/run_files.hpp"

#include <cstdio>

#include "sim/csv_field.hpp"

namespace fleetsim {

namespace {
std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}
}  // namespace

const char* const kTimeseriesHeader = "time_s,model,series,value\n";

void append_timeseries_rows(std::string& out, const Scenario& scenario, const TimeSeriesRecorder::Sample& sample) {
  const std::string time = number(to_seconds(sample.time));
  for (std::size_t m = 0; m < sample.models.size(); ++m) {
    const bool per_model = m < scenario.models.size();
    const std::string model = csv_field(per_model ? scenario.models[m].name : std::string("all"));
    const bool llm = !per_model || scenario.models[m].kind == ModelSpec::Kind::Llm;
    for (int s = 0; s < kSeriesCount; ++s)
      if (series_applies(static_cast<Series>(s), llm, sample.kv_sampled))
        out += time + "," + model + "," + series_name(static_cast<Series>(s)) + "," +
             number(sample.models[m][static_cast<std::size_t>(s)]) + "\n";
  }
}

std::string timeseries_csv(const Scenario& scenario, const TimeSeriesRecorder& recorder) {
  std::string out = kTimeseriesHeader;
  for (const auto& sample : recorder.samples()) append_timeseries_rows(out, scenario, sample);
  return out;
}

const char* const kColdStartsHeader =
    "model,replica,node,placed_s,ready_s,node_provision_s,image_pull_s,weight_load_s,engine_startup_s,source,aborted\n";

void append_cold_start_row(std::string& out, const Scenario& scenario, const ColdStartRecord& c) {
  out += csv_field(scenario.models[c.replica.model].name) + "," + std::to_string(c.replica.id) + "," +
           std::to_string(c.replica.node) + "," + number(to_seconds(c.placed)) + "," +
           number(to_seconds(c.ready)) + "," + number(to_seconds(c.node_provision)) + "," +
           number(to_seconds(c.image_pull)) + "," +
           number(to_seconds(c.weight_load)) + "," + number(to_seconds(c.engine_startup)) + "," +
           weight_source_name(c.source) + "," + (c.aborted ? "1" : "0") + "\n";
}

std::string cold_starts_csv(const Scenario& scenario, const TimeSeriesRecorder& recorder) {
  std::string out = kColdStartsHeader;
  for (const ColdStartRecord& c : recorder.cold_starts()) append_cold_start_row(out, scenario, c);
  return out;
}

}  // namespace fleetsim
