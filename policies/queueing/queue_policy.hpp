// QueuePolicy: the order in which jobs get GPUs (a new family, for training and batch jobs).
//
// Contract
//   input   every job that is waiting or running, with what the scheduler knows of it, and the
//           time.
//   output  the jobs' indices in priority order (normally a permutation of 0..n-1; a job left
//           out is held: a waiting one does not start, a running one is preempted if it is
//           preemptible — how a policy enforces a quota). The scheduler walks
//           the order and gives each job its whole gang if it fits (all or nothing), keeping
//           running jobs' GPUs where it can. A policy is `preemptive` when a running job
//           ranked below a waiting one may lose its GPUs to it (only if the job is
//           preemptible); otherwise running jobs keep theirs and only waiting jobs are ordered.
//           The walk stops at the first waiting job that does not fit, unless the scenario
//           enables EASY backfill (then later jobs may start if they do not delay it).
//   state   may keep state (e.g. LAS queues).
//   ties    by submit time, then job index.
//
// Victims for inference (co-located runs): when an inference replica finds no room and the
// scenario lets it preempt jobs, rank_victims orders the preemptible running jobs on a node it
// could use (priority below the scenario's inference_priority), first to be preempted first.
// The engine preempts along that order only as many as free the GPUs the replica needs on that
// node (and then lets go of any it turns out not to need, last first). The default: lowest
// priority first, then the most recently (re)started (it loses the least work), then index.
#pragma once
#include <cstdint>
#include <algorithm>
#include <span>
#include <string>
#include <vector>

#include "policies/api/time.hpp"
#include "policies/api/policy.hpp"

namespace fleetsim {

struct JobView {
  std::uint32_t index = 0;
  SimTime submit = 0;
  double gpus = 0;               // GPUs of the whole gang (a share of one counts as milli / 1000)
  bool running = false;
  bool preemptible = true;
  int priority = 0;
  std::uint32_t tenant = 0;
  double total_seconds = 0;      // run time on the GPU type it would run on (oracle knowledge)
  double remaining_seconds = 0;  // of that, what is left (oracle knowledge)
  double attained_gpu_seconds = 0;  // service received so far (GPUs × time)
  double cpu = 0;                   // cores of the whole gang
  double memory_bytes = 0;          // host memory of the whole gang
  SimTime last_start = 0;           // running jobs: when it last (re)started
};

// What a policy may know of the cluster as a whole.
struct QueueContext {
  SimTime now = 0;
  int total_gpus = 0;
  double total_cpu = 0;          // 0 when not modelled
  double total_memory_bytes = 0; // 0 when not modelled
  std::span<const std::string> tenants;  // JobView::tenant indexes this
};

class QueuePolicy : public Policy {
 public:
  virtual ~QueuePolicy() = default;
  virtual bool preemptive() const = 0;
  virtual void order(const QueueContext& context, std::span<const JobView> jobs,
                     std::vector<std::uint32_t>& out) = 0;
  // `out`: indices into `running`, the order in which an inference replica preempts them.
  virtual void rank_victims(const QueueContext& context, std::span<const JobView> running,
                            std::vector<std::uint32_t>& out) {
    (void)context;
    out.clear();
    for (std::uint32_t i = 0; i < running.size(); ++i) out.push_back(i);
    std::sort(out.begin(), out.end(), [&](std::uint32_t a, std::uint32_t b) {
      const JobView& ja = running[a];
      const JobView& jb = running[b];
      if (ja.priority != jb.priority) return ja.priority < jb.priority;
      if (ja.last_start != jb.last_start) return ja.last_start > jb.last_start;
      return ja.index < jb.index;
    });
  }
};

// Sorts `out` (indices into jobs) by `key(job)` ascending, ties by submit time then index.
template <class Key>
void order_by(std::span<const JobView> jobs, std::vector<std::uint32_t>& out, Key key) {
  out.clear();
  for (std::uint32_t i = 0; i < jobs.size(); ++i) out.push_back(i);
  std::stable_sort(out.begin(), out.end(), [&](std::uint32_t a, std::uint32_t b) {
    const auto ka = key(jobs[a]), kb = key(jobs[b]);
    if (ka != kb) return ka < kb;
    if (jobs[a].submit != jobs[b].submit) return jobs[a].submit < jobs[b].submit;
    return jobs[a].index < jobs[b].index;
  });
}

}  // namespace fleetsim
