// Training and batch jobs: what a job trace says about each job. A job is a gang of identical
// workers that start together (all or nothing); each worker needs whole GPUs or a fraction of
// one, GPU memory, CPU and host memory. Its work is a duration on a reference GPU type, or a
// number of steps with a per-GPU-type throughput, so heterogeneous GPUs run it at different
// speeds. (The job scheduler that runs them is issue 4's; this header is the record.)
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "sim/diagnostics.hpp"
#include "sim/time.hpp"

namespace fleetsim {

struct WorkerSpec {
  int gpus = 0;         // whole GPUs per worker
  int milli_gpu = 0;    // or a share of one GPU, 1..999 thousandths (then gpus == 0)
  double gpu_memory_bytes = 0;  // per GPU (0: not stated)
  double cpu = 0;       // cores per worker
  double memory_bytes = 0;      // host memory per worker
};

struct JobSpec {
  std::string id;                      // unique within the trace
  SimTime submit = 0;                  // since the start of the trace
  SimTime end = kNever;                // long-running instances: when deleted (kNever: runs to completion)
  int workers = 1;                     // gang size
  WorkerSpec worker;
  std::vector<std::string> gpu_types;  // allowed GPU types; empty = any
  // Work: a duration (measured on `reference_gpu_type`, a record: the job scheduler runs it as
  // long on every type), or `steps` at `steps_per_second[type]` (for the whole job on that type). At most one of the two is set (duration > 0 or steps > 0); a
  // long-running instance (a pod, a serving instance) has neither and runs until `end`.
  SimTime duration = 0;
  std::string reference_gpu_type;
  double steps = 0;
  std::map<std::string, double> steps_per_second;
  int priority = 0;                    // larger = more important
  std::string tenant;                  // queue / team / virtual cluster
  std::string job_class;               // the trace's kind of job (gavel job type, openb QoS, DLRM role)
  bool preemptible = true;
  SimTime checkpoint_interval = 0;     // 0: never checkpoints (a preemption loses all work)
  SimTime restart_overhead = 0;
};

// A node as a cluster trace describes it (openb node list, PAI machine table).
struct NodeRecord {
  std::string id;
  std::string gpu_type;  // empty when the node has no GPU
  int gpus = 0;
  double cpu = 0;            // cores
  double memory_bytes = 0;
};

// A stream of jobs in non-decreasing submit order; same contract as RequestSource.
class JobSource {
 public:
  virtual ~JobSource() = default;
  virtual bool next(JobSpec& out, Diagnostics& errors) = 0;
};

}  // namespace fleetsim
