// What the request-trace importers share (private to importers/): the lenient/strict decision,
// token checks, the output stages with the native CSV writer behind them, and the interface each
// format implements. The entry point is traces/importers.hpp; registry.cpp lists the formats.
#pragma once
#include <cstdint>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sim/diagnostics.hpp"
#include "sim/rng.hpp"
#include "sim/time.hpp"
#include "traces/importers.hpp"

namespace fleetsim::importers {

constexpr std::uint64_t kMaxTokens = 2'000'000'000;  // what the native reader accepts

// Seconds with up to 9 decimals, trailing zeros dropped: exact for integer nanoseconds.
void append_time(std::string& out, std::int64_t ns);
void append_uint(std::string& out, std::uint64_t v);

// A token count: an integer 1 .. kMaxTokens.
enum class TokenCheck { Ok, BadNumber, Negative, Zero, TooLarge };
TokenCheck parse_tokens(std::string_view text, std::uint32_t& out);
const char* token_reason(TokenCheck c);                          // the skip reason
std::string token_message(TokenCheck c, std::string_view text);  // the diagnostic

// A model name the native CSV can hold: non-empty, no commas, quotes or line breaks.
bool valid_model_name(std::string_view m);

// An option error: no file, the option's name in `path`.
void option_error(Diagnostics& errors, const std::string& option, const std::string& message);

// ---------------------------------------------------------------------------------------------
// Shared state: options, report, the lenient/strict decision.

struct Context {
  const ImportOptions& opt;
  ImportReport& report;

  // A bad row: in lenient mode counts it and returns true (go on); else records it, false.
  bool reject(Diagnostic d, const std::string& reason);
  void fatal(const std::string& file, int line, const std::string& path, const std::string& message);
};

// ---------------------------------------------------------------------------------------------
// Output: the native CSV, written to <path>.part and renamed when the import succeeds.

class Output {
 public:
  bool open(const std::string& path, bool prefix_column, Context& ctx);
  void write(std::int64_t t, std::string_view model, std::uint32_t in, std::uint32_t out,
             std::string_view prefix);
  bool commit(Context& ctx);
  void abandon();

 private:
  void flush();
  std::string path_, part_;
  std::ofstream out_;
  std::string buf_;
  bool prefix_ = false;
};

// ---------------------------------------------------------------------------------------------
// Pipeline: order check, window, time scale, model assignment, rate scale, write.

struct SourceRow {
  std::int64_t time_ns = 0;  // source time: absolute or relative
  std::string_view key;      // model column / client; empty when the format has none
  std::uint32_t input = 0, output = 0;
  std::string_view prefix;  // mooncake hash ids, space-separated (keep_prefix_hashes)
};

enum class Step { Next, Stop, Fail };

class Pipeline {
 public:
  Pipeline(Context& ctx, Output& out, bool rebase, ModelAssign assign, std::string fixed);

  // `where` locates the row's time field (file, line, column, column name) for diagnostics.
  Step push(const SourceRow& row, const Diagnostic& where, std::string_view time_text);
  void finish();

 private:
  std::string_view model_for(const SourceRow& row);
  void rate_stage(std::int64_t t, std::string_view model, std::uint32_t in, std::uint32_t out,
                  std::string_view prefix);
  // The pending request and its copies, jittered in [t, next_t).
  void emit_pending(std::int64_t next_t);
  void emit(std::int64_t t, std::string_view model, std::uint32_t in, std::uint32_t out,
            std::string_view prefix);

  Context& ctx_;
  Output& out_;
  bool rebase_;
  ModelAssign assign_;
  std::string fixed_;
  std::vector<std::string> names_;
  std::vector<double> zipf_cum_;
  RngStream rate_rng_, zipf_rng_;
  std::int64_t start_ = 0, end_ = kNever;
  std::int64_t base_ = 0, last_source_ = 0;
  std::string last_text_;
  bool have_last_ = false;
  std::uint64_t ordinal_ = 0;
  bool pending_ = false;
  std::int64_t pending_t_ = 0;
  std::string pending_model_, pending_prefix_;
  std::uint32_t pending_in_ = 0, pending_out_ = 0;
  int pending_copies_ = 0;
  std::vector<std::int64_t> jitter_;
  bool over_limit_ = false;  // ImportOptions::max_rows reached: the import fails
};

// ---------------------------------------------------------------------------------------------
// A format.

// An estimate of an import's output and what it rests on ("rates × window lengths").
struct RowEstimate {
  double rows = 0;
  std::string basis;
};
//
// Contract. import_trace makes one object per import (a format may keep what its options
// resolved to) and calls, in this order: default_assign (only when the user chose no model
// assignment), check_key (only when models come from the row's key), check_options; read runs
// only when no option error was reported. Option errors go to `errors` with the option's name in
// `path` (option_error). read streams every request into `pipe` and returns false on a fatal
// error, recorded in ctx.report.errors; bad rows go through ctx.reject.
class RequestFormat {
 public:
  virtual ~RequestFormat() = default;
  // INPUT may be a folder; else it must be one file.
  virtual bool reads_folder() const { return false; }
  // Times are re-based to the first row; false: to the trace's own 0 s.
  virtual bool rebase() const { return true; }
  // Rows carry mooncake-style prefix hashes (keep_prefix_hashes).
  virtual bool has_prefix_hashes() const { return false; }
  // The model assignment when the user gives none: Fixed (naming it in `fixed`) or FromColumn.
  virtual ModelAssign default_assign(const ImportOptions& o, std::string& fixed) const = 0;
  // Models from the row's key: an option error when this format's rows have none.
  virtual void check_key(const ImportOptions& o, Diagnostics& errors) const = 0;
  // The format's own options, after the shared ones; `assign` is the assignment in force.
  virtual void check_options(const ImportOptions& o, ModelAssign assign, Diagnostics& errors);
  // The rows the import will write, for a format that can tell before reading (servegen
  // generates its requests from rates); nullopt: only reading tells. Called after check_options
  // found nothing, and only under a row limit (ImportOptions::max_rows): an estimate above it
  // refuses the import before the output is opened. Problems in the input are left to `read`.
  virtual std::optional<RowEstimate> estimated_rows(const ImportOptions&) const { return std::nullopt; }
  virtual bool read(Context& ctx, Pipeline& pipe) = 0;
};

// check_key for formats without a model column.
void no_key_column(const ImportOptions& o, Diagnostics& errors);

// Delimited text with a header (generic-csv, and azure-llm-2023 with its fixed columns).
struct CsvSpec {
  char delim = ',';
  std::string time_col, model_col, input_col, output_col;
  bool iso = false;
  double unit_ns = 1e9;
  std::string unit_name = "s";
  bool check_model = false;  // FromColumn: the model must be writable
};
bool read_delimited(Context& ctx, Pipeline& pipe, const CsvSpec& spec);

// The formats (one file each), in the order registry.cpp lists them.
std::unique_ptr<RequestFormat> make_azure_llm_2023();
std::unique_ptr<RequestFormat> make_mooncake();
std::unique_ptr<RequestFormat> make_servegen();
std::unique_ptr<RequestFormat> make_generic_csv();

}  // namespace fleetsim::importers
