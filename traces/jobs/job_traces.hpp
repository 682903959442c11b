// Job and cluster trace readers: public training/batch job traces -> JobSpec streams
// (sim/job.hpp), cluster tables -> NodeRecord lists, and Philly's run times -> an empirical
// duration distribution.
//
// Job traces stream: rows are read one at a time and memory does not grow with the file (except
// for a bounded reorder buffer, below). Node lists and the run-time table are small and loaded.
//
// Job trace formats (open_job_trace)
//   gavel        Gavel traces, TAB-separated, no header. Two layouts, told apart per line by the
//                field count (any other count is an error):
//                  10 fields (current Gavel, gavel-generated/*.trace, physical_cluster/*.trace):
//                    job_type, command, working_directory, num_steps_arg, needs_data_dir,
//                    total_steps, scale_factor, priority_weight, SLO, arrival_time
//                  7 fields (older, Philly-derived msr/seed=0/<vc>.trace; order inferred from the
//                    values, see the folder's README):
//                    job_type, command, num_steps_arg, needs_data_dir, total_steps,
//                    arrival_time, scale_factor
//                JobSpec: id "<file stem>-<n>" (n = 0-based index of the non-blank line, Gavel's
//                job id); submit = arrival_time (seconds, >= 0; float in the 7-field layout);
//                workers = scale_factor (integer >= 1), worker.gpus = 1 (Gavel runs one worker
//                per GPU); steps = total_steps (integer >= 1); priority = round(priority_weight)
//                (a fair-share weight, > 0; 1 in every public trace; the 7-field layout has none
//                and gets Gavel's default 1); tenant = the file stem for 7-field rows (the file
//                names are Philly virtual-cluster ids), empty for 10-field rows; job_class =
//                job_type. command, working_directory, num_steps_arg, needs_data_dir and SLO
//                are not used (SLO is -1 = none in every public trace).
//                Throughputs: with `throughput_table` (gavel_simulation_throughputs.json:
//                {gpu_type: {"('<job_type>', <scale_factor>)": {"null": steps/s, "(<other
//                job>)": [..pair..]}}}) a job's steps_per_second[gpu] is the "null" entry (the
//                job alone, whole job with all its workers) under the key "('" + job_type +
//                "', " + scale_factor + ")", i.e. the Python repr of the tuple: the trace's
//                job_type verbatim (e.g. "ResNet-50 (batch size 64)") and its scale factor. GPU
//                types are the table's names (k80, p100, v100); the "*_unconsolidated" entries
//                (workers spread over servers) and the co-location pair entries are not used.
//                A throughput <= 0 (k80 for ResNet-50 batch 128 at 2/4/8 GPUs) means the job
//                cannot run there: that type is left out. gpu_types = the types left (so a
//                scheduler never places a job where its speed is unknown). A (job_type,
//                scale_factor) with no positive throughput is a bad row (reason
//                unknown-throughput-key): the table has scale factors 1, 2, 4, 8 only (1 only
//                for A3C, CycleGAN and Recommendation), so Philly-derived rows with 16/32 GPUs
//                or a multi-GPU A3C are rejected, or skipped with `lenient`. Without a table the
//                jobs carry steps and no throughputs (the caller must supply them) and
//                gpu_types is empty.
//   openb        Alibaba cluster-trace-gpu-v2023 pod lists (openb_pod_list_*.csv; header).
//                Needs name, cpu_milli, memory_mib, num_gpu, gpu_milli; uses gpu_spec, qos,
//                creation_time, deletion_time when present (pod_phase, scheduled_time ignored).
//                JobSpec: id = name; workers = 1; num_gpu 0 -> CPU-only; num_gpu 1 and
//                gpu_milli 1..999 -> worker.milli_gpu; gpu_milli 1000 -> worker.gpus = num_gpu
//                (num_gpu > 1 with gpu_milli < 1000, gpu_milli > 1000, or a GPU pod with
//                gpu_milli 0 is a bad row); cpu = cpu_milli / 1000 cores; memory = memory_mib
//                MiB; gpu_types = gpu_spec split at '|' (duplicates dropped; empty = any).
//                qos -> (priority, preemptible): BE (0, yes), Burstable (1, yes), LS (2, no),
//                Guaranteed (3, no); empty -> (0, yes); anything else is a bad row;
//                job_class = qos. A pod is a long-running instance: no duration or steps;
//                submit = creation_time, end = deletion_time (seconds); it holds its resources
//                from placement until `end`. Pods still running at the trace's end have
//                deletion_time = the trace end. Pending and Failed pods are kept (they asked
//                for resources).
//                Without creation_time (the multigpu* variants), or with `file_order`, times
//                are not used: submit = 0 and end = kNever for every pod, in file order. That is
//                the FGD saturation replay (pods arrive one by one until the cluster is full),
//                which needs no times. Only default, cpu0 and gpuspec* are sorted by
//                creation_time; cpu050 and gpushare* are not (whole-file disorder) and fail with
//                an out-of-order error unless `file_order` (or a reorder_window as large as the
//                file) is given.
//   dlrm-2025    Alibaba cluster-trace-gpu-v2025 disaggregated_DLRM_trace.csv (header). Needs
//                instance_sn, role, app_name, cpu_request, gpu_request, memory_request,
//                creation_time, deletion_time. Long-running serving instances: id =
//                instance_sn; submit = creation_time (empty/NaN: created before the trace ->
//                0); end = deletion_time (empty/NaN: not deleted in the trace -> kNever); no
//                duration or steps; workers = 1; cpu = cpu_request (vCPUs); gpus = gpu_request
//                (0 or 1 whole GPUs; a value in (0, 1) becomes milli_gpu); memory =
//                memory_request GiB; tenant = app_name; job_class = role (CN / HN);
//                preemptible = false. Limits, rdma, disk, max_instance_per_node and
//                scheduled_time are not used. The file is out of order by up to 966 rows
//                (84,715 s), so this format's default reorder_window is 4096.
//   generic-csv  any delimited file with a header; the caller names the columns (GenericJobColumns).
//                submit (numeric in submit_unit, >= 0, used as is; or iso8601, re-based to the
//                first row) and duration (> 0, in duration_unit, on reference_gpu_type) are
//                required. GPUs per worker come from gpus (whole; a value in (0, 1) is a share),
//                milli_gpu (1..999 thousandths, or a multiple of 1000), or gpu_fraction (0..1,
//                1 = one whole GPU); more than one of them non-zero on a row is a bad row.
//                cpu (cores), memory (host memory per worker, in memory_unit), gpu_memory
//                (GPU memory per GPU of each worker, in memory_unit; -> worker.gpu_memory_bytes),
//                workers (gang size, default 1), gpu_type ('|'-separated allowed types), tenant,
//                priority (integer) are optional. id: its column, else "job-<n>" (0-based data
//                row).
//
// Order. Jobs come out in non-decreasing submit order (JobSource's contract). Rows go through a
// reorder buffer of `reorder_window` jobs (default 0; dlrm-2025: 4096): a row may be earlier
// than up to that many rows before it. A row earlier than a job already emitted is a bad row
// (reason out-of-order). Ties keep file order.
//
// Errors. A bad row (wrong field count, unparsable number, negative GPUs, a value out of range,
// unknown throughput key, time going backwards, an empty required field) makes next() add one
// Diagnostic naming the file, line, column (1-based character position) and the column's name
// in `path` with the value, and return false; the source then stays finished. With `lenient`
// such rows are skipped and counted by reason (skipped(): bad-number, bad-time, bad-value,
// missing-field, negative-gpus, out-of-order, unknown-throughput-key, wrong-field-count,
// bad-quote); skipped_examples() keeps the first few. A missing file, an empty file or one
// without data rows, a header without a needed column, a bad throughput table and bad options
// are always errors: open_job_trace returns nullptr (header and table problems) or next()
// reports it. Ids are not checked for uniqueness (that would keep every id in memory).
//
// Node lists (read_node_list): all rows are loaded; every bad row is reported; any error -> {}.
//   openb         openb_node_list_*.csv: sn, cpu_milli, memory_mib (MiB), gpu (count), model
//                 (GPU type; empty for CPU-only nodes; G1/G2/G3 are undisclosed types).
//   pai-machines  pai_machine_spec.csv: machine, gpu_type ("CPU" = none), cap_cpu (cores),
//                 cap_mem, cap_gpu. cap_mem is documented as "GB"; the values (384, 512) are
//                 DIMM sizes, read as GiB. "MISC" is kept as a type name.
//   A node with 0 GPUs gets gpu_type "" whatever its model column says; a node with GPUs and no
//   type is an error, as is a repeated node id. GPU type names are the traces' own (T4, P100,
//   V100M16, G2, MISC, ...): a scenario must declare them under gpu_types to use them.
//
// Philly run times (read_philly_runtimes): philly_runtime.csv, column `runtime` in seconds
// (finite, >= 0; the file includes zeros: a synthetic job generator should clamp to its own
// minimum, since JobSpec::duration must be > 0).
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sim/diagnostics.hpp"
#include "sim/job.hpp"
#include "sim/rng.hpp"

