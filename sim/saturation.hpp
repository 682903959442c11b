// The saturation replay of the FGD paper (Weng et al., "Beware of Fragmentation", USENIX ATC'23,
// section 6): pods arrive one by one and never leave until the arrived GPU demand reaches a
// multiple of the cluster's GPU capacity; a placement policy places each one or it fails. The
// curves it records — GPU allocation ratio and fragmentation against arrived workload — compare
// placement policies at and past the point where the cluster fills up.
//
// Mechanism only (no placement decision is made here):
//   cluster   one node per NodeRecord, in order (node id = position): its GPU type, GPU count, CPU
//             cores and host memory become a NodeView with cpu_capacity and host_memory_capacity.
//             GPU types are named as in the records; their memory is not modelled (0).
//   stream    arrival i is pods[j] with j drawn uniformly with replacement from the RngStream
//             (seed, "saturation/sample"). Every pod has workers == 1 (else: an input error).
//   arrival   the pod's size joins the target workload (for the fragmentation measure), the policy
//             is asked for a placement, which is checked and applied; std::nullopt is a failed pod
//             (counted; it does not come back). Arrived GPU demand grows by the pod's GPUs either
//             way (whole GPUs x 1000 or its milli share).
//   checks    the decision must name a node that exists and is up, exactly the pod's GPU count of
//             distinct existing GPUs (one for a share, none for a CPU-only pod), each with room (a
//             whole GPU: no holder and nothing allocated; a share: milli_used + share <= 1000),
//             CPU and host memory within the node's capacity, and a GPU type the pod allows. A
//             violation stops the replay with an error naming the policy.
//   records   a point at arrived = 0%, 1%, 2%, ... of capacity (each point when the arrived demand
//             first reaches it; a large pod can complete several at once), the last at the stop.
//             Stop: when the arrived demand reaches `until` x capacity, `until` taken in whole
//             percent (1.3: 130%).
//   measures  allocation ratio = allocated GPU milli / capacity; unallocated GPUs = capacity -
//             allocated; fragmentation = sum over up nodes of the expected fragmentation against
//             the sizes of the pods arrived so far (policies/placement/fragmentation.hpp), in GPUs;
//             fragmentation ratio = that / unallocated GPUs (0 when nothing is unallocated).
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "policies/placement/placement.hpp"
#include "sim/job.hpp"

namespace fleetsim {

struct SaturationOptions {
  double until = 1.3;            // stop multiple M of the cluster's GPU capacity (0.01..100)
  std::uint64_t seed = 1;        // for the sampling stream
  std::string policy_name = "?";  // for error messages
};

struct SaturationPoint {
  int arrived_pct = 0;             // arrived GPU demand, % of capacity
  double allocation_ratio = 0;     // allocated GPU milli / capacity milli
  double unallocated_gpus = 0;
  double frag_gpus = 0;
  double frag_ratio = 0;           // frag_gpus / unallocated_gpus
  std::uint64_t arrived_pods = 0;
  std::uint64_t failed_pods = 0;
};

struct SaturationResult {
  std::string policy;
  double capacity_gpus = 0;
  std::vector<SaturationPoint> points;  // arrived_pct 0, 1, 2, ... in order
  std::uint64_t arrived_pods = 0;
  std::uint64_t placed_pods = 0;
  std::uint64_t failed_pods = 0;
  double arrived_gpus = 0;
  double allocated_gpus = 0;
  // Non-empty when the replay could not run (bad input) or stopped at a policy's invalid decision
  // (policy_error); the points up to there are kept.
  std::string error;
  bool policy_error = false;

  // The point recorded at `pct`, or nullptr.
  const SaturationPoint* at(int pct) const;
};

SaturationResult run_saturation(std::span<const NodeRecord> nodes, std::span<const JobSpec> pods,
                                PlacementPolicy& policy, const SaturationOptions& options);

// The time replay of a pod trace (openb pods with creation and deletion times, DLRM
// instances): pods arrive at their submit time and leave at their end (never, when kNever);
// each is placed by the policy when it arrives if it fits, else waits in a queue that is
// retried, oldest first, whenever a pod leaves (whatever fits starts: pods may pass others).
// Pods must come in submit order (a trace reader guarantees it). Recorded every
// `sample_interval`: GPU allocation ratio, unallocated and fragmented GPUs, pods waiting.
struct PodReplayOptions {
  SimTime sample_interval = kHour;
  std::string policy_name = "?";
};

struct PodReplayPoint {
  SimTime time = 0;
  double allocation_ratio = 0;
  double unallocated_gpus = 0;
  double frag_gpus = 0;
  std::uint64_t running = 0;
  std::uint64_t waiting = 0;
};

struct PodReplayResult {
  std::string policy;
  double capacity_gpus = 0;
  std::vector<PodReplayPoint> points;
  std::uint64_t pods = 0;
  std::uint64_t placed_on_arrival = 0;
  std::uint64_t never_placed = 0;      // still waiting at the end
  std::uint64_t expired = 0;           // deleted while still waiting
  double mean_wait_s = 0;              // of the pods that waited and were placed
  double max_wait_s = 0;
  double mean_allocation_ratio = 0;    // time-weighted over the replay
  std::string error;
  bool policy_error = false;
};

PodReplayResult run_pod_replay(std::span<const NodeRecord> nodes, std::span<const JobSpec> pods,
                               PlacementPolicy& policy, const PodReplayOptions& options);

// Tidy CSV of the results, one row per point:
// policy,arrived_pct,allocation_ratio,unallocated_gpus,frag_gpus,frag_ratio,failed_pods
std::string saturation_csv(std::span<const SaturationResult> results);

}  // namespace fleetsim
