// What the job and cluster trace readers share (private to jobs/): the job source base (lenient
// counting, reorder buffer, order check), typed fields, whole tables, and one function per
// format for the dispatcher in job_traces.cpp (entry: job_traces.hpp).
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "sim/diagnostics.hpp"
#include "sim/job.hpp"
#include "traces/delimited.hpp"
#include "traces/jobs/job_traces.hpp"

namespace fleetsim::job_readers {

constexpr std::size_t kMaxListErrors = 20;  // node lists, run times, throughput tables: errors reported at most
constexpr double kMiB = 1024.0 * 1024.0;
constexpr double kGiB = 1024.0 * kMiB;
constexpr double kMaxSeconds = 9.0e9;  // SimTime holds ~292 years; keep far from overflow

// A whole number of a size a double holds exactly.
bool is_whole(double v);

// Empty or NaN: "the event is outside the trace" in the Alibaba tables.
bool is_absent(std::string_view text);

// ---------------------------------------------------------------------------------------------
// The shared source: lenient counting, the reorder buffer, the order check.

enum class Read { Job, Skip, Fail, Eof };

class SourceBase : public JobTraceSource {
 public:
  SourceBase(std::string path, bool lenient, std::size_t window)
      : path_(std::move(path)), lenient_(lenient), window_(window) {}

  bool next(JobSpec& out, Diagnostics& errors) final;

  std::uint64_t rows_read() const override { return rows_; }
  std::uint64_t rows_skipped() const override { return skipped_total_; }
  const std::map<std::string, std::uint64_t>& skipped() const override { return skipped_; }
  const std::vector<Diagnostic>& skipped_examples() const override { return examples_; }

 protected:
  // The next row: Job (with time_at_/time_text_ set), Skip (counted), Fail (reported) or Eof.
  virtual Read read(JobSpec& job, std::string& cls, Diagnostics& errors) = 0;

  // A bad row: lenient counts it (Skip); strict reports it (Fail).
  Read bad(Diagnostics& errors, Diagnostic d, const char* reason) {
    return reject(errors, std::move(d), reason) ? Read::Skip : Read::Fail;
  }

  std::string path_;
  bool lenient_;
  std::uint64_t rows_ = 0;
  int last_line_ = 0;
  Diagnostic time_at_;
  std::string time_text_;
  std::string order_hint_;
  const char* expected_rows_ = "at least one job";

 private:
  struct Pending {
    JobSpec job;
    std::string cls;
    std::uint64_t seq = 0;
  };
  struct Later {
    bool operator()(const Pending& a, const Pending& b) const {
      return a.job.submit != b.job.submit ? a.job.submit > b.job.submit : a.seq > b.seq;
    }
  };

  bool reject(Diagnostics& errors, Diagnostic d, const char* reason);

  std::size_t window_;
  std::vector<Pending> heap_;
  std::uint64_t seq_ = 0;
  bool eof_ = false, done_ = false, emitted_ = false;
  SimTime last_submit_ = 0;
  std::uint64_t skipped_total_ = 0;
  std::map<std::string, std::uint64_t> skipped_;
  std::vector<Diagnostic> examples_;
  std::unordered_map<std::string, int> first_line_of_id_;  // non-empty job ids seen -> their line
};

// Field access for one row: location and typed parsing with the right reason on failure.
struct Row {
  const std::string& file;
  int line;
  const std::vector<std::string>& fields;
  const std::vector<int>& starts;
  const std::vector<std::string>& names;  // per field index

  Diagnostic at(int i, std::string message) const {
    const auto k = static_cast<std::size_t>(i);
    return Diagnostic{file, line, starts[k], k < names.size() ? names[k] : "", std::move(message)};
  }
  const std::string& text(int i) const { return fields[static_cast<std::size_t>(i)]; }
};

// One numeric field: Ok, or the reason and diagnostic of its failure.
struct NumCheck {
  const char* reason = nullptr;  // null: ok
  Diagnostic diag;
};

// Parses row field i as a number; empty -> missing-field; unparsable -> bad-number (or
// `bad_reason`); whole -> requires an integer.
NumCheck number(const Row& row, int i, double& v, const std::string& expected, bool whole = false,
                const char* bad_reason = "bad-number");

// Seconds (>= 0, finite) in field i -> SimTime.
NumCheck seconds_field(const Row& row, int i, double unit_seconds, SimTime& out, const std::string& unit_name);

// '|'-separated GPU types, trimmed, duplicates and empty ones dropped.
std::vector<std::string> split_types(std::string_view text);

// GPUs per worker from one number of GPUs: whole -> gpus; (0, 1) -> milli_gpu. Null, or the
// skip reason with `why` set.
const char* set_gpus(double v, WorkerSpec& w, std::string& why);

// A CSV source: the header has been read; rows are split with the header's field count.
class CsvSource : public SourceBase {
 public:
  CsvSource(std::string path, bool lenient, std::size_t window, char delim)
      : SourceBase(std::move(path), lenient, window), delim_(delim) {}

