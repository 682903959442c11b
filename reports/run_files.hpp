// The files `fleetsim run` writes beside result.json:
//   timeseries.csv   tidy: time_s,model,series,value — one row per sample time, model (and
//                    `all`) and series, sorted by time, model order of the scenario, series
//   cold_starts.csv  model,replica,node,placed_s,ready_s,node_provision_s,image_pull_s,
//                    weight_load_s,engine_startup_s,source,aborted — one row per replica start
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "sim/scenario.hpp"
#include "sim/timeseries.hpp"

namespace fleetsim {

// timeseries.csv written as the run goes (TimeSeriesRecorder::set_sink): the header, then
// each sample's rows, byte for byte what timeseries_csv() writes.
// With more models than scenario.timeseries_models (> 0), only that many have their own rows:
// those with the most expected requests (timeseries_models_written); the others' values are
// summed into rows of the model `other (N models)`, written after the models and before `all`,
// so the file stays bounded at a thousand models.
extern const char* const kTimeseriesHeader;
// Per model of the scenario, 1 when it has rows of its own. Ranked by the requests its
// generated workloads bring (mean rate × time from their start to `duration`, on/off: the on
// share; trace workloads count 0), ties to the model first in the scenario.
std::vector<std::uint8_t> timeseries_models_written(const Scenario& scenario);
void append_timeseries_rows(std::string& out, const Scenario& scenario, const TimeSeriesRecorder::Sample& sample,
                            const std::vector<std::uint8_t>& written);
void append_timeseries_rows(std::string& out, const Scenario& scenario, const TimeSeriesRecorder::Sample& sample);
std::string timeseries_csv(const Scenario& scenario, const TimeSeriesRecorder& recorder);
// cold_starts.csv the same way (TimeSeriesRecorder::set_cold_start_sink), one row per record.
extern const char* const kColdStartsHeader;
void append_cold_start_row(std::string& out, const Scenario& scenario, const ColdStartRecord& record);
std::string cold_starts_csv(const Scenario& scenario, const TimeSeriesRecorder& recorder);

}  // namespace fleetsim
