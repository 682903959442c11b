// A run directory (written by `fleetsim run`, `fleetsim jobs` or `fleetsim saturation` with
// --out DIR) read back into plain structs, for the report, the Prometheus export and the
// comparison of runs:
//   result.json      required (schema_version 1; `kind` run — the default —, jobs or saturation:
//                    `overall` and `models` are required for a run, `jobs` for jobs,
//                    `saturation` for saturation)
//   timeseries.csv   optional: time_s,model,series,value (tidy long format); long series are
//                    reduced as they are read (kMaxSeriesBuckets below)
//   cold_starts.csv  optional: model,replica,node,placed_s,ready_s,[node_provision_s,]image_pull_s,
//                              weight_load_s,engine_startup_s,source,aborted; streamed into a
//                              bounded digest (counts, timeline columns, a sample: cold_start_log.hpp)
// Problems come back as Diagnostics (file, line, key path or column, message); nothing exits.
// Unknown keys and extra CSV columns are ignored, so newer writers stay readable.
#pragma once
#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "reports/cold_start_log.hpp"
#include "sim/diagnostics.hpp"

namespace fleetsim {

// A latency block of result.json: `count`, `mean`, `p50`, `p90`, `p99`, `max` (seconds) and,
// when the writer adds it, `cdf`: [[value_s, fraction], ...] (empty when absent) and `buckets`
// (a run's ttft_s, tpot_s, e2e_s; empty when absent): the upper bounds and one count per bucket,
// the last above every bound.
struct LatencyStats {
  std::uint64_t count = 0;
  double mean = 0, p50 = 0, p90 = 0, p99 = 0, max = 0;
  std::vector<std::pair<double, double>> cdf;
  std::vector<double> bucket_bounds;
  std::vector<std::uint64_t> bucket_counts;
};

struct ColdStartStats {
  std::uint64_t count = 0, aborted = 0, requests_waited = 0;
  double share_of_requests_waited = 0;
  LatencyStats added_latency;  // cold_starts.added_latency_s
  LatencyStats duration;       // cold_starts.duration_s
  double mean_image_pull_s = 0, mean_weight_load_s = 0, mean_engine_startup_s = 0;
  std::uint64_t weights_from_disk_cache = 0, weights_from_model_store = 0, unschedulable_scale_ups = 0;
  // Optional (newer writers): waiting for a node to be provisioned; weights from host memory.
  bool has_node_provision = false, has_host_memory = false;
  double mean_node_provision_s = 0;
  std::uint64_t weights_from_host_memory = 0;
};

// The metrics of one model, or of `overall`.
struct ModelResult {
  std::string name;  // "overall" for the overall block
  std::uint64_t requests = 0, completed = 0, failed = 0;
  std::vector<std::pair<std::string, std::uint64_t>> failed_by_reason;  // in file order
  double slo_attainment = 0;
  LatencyStats ttft, tpot, e2e;
  ColdStartStats cold_starts;
  double gpu_seconds_allocated = 0, gpu_seconds_busy = 0, gpu_seconds_idle = 0, gpu_seconds_starting = 0;
  std::uint64_t replicas_peak = 0;
  double replicas_mean = 0;
  bool has_gpu_memory_idle = false;  // optional: gpu_memory_byte_seconds_idle
  double gpu_memory_byte_seconds_idle = 0;
  // `cost`, when the block has one: its numeric fields flattened ("total", "gpu.h100", ...) in
  // file order, and its `currency` string if any.
  std::vector<std::pair<std::string, double>> cost;
  std::string cost_currency;
};

// Reading timeseries.csv keeps at most this many samples of each (model, series) whole; a longer
// series is reduced, as it is read, to the lowest and the highest sample of each of at most
// kMaxSeriesBuckets time buckets (plus its first and last sample), so the report's memory does
// not grow with the simulated duration. Buckets are [k·w, (k+1)·w) seconds, w a power of two that
// doubles (merging pairs of buckets) whenever a sample falls past the last bucket: series with
// the same sample times get the same buckets. 2,048 buckets end up between 1,025 and 2,048 wide
// ones, more than a report chart's ~700 pixel columns, so the charts' own per-column thinning
// (first/min/max/last) sees every column's extremes. 14 days sampled every minute (20,160
// samples) become 1,182 buckets of 1,024 s, about 2,400 points.
inline constexpr std::size_t kMaxSeriesBuckets = 2048;
inline constexpr std::size_t kMaxWholeSeries = 2 * kMaxSeriesBuckets;

// One series of timeseries.csv: the samples of (model, series), in file order; when reduced
// (samples > time_s.size()), the kept samples in time order.
struct RunSeries {
  std::string model, name;
  std::vector<double> time_s, value;
  // Per kept sample: the time since the series' previous sample in the file (the first: its own
  // time), i.e. the interval a counter such as `arrivals` covers, which the kept neighbours of a
  // reduced series no longer tell.
  std::vector<double> interval_s;
  std::uint64_t samples = 0;  // rows read
  double bucket_s = 0;        // the bucket width when reduced, else 0
  // When reduced, per non-empty bucket in time order: its latest sample time and the mean of its
  // samples. Series sampled at the same times share these times, and their means add up to the
  // mean of their sum: what a stacked chart draws (the lows and highs of different series fall
  // at different times, so they cannot be stacked).
  std::vector<std::pair<double, double>> bucket_means;
  bool reduced() const { return bucket_s > 0; }
};

// A report draws at most this many models one by one: the palette's ten colors
// (html_report_parts.hpp), and about as many lines as a chart stays readable with. With more
// models, the kDrawnModels with the most requests are drawn (drawn_models below) and the rest
// are summed into one "other (N models)" series where a sum means something; the tables list
// every model.
inline constexpr std::size_t kDrawnModels = 10;

struct TimeSeriesData {
  std::vector<RunSeries> series;  // in order of first appearance
  // When reading was told which models to keep (load_run_dir with more than kDrawnModels models):
  // per series name, the sum over the other models' samples at each sample time, reduced like any
  // series; model is "other (N models)". Only these sums are kept, so the memory of reading does
  // not grow with the number of models.
  std::vector<RunSeries> others;  // in order of first appearance
  std::size_t other_models = 0;   // the models summed into `others`
  const RunSeries* find(const std::string& model, const std::string& name) const;
  const RunSeries* find_other(const std::string& name) const;  // in `others`, or nullptr
  std::vector<std::string> models() const;  // in order of first appearance ("all" included)
  bool empty() const { return series.empty(); }
};

// result.json's optional `pools` (node pools) and `links` (bytes moved per shared link).
struct PoolRow {
  std::string pool;
  double node_hours = 0;
  std::uint64_t peak_nodes = 0, provisioned = 0, released = 0;
};
struct LinkRow {
  std::string link;
  double bytes = 0;
  double bandwidth_bytes_per_s = -1;  // < 0: unlimited
};

// The `jobs` block: co-located jobs of a run, or the jobs of `fleetsim jobs` (kind "jobs"),
// which adds makespan_s, gpu_seconds_capacity and utilization (has_totals).
struct JobsStats {
  std::uint64_t jobs = 0, completed = 0, rejected = 0, preemptions = 0, futile_preemptions = 0;
  double mean_jct_s = 0, mean_queueing_s = 0, lost_gpu_hours = 0, gpu_seconds_busy = 0;
  LatencyStats jct, queueing;  // jct_s, queueing_s
  bool has_totals = false;
  double makespan_s = 0, gpu_seconds_capacity = 0, utilization = 0;
};

// `fleetsim jobs`: one gang-size class of `by_gpus`, one tenant of `tenants`.
struct JobSizeRow {
  std::string label;  // "1 GPU", "2-4 GPUs", ...
  std::uint64_t jobs = 0, completed = 0;
  double mean_jct_s = 0, jct_p50_s = 0, jct_p99_s = 0, mean_queueing_s = 0;
};
struct TenantRow {
  std::string tenant;
  std::uint64_t completed_jobs = 0;
  double mean_jct_s = 0, mean_rho = 0, max_rho = 0;
};

// `fleetsim saturation` (kind "saturation"): one policy's replay.
struct SaturationMark {
  int arrived_pct = 0;
  double allocation_ratio = 0, unallocated_gpus = 0, frag_gpus = 0, frag_ratio = 0;
  std::uint64_t arrived_pods = 0, failed_pods = 0;
};
struct SaturationPolicyResult {
  std::string name;  // the spec as given, e.g. fgd or fgd:exact=true
  std::uint64_t arrived_pods = 0, placed_pods = 0, failed_pods = 0;
  double arrived_gpus = 0, allocated_gpus = 0;
  std::vector<SaturationMark> marks;  // `at`, in file order
  bool has_end = false;
  SaturationMark end;
  std::vector<SaturationMark> curve;  // every recorded point (arrived_pods is not in the curve: 0)
  const SaturationMark* at(int pct) const;  // a mark, or nullptr
};

struct RunData {
  std::string dir;   // as given
  std::string name;  // the directory's name (column heads in comparisons)
  int schema_version = 0;
  // Which front end wrote it: "run" (no `kind` key), "jobs" or "saturation".
  std::string kind = "run";
  std::string fleetsim_version;
  std::string scenario_name, scenario_description;
  std::uint64_t seed = 0, events = 0, requests = 0;
  double end_time_s = 0, percentile_relative_error = 0;
  std::string sample_interval;  // scenario.sample_interval as written, when present
  ModelResult overall;
  std::vector<ModelResult> models;  // in result.json order
  bool has_cache = false;
  std::uint64_t cache_hits = 0, cache_inserts = 0, cache_evictions = 0;
  bool has_timeseries = false;  // timeseries.csv was there
  TimeSeriesData timeseries;
  bool has_cold_start_log = false;  // cold_starts.csv was there
  bool cold_start_log_has_node_provision = false;  // ... with a node_provision_s column
  // What the report keeps of cold_starts.csv: per lane of its cold-start charts, the count, the
  // timeline's columns and a bounded sample of the rows (cold_start_log.hpp). Not every row: a
  // long run has hundreds of thousands.
  ColdStartDigest cold_start_log;
  std::vector<PoolRow> pools;
  std::vector<LinkRow> links;
  // Jobs: a run's co-located jobs or `fleetsim jobs` (required there).
  bool has_jobs = false;
  JobsStats jobs;
  std::vector<JobSizeRow> job_sizes;  // by_gpus
  std::vector<TenantRow> tenants;
  std::uint64_t cluster_nodes = 0;  // cluster.nodes and cluster.gpus, when written
  double cluster_gpus = 0;
  // Saturation (required for kind "saturation").
  double saturation_capacity_gpus = 0;
  std::vector<SaturationPolicyResult> saturation;

