// Parameter sweeps: one base scenario, a set of `--set`-style overrides per point, every point
// run into its own directory, the results merged into one table (and a Pareto chart). Sweeps
// scale out by sharding: point i belongs to shard i % N, shards run anywhere (threads, a Slurm
// array, a Kubernetes Indexed Job) into the same or separate folders, and `merge_sweep` builds
// the merged outputs from the point folders afterwards — byte-identical whatever the split.
//
// The sweep file (YAML, keys checked strictly: an unknown key is an error with file:line):
//
//   name: keepalive                  # optional; default the file's stem
//   description: free text           # optional
//   base: ../scale-to-zero.yaml      # required: the scenario, relative to this file
//   set:                             # optional: fixed overrides applied to every point first
//     duration: 2h
//     models[0].autoscaler: {}
//   grid:                            # optional: key path -> list of values; the Cartesian product
//     policies.autoscaler: [{impl: kpa}, {impl: fixed-keepalive}]
//     policies.autoscaler.target_concurrency: [8, 16]   # later keys are applied later
//   zip:                             # optional: key path -> lists of one length, varied together
//     cluster.pools[0].nodes: [1, 2, 4]                 #   (one axis: value i of every key)
//     cluster.pools[0].gpus_per_node: [8, 4, 2]
//   seeds: [1, 2, 3]                 # optional: one more axis (the fastest); default the
//                                    #   scenario's own seed
//   metrics:                         # optional: result.json paths for the merged table
//     - overall.slo_attainment       #   (default: default_sweep_metrics())
//     - models.chat-8b.ttft_s.p99    #   model names may contain dots: the longest key matches
//   pareto: {x: overall.cold_starts.share_of_requests_waited, y: overall.gpu_seconds.idle}
//                                    # optional: both minimised; "max:overall.slo_attainment"
//                                    #   maximises. x and y join the metrics if not listed.
//
// Key paths are the scenario loader's (`fleetsim run --set`): dots for keys, `[i]` or `.i` for
// list elements; a missing map key is created. A value may be any YAML scalar, list or mapping;
// it is written as flow YAML into "path=value" (a mapping replaces the whole mapping there:
// to vary one policy parameter, name it in the path). The same path may appear only once
// across set, grid and zip.
//
// Points are numbered from 0 in a fixed order: the grid axes in file order, then the zip axis,
// then the seeds; the last axis varies fastest. Point i runs into `<out>/point-0007` (four
// digits, more when the sweep has more than 10,000 points) holding the run's files
// (result.json, timeseries.csv, cold_starts.csv) and point.json (its overrides and seed).
// A point whose result.json exists is skipped (resume); a point is run into a folder of its own
// name inside a temporary one and moved out when complete, so an interrupted run never leaves a
// half-written point and every file (report.html names its folder) is the same for any --jobs. A point
// folder whose point.json records other overrides or another seed is an error (the sweep file
// changed: remove it or use another output folder).
//
// Merged outputs, built only from the point folders on disk in point order:
//   merged.csv   point, one column per axis key (flow YAML), seed, one column per metric
//   merged.json  {sweep, base, axes, metrics, pareto?, points: [{point, dir, values, seed, metrics}]}
//   pareto.csv   (with `pareto:`) the non-dominated points, merged.csv's columns, sorted by x
//   pareto.svg   (with `pareto:`) every point, the frontier highlighted and connected, a legend
// Errors are values (Diagnostics); nothing here prints or exits.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "policies/registry.hpp"
#include "sim/diagnostics.hpp"

