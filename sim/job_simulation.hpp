// JobSimulation: training and batch jobs on a GPU cluster — gangs placed all or nothing,
// ordered by a QueuePolicy, preempted (losing work since their last checkpoint and paying a
// restart) when a preemptive policy ranks them below waiting jobs, run at the speed of the GPU
// type they got. Event-driven by default; with `round` > 0 allocations change only at round
// boundaries (Gavel's round-based mode, 360 s there), so results can be compared job by job
// with round-based simulators.
//
// A long-running instance (a trace row with an end time but no duration or steps, e.g. a DLRM
// serving instance) runs for end − submit seconds of its own time; one without an end runs for
// ever (it holds its GPUs until the simulation stops).
//
// Placement of a gang (whole-GPU workers): GPU types are tried fastest first for the job; on
// a type, a single node that fits the whole gang is preferred (the one with the fewest free
// GPUs), else nodes are filled most-free first, so the gang spans the fewest nodes.
//
// EASY backfill (optional, non-preemptive policies): when the first waiting job in the order
// does not fit, it gets a reservation at the earliest time enough GPUs free up (from running
// jobs' known remaining times); later jobs may start now if they end before that time or use
// only GPUs the reservation does not need. GPU counts are pooled over types for the
// reservation (an approximation on mixed clusters).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "policies/queueing/queue_policy.hpp"
#include "sim/diagnostics.hpp"
#include "sim/job.hpp"
#include "sim/quantile_sketch.hpp"

namespace fleetsim {

struct JobClusterNode {
  std::string gpu_type;  // matches the jobs' steps_per_second keys / reference type
  int gpus = 0;
};

struct JobRunOptions {
  SimTime round = 0;                    // 0: event-driven
  bool backfill = false;
  std::string reference_gpu_type;       // duration-based jobs run at 1 s per s on any type
  SimTime sample_interval = 0;          // utilization series; 0: none
  // Jobs whose trace gives no checkpoint interval: true = they checkpoint when preempted and
  // lose nothing (Gavel's and Tiresias's assumption); false = they lose all work since their
  // last start. Jobs with an interval lose the work since their last periodic checkpoint.
  bool checkpoint_on_preemption = true;
  SimTime restart_overhead = 0;         // for jobs whose trace gives none
};

struct JobOutcome {
  std::string id;
  std::string tenant;
  int gpus = 0;
  SimTime submit = 0;
  SimTime first_start = kNever;
  SimTime end = kNever;
  int preemptions = 0;
  double lost_gpu_seconds = 0;  // work thrown away by preemptions, GPUs × seconds
  std::string gpu_type;         // where it finished
  double standalone_s = 0;      // run time alone on the fastest GPU type it may use
  bool completed() const { return end != kNever; }
};

struct JobRunResult {
  bool ok = true;
  Diagnostics errors;
  std::vector<JobOutcome> jobs;  // in submit order
  SimTime makespan = 0;          // last completion - first submit
  std::uint64_t events = 0;
  double gpu_seconds_busy = 0;
  double gpu_seconds_capacity = 0;  // GPUs × makespan
  std::vector<std::pair<SimTime, int>> busy_gpus;  // samples, when sample_interval > 0
};

// The GPUs jobs run on: a plain list of nodes (JobClusterNode), or the inference simulation's
// nodes when jobs and inference share a cluster.
class JobCluster {
 public:
  virtual ~JobCluster() = default;
  virtual std::size_t size() const = 0;
  virtual const std::string& gpu_type(std::size_t node) const = 0;
  virtual int free_gpus(std::size_t node) const = 0;
  virtual void take(std::size_t node, int gpus, std::uint32_t job) = 0;
  virtual void give(std::size_t node, int gpus, std::uint32_t job) = 0;
};

class JobSimulation {
 public:
  JobSimulation(std::vector<JobClusterNode> nodes, std::unique_ptr<JobSource> jobs,
                std::unique_ptr<QueuePolicy> policy, JobRunOptions options);
  JobSimulation(std::unique_ptr<JobCluster> cluster, std::unique_ptr<JobSource> jobs,
                std::unique_ptr<QueuePolicy> policy, JobRunOptions options);
  ~JobSimulation();
  JobRunResult run();  // standalone: until every job has ended

  // Driven by another simulation (co-location), on its clock:
  SimTime next_event() const;                // kNever when none
  void advance(SimTime until);               // handle job events up to and including `until`
  void resources_changed(SimTime now);       // GPUs were freed by someone else: schedule
  // Preempts running preemptible jobs on `node` (lowest priority, then latest started, first)
  // until `gpus` are free there; returns whether they are.
  bool make_room(SimTime now, std::size_t node, int gpus);
  JobRunResult finish(SimTime end);          // stops the clock at `end` (unfinished jobs stay so)

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Summary figures of a result: JCT and queueing delay percentiles, by size class.
struct JobSummary {
  std::uint64_t jobs = 0, completed = 0;
  double mean_jct_s = 0;
  QuantileSketch jct;
  QuantileSketch queueing;
  double mean_queueing_s = 0;
  std::uint64_t preemptions = 0;
  double lost_gpu_hours = 0;
  double utilization = 0;  // busy / capacity over the makespan
};
JobSummary summarize_jobs(const JobRunResult& result, int min_gpus = 0, int max_gpus = 1 << 30);

// Finish-time fairness per tenant (Themis, Mahajan et al., NSDI'20): for each job
// rho = JCT / T_id, with T_id its run time alone on its tenant's equal share of the cluster
// (standalone run time × max(1, gang GPUs / (cluster GPUs / tenants))). rho <= 1 means the
// job finished no later than it would have with its fair share. Per tenant: jobs, mean JCT,
// mean and max rho.
struct TenantFairness {
  std::string tenant;
  std::uint64_t jobs = 0;
  double mean_jct_s = 0;
  double mean_rho = 0;
  double max_rho = 0;
};
std::vector<TenantFairness> finish_time_fairness(const JobRunResult& result, int cluster_gpus);

}  // namespace fleetsim