namespace fleetsim {

// generic-csv: column names (empty = not in the file) and units.
struct GenericJobColumns {
  std::string id;
  std::string submit;                // required
  std::string submit_unit = "s";     // s | ms | us | ns | min | h | iso8601
  std::string duration;              // required
  std::string duration_unit = "s";   // s | ms | us | ns | min | h
  std::string reference_gpu_type;    // the type `duration` was measured on ("" = unstated)
  std::string workers;
  std::string gpus;
  std::string milli_gpu;
  std::string gpu_fraction;
  std::string cpu;                   // cores
  std::string memory;                // host memory per worker
  std::string gpu_memory;            // GPU memory per GPU of each worker
  std::string memory_unit = "B";     // memory and gpu_memory: B | KB | MB | GB | TB | KiB | MiB | GiB | TiB
  std::string gpu_type;              // allowed types, '|'-separated
  std::string tenant;
  std::string priority;
  std::string delimiter = ",";       // one character, or "tab"
};

struct JobTraceOptions {
  std::string format;  // gavel | openb | dlrm-2025 | generic-csv
  std::string path;
  bool lenient = false;
  std::string throughput_table;              // gavel: gavel_simulation_throughputs.json
  std::optional<std::size_t> reorder_window; // default: 4096 for dlrm-2025, else 0
  bool file_order = false;                   // openb: ignore times (submit 0, end kNever)
  GenericJobColumns columns;                 // generic-csv
};

// The sources open_job_trace returns: a JobSource plus what it counted.
class JobTraceSource : public JobSource {
 public:
  // Data rows read (non-blank lines after the header), including skipped ones.
  virtual std::uint64_t rows_read() const = 0;
  virtual std::uint64_t rows_skipped() const = 0;
  // Bad rows skipped (lenient), by reason.
  virtual const std::map<std::string, std::uint64_t>& skipped() const = 0;
  // The first few skipped rows' diagnostics (lenient).
  virtual const std::vector<Diagnostic>& skipped_examples() const = 0;
};

// nullptr (with diagnostics) on bad options, a missing file, a bad header or throughput table.
std::unique_ptr<JobTraceSource> open_job_trace(const JobTraceOptions& options, Diagnostics& errors);

// format: openb | pai-machines.
std::vector<NodeRecord> read_node_list(const std::string& format, const std::string& path,
                                       Diagnostics& errors);

// Observed values, resampled as they are (a bootstrap): sample() returns one of them uniformly,
// so the distribution's support is exactly the data.
class EmpiricalDistribution {
 public:
  EmpiricalDistribution() = default;
  explicit EmpiricalDistribution(std::vector<double> values);  // sorts

  double sample(RngStream& rng) const;  // one observed value, each with probability 1/size(); 0 if empty
  // Linear interpolation between order statistics at q * (size - 1) (numpy's default); q is
  // clamped to [0, 1]; 0 if empty.
  double quantile(double q) const;
  std::size_t size() const { return values_.size(); }
  bool empty() const { return values_.empty(); }
  double mean() const;
  double min() const { return values_.empty() ? 0 : values_.front(); }
  double max() const { return values_.empty() ? 0 : values_.back(); }
  const std::vector<double>& sorted_values() const { return values_; }

 private:
  std::vector<double> values_;
};

// Seconds. Empty distribution (with diagnostics) on any error.
EmpiricalDistribution read_philly_runtimes(const std::string& path, Diagnostics& errors);

// Format names, for help texts and validation.
const std::vector<std::string>& job_trace_formats();
const std::vector<std::string>& node_list_formats();

}  // namespace fleetsim