namespace fleetsim {

// A value as written in the sweep file: flow YAML text and where it stands (1-based; 0 unknown).
struct SweepValue {
  std::string yaml;
  int line = 0;
  int column = 0;
};

// One axis: a grid key (one key) or the zip axis (several keys varied together).
struct SweepAxis {
  std::vector<std::string> keys;
  std::vector<std::vector<SweepValue>> values;  // values[v][k]: the v-th value of keys[k]
  bool zip = false;
};

struct SweepSetting {  // a fixed `set:` override
  std::string key;
  SweepValue value;
};

struct ParetoSpec {
  std::string x, y;  // result.json paths, without the "max:" prefix
  bool maximize_x = false;
  bool maximize_y = false;
};

struct SweepSpec {
  std::string file;       // the sweep file as given (diagnostics)
  std::string name;       // `name:` or the file's stem
  std::string base;       // the base scenario as written in the file
  std::string base_path;  // resolved against the sweep file's folder
  std::vector<SweepSetting> fixed;
  std::vector<SweepAxis> axes;        // grid axes in file order, then the zip axis
  std::vector<std::uint64_t> seeds;   // empty: every point keeps the scenario's seed
  std::vector<std::string> metrics;   // the merged table's metric columns (pareto x, y included)
  std::optional<ParetoSpec> pareto;
};

// overall.requests, overall.slo_attainment, overall.ttft_s.p99, overall.e2e_s.p99,
// overall.cold_starts.count, overall.cold_starts.share_of_requests_waited,
// overall.gpu_seconds.allocated, overall.gpu_seconds.idle
const std::vector<std::string>& default_sweep_metrics();

struct SweepLoadResult {
  std::optional<SweepSpec> sweep;  // set when there were no errors
  Diagnostics errors;
};

SweepLoadResult load_sweep_file(const std::string& path);
// `source_name` stands for the file in diagnostics; `base:` resolves against `base_dir`.
SweepLoadResult load_sweep_text(const std::string& yaml, const std::string& source_name,
                                const std::string& base_dir);

struct SweepPoint {
  std::size_t index = 0;
  std::vector<std::size_t> choice;      // per axis: the value's position
  std::vector<std::string> overrides;   // "path=value": the fixed ones, then one per axis key
  std::optional<std::uint64_t> seed;    // unset: the scenario's own
};

std::size_t sweep_point_count(const SweepSpec& sweep);
SweepPoint sweep_point(const SweepSpec& sweep, std::size_t index);  // index < sweep_point_count
std::vector<SweepPoint> sweep_points(const SweepSpec& sweep);
std::string point_dir_name(const SweepSpec& sweep, std::size_t index);  // "point-0007"
std::vector<std::string> sweep_axis_columns(const SweepSpec& sweep);    // every axis key, in order

// Loads (validates) the scenario of every point of a shard on `jobs` threads. A problem is
// reported once with the points it affects ("points 0-4, 7: ..."); problems caused by an
// override carry the sweep file's line of that value.
// Every point of the shard loads and validates, its estimated work is within the limits (unless
// `force`), and every metric path names one value in the result.json it would write.
Diagnostics check_sweep_points(const SweepSpec& sweep, const PolicyRegistry& registry, unsigned jobs = 1,
                               std::size_t shard_index = 0, std::size_t shard_count = 1, bool force = false);
// An error when the sweep has more than kMaxSweepPoints points (before any is expanded).
Diagnostics check_sweep_size(const SweepSpec& sweep);

// "I/N" with 0 <= I < N; returns "" or an error message.
std::string parse_shard(const std::string& text, std::size_t& index, std::size_t& count);

struct SweepProgress {
  std::size_t point = 0;
  std::string dir;        // the point's folder
  bool ok = false;
  double wall_seconds = 0;
  std::size_t done = 0;   // points of this run finished so far, this one included
  std::size_t total = 0;  // points this run has to run
};

struct SweepRunOptions {
  const PolicyRegistry* registry = nullptr;  // the program's one registry; required
  std::string version = "unknown";           // fleetsim_version in each result.json
  // Called after each point (from the worker threads, one call at a time).
  std::function<void(const SweepProgress&)> on_point;
  bool force = false;  // lift the work limits (README "Limits on work")
};

struct SweepReport {
  std::size_t points = 0;    // in the whole sweep
  std::size_t in_shard = 0;  // of them in this shard
  std::size_t ran = 0;
  std::size_t skipped = 0;   // result.json already there
  std::vector<std::size_t> failed;   // points whose run failed (errors says why)
  bool policy_error = false;         // one of them: a policy broke its contract
  std::vector<std::size_t> missing;  // points of the whole sweep still without a result
  bool merged = false;               // the merged outputs were (re)written
  std::vector<std::string> written;  // their paths
  double wall_seconds = 0;
  Diagnostics errors;                // empty on success
};

// Runs every point of shard `shard_index` of `shard_count` (point i belongs to shard i % N) on
// `jobs` threads, skipping completed points, into `out_dir`; then writes the merged outputs if
// no point of the whole sweep is missing (other shards still running is not an error: their
// points are listed in `missing` and merge_sweep builds the outputs later). Nothing runs when a
// point does not validate.
SweepReport run_sweep(const SweepSpec& sweep, const std::string& out_dir, unsigned jobs = 1,
                      std::size_t shard_index = 0, std::size_t shard_count = 1,
                      const SweepRunOptions& options = {});

struct MergeReport {
  std::size_t points = 0;
  std::vector<std::size_t> missing;  // an error lists them; nothing is written then
  std::vector<std::string> written;
  Diagnostics errors;
};

// (Re)builds merged.csv, merged.json and, with `pareto:`, pareto.csv and pareto.svg from the
// point folders in `out_dir` (for example shard outputs copied into one folder).
MergeReport merge_sweep(const SweepSpec& sweep, const std::string& out_dir);

// Pareto frontier of (x, y) points: the positions in `points` of the non-dominated ones, sorted
// by x ascending (ties: y ascending, then position). Equal points are all kept.
struct ParetoCandidate {
  double x = 0;
  double y = 0;
};
std::vector<std::size_t> pareto_frontier(const std::vector<ParetoCandidate>& points, bool maximize_x,
                                         bool maximize_y);

}  // namespace fleetsim
