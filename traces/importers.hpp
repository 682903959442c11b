// Trace importers: public request traces -> fleetsim's native request CSV
// (`timestamp,model,input_tokens,output_tokens`, see traces/request_csv.hpp).
// One file per format under traces/importers/, listed in traces/importers/registry.cpp.
//
// Every importer streams: the input is read row by row and each request is written as soon as
// it is final, so memory does not grow with the trace (ServeGen keeps one pending arrival per
// client, and its per-client token PMFs). Nothing is written unless the import succeeds: the
// output goes to `<output>.part` and is renamed at the end.
//
// Formats
//   azure-llm-2023  Azure LLM inference trace 2023 (Splitwise): `TIMESTAMP,ContextTokens,
//                   GeneratedTokens`; TIMESTAMP is an absolute datetime ("2023-11-16
//                   18:15:46.6805900") -> seconds since the first row. No model column: the
//                   default assignment is fixed "azure-llm".
//   mooncake        Mooncake FAST'25 JSON lines: {"timestamp": ms, "input_length",
//                   "output_length", "hash_ids": [...]}. Default model "mooncake". With
//                   keep_prefix_hashes a fifth column `prefix_hashes` holds the hash_ids
//                   space-separated, which `fleetsim run` reads for prefix caching
//                   (models' prefix_block_tokens: 512, the default, as Mooncake's blocks).
//   servegen        ServeGen per-client statistics (not a request log; requests are generated).
//                   INPUT is a folder of `chunk-<N>-trace.csv` (+ optional `chunk-<N>-dataset.json`)
//                   or one such trace.csv. Each trace row `window_start,rate,cv,pattern,p1,p2` is
//                   a window lasting until the next row's start (the last one as long as the one
//                   before, 600 s when alone). In a window with rate > 0 arrivals are a Gamma
//                   renewal process restarted at the window start: gaps have mean 1/rate and the
//                   row's cv (shape 1/cv^2, scale cv^2/rate; cv 0 -> evenly spaced). A row with
//                   rate > 1e6/s or cv > 1000 is a bad row (generation would not end; the public
//                   data peaks at 2,442/s and cv 797). The
//                   pattern/p1/p2 columns (the fitted distribution) are not used: their mean
//                   disagrees with 1/rate in ~15% of Gamma and ~60% of Weibull windows of the
//                   public data, while rate and cv are the measured moments. Token lengths are
//                   drawn from the dataset.json PMFs of the latest period (21,600 s in the public
//                   data) starting at or before the window (an empty PMF -> the nearest non-empty
//                   period; a length 0 counts as 1); `reason_ratio` is ignored. Clients without
//                   a dataset.json need `default_tokens`. Each (client, window) has its own random stream
//                   named from the seed, so an import restricted by window_start/window_end is exactly the
//                   matching part of a full import. Clients are merged in time order (ties: client
//                   number). The row key is "client-<N>"; the default model is the folder's name.
//   generic-csv     any delimited file with a header: time_column (numeric in time_unit, or
//                   time_format "iso8601"), input_column, output_column, optional model_column,
//                   delimiter (one character; "tab" or "\t" for a tab). Double-quoted fields are
//                   understood ("" is a quote); a field cannot span lines.
//
// Times. Every format's output is re-based to its first row (ServeGen: to the trace's 0 s).
// Input rows must be in non-decreasing time order. Then, in this order:
//   window    [window_start, window_end) in seconds relative to that base, before scaling; rows
//             outside are dropped (reading stops at the first row past window_end) and the
//             output is re-based to window_start (an idle start of the window is kept).
//   time      time_scale multiplies timestamps (0.5 replays twice as fast).
//   model     see ModelAssign.
//   rate      rate_scale < 1 keeps each request with probability rate_scale (seeded stream);
//             rate_scale > 1 writes each request floor(r) or ceil(r) times (ceil with
//             probability frac(r)); the copies after the first get a seeded uniform jitter in
//             [t, t_next) (t_next: the next request's time, so order is kept; the last request's
//             copies stay at t).
//
// Errors. A bad row (unparsable number, wrong field count, bad JSON, negative or zero tokens,
// time going backwards, empty model) stops the import with a diagnostic naming the file, line,
// column (its name in `path`) and value. With `lenient` such rows are skipped and counted by
// reason (reasons: bad-number, bad-time, bad-json, bad-quote, missing-field, wrong-field-count,
// negative-tokens, zero-tokens, out-of-order, bad-model; ServeGen: a bad window row is skipped). A missing
// input, an empty file, a header without a needed column and bad options always stop the import.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sim/diagnostics.hpp"

