// dlrm-2025: Alibaba cluster-trace-gpu-v2025, disaggregated_DLRM_trace.csv: long-running DLRM
// serving instances with their resource requests, creation and deletion times.
#include "traces/jobs/common.hpp"
#include "traces/text.hpp"

namespace fleetsim::job_readers {

namespace {

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
    if (!is_absent(row.text(delete_)))
      if (const Read r = deletion_time(row, create_, delete_, job, errors); r != Read::Job) return r;
    cls.assign(trim(row.text(role_)));
    time_at_ = row.at(create_, "");
    time_text_ = is_absent(row.text(create_)) ? std::string("0 (before the trace)") : row.text(create_);
    return Read::Job;
  }

 private:
  int id_ = -1, role_ = -1, app_ = -1, cpu_ = -1, gpu_ = -1, mem_ = -1, create_ = -1, delete_ = -1;
};

}  // namespace

std::unique_ptr<JobTraceSource> open_dlrm_2025(const JobTraceOptions& o, std::size_t window, Diagnostics& errors) {
  return opened<DlrmSource>(errors, o.path, o.lenient, window);
}

}  // namespace fleetsim::job_readers
