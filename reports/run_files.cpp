#include "reports/run_files.hpp"

#include <algorithm>
#include <charconv>

#include "reports/run_data.hpp"
#include "sim/csv_field.hpp"

namespace fleetsim {

namespace {
// printf's "%.9g" (std::to_chars with a precision is specified to print what printf does, and is
// several times faster: the time series is written while the run goes).
void append_number(std::string& out, double v) {
  char buf[32];
  const auto end = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::general, 9).ptr;
  out.append(buf, end);
}
std::string number(double v) {
  std::string out;
  append_number(out, v);
  return out;
}
}  // namespace

const char* const kTimeseriesHeader = "time_s,model,series,value\n";

std::vector<std::uint8_t> timeseries_models_written(const Scenario& scenario) {
  const std::size_t n = scenario.models.size();
  std::vector<std::uint8_t> written(n, 1);
  if (scenario.timeseries_models == 0 || n <= scenario.timeseries_models) return written;
  std::vector<double> expected(n, 0.0);
  for (const WorkloadSpec& w : scenario.workloads) {
    if (w.arrivals == WorkloadSpec::Arrivals::Trace || w.model >= n) continue;
    double rate = w.rate;  // Poisson, Gamma, Diurnal (its mean): requests/s
    if (w.arrivals == WorkloadSpec::Arrivals::OnOff && w.on + w.off > 0)
      rate *= static_cast<double>(w.on) / static_cast<double>(w.on + w.off);
    expected[w.model] += rate * std::max(0.0, to_seconds(scenario.duration - w.start));
  }
  std::vector<std::uint32_t> ranked(n);
  for (std::uint32_t m = 0; m < n; ++m) ranked[m] = m;
  std::stable_sort(ranked.begin(), ranked.end(),
                   [&](std::uint32_t a, std::uint32_t b) { return expected[a] > expected[b]; });
  std::fill(written.begin(), written.end(), 0);
  for (std::size_t i = 0; i < scenario.timeseries_models; ++i) written[ranked[i]] = 1;
  return written;
}

void append_timeseries_rows(std::string& out, const Scenario& scenario, const TimeSeriesRecorder::Sample& sample,
                            const std::vector<std::uint8_t>& written) {
  const std::string time = number(to_seconds(sample.time));
  // The kv_cache_* rows only for LLM models (and groups holding one), when the engine sampled them.
  auto rows = [&](const std::string& model, const TimeSeriesRecorder::Values& values, bool llm) {
    for (int s = 0; s < kSeriesCount; ++s)
      if (series_applies(static_cast<Series>(s), llm, sample.kv_sampled))
      {
        out += time;
        out += ',';
        out += model;
        out += ',';
        out += series_name(static_cast<Series>(s));
        out += ',';
        append_number(out, values[static_cast<std::size_t>(s)]);
        out += '\n';
      }
  };
  auto is_llm = [&](std::size_t m) {
    return m >= scenario.models.size() || scenario.models[m].kind == ModelSpec::Kind::Llm;
  };
  TimeSeriesRecorder::Values other{};
  std::size_t others = 0;
  bool other_llm = false;
  for (std::size_t m = 0; m < sample.models.size(); ++m) {
    if (m < scenario.models.size() && m < written.size() && !written[m]) {
      for (std::size_t s = 0; s < other.size(); ++s) other[s] += sample.models[m][s];
      ++others;
      other_llm = other_llm || is_llm(m);
      continue;
    }
    if (m + 1 == sample.models.size() && others > 0) rows(csv_field(other_models_label(others)), other, other_llm);
    rows(csv_field(m < scenario.models.size() ? scenario.models[m].name : std::string("all")), sample.models[m],
         is_llm(m));
  }
}

void append_timeseries_rows(std::string& out, const Scenario& scenario, const TimeSeriesRecorder::Sample& sample) {
  append_timeseries_rows(out, scenario, sample, timeseries_models_written(scenario));
}

std::string timeseries_csv(const Scenario& scenario, const TimeSeriesRecorder& recorder) {
  std::string out = kTimeseriesHeader;
  const std::vector<std::uint8_t> written = timeseries_models_written(scenario);
  for (const auto& sample : recorder.samples()) append_timeseries_rows(out, scenario, sample, written);
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
