#include "traces/jobs/job_traces.hpp"

#include "traces/delimited.hpp"

#include <fast_float/fast_float.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <string_view>

#include "sim/time.hpp"
#include "traces/importers.hpp"  // parse_iso8601_ns

namespace fleetsim {

namespace {

namespace fs = std::filesystem;

constexpr std::size_t kMaxExamples = 5;
constexpr std::size_t kMaxListErrors = 20;  // node lists and run times: errors reported at most
constexpr std::size_t kDlrmReorderWindow = 4096;
constexpr double kMiB = 1024.0 * 1024.0;
constexpr double kGiB = 1024.0 * kMiB;
constexpr double kMaxSeconds = 9.0e9;  // SimTime holds ~292 years; keep far from overflow

std::string quote(std::string_view v) {
  constexpr std::size_t kMax = 60;
  if (v.size() > kMax) return "\"" + std::string(v.substr(0, kMax)) + "...\"";
  return "\"" + std::string(v) + "\"";
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool is_blank(std::string_view s) { return trim(s).empty(); }

bool parse_double(std::string_view text, double& out) {
  text = trim(text);
  if (text.empty()) return false;
  if (text.front() == '+') text.remove_prefix(1);
  auto r = fast_float::from_chars(text.data(), text.data() + text.size(), out);
  return r.ec == std::errc() && r.ptr == text.data() + text.size() && std::isfinite(out);
}

bool is_whole(double v) { return std::floor(v) == v && std::fabs(v) < 9.0e15; }

// Empty or NaN: "the event is outside the trace" in the Alibaba tables.
bool is_absent(std::string_view text) {
  text = trim(text);
  return text.empty() || text == "NaN" || text == "nan" || text == "NAN";
}

// Seconds, shortest form: "12", "0.5".
std::string seconds_text(SimTime t) {
  std::string out = std::to_string(t / kSecond);
  SimTime frac = t % kSecond;
  if (frac < 0) frac = -frac;
  if (frac == 0) return out;
  std::string digits = std::to_string(frac);
  digits.insert(0, 9 - digits.size(), '0');
  while (!digits.empty() && digits.back() == '0') digits.pop_back();
  return out + "." + digits;
}


class LineReader {
 public:
  bool open(const std::string& path) {
    in_.open(path, std::ios::binary);
    return static_cast<bool>(in_);
  }
  bool next(std::string& line) {
    if (!std::getline(in_, line)) return false;
    ++line_;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line_ == 1 && line.rfind("\xEF\xBB\xBF", 0) == 0) line.erase(0, 3);
    return true;
  }
  int line() const { return line_; }

 private:
  std::ifstream in_;
  int line_ = 0;
};

bool parse_delimiter(const std::string& text, char& out) {
  std::string d = text;
  if (d == "tab" || d == "\\t") d = "\t";
  if (d.size() != 1 || d == "\"" || d == "\n" || d == "\r") return false;
  out = d[0];
  return true;
}

// A header: the column names, and where each needed one is.
struct Header {
  std::vector<std::string> names;
  std::string text;

  // Index of `name`; -1 when absent (an error when required, added to `errors`).
  int find(const std::string& file, const std::string& name, bool required, Diagnostics& errors) const {
    if (name.empty()) return -1;
    auto it = std::find(names.begin(), names.end(), name);
    if (it != names.end()) return static_cast<int>(it - names.begin());
    if (required) {
      std::string have;
      for (const auto& n : names) have += (have.empty() ? "" : ", ") + n;
      std::string message = "missing column \"" + name + "\" (the header has: " + have + ")";
      const std::string close = did_you_mean(name, names);
      if (!close.empty()) message += "; did you mean \"" + close + "\"?";
      errors.add(Diagnostic{file, 1, 1, name, message});
    }
    return -1;
  }
};

// Reads line 1 as a header. False (with a diagnostic) when there is none.
bool read_header(LineReader& reader, const std::string& file, char delim, Header& header,
                 Diagnostics& errors) {
  std::string line;
  if (!reader.next(line)) {
    errors.add(Diagnostic{file, 1, 0, "header", "the file is empty (expected a header naming the columns)"});
    return false;
  }
  if (is_blank(line)) {
    errors.add(Diagnostic{file, 1, 0, "header", "the first line is empty (expected a header naming the columns)"});
    return false;
  }
  std::vector<std::string> fields;
  std::vector<int> starts;
  const int n = split_line(line, delim, true, fields, starts);
  if (n < 0) {
    errors.add(Diagnostic{file, 1, 0, "header", "unterminated quote in the header"});
    return false;
  }
  header.names.assign(fields.begin(), fields.begin() + n);
  header.text = line;
  return true;
}

// ---------------------------------------------------------------------------------------------
// The shared source: lenient counting, the reorder buffer, the order check.

enum class Read { Job, Skip, Fail, Eof };

class SourceBase : public JobTraceSource {
 public:
  SourceBase(std::string path, bool lenient, std::size_t window)
      : path_(std::move(path)), lenient_(lenient), window_(window) {}

  bool next(JobSpec& out, Diagnostics& errors) final {
    if (done_) return false;
    while (!eof_ && heap_.size() <= window_) {
      Pending p;
      const Read r = read(p.job, p.cls, errors);
      if (r == Read::Fail) {
        done_ = true;
        return false;
      }
      if (r == Read::Eof) {
        eof_ = true;
        break;
      }
      if (r == Read::Skip) continue;
      if (emitted_ && p.job.submit < last_submit_) {
        Diagnostic d = time_at_;
        if (window_ == 0)
          d.message = "submit time " + quote(time_text_) + " is earlier than the previous row's (" +
                      seconds_text(last_submit_) + " s); rows must be in time order";
        else
          d.message = "submit time " + quote(time_text_) + " is earlier than a job already emitted (" +
                      seconds_text(last_submit_) + " s); rows may be out of order by at most " +
                      std::to_string(window_) + " rows (reorder_window)";
        d.message += order_hint_;
        if (!reject(errors, std::move(d), "out-of-order")) {
          done_ = true;
          return false;
        }
        continue;
      }
      p.seq = seq_++;
      heap_.push_back(std::move(p));
      std::push_heap(heap_.begin(), heap_.end(), Later{});
    }
    if (heap_.empty()) {
      done_ = true;
      if (eof_ && rows_ == 0)
        errors.add(Diagnostic{path_, std::max(last_line_, 1), 0, "",
                              "no data rows (expected " + std::string(expected_rows_) + ")"});
      return false;
    }
    std::pop_heap(heap_.begin(), heap_.end(), Later{});
    out = std::move(heap_.back().job);
    out.job_class = std::move(heap_.back().cls);
    heap_.pop_back();
    last_submit_ = out.submit;
    emitted_ = true;
    return true;
  }

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

