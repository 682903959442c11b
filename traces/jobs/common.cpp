// What every job and cluster trace reader shares: line and header reading, the job source base
// (lenient counting, the reorder buffer, the order check), typed field parsing, and the
// whole-table reader behind node lists (openb, pai-machines) and Philly's run times.
#include "traces/jobs/common.hpp"

#include <algorithm>
#include <cmath>
#include <set>

#include "sim/time.hpp"
#include "traces/delimited.hpp"
#include "traces/text.hpp"

namespace fleetsim::job_readers {

namespace {

constexpr std::size_t kMaxExamples = 5;

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

}  // namespace

bool is_whole(double v) { return std::floor(v) == v && std::fabs(v) < 9.0e15; }

bool is_absent(std::string_view text) {
  text = trim(text);
  return text.empty() || text == "NaN" || text == "nan" || text == "NAN";
}

// ---------------------------------------------------------------------------------------------
// SourceBase

bool SourceBase::next(JobSpec& out, Diagnostics& errors) {
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
    // Job ids name outcomes (jobs.csv, the report): two jobs under one id would be confused.
    if (!p.job.id.empty()) {
      const auto [first, inserted] = first_line_of_id_.try_emplace(p.job.id, time_at_.line);
      if (!inserted) {
        Diagnostic d{time_at_.file, time_at_.line, 0, "id",
                     "job id " + quote(p.job.id) + " appears twice: on line " + std::to_string(first->second) +
                         " and on line " + std::to_string(time_at_.line)};
        if (!reject(errors, std::move(d), "duplicate-id")) {
          done_ = true;
          return false;
        }
        continue;
      }
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

bool SourceBase::reject(Diagnostics& errors, Diagnostic d, const char* reason) {
  if (!lenient_) {
    errors.add(std::move(d));
    return false;
  }
  ++skipped_total_;
  ++skipped_[reason];
  if (examples_.size() < kMaxExamples) examples_.push_back(std::move(d));
  return true;
}

// ---------------------------------------------------------------------------------------------
// Fields

NumCheck number(const Row& row, int i, double& v, const std::string& expected, bool whole,
                const char* bad_reason) {
  const std::string& t = row.text(i);
  if (is_blank(t)) return {"missing-field", row.at(i, "empty (expected " + expected + ")")};
  if (!parse_double(t, v) || (whole && !is_whole(v)))
    return {bad_reason, row.at(i, "expected " + expected + ", got " + quote(t))};
  return {};
}

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
// CsvSource

bool CsvSource::open_header(Diagnostics& errors) {
  if (!reader_.open(path_)) {
    errors.add(Diagnostic{path_, 0, 0, "", "cannot open the trace file"});
    return false;
  }
  if (!read_header(reader_, path_, delim_, header_, errors)) return false;
  last_line_ = 1;
  return true;
}

Read CsvSource::next_row(Diagnostics& errors) {
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

Read CsvSource::deletion_time(const Row& row, int create, int del, JobSpec& job, Diagnostics& errors) {
  if (NumCheck c = seconds_field(row, del, 1.0, job.end, "seconds"); c.reason) return failed(errors, std::move(c));
  if (job.end < job.submit)
    return bad(errors, row.at(del, "deletion_time " + quote(row.text(del)) + " is before creation_time " + quote(row.text(create))), "bad-time");
  return Read::Job;
}

// ---------------------------------------------------------------------------------------------
// Whole tables

bool Table::open(const std::string& path, const char* what, Diagnostics& errors) {
  file = path;
  before = errors.size();
  if (!reader.open(path)) {
    errors.add(Diagnostic{path, 0, 0, "", std::string("cannot open the ") + what});
    return false;
  }
  return read_header(reader, path, ',', header, errors);
}

bool Table::next(Diagnostics& errors, bool& ok) {
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

std::vector<NodeRecord> read_nodes(const std::string& path, const NodeListSpec& spec, Diagnostics& errors) {
  Table t;
  if (!t.open(path, "node list", errors)) return {};
  const std::size_t before = errors.size();
  const int id_i = t.header.find(path, spec.id, true, errors);
  const int cpu_i = t.header.find(path, spec.cpu, true, errors);
  const int mem_i = t.header.find(path, spec.memory, true, errors);
  const int gpu_i = t.header.find(path, spec.gpus, true, errors);
  const int type_i = t.header.find(path, spec.gpu_type, true, errors);
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
    num(cpu_i, cpu, spec.cpu_expected, false);
    if (row_ok) num(mem_i, mem, spec.memory_expected, false);
    if (row_ok) num(gpu_i, gpus, "an integer number of GPUs >= 0", true);
    if (!row_ok) continue;
    if (gpus > 1'000'000) {
      report(row.at(gpu_i, "too many GPUs: " + quote(row.text(gpu_i))));
      continue;
    }
    n.cpu = cpu / spec.cpu_divisor;
    n.memory_bytes = mem * spec.memory_unit;
    n.gpus = static_cast<int>(gpus);
    std::string type(trim(row.text(type_i)));
    if (spec.no_gpu_type && type == spec.no_gpu_type) {
      if (n.gpus > 0) {
        report(row.at(type_i, "a \"" + type + "\" machine with " + quote(row.text(gpu_i)) + " GPUs"));
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

}  // namespace fleetsim::job_readers
