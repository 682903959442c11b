// Cluster job files for a sweep (`fleetsim sweep FILE --emit slurm|k8s`): a Slurm job array or a
// Kubernetes Indexed Job whose task i runs shard i of N (`fleetsim sweep FILE --shard i/N`, see
// sweep.hpp), all into one shared output folder; the task that completes the sweep merges it, or
// `fleetsim sweep merge` does afterwards. Text only: nothing here submits or runs anything.
#pragma once
#include <cstddef>
#include <string>

namespace fleetsim {

struct EmitOptions {
  std::string binary = "fleetsim";                   // the command on the compute nodes
  std::string image = "REGISTRY/fleetsim:VERSION";   // Kubernetes container image
  std::string name = "sweep";                        // job name (the sweep's name)
  unsigned jobs_per_task = 1;                        // --jobs of each task
};
// A bash script for `sbatch`: `#SBATCH --array=0-(N-1)`, each task runs
// `fleetsim sweep SWEEP --shard ${SLURM_ARRAY_TASK_ID}/N --out OUT`.
std::string emit_slurm(const std::string& sweep_path, const std::string& out_dir, std::size_t shards,
                       const EmitOptions& options = {});
// A `batch/v1` Job manifest, completionMode Indexed, completions = parallelism = N; each pod
// runs `fleetsim sweep SWEEP --shard $(JOB_COMPLETION_INDEX)/N --out OUT`.
std::string emit_k8s(const std::string& sweep_path, const std::string& out_dir, std::size_t shards,
                     const EmitOptions& options = {});

}  // namespace fleetsim