  bool reject(Diagnostics& errors, Diagnostic d, const char* reason) {
    if (!lenient_) {
      errors.add(std::move(d));
      return false;
    }
    ++skipped_total_;
    ++skipped_[reason];
    if (examples_.size() < kMaxExamples) examples_.push_back(std::move(d));
    return true;
  }

  std::size_t window_;
  std::vector<Pending> heap_;
  std::uint64_t seq_ = 0;
  bool eof_ = false, done_ = false, emitted_ = false;
  SimTime last_submit_ = 0;
  std::uint64_t skipped_total_ = 0;
  std::map<std::string, std::uint64_t> skipped_;
  std::vector<Diagnostic> examples_;
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
                const char* bad_reason = "bad-number") {
  const std::string& t = row.text(i);
  if (is_blank(t)) return {"missing-field", row.at(i, "empty (expected " + expected + ")")};
  if (!parse_double(t, v) || (whole && !is_whole(v)))
    return {bad_reason, row.at(i, "expected " + expected + ", got " + quote(t))};
  return {};
}

// Seconds (>= 0, finite) in field i -> SimTime.
NumCheck seconds_field(const Row& row, int i, double unit_seconds, SimTime& out, const std::string& unit_name) {
  double v = 0;
  NumCheck c = number(row, i, v, "a time >= 0 in " + unit_name, false, "bad-time");
  if (c.reason) return c;
  const double s = v * unit_seconds;
  if (s < 0 || s > kMaxSeconds)
    return {"bad-time", row.at(i, "expected a time >= 0 in " + unit_name + ", got " + quote(row.text(i)) +
                                      (s < 0 ? " (negative)" : " (too large)"))};
  out = from_seconds(s);
  return {};
}

std::vector<std::string> split_types(std::string_view text) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i <= text.size()) {
    std::size_t k = text.find('|', i);
    if (k == std::string_view::npos) k = text.size();
    std::string t(trim(text.substr(i, k - i)));
    if (!t.empty() && std::find(out.begin(), out.end(), t) == out.end()) out.push_back(std::move(t));
    i = k + 1;
  }
  return out;
}

// A CSV source: the header has been read; rows are split with the header's field count.
class CsvSource : public SourceBase {
 public:
  CsvSource(std::string path, bool lenient, std::size_t window, char delim)
      : SourceBase(std::move(path), lenient, window), delim_(delim) {}

  bool open_header(Diagnostics& errors) {
    if (!reader_.open(path_)) {
      errors.add(Diagnostic{path_, 0, 0, "", "cannot open the trace file"});
      return false;
    }
    if (!read_header(reader_, path_, delim_, header_, errors)) return false;
    last_line_ = 1;
    return true;
  }

 protected:
  // Next data line split into fields; Eof, Skip/Fail (bad quote, field count) or Job (= row ok).
  Read next_row(Diagnostics& errors) {
    while (reader_.next(line_)) {
      last_line_ = reader_.line();
      if (is_blank(line_)) continue;
      ++rows_;
      const int n = split_line(line_, delim_, true, fields_, starts_);
      if (n < 0) return bad(errors, Diagnostic{path_, reader_.line(), 1, "", "unterminated quoted field"}, "bad-quote");
      if (n != static_cast<int>(header_.names.size()))
        return bad(errors,
                   Diagnostic{path_, reader_.line(), 1, "",
                              "expected " + std::to_string(header_.names.size()) + " fields (" + header_.text +
                                  "), got " + std::to_string(n)},
                   "wrong-field-count");
      return Read::Job;
    }
    return Read::Eof;
  }
  Row row() const { return Row{path_, reader_.line(), fields_, starts_, header_.names}; }
  // Reports a failed check: Skip (lenient) or Fail.
  Read failed(Diagnostics& errors, NumCheck&& c) { return bad(errors, std::move(c.diag), c.reason); }

  LineReader reader_;
  Header header_;
  char delim_;
  std::string line_;
  std::vector<std::string> fields_;
  std::vector<int> starts_;
};

// GPUs per worker from one number of GPUs: whole -> gpus; (0, 1) -> milli_gpu.
const char* set_gpus(double v, WorkerSpec& w, std::string& why) {
  if (v < 0) {
    why = "negative";
    return "negative-gpus";
  }
  if (is_whole(v)) {
    if (v > 1'000'000) {
      why = "too large";
      return "bad-value";
    }
    w.gpus = static_cast<int>(v);
    return nullptr;
  }
  if (v < 1) {
    const long m = std::lround(v * 1000);
    if (m < 1 || m > 999) {
      why = "a share must be 0.001 .. 0.999 of a GPU";
      return "bad-value";
    }
    w.milli_gpu = static_cast<int>(m);
    return nullptr;
  }
  why = "more than one GPU must be a whole number";
  return "bad-value";
}

// ---------------------------------------------------------------------------------------------
// Gavel throughput table.

struct ThroughputTable {
  std::map<std::pair<std::string, int>, std::map<std::string, double>> by_key;  // (type, scale) -> gpu -> steps/s
  std::map<std::string, std::set<int>> scales;                                 // job type -> scale factors
  std::vector<std::string> job_types;
};

// "('ResNet-50 (batch size 64)', 1)" -> ("ResNet-50 (batch size 64)", 1).
bool parse_tuple_key(const std::string& key, std::string& type, int& scale) {
  if (key.size() < 7 || key.front() != '(' || key.back() != ')') return false;
  const std::size_t comma = key.rfind(", ");
  if (comma == std::string::npos || comma < 3) return false;
  const char q = key[1];
  if ((q != '\'' && q != '"') || key[comma - 1] != q) return false;
  type = key.substr(2, comma - 3);
  const std::string_view num = std::string_view(key).substr(comma + 2, key.size() - comma - 3);
  auto r = std::from_chars(num.data(), num.data() + num.size(), scale);
  return r.ec == std::errc() && r.ptr == num.data() + num.size() && scale >= 1;
}