  const ModelResult* model(const std::string& name) const;
  // The end of the run's time axis: end_time_s, or the last sample of timeseries.csv if later.
  double time_end() const;
  bool has_cost() const;            // overall or any model has a cost block
  bool has_node_provision() const;  // result.json or cold_starts.csv has the node-provision phase
};

struct LoadedRun {
  std::optional<RunData> run;  // set when there were no errors
  Diagnostics errors;
};

// The models a report draws one by one: the `k` of result.json's models with the most requests
// (ties: the name first in byte order), in result.json order; every model when there are `k` or
// fewer.
std::vector<std::string> drawn_models(const RunData& run, std::size_t k = kDrawnModels);
// The name of the series, or the cold-start lane, that sums `n` models not drawn one by one:
// "other (N models)".
std::string other_models_label(std::size_t n);

// Reads DIR/result.json and, when present, DIR/timeseries.csv and DIR/cold_starts.csv. When
// result.json lists more than `drawn` models (0: no limit), timeseries.csv keeps the series of
// drawn_models(run, drawn) and of "all" only, and sums every other model's into
// TimeSeriesData::others as the rows are read. cold_starts.csv is read into the lanes the report
// draws: with more than kDrawnModels models in result.json, drawn_models(run) and one "other"
// lane; else result.json's models, then timeseries.csv's, then any others cold_starts.csv names.
LoadedRun load_run_dir(const std::string& dir, std::size_t drawn = kDrawnModels);

// The parts on their own (file names only label the diagnostics). Each appends its problems to
// `errors` and returns what it could read.
void parse_result_json(const std::string& text, const std::string& file, RunData& out, Diagnostics& errors);
// `keep` not empty: the models whose series are kept ("all" always is); the others are summed
// into `others` (TimeSeriesData above).
TimeSeriesData parse_timeseries_csv(const std::string& text, const std::string& file, Diagnostics& errors,
                                    const std::vector<std::string>& keep = {});
// The same, streamed a line at a time (reports/timeseries_csv.cpp): a long run's file is never
// held whole.
TimeSeriesData parse_timeseries_csv(std::istream& in, const std::string& file, Diagnostics& errors,
                                    const std::vector<std::string>& keep = {});

// Display formatting shared by the report, the export and the comparison (C locale: the same
// value always gives the same text).
std::string format_latency(double seconds);             // "850 µs", "72.0 ms", "2.09 s"; "-" if NaN
std::string format_count(std::uint64_t n);              // "86,211"
std::string format_fixed(double value, int decimals);   // "%.<decimals>f"; "-" if NaN
std::string format_percent(double fraction, int decimals);  // 0.9982 -> "99.82%"; "-" if NaN
std::string format_span(double seconds);  // a job's times: "45 s", "12.5 min", "3.2 h"; "-" if NaN

}  // namespace fleetsim