  bool open_header(Diagnostics& errors);

 protected:
  // Next data line split into fields; Eof, Skip/Fail (bad quote, field count) or Job (= row ok).
  Read next_row(Diagnostics& errors);
  Row row() const { return Row{path_, reader_.line(), fields_, starts_, header_.names}; }
  // Reports a failed check: Skip (lenient) or Fail.
  Read failed(Diagnostics& errors, NumCheck&& c) { return bad(errors, std::move(c.diag), c.reason); }
  // job.end from the deletion time in field `del` (seconds), which must not come before job.submit
  // (the creation time in field `create`): Job, or Skip/Fail.
  Read deletion_time(const Row& row, int create, int del, JobSpec& job, Diagnostics& errors);

  LineReader reader_;
  DelimitedHeader header_;
  char delim_;
  std::string line_;
  std::vector<std::string> fields_;
  std::vector<int> starts_;
};

// ---------------------------------------------------------------------------------------------
// Whole-table readers (node lists, run times).

struct Table {
  std::string file;
  LineReader reader;
  DelimitedHeader header;
  std::vector<std::string> fields;
  std::vector<int> starts;
  std::string line;
  std::size_t before = 0;  // errors before this table's

  bool open(const std::string& path, const char* what, Diagnostics& errors);
  // The next data row, split; false at the end. Bad lines are reported and skipped.
  bool next(Diagnostics& errors, bool& ok);
  Row row() const { return Row{file, reader.line(), fields, starts, header.names}; }
};

// A node list's columns and units.
struct NodeListSpec {
  const char* id;
  const char* cpu;
  const char* memory;
  const char* gpus;
  const char* gpu_type;
  const char* cpu_expected;     // "expected ..." in diagnostics
  const char* memory_expected;
  double cpu_divisor;           // the column's value / cpu_divisor = cores
  double memory_unit;           // bytes per unit of the memory column
  const char* no_gpu_type;      // a gpu_type value that means "no GPUs" (null: none)
};

// Every row of a node list; any error -> {} (see job_traces.hpp).
std::vector<NodeRecord> read_nodes(const std::string& path, const NodeListSpec& spec, Diagnostics& errors);

// A new Source(args...) once its init() succeeds (file opened; header and columns found, for a
// CSV source); else nullptr, with init's diagnostics in `errors`.
template <class Source, class... Args>
std::unique_ptr<JobTraceSource> opened(Diagnostics& errors, Args&&... args) {
  auto s = std::make_unique<Source>(std::forward<Args>(args)...);
  if (!s->init(errors)) return nullptr;
  return s;
}

// ---------------------------------------------------------------------------------------------
// The formats (one file each). open_*: nullptr (with diagnostics) on a missing file, a bad
// header or a bad throughput table; called once the options are valid.

std::unique_ptr<JobTraceSource> open_gavel(const JobTraceOptions& o, std::size_t window, Diagnostics& errors);
std::unique_ptr<JobTraceSource> open_openb(const JobTraceOptions& o, std::size_t window, Diagnostics& errors);
std::unique_ptr<JobTraceSource> open_dlrm_2025(const JobTraceOptions& o, std::size_t window, Diagnostics& errors);
// generic-csv's columns and units, checked with the other options.
void check_generic_csv(const JobTraceOptions& o, Diagnostics& errors);
std::unique_ptr<JobTraceSource> open_generic_csv(const JobTraceOptions& o, std::size_t window, Diagnostics& errors);

extern const NodeListSpec kOpenbNodes;
extern const NodeListSpec kPaiMachines;

}  // namespace fleetsim::job_readers