bool load_throughputs(const std::string& path, ThroughputTable& table, Diagnostics& errors) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    errors.add(Diagnostic{path, 0, 0, "throughput_table", "cannot open the throughput table"});
    return false;
  }
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
  } catch (const nlohmann::json::parse_error& e) {
    errors.add(Diagnostic{path, 0, 0, "throughput_table", std::string("not valid JSON: ") + e.what()});
    return false;
  }
  const std::string shape = "expected {gpu_type: {\"('<job type>', <scale factor>)\": {\"null\": steps/s}}}";
  if (!j.is_object() || j.empty()) {
    errors.add(Diagnostic{path, 0, 0, "throughput_table", shape});
    return false;
  }
  const std::size_t before = errors.size();
  for (auto g = j.begin(); g != j.end(); ++g) {
    const std::string& gpu = g.key();
    if (gpu.size() > 15 && gpu.ends_with("_unconsolidated")) continue;
    if (!g->is_object()) {
      errors.add(Diagnostic{path, 0, 0, gpu, shape});
      continue;
    }
    for (auto k = g->begin(); k != g->end(); ++k) {
      std::string type;
      int scale = 0;
      if (!parse_tuple_key(k.key(), type, scale)) {
        errors.add(Diagnostic{path, 0, 0, gpu + "." + k.key(),
                              "expected a key \"('<job type>', <scale factor>)\""});
        continue;
      }
      auto alone = k->is_object() ? k->find("null") : k->end();
      if (!k->is_object() || alone == k->end() || !alone->is_number()) {
        errors.add(Diagnostic{path, 0, 0, gpu + "." + k.key(),
                              "expected an object with the job's own throughput under \"null\""});
        continue;
      }
      const double tput = alone->get<double>();
      table.scales[type].insert(scale);
      if (tput > 0 && std::isfinite(tput)) table.by_key[{type, scale}][gpu] = tput;
    }
    if (errors.size() - before >= kMaxListErrors) break;
  }
  if (errors.size() != before) return false;
  for (const auto& [type, s] : table.scales) table.job_types.push_back(type);
  if (table.by_key.empty()) {
    errors.add(Diagnostic{path, 0, 0, "throughput_table", "no positive throughputs in the table"});
    return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// gavel

class GavelSource final : public SourceBase {
 public:
  GavelSource(std::string path, bool lenient, std::size_t window, std::optional<ThroughputTable> table)
      : SourceBase(std::move(path), lenient, window), table_(std::move(table)) {
    stem_ = fs::path(path_).stem().string();
    expected_rows_ = "tab-separated Gavel job lines";
  }
  bool open(Diagnostics& errors) {
    if (!reader_.open(path_)) {
      errors.add(Diagnostic{path_, 0, 0, "", "cannot open the trace file"});
      return false;
    }
    return true;
  }

 protected:
  Read read(JobSpec& job, std::string& cls, Diagnostics& errors) override {
    while (reader_.next(line_)) {
      last_line_ = reader_.line();
      if (is_blank(line_)) continue;
      const std::uint64_t index = rows_++;
      const int n = split_line(line_, '\t', false, fields_, starts_);
      if (n != 7 && n != 10)
        return bad(errors,
                   Diagnostic{path_, reader_.line(), 1, "",
                              "expected 10 tab-separated fields (job_type, command, working_directory, "
                              "num_steps_arg, needs_data_dir, total_steps, scale_factor, priority_weight, "
                              "SLO, arrival_time) or 7 (the Philly-derived layout: job_type, command, "
                              "num_steps_arg, needs_data_dir, total_steps, arrival_time, scale_factor), got " +
                                  std::to_string(n)},
                   "wrong-field-count");
      const bool wide = n == 10;
      const std::vector<std::string>& names = wide ? kNames10 : kNames7;
      const Row row{path_, reader_.line(), fields_, starts_, names};
      const int steps_i = wide ? 5 : 4, scale_i = 6, arrival_i = wide ? 9 : 5;
      for (auto& f : fields_) f.assign(trim(f));
      if (row.text(0).empty()) return bad(errors, row.at(0, "empty (expected a job type)"), "missing-field");

      double steps = 0, scale = 0, weight = 1;
      if (NumCheck c = number(row, steps_i, steps, "an integer number of steps >= 1", true); c.reason)
        return bad(errors, std::move(c.diag), c.reason);
      if (steps < 1) return bad(errors, row.at(steps_i, "expected an integer number of steps >= 1, got " + quote(row.text(steps_i))), "bad-value");
      if (NumCheck c = number(row, scale_i, scale, "an integer number of GPUs >= 1", true); c.reason)
        return bad(errors, std::move(c.diag), c.reason);
      if (scale < 0)
        return bad(errors, row.at(scale_i, "expected an integer number of GPUs >= 1, got " + quote(row.text(scale_i)) + " (negative)"), "negative-gpus");
      if (scale < 1 || scale > 100'000)
        return bad(errors, row.at(scale_i, "expected an integer number of GPUs >= 1, got " + quote(row.text(scale_i))), "bad-value");
      if (wide) {
        if (NumCheck c = number(row, 7, weight, "a priority weight > 0"); c.reason)
          return bad(errors, std::move(c.diag), c.reason);
        if (!(weight > 0) || weight > 1e6)
          return bad(errors, row.at(7, "expected a priority weight > 0, got " + quote(row.text(7))), "bad-value");
      }
      SimTime submit = 0;
      if (NumCheck c = seconds_field(row, arrival_i, 1.0, submit, "seconds"); c.reason)
        return bad(errors, std::move(c.diag), c.reason);

      job = JobSpec{};
      job.id = stem_ + "-" + std::to_string(index);
      job.submit = submit;
      job.workers = static_cast<int>(scale);
      job.worker.gpus = 1;
      job.steps = steps;
      job.priority = static_cast<int>(std::lround(weight));
      if (!wide) job.tenant = stem_;
      if (table_) {
        auto it = table_->by_key.find({row.text(0), job.workers});
        if (it == table_->by_key.end()) return bad(errors, row.at(0, unknown_key(row.text(0), job.workers)), "unknown-throughput-key");
        job.steps_per_second = it->second;
        for (const auto& [gpu, tput] : it->second) job.gpu_types.push_back(gpu);
      }
      cls = row.text(0);
      time_at_ = row.at(arrival_i, "");
      time_text_ = row.text(arrival_i);
      return Read::Job;
    }
    return Read::Eof;
  }

 private:
  std::string unknown_key(const std::string& type, int scale) const {
    std::string key = "('" + type + "', " + std::to_string(scale) + ")";
    auto s = table_->scales.find(type);
    if (s == table_->scales.end()) {
      std::string m = "job type " + quote(type) + " is not in the throughput table (no key " + key + ")";
      const std::string close = did_you_mean(type, table_->job_types);
      if (!close.empty()) m += "; did you mean \"" + close + "\"?";
      return m;
    }
    std::string have;
    for (int k : s->second) have += (have.empty() ? "" : ", ") + std::to_string(k);
    if (s->second.count(scale))
      return "the throughput table has no positive throughput for " + key + " on any GPU type";
    return "the throughput table has no key " + key + " (scale factors for this job type: " + have + ")";
  }

  static inline const std::vector<std::string> kNames10 = {
      "job_type", "command", "working_directory", "num_steps_arg", "needs_data_dir",
      "total_steps", "scale_factor", "priority_weight", "SLO", "arrival_time"};
  static inline const std::vector<std::string> kNames7 = {
      "job_type", "command", "num_steps_arg", "needs_data_dir", "total_steps", "arrival_time", "scale_factor"};

  std::optional<ThroughputTable> table_;
  std::string stem_;
  LineReader reader_;
  std::string line_;
  std::vector<std::string> fields_;
  std::vector<int> starts_;
};

// ---------------------------------------------------------------------------------------------
// openb pods

class OpenbSource final : public CsvSource {
 public:
  OpenbSource(std::string path, bool lenient, std::size_t window, bool file_order)
      : CsvSource(std::move(path), lenient, window, ','), file_order_(file_order) {
    order_hint_ = "; for a saturation replay in file order (times ignored) use file_order";
  }
  bool init(Diagnostics& errors) {
    if (!open_header(errors)) return false;
    const std::size_t before = errors.size();
    name_ = header_.find(path_, "name", true, errors);
    cpu_ = header_.find(path_, "cpu_milli", true, errors);
    mem_ = header_.find(path_, "memory_mib", true, errors);
    num_ = header_.find(path_, "num_gpu", true, errors);
    milli_ = header_.find(path_, "gpu_milli", true, errors);
    spec_ = header_.find(path_, "gpu_spec", false, errors);
    qos_ = header_.find(path_, "qos", false, errors);
    if (!file_order_) {
      create_ = header_.find(path_, "creation_time", false, errors);
      if (create_ >= 0) delete_ = header_.find(path_, "deletion_time", false, errors);
    }
    return errors.size() == before;
  }

 protected:
  Read read(JobSpec& job, std::string& cls, Diagnostics& errors) override {
    const Read r = next_row(errors);
    if (r != Read::Job) return r;
    const Row row = this->row();
    if (is_blank(row.text(name_))) return bad(errors, row.at(name_, "empty (expected the pod's name)"), "missing-field");
    double cpu = 0, mem = 0, num = 0, milli = 0;
    if (NumCheck c = number(row, cpu_, cpu, "CPU in milli-cores >= 0"); c.reason) return failed(errors, std::move(c));
    if (cpu < 0) return bad(errors, row.at(cpu_, "expected CPU in milli-cores >= 0, got " + quote(row.text(cpu_))), "bad-value");
    if (NumCheck c = number(row, mem_, mem, "memory in MiB >= 0"); c.reason) return failed(errors, std::move(c));
    if (mem < 0) return bad(errors, row.at(mem_, "expected memory in MiB >= 0, got " + quote(row.text(mem_))), "bad-value");
    if (NumCheck c = number(row, num_, num, "an integer number of GPUs >= 0", true); c.reason) return failed(errors, std::move(c));
    if (num < 0) return bad(errors, row.at(num_, "expected an integer number of GPUs >= 0, got " + quote(row.text(num_)) + " (negative)"), "negative-gpus");
    if (num > 1'000'000) return bad(errors, row.at(num_, "too many GPUs: " + quote(row.text(num_))), "bad-value");
    if (NumCheck c = number(row, milli_, milli, "an integer share of each GPU in thousandths, 0 .. 1000", true); c.reason)
      return failed(errors, std::move(c));
    if (milli < 0) return bad(errors, row.at(milli_, "expected a share of each GPU in thousandths, 0 .. 1000, got " + quote(row.text(milli_)) + " (negative)"), "negative-gpus");

    job = JobSpec{};
    job.id = trim(row.text(name_));
    job.workers = 1;
    job.worker.cpu = cpu / 1000.0;
    job.worker.memory_bytes = mem * kMiB;
    if (num == 0) {
      if (milli != 0)
        return bad(errors, row.at(milli_, "a pod without GPUs (num_gpu 0) must have gpu_milli 0, got " + quote(row.text(milli_))), "bad-value");
    } else if (milli == 1000) {
      job.worker.gpus = static_cast<int>(num);
    } else if (milli >= 1 && milli <= 999) {
      if (num != 1)
        return bad(errors, row.at(milli_, "a GPU share (gpu_milli " + quote(row.text(milli_)) + ") needs num_gpu 1, got " + quote(row.text(num_))), "bad-value");
      job.worker.milli_gpu = static_cast<int>(milli);
    } else {
      return bad(errors, row.at(milli_, "expected gpu_milli 1 .. 1000 for a GPU pod, got " + quote(row.text(milli_))), "bad-value");
    }
    if (spec_ >= 0) job.gpu_types = split_types(row.text(spec_));
    cls.clear();
    if (qos_ >= 0) {
      const std::string_view q = trim(row.text(qos_));
      if (q == "BE") {
        job.priority = 0;
      } else if (q == "Burstable") {
        job.priority = 1;
      } else if (q == "LS") {
        job.priority = 2;
        job.preemptible = false;
      } else if (q == "Guaranteed") {
        job.priority = 3;
        job.preemptible = false;
      } else if (!q.empty()) {
        return bad(errors, row.at(qos_, "expected a QoS class (LS, BE, Burstable, Guaranteed), got " + quote(q)), "bad-value");
      }
      cls.assign(q);
    }
    if (create_ >= 0) {
      if (NumCheck c = seconds_field(row, create_, 1.0, job.submit, "seconds"); c.reason) return failed(errors, std::move(c));
      if (delete_ >= 0 && !is_absent(row.text(delete_))) {
        if (NumCheck c = seconds_field(row, delete_, 1.0, job.end, "seconds"); c.reason) return failed(errors, std::move(c));
        if (job.end < job.submit)
          return bad(errors, row.at(delete_, "deletion_time " + quote(row.text(delete_)) + " is before creation_time " + quote(row.text(create_))), "bad-time");
      }
      time_at_ = row.at(create_, "");
      time_text_ = row.text(create_);
    } else {
      time_at_ = row.at(name_, "");
      time_text_ = "0";
    }
    return Read::Job;
  }

 private:
  bool file_order_;
  int name_ = -1, cpu_ = -1, mem_ = -1, num_ = -1, milli_ = -1, spec_ = -1, qos_ = -1, create_ = -1, delete_ = -1;
};

// ---------------------------------------------------------------------------------------------
// dlrm-2025

class DlrmSource final : public CsvSource {
 public:
  DlrmSource(std::string path, bool lenient, std::size_t window)
      : CsvSource(std::move(path), lenient, window, ',') {}
  bool init(Diagnostics& errors) {
    if (!open_header(errors)) return false;
    const std::size_t before = errors.size();
    id_ = header_.find(path_, "instance_sn", true, errors);
    role_ = header_.find(path_, "role", true, errors);
    app_ = header_.find(path_, "app_name", true, errors);
    cpu_ = header_.find(path_, "cpu_request", true, errors);
    gpu_ = header_.find(path_, "gpu_request", true, errors);
    mem_ = header_.find(path_, "memory_request", true, errors);
    create_ = header_.find(path_, "creation_time", true, errors);
    delete_ = header_.find(path_, "deletion_time", true, errors);
    return errors.size() == before;
  }

 protected:
  Read read(JobSpec& job, std::string& cls, Diagnostics& errors) override {
    const Read r = next_row(errors);
    if (r != Read::Job) return r;
    const Row row = this->row();
    if (is_blank(row.text(id_))) return bad(errors, row.at(id_, "empty (expected the instance's id)"), "missing-field");
    double cpu = 0, gpus = 0, mem = 0;
    if (NumCheck c = number(row, cpu_, cpu, "vCPUs >= 0"); c.reason) return failed(errors, std::move(c));
    if (cpu < 0) return bad(errors, row.at(cpu_, "expected vCPUs >= 0, got " + quote(row.text(cpu_))), "bad-value");
    if (NumCheck c = number(row, gpu_, gpus, "GPUs >= 0"); c.reason) return failed(errors, std::move(c));
    if (NumCheck c = number(row, mem_, mem, "memory in GiB >= 0"); c.reason) return failed(errors, std::move(c));
    if (mem < 0) return bad(errors, row.at(mem_, "expected memory in GiB >= 0, got " + quote(row.text(mem_))), "bad-value");
    job = JobSpec{};
    std::string why;
    if (const char* reason = set_gpus(gpus, job.worker, why))
      return bad(errors, row.at(gpu_, "expected GPUs >= 0 (whole, or a share below 1), got " + quote(row.text(gpu_)) + " (" + why + ")"), reason);
    job.id = trim(row.text(id_));
    job.workers = 1;
    job.worker.cpu = cpu;
    job.worker.memory_bytes = mem * kGiB;
    job.tenant = trim(row.text(app_));
    job.preemptible = false;
    if (!is_absent(row.text(create_)))
      if (NumCheck c = seconds_field(row, create_, 1.0, job.submit, "seconds"); c.reason) return failed(errors, std::move(c));
    if (!is_absent(row.text(delete_))) {
      if (NumCheck c = seconds_field(row, delete_, 1.0, job.end, "seconds"); c.reason) return failed(errors, std::move(c));
      if (job.end < job.submit)
        return bad(errors, row.at(delete_, "deletion_time " + quote(row.text(delete_)) + " is before creation_time " + quote(row.text(create_))), "bad-time");
    }
    cls.assign(trim(row.text(role_)));
    time_at_ = row.at(create_, "");
    time_text_ = is_absent(row.text(create_)) ? std::string("0 (before the trace)") : row.text(create_);
    return Read::Job;
  }

 private:
  int id_ = -1, role_ = -1, app_ = -1, cpu_ = -1, gpu_ = -1, mem_ = -1, create_ = -1, delete_ = -1;
};

// ---------------------------------------------------------------------------------------------
// generic-csv

const std::pair<const char*, double> kTimeUnits[] = {{"s", 1.0}, {"ms", 1e-3}, {"us", 1e-6}, {"ns", 1e-9},
                                                     {"min", 60.0}, {"h", 3600.0}};
const std::pair<const char*, double> kMemoryUnits[] = {{"B", 1.0},           {"KB", 1e3},      {"MB", 1e6},
                                                       {"GB", 1e9},          {"TB", 1e12},     {"KiB", 1024.0},
                                                       {"MiB", kMiB},        {"GiB", kGiB},    {"TiB", kGiB * 1024}};

std::optional<double> unit_of(const std::string& name, const auto& table) {
  for (const auto& [n, v] : table)
    if (name == n) return v;
  return std::nullopt;
}

class GenericSource final : public CsvSource {
 public:
  GenericSource(std::string path, bool lenient, std::size_t window, char delim, const GenericJobColumns& c)
      : CsvSource(std::move(path), lenient, window, delim), c_(c) {}

  bool init(Diagnostics& errors) {
    iso_ = c_.submit_unit == "iso8601";
    if (!iso_) submit_unit_ = *unit_of(c_.submit_unit, kTimeUnits);
    duration_unit_ = *unit_of(c_.duration_unit, kTimeUnits);
    memory_unit_ = *unit_of(c_.memory_unit, kMemoryUnits);
    if (!open_header(errors)) return false;
    const std::size_t before = errors.size();
    id_ = header_.find(path_, c_.id, true, errors);
    submit_ = header_.find(path_, c_.submit, true, errors);
    duration_ = header_.find(path_, c_.duration, true, errors);
    workers_ = header_.find(path_, c_.workers, true, errors);
    gpus_ = header_.find(path_, c_.gpus, true, errors);
    milli_ = header_.find(path_, c_.milli_gpu, true, errors);
    fraction_ = header_.find(path_, c_.gpu_fraction, true, errors);
    cpu_ = header_.find(path_, c_.cpu, true, errors);
    mem_ = header_.find(path_, c_.memory, true, errors);
    gpu_mem_ = header_.find(path_, c_.gpu_memory, true, errors);
    type_ = header_.find(path_, c_.gpu_type, true, errors);
    tenant_ = header_.find(path_, c_.tenant, true, errors);
    prio_ = header_.find(path_, c_.priority, true, errors);
    return errors.size() == before;
  }

 protected:
  Read read(JobSpec& job, std::string& cls, Diagnostics& errors) override {
    const Read r = next_row(errors);
    if (r != Read::Job) return r;
    const std::uint64_t index = rows_ - 1;
    const Row row = this->row();
    job = JobSpec{};
    cls.clear();
    // submit
    if (iso_) {
      const auto ns = parse_iso8601_ns(row.text(submit_));
      if (!ns) return bad(errors, row.at(submit_, "expected an ISO 8601 date and time (2023-11-16 18:15:46.68), got " + quote(row.text(submit_))), "bad-time");
      if (!have_base_) {
        base_ = *ns;
        have_base_ = true;
      }
      job.submit = *ns - base_;
      if (job.submit < 0)
        return bad(errors, row.at(submit_, "submit time " + quote(row.text(submit_)) + " is earlier than the first row's (times are relative to it); rows must be in time order"), "out-of-order");
    } else if (NumCheck c = seconds_field(row, submit_, submit_unit_, job.submit, c_.submit_unit); c.reason) {
      return failed(errors, std::move(c));
    }
    // duration
    double d = 0;
    if (NumCheck c = number(row, duration_, d, "a duration > 0 in " + c_.duration_unit); c.reason) return failed(errors, std::move(c));
    const double ds = d * duration_unit_;
    if (!(ds > 0) || ds > kMaxSeconds || from_seconds(ds) <= 0)
      return bad(errors, row.at(duration_, "expected a duration > 0 in " + c_.duration_unit + ", got " + quote(row.text(duration_))), "bad-value");
    job.duration = from_seconds(ds);
    job.reference_gpu_type = c_.reference_gpu_type;
    // gang
    if (workers_ >= 0) {
      double w = 0;
      if (NumCheck c = number(row, workers_, w, "an integer number of workers >= 1", true); c.reason) return failed(errors, std::move(c));
      if (w < 1 || w > 1'000'000) return bad(errors, row.at(workers_, "expected an integer number of workers >= 1, got " + quote(row.text(workers_))), "bad-value");
      job.workers = static_cast<int>(w);
    }
    // GPUs: at most one of the three columns non-zero.
    int set = 0;
    if (gpus_ >= 0) {
      double v = 0;
      if (NumCheck c = number(row, gpus_, v, "GPUs per worker >= 0"); c.reason) return failed(errors, std::move(c));
      std::string why;
      if (const char* reason = set_gpus(v, job.worker, why))
        return bad(errors, row.at(gpus_, "expected GPUs per worker >= 0 (whole, or a share below 1), got " + quote(row.text(gpus_)) + " (" + why + ")"), reason);
      if (v != 0) ++set;
    }
    if (milli_ >= 0) {
      double v = 0;
      if (NumCheck c = number(row, milli_, v, "an integer share of a GPU in thousandths >= 0", true); c.reason) return failed(errors, std::move(c));
      if (v < 0) return bad(errors, row.at(milli_, "expected a share of a GPU in thousandths >= 0, got " + quote(row.text(milli_)) + " (negative)"), "negative-gpus");
      if (v != 0) {
        if (++set > 1) return bad(errors, row.at(milli_, "more than one of the GPU columns is non-zero"), "bad-value");
        std::string why;
        if (const char* reason = set_gpus(v / 1000.0, job.worker, why))
          return bad(errors, row.at(milli_, "expected 1 .. 999 thousandths or whole GPUs (multiples of 1000), got " + quote(row.text(milli_))), reason);
      }
    }
    if (fraction_ >= 0) {
      double v = 0;
      if (NumCheck c = number(row, fraction_, v, "a share of a GPU, 0 .. 1"); c.reason) return failed(errors, std::move(c));
      if (v < 0) return bad(errors, row.at(fraction_, "expected a share of a GPU, 0 .. 1, got " + quote(row.text(fraction_)) + " (negative)"), "negative-gpus");
      if (v != 0) {
        if (++set > 1) return bad(errors, row.at(fraction_, "more than one of the GPU columns is non-zero"), "bad-value");
        std::string why;
        if (const char* reason = set_gpus(v, job.worker, why))
          return bad(errors, row.at(fraction_, "expected a share of a GPU, 0 .. 1 (or whole GPUs), got " + quote(row.text(fraction_)) + " (" + why + ")"), reason);
      }
    }
    if (cpu_ >= 0) {
      if (NumCheck c = number(row, cpu_, job.worker.cpu, "CPU cores >= 0"); c.reason) return failed(errors, std::move(c));
      if (job.worker.cpu < 0) return bad(errors, row.at(cpu_, "expected CPU cores >= 0, got " + quote(row.text(cpu_))), "bad-value");
    }
    if (mem_ >= 0) {
      double m = 0;
      if (NumCheck c = number(row, mem_, m, "memory >= 0 in " + c_.memory_unit); c.reason) return failed(errors, std::move(c));
      if (m < 0) return bad(errors, row.at(mem_, "expected memory >= 0 in " + c_.memory_unit + ", got " + quote(row.text(mem_))), "bad-value");
      job.worker.memory_bytes = m * memory_unit_;
    }
    if (gpu_mem_ >= 0) {
      double m = 0;
      if (NumCheck c = number(row, gpu_mem_, m, "GPU memory >= 0 in " + c_.memory_unit); c.reason) return failed(errors, std::move(c));
      if (m < 0) return bad(errors, row.at(gpu_mem_, "expected GPU memory >= 0 in " + c_.memory_unit + ", got " + quote(row.text(gpu_mem_))), "bad-value");
      job.worker.gpu_memory_bytes = m * memory_unit_;
    }
    if (type_ >= 0) job.gpu_types = split_types(row.text(type_));
    if (tenant_ >= 0) job.tenant = trim(row.text(tenant_));
    if (prio_ >= 0 && !is_blank(row.text(prio_))) {
      double p = 0;
      if (NumCheck c = number(row, prio_, p, "an integer priority", true); c.reason) return failed(errors, std::move(c));
      if (std::fabs(p) > 1e9) return bad(errors, row.at(prio_, "priority out of range: " + quote(row.text(prio_))), "bad-value");
      job.priority = static_cast<int>(p);
    }
    if (id_ >= 0) {
      if (is_blank(row.text(id_))) return bad(errors, row.at(id_, "empty (expected the job's id)"), "missing-field");
      job.id = trim(row.text(id_));
    } else {
      job.id = "job-" + std::to_string(index);
    }
    time_at_ = row.at(submit_, "");
    time_text_ = row.text(submit_);
    return Read::Job;
  }

 private:
  GenericJobColumns c_;
  bool iso_ = false, have_base_ = false;
  std::int64_t base_ = 0;
  double submit_unit_ = 1, duration_unit_ = 1, memory_unit_ = 1;
  int id_ = -1, submit_ = -1, duration_ = -1, workers_ = -1, gpus_ = -1, milli_ = -1, fraction_ = -1, cpu_ = -1,
      mem_ = -1, gpu_mem_ = -1, type_ = -1, tenant_ = -1, prio_ = -1;
};

// ---------------------------------------------------------------------------------------------
// Whole-table readers (node lists, run times).

struct Table {
  std::string file;
  LineReader reader;
  Header header;
  std::vector<std::string> fields;
  std::vector<int> starts;
  std::string line;
  std::size_t before = 0;  // errors before this table's

  bool open(const std::string& path, const char* what, Diagnostics& errors) {
    file = path;
    before = errors.size();
    if (!reader.open(path)) {
      errors.add(Diagnostic{path, 0, 0, "", std::string("cannot open the ") + what});
      return false;
    }
    return read_header(reader, path, ',', header, errors);
  }
  // The next data row, split; false at the end. Bad lines are reported and skipped.
  bool next(Diagnostics& errors, bool& ok) {
    while (reader.next(line)) {
      if (is_blank(line)) continue;
      const int n = split_line(line, ',', true, fields, starts);
      if (n != static_cast<int>(header.names.size())) {
        if (errors.size() - before < kMaxListErrors)
          errors.add(Diagnostic{file, reader.line(), 1, "",
                                n < 0 ? std::string("unterminated quoted field")
                                      : "expected " + std::to_string(header.names.size()) + " fields (" +
                                            header.text + "), got " + std::to_string(n)});
        ok = false;
        continue;
      }
      return true;
    }
    return false;
  }
  Row row() const { return Row{file, reader.line(), fields, starts, header.names}; }
};

}  // namespace

// ---------------------------------------------------------------------------------------------

const std::vector<std::string>& job_trace_formats() {
  static const std::vector<std::string> f = {"gavel", "openb", "dlrm-2025", "generic-csv"};
  return f;
}

const std::vector<std::string>& node_list_formats() {
  static const std::vector<std::string> f = {"openb", "pai-machines"};
  return f;
}

std::unique_ptr<JobTraceSource> open_job_trace(const JobTraceOptions& o, Diagnostics& errors) {
  const std::size_t before = errors.size();
  auto option_error = [&](const std::string& option, const std::string& message) {
    errors.add(Diagnostic{"", 0, 0, option, message});
  };
  const auto& formats = job_trace_formats();
  if (std::find(formats.begin(), formats.end(), o.format) == formats.end()) {
    std::string m = "unknown job trace format \"" + o.format + "\" (formats: gavel, openb, dlrm-2025, generic-csv)";
    if (o.format == "pai-machines")
      m += "; pai-machines is a node list: use read_node_list";
    else if (o.format == "philly-runtime")
      m += "; philly-runtime is a duration distribution: use read_philly_runtimes";
    else if (const std::string close = did_you_mean(o.format, formats); !close.empty())
      m += "; did you mean \"" + close + "\"?";
    option_error("format", m);
    return nullptr;
  }
  std::error_code ec;
  if (o.path.empty() || !fs::exists(o.path, ec))
    option_error("path", "no such file: \"" + o.path + "\"");
  else if (fs::is_directory(o.path, ec))
    option_error("path", "\"" + o.path + "\" is a folder; a job trace is one file");
  if (!o.throughput_table.empty() && o.format != "gavel")
    option_error("throughput_table", "only the gavel format takes a throughput table");
  if (o.file_order && o.format != "openb") option_error("file_order", "only the openb format takes file_order");
  const std::size_t window = o.reorder_window.value_or(o.format == "dlrm-2025" ? kDlrmReorderWindow : 0);
  if (window > 100'000'000) option_error("reorder_window", "at most 100000000 rows");

  char delim = ',';
  if (o.format == "generic-csv") {
    const GenericJobColumns& c = o.columns;
    if (c.submit.empty()) option_error("columns.submit", "generic-csv needs the submit time's column");
    if (c.duration.empty()) option_error("columns.duration", "generic-csv needs the duration's column");
    if (c.submit_unit != "iso8601" && !unit_of(c.submit_unit, kTimeUnits))
      option_error("columns.submit_unit", "expected s, ms, us, ns, min, h or iso8601 (got \"" + c.submit_unit + "\")");
    if (!unit_of(c.duration_unit, kTimeUnits))
      option_error("columns.duration_unit", "expected s, ms, us, ns, min or h (got \"" + c.duration_unit + "\")");
    if (!unit_of(c.memory_unit, kMemoryUnits))
      option_error("columns.memory_unit",
                   "expected B, KB, MB, GB, TB, KiB, MiB, GiB or TiB (got \"" + c.memory_unit + "\")");
    if (!parse_delimiter(c.delimiter, delim))
      option_error("columns.delimiter", "expected one character (or \"tab\"), got \"" + c.delimiter + "\"");
  }
  std::optional<ThroughputTable> table;
  if (o.format == "gavel" && !o.throughput_table.empty() && errors.size() == before) {
    table.emplace();
    if (!load_throughputs(o.throughput_table, *table, errors)) return nullptr;
  }
  if (errors.size() != before) return nullptr;

  if (o.format == "gavel") {
    auto s = std::make_unique<GavelSource>(o.path, o.lenient, window, std::move(table));
    if (!s->open(errors)) return nullptr;
    return s;
  }
  if (o.format == "openb") {
    auto s = std::make_unique<OpenbSource>(o.path, o.lenient, window, o.file_order);
    if (!s->init(errors)) return nullptr;
    return s;
  }
  if (o.format == "dlrm-2025") {
    auto s = std::make_unique<DlrmSource>(o.path, o.lenient, window);
    if (!s->init(errors)) return nullptr;
    return s;
  }
  auto s = std::make_unique<GenericSource>(o.path, o.lenient, window, delim, o.columns);
  if (!s->init(errors)) return nullptr;
  return s;
}

std::vector<NodeRecord> read_node_list(const std::string& format, const std::string& path, Diagnostics& errors) {
  const auto& formats = node_list_formats();
  if (std::find(formats.begin(), formats.end(), format) == formats.end()) {
    std::string m = "unknown node list format \"" + format + "\" (formats: openb, pai-machines)";
    if (const std::string close = did_you_mean(format, formats); !close.empty())
      m += "; did you mean \"" + close + "\"?";
    errors.add(Diagnostic{"", 0, 0, "format", m});
    return {};
  }
  const bool openb = format == "openb";
  Table t;
  if (!t.open(path, "node list", errors)) return {};
  const std::size_t before = errors.size();
  const int id_i = t.header.find(path, openb ? "sn" : "machine", true, errors);
  const int cpu_i = t.header.find(path, openb ? "cpu_milli" : "cap_cpu", true, errors);
  const int mem_i = t.header.find(path, openb ? "memory_mib" : "cap_mem", true, errors);
  const int gpu_i = t.header.find(path, openb ? "gpu" : "cap_gpu", true, errors);
  const int type_i = t.header.find(path, openb ? "model" : "gpu_type", true, errors);
  if (errors.size() != before) return {};

  std::vector<NodeRecord> nodes;
  std::set<std::string> seen;
  bool ok = true;
  auto report = [&](Diagnostic d) {
    ok = false;
    if (errors.size() - before < kMaxListErrors) errors.add(std::move(d));
  };
  while (t.next(errors, ok)) {
    const Row row = t.row();
    NodeRecord n;
    n.id = trim(row.text(id_i));
    if (n.id.empty()) {
      report(row.at(id_i, "empty (expected the node's id)"));
      continue;
    }
    if (!seen.insert(n.id).second) {
      report(row.at(id_i, "node " + quote(n.id) + " appears twice"));
      continue;
    }
    double cpu = 0, mem = 0, gpus = 0;
    bool row_ok = true;
    auto num = [&](int i, double& v, const std::string& expected, bool whole) {
      NumCheck c = number(row, i, v, expected, whole);
      if (!c.reason && v < 0) c = {"bad-value", row.at(i, "expected " + expected + ", got " + quote(row.text(i)))};
      if (c.reason) {
        report(std::move(c.diag));
        row_ok = false;
      }
    };
    num(cpu_i, cpu, openb ? "CPU in milli-cores >= 0" : "CPU cores >= 0", false);
    if (row_ok) num(mem_i, mem, openb ? "memory in MiB >= 0" : "memory in GB >= 0", false);
    if (row_ok) num(gpu_i, gpus, "an integer number of GPUs >= 0", true);
    if (!row_ok) continue;
    if (gpus > 1'000'000) {
      report(row.at(gpu_i, "too many GPUs: " + quote(row.text(gpu_i))));
      continue;
    }
    n.cpu = openb ? cpu / 1000.0 : cpu;
    n.memory_bytes = openb ? mem * kMiB : mem * kGiB;
    n.gpus = static_cast<int>(gpus);
    std::string type(trim(row.text(type_i)));
    if (!openb && type == "CPU") {
      if (n.gpus > 0) {
        report(row.at(type_i, "a \"CPU\" machine with " + quote(row.text(gpu_i)) + " GPUs"));
        continue;
      }
      type.clear();
    }
    if (n.gpus > 0 && type.empty()) {
      report(row.at(type_i, "a node with " + quote(row.text(gpu_i)) + " GPUs needs a GPU type"));
      continue;
    }
    n.gpu_type = n.gpus > 0 ? type : std::string();
    nodes.push_back(std::move(n));
  }
  if (ok && nodes.empty())
    report(Diagnostic{path, std::max(t.reader.line(), 1), 0, "", "no nodes (the file has a header only)"});
  if (!ok) return {};
  return nodes;
}

EmpiricalDistribution::EmpiricalDistribution(std::vector<double> values) : values_(std::move(values)) {
  std::sort(values_.begin(), values_.end());
}

double EmpiricalDistribution::sample(RngStream& rng) const {
  if (values_.empty()) return 0;
  return values_[static_cast<std::size_t>(rng.below(values_.size()))];
}

double EmpiricalDistribution::quantile(double q) const {
  if (values_.empty()) return 0;
  if (!(q > 0)) return values_.front();
  if (q >= 1) return values_.back();
  const double pos = q * static_cast<double>(values_.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(pos));
  if (lo + 1 >= values_.size()) return values_.back();
  const double frac = pos - static_cast<double>(lo);
  return values_[lo] + frac * (values_[lo + 1] - values_[lo]);
}

double EmpiricalDistribution::mean() const {
  if (values_.empty()) return 0;
  double s = 0;
  for (double v : values_) s += v;
  return s / static_cast<double>(values_.size());
}

EmpiricalDistribution read_philly_runtimes(const std::string& path, Diagnostics& errors) {
  Table t;
  if (!t.open(path, "run-time file", errors)) return {};
  const std::size_t before = errors.size();
  const int i = t.header.find(path, "runtime", true, errors);
  if (errors.size() != before) return {};
  std::vector<double> values;
  bool ok = true;
  while (t.next(errors, ok)) {
    const Row row = t.row();
    double v = 0;
    NumCheck c = number(row, i, v, "a run time in seconds >= 0");
    if (!c.reason && v < 0) c = {"bad-value", row.at(i, "expected a run time in seconds >= 0, got " + quote(row.text(i)))};
    if (c.reason) {
      ok = false;
      if (errors.size() - before < kMaxListErrors) errors.add(std::move(c.diag));
      continue;
    }
    values.push_back(v);
  }
  if (ok && values.empty()) {
    errors.add(Diagnostic{path, std::max(t.reader.line(), 1), 0, "", "no run times (the file has a header only)"});
    return {};
  }
  if (!ok) return {};
  return EmpiricalDistribution(std::move(values));
}

}  // namespace fleetsim
