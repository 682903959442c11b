// The job-trace readers (traces/jobs/): one binary per format, chosen at compile time by
// FLEETSIM_FUZZ_FORMAT (gavel, openb, dlrm-2025, generic-csv, philly-runtime). The first input
// byte picks lenient, the reorder window and openb's file order. gavel: "trace\n--8<--\ntable"
// (the throughput table JSON; none: the jobs carry steps only).
#include <string>

#include "tests/fuzz/fuzz_support.hpp"
#include "traces/jobs/job_traces.hpp"

#ifndef FLEETSIM_FUZZ_FORMAT
#error "FLEETSIM_FUZZ_FORMAT names the reader"
#endif

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace fleetsim;
  if (size < 1) return 0;
  const std::uint8_t knobs = data[0];
  const std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::string format = FLEETSIM_FUZZ_FORMAT;
  Diagnostics errors;
  if (format == "philly-runtime") {
    const EmpiricalDistribution d = read_philly_runtimes(fuzz::write_file("philly_runtime.csv", bytes), errors);
    if (!d.empty() && (d.min() < 0 || d.quantile(0.5) > d.max())) __builtin_trap();
    return 0;
  }
  JobTraceOptions o;
  o.format = format;
  o.lenient = knobs & 1;
  if (knobs & 2) o.reorder_window = (knobs & 4) ? 3 : 0;
  o.file_order = knobs & 8;
  if (format == "gavel") {
    const auto [trace, table] = fuzz::split(bytes);
    o.path = fuzz::write_file("msr.trace", trace);
    if (!table.empty()) o.throughput_table = fuzz::write_file("throughputs.json", table);
  } else {
    o.path = fuzz::write_file("jobs.csv", bytes);
  }
  if (format == "generic-csv") {
    GenericJobColumns& c = o.columns;
    c.id = "id";
    c.submit = "submit";
    c.submit_unit = (knobs & 16) ? "iso8601" : "s";
    c.duration = "duration";
    c.duration_unit = (knobs & 32) ? "min" : "s";
    c.workers = "workers";
    c.gpus = "gpus";
    c.milli_gpu = "milli";
    c.gpu_fraction = "fraction";
    c.cpu = "cpu";
    c.memory = "memory";
    c.gpu_memory = "gpu_memory";
    c.memory_unit = "GiB";
    c.gpu_type = "gpu_type";
    c.tenant = "tenant";
    c.priority = "priority";
    if (knobs & 64) c.delimiter = "tab";
  }
  const auto source = open_job_trace(o, errors);
  if (!source) return 0;
  JobSpec job;
  SimTime last = 0;
  while (source->next(job, errors)) {
    if (job.submit < last) __builtin_trap();  // JobSource's contract: submit order
    last = job.submit;
  }
  return 0;
}
