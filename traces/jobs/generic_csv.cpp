// generic-csv: any delimited job trace with a header, the columns and units named by the user
// (GenericJobColumns).
#include <cmath>
#include <optional>

#include "traces/jobs/common.hpp"
#include "traces/text.hpp"

namespace fleetsim::job_readers {

namespace {

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
      bool out_of_range = false;
      const auto ns = parse_iso8601_ns(row.text(submit_), &out_of_range);
      if (out_of_range)
        return bad(errors, row.at(submit_, "date " + quote(row.text(submit_)) + " is out of range (" + kIso8601Range + ")"), "bad-time");
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

}  // namespace

void check_generic_csv(const JobTraceOptions& o, Diagnostics& errors) {
  auto option_error = [&](const std::string& option, const std::string& message) {
    errors.add(Diagnostic{"", 0, 0, option, message});
  };
  const GenericJobColumns& c = o.columns;
  char delim = ',';
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

std::unique_ptr<JobTraceSource> open_generic_csv(const JobTraceOptions& o, std::size_t window, Diagnostics& errors) {
  char delim = ',';
  parse_delimiter(o.columns.delimiter, delim);  // checked by check_generic_csv
  return opened<GenericSource>(errors, o.path, o.lenient, window, delim, o.columns);
}

}  // namespace fleetsim::job_readers
