// pai-machines: Alibaba cluster-trace-gpu-v2020 (PAI), pai_machine_spec.csv: one row per machine
// with its GPU type and count, CPU cores and memory.
#include "traces/jobs/common.hpp"

namespace fleetsim::job_readers {

// machine, gpu_type ("CPU" = none), cap_cpu (cores), cap_mem, cap_gpu. cap_mem is documented as
// "GB"; the values (384, 512) are DIMM sizes, read as GiB.
const NodeListSpec kPaiMachines = {"machine", "cap_cpu", "cap_mem", "cap_gpu", "gpu_type", "CPU cores >= 0",
                                   "memory in GB >= 0", 1.0, kGiB, "CPU"};

}  // namespace fleetsim::job_readers