namespace fleetsim {

enum class ModelAssign {
  Default,     // per format: azure fixed "azure-llm", mooncake fixed "mooncake", servegen fixed
               // <folder name>, generic-csv FromColumn (needs model_column)
  FromColumn,  // the row's key: generic-csv model_column, servegen "client-<N>"
  Fixed,       // every request gets `model`
  Hash,        // model-<h % models>, h = hash(seed, key); key = the row's key, else its row number
  Zipf,        // rank k (model-<k-1>) with weight 1/k^zipf_s; keyed rows draw once per key
               // (hash-seeded, so one key keeps one model), unkeyed rows draw per request
};

struct ImportOptions {
  std::string format;  // azure-llm-2023 | mooncake | servegen | generic-csv
  std::string input;
  std::string output;
  bool lenient = false;
  double time_scale = 1;  // multiplies timestamps; 0.5 = twice as fast
  double rate_scale = 1;  // < 1 seeded subsample, > 1 replication with jitter (see above)
  std::optional<double> window_start, window_end;  // seconds, relative, before scaling

  ModelAssign assign = ModelAssign::Default;
  std::string model;    // Fixed
  int models = 1;       // Hash, Zipf: model-0 .. model-<models-1>
  double zipf_s = 1.0;  // Zipf exponent (>= 0)
  std::uint64_t seed = 1;

  // generic-csv
  std::string time_column, model_column, input_column, output_column;
  std::string time_unit = "s";  // s | ms | us | ns
  std::string time_format;      // "" (numeric in time_unit) | "iso8601"
  std::string delimiter = ",";

  bool keep_prefix_hashes = false;  // mooncake: write hash_ids as a 5th column
  // servegen clients without a dataset.json: fixed (input, output) tokens; else an error.
  std::optional<std::pair<std::uint32_t, std::uint32_t>> default_tokens;
  // A guard against runaway output: more rows than this (0: no limit) stop the import, which
  // writes nothing; servegen is refused before it starts when its rates promise more (each
  // client window's rate × its length inside the window option, summed, × rate_scale).
  std::uint64_t max_rows = 0;
  // How the message of a refusal past max_rows tells the user to narrow the import: the
  // command line's options here; a scenario's import names its trace keys instead.
  std::string narrow_hint = "narrow it with --window or --rate-scale, or pass --force to write them all";
};

struct ImportReport {
  std::uint64_t rows_read = 0;     // data rows read (servegen: arrivals generated)
  std::uint64_t rows_written = 0;  // output rows (after window, rate scale)
  std::uint64_t rows_skipped = 0;  // bad rows skipped (lenient only)
  std::map<std::string, std::uint64_t> skipped_by_reason;
  std::uint64_t rows_outside_window = 0;
  std::uint64_t rows_sampled_out = 0;        // dropped by rate_scale < 1
  double first_time_s = 0, last_time_s = 0;  // of the output
  std::vector<Diagnostic> skipped_examples;  // the first few skipped rows (lenient)
  Diagnostics errors;                        // non-empty: the import failed, nothing written
  bool ok() const { return errors.empty(); }
};

ImportReport import_trace(const ImportOptions& options);

// The format names, for help texts and validation.
const std::vector<std::string>& import_formats();

}  // namespace fleetsim
