#include "cli/trace_command.hpp"

#include <CLI/CLI.hpp>

#include <charconv>
#include <iostream>
#include <memory>
#include <sstream>

#include "cli/numeric_flags.hpp"
#include "cli/runner/interrupt_cleanup.hpp"
#include "scenarios/loader/work_limits.hpp"
#include "sim/units.hpp"
#include "traces/importers.hpp"

namespace fleetsim {

namespace {

constexpr int kExitBadInput = 2;

struct TraceArgs {
  ImportOptions options;
  bool force = false;
  std::string window, assign, default_tokens;
};

// "600", "2.5" (seconds) or a duration with a unit ("10min"); empty -> nothing.
bool parse_seconds(const std::string& text, std::optional<double>& out, std::string& error) {
  if (text.empty()) return true;
  double v = 0;
  auto r = std::from_chars(text.data(), text.data() + text.size(), v);
  if (r.ec == std::errc() && r.ptr == text.data() + text.size()) {
    out = v;
    return true;
  }
  Parsed<SimTime> d = parse_duration(text);
  if (!d) {
    error = "\"" + text + "\": expected seconds or a duration (" + d.error + ")";
    return false;
  }
  out = to_seconds(*d.value);
  return true;
}

bool parse_count(const std::string& text, long long& out) {
  auto r = std::from_chars(text.data(), text.data() + text.size(), out);
  return r.ec == std::errc() && r.ptr == text.data() + text.size();
}

// Fills options from the string arguments; returns "" or an error message.
std::string finish_options(TraceArgs& a) {
  ImportOptions& o = a.options;
  if (!a.window.empty()) {
    const auto colon = a.window.find(':');
    if (colon == std::string::npos)
      return "--window: expected START:END (seconds or durations), got \"" + a.window + "\"";
    std::string error;
    if (!parse_seconds(a.window.substr(0, colon), o.window_start, error) ||
        !parse_seconds(a.window.substr(colon + 1), o.window_end, error))
      return "--window: " + error;
  }
  if (!a.assign.empty()) {
    const std::string& s = a.assign;
    std::vector<std::string> parts;
    std::stringstream in(s);
    for (std::string p; std::getline(in, p, ':');) parts.push_back(p);
    const std::string kind = parts.empty() ? "" : parts[0];
    long long n = 0;
    if (kind == "column" && parts.size() == 1) {
      o.assign = ModelAssign::FromColumn;
    } else if (kind == "fixed" && s.size() > 6) {
      o.assign = ModelAssign::Fixed;
      o.model = s.substr(6);
    } else if (kind == "hash" && parts.size() == 2 && parse_count(parts[1], n) && n >= 1 && n <= 1'000'000) {
      o.assign = ModelAssign::Hash;
      o.models = static_cast<int>(n);
    } else if (kind == "zipf" && (parts.size() == 2 || parts.size() == 3) && parse_count(parts[1], n) &&
               n >= 1 && n <= 1'000'000) {
      o.assign = ModelAssign::Zipf;
      o.models = static_cast<int>(n);
      if (parts.size() == 3) {
        double exponent = 0;
        auto r = std::from_chars(parts[2].data(), parts[2].data() + parts[2].size(), exponent);
        if (r.ec != std::errc() || r.ptr != parts[2].data() + parts[2].size() || exponent < 0)
          return "--assign: the Zipf exponent must be a number >= 0, got \"" + parts[2] + "\"";
        o.zipf_s = exponent;
      }
    } else {
      return "--assign: expected column, fixed:NAME, hash:N or zipf:N:S (N = 1 .. 1000000), got \"" + s +
             "\"";
    }
  }
  if (!a.default_tokens.empty()) {
    const auto colon = a.default_tokens.find(':');
    long long in = 0, out = 0;
    if (colon == std::string::npos || !parse_count(a.default_tokens.substr(0, colon), in) ||
        !parse_count(a.default_tokens.substr(colon + 1), out) || in < 1 || out < 1 || in > 2'000'000'000 ||
        out > 2'000'000'000)
      return "--default-tokens: expected IN:OUT, integers >= 1, got \"" + a.default_tokens + "\"";
    o.default_tokens = std::make_pair(static_cast<std::uint32_t>(in), static_cast<std::uint32_t>(out));
  }
  return "";
}

std::string format_seconds(double s) {
  std::ostringstream out;
  out.precision(10);
  out << s;
  return out.str();
}

int run_import(TraceArgs& args) {
  const std::string error = finish_options(args);
  if (!error.empty()) {
    std::cerr << error << "\nnothing written\n";
    return kExitBadInput;
  }
  ImportReport r;
  if (!args.force) args.options.max_rows = kMaxImportRows;
  // Interrupted (Ctrl-C, a kill), the import leaves no partial output behind: the importer
  // writes <out>.part and renames it only when done.
  RemoveOnInterrupt cleanup({args.options.output + ".part"});
  try {
    r = import_trace(args.options);
  } catch (const std::exception& e) {  // I/O failures the importers do not expect (a vanished folder)
    std::cerr << "trace import failed: " << e.what() << "\nnothing written\n";
    return kExitBadInput;
  }
  for (const Diagnostic& d : r.skipped_examples) std::cerr << "skipped: " << d.to_string() << "\n";
  if (!r.ok()) {
    std::cerr << r.errors.to_string();
    std::cerr << r.errors.size() << (r.errors.size() == 1 ? " error" : " errors") << ", nothing written\n";
    return kExitBadInput;
  }
  std::ostringstream line;
  line << args.options.format << " " << args.options.input << " -> " << args.options.output << ": "
       << r.rows_read << " rows read, " << r.rows_written << " written";
  if (r.rows_written > 0)
    line << " (" << format_seconds(r.first_time_s) << " .. " << format_seconds(r.last_time_s) << " s)";
  line << ", " << r.rows_skipped << " skipped";
  if (!r.skipped_by_reason.empty()) {
    line << " (";
    bool first = true;
    for (const auto& [reason, count] : r.skipped_by_reason) {
      line << (first ? "" : ", ") << reason << " " << count;
      first = false;
    }
    line << ")";
  }
  if (r.rows_outside_window > 0) line << ", " << r.rows_outside_window << " outside the window";
  if (r.rows_sampled_out > 0) line << ", " << r.rows_sampled_out << " sampled out";
  std::cout << line.str() << "\n";
  return 0;
}

}  // namespace

void add_trace_command(CLI::App& app, int& exit_code) {
  auto* trace = app.add_subcommand("trace", "work with request traces (import public traces)");
  trace->require_subcommand(1);
  auto* imp = trace->add_subcommand(
      "import",
      "convert a public request trace to fleetsim's CSV (timestamp,model,input_tokens,output_tokens)");
  auto args = std::make_shared<TraceArgs>();
  ImportOptions& o = args->options;
  imp->add_option("format", o.format, "azure-llm-2023 | mooncake | servegen | generic-csv")->required();
  imp->add_option("input", o.input, "the trace file (servegen: a folder of chunk-<N>-trace.csv, or one)")
      ->required();
  imp->add_option("--out,-o", o.output, "the CSV to write (written only if the import succeeds)")->required();
  imp->add_flag("--force", args->force,
                "write more than the row limit (README \"Limits on work\")");
  imp->add_flag("--lenient", o.lenient, "skip bad rows and count them by reason instead of stopping");
  imp->add_option("--time-scale", o.time_scale, "multiply timestamps (0.5 = twice as fast; default 1)")
      ->transform(number_in(1e-9, 1e9));
  imp->add_option(
      "--rate-scale", o.rate_scale,
      "< 1 keep a seeded random share of requests; > 1 replicate each request with seeded jitter")
      ->transform(number_in(0, 1e6));
  imp->add_option("--window", args->window,
                  "START:END, seconds since the trace start (or durations: 10min:1h), before scaling; either "
                  "side may be empty; the output starts at START");
  imp->add_option("--assign", args->assign,
                  "models: column | fixed:NAME | hash:N | zipf:N:S (names model-0 .. model-N-1)");
  imp->add_option("--seed", o.seed, "seed for rate scaling, hash/zipf assignment and servegen (default 1)")
      ->transform(integer_in(0, kMaxSeed));
  auto* unit = imp->add_option("--time-unit", o.time_unit,
                               "generic-csv: unit of numeric times: s, ms, us, ns (default s)");
  auto* format =
      imp->add_option("--time-format", o.time_format, "generic-csv: iso8601 for date-time strings");
  unit->excludes(format);
  imp->add_option("--time-column", o.time_column, "generic-csv: the arrival time column");
  imp->add_option("--model-column", o.model_column, "generic-csv: the model column (for --assign column)");
  imp->add_option("--input-column", o.input_column, "generic-csv: the prompt tokens column");
  imp->add_option("--output-column", o.output_column, "generic-csv: the output tokens column");
  imp->add_option("--delimiter", o.delimiter,
                  "generic-csv: field delimiter, one character or \"tab\" (default ,)");
  imp->add_flag("--keep-prefix-hashes", o.keep_prefix_hashes,
                "mooncake: add a 5th column prefix_hashes (space-separated hash_ids, 512 tokens each), which "
                "runs use for prefix caching");
  imp->add_option("--default-tokens", args->default_tokens,
                  "servegen: IN:OUT tokens for clients without a dataset.json");
  imp->callback([args, &exit_code] { exit_code = run_import(*args); });
}

}  // namespace fleetsim
