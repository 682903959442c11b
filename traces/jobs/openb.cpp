// openb: Alibaba cluster-trace-gpu-v2023 (the FGD paper's GPU-sharing cluster): the pod lists
// openb_pod_list_*.csv as jobs, and the node list openb_node_list_*.csv.
#include "traces/jobs/common.hpp"
#include "traces/text.hpp"

namespace fleetsim::job_readers {

namespace {

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
      if (delete_ >= 0 && !is_absent(row.text(delete_)))
        if (const Read r = deletion_time(row, create_, delete_, job, errors); r != Read::Job) return r;
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

}  // namespace

std::unique_ptr<JobTraceSource> open_openb(const JobTraceOptions& o, std::size_t window, Diagnostics& errors) {
  return opened<OpenbSource>(errors, o.path, o.lenient, window, o.file_order);
}

// sn, cpu_milli, memory_mib (MiB), gpu (count), model (GPU type; empty for CPU-only nodes).
const NodeListSpec kOpenbNodes = {"sn",    "cpu_milli", "memory_mib", "gpu", "model", "CPU in milli-cores >= 0",
                                  "memory in MiB >= 0", 1000.0, kMiB, nullptr};

}  // namespace fleetsim::job_readers
