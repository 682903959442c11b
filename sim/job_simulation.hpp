// JobSimulation: training and batch jobs on a GPU cluster — gangs placed all or nothing,
// ordered by a QueuePolicy, preempted (losing work since their last checkpoint and paying a
// restart) when a preemptive policy ranks them below waiting jobs, run at the speed of the GPU
// type they got. Event-driven by default; with `round` > 0 allocations change only at round
// boundaries (Gavel's round-based mode, 360 s there), so results can be compared job by job
// with round-based simulators.
//
// Speed: a job given in steps runs at its steps_per_second for the GPU type it got; a job given
// as a duration runs that long on every GPU type (no relative speeds are known; its
// reference_gpu_type is kept as a record only).
//
// A long-running instance (a trace row with an end time but no duration or steps, e.g. a DLRM
// serving instance) runs for end − submit seconds of its own time; one without an end runs for
// ever (it holds its GPUs until the simulation stops).
//
// Resources. A node has GPUs of one type (or none), each with GPU memory, plus CPU cores and
// host memory; a figure of 0 in JobClusterNode means "not modelled" (no limit). A worker takes
// whole GPUs (each alone: no other worker shares it), or a share of one GPU in milli-GPU plus
// GPU memory on it (shares of several workers add up to at most 1000 and the GPU's memory),
// and CPU and host memory on its node. A job with no GPUs (a CPU-only instance) uses CPU and
// memory only. Nothing is ever over-committed (tests check every allocation against this).
// A job that could not run even on the empty cluster (all nodes up) is rejected at arrival
// (JobRunResult::rejected) instead of waiting for ever.
//
// Placement of a gang: GPU types are tried fastest first for the job (for a CPU-only job, nodes
// without GPUs first); on a type, a single node that fits the whole gang is preferred (the
// tightest: fewest free whole GPUs, then least free milli-GPU, then least free CPU), else nodes
// are filled with as many workers as fit, most room first, so the gang spans the fewest nodes.
// Within a node, whole GPUs are the lowest-index free ones; a share goes to the GPU with the
// least free milli-GPU that still fits it (best fit, so shares pack and whole GPUs stay free).
//
// Placement by a policy (JobRunOptions::placement, e.g. fgd or best-fit): for each GPU type
// the job may use, fastest first, the policy places the gang's workers one by one (a request
// limited to that type, with the worker's GPUs or share, GPU memory, CPU and host memory) on a
// view of the cluster as the scheduling pass has planned it so far; the gang starts only if all
// of them are placed (else the ones placed are undone and the next type is tried). The policy's
// decisions are checked as the saturation replay checks them; a wrong one stops the run with an
// error naming the policy. EASY reservations and the fits-at-all check at arrival use the
// built-in placement. A job's requests are marked asked_before after its first attempt, so a
// policy that learns the workload from its requests (fgd) counts each worker of a job once.
//
// EASY backfill (optional, non-preemptive policies): when the first waiting job in the order
// does not fit, it gets a reservation: running jobs release their resources in the order of
// their known ends until its gang fits, shape included (per-node GPUs, shares, CPU, memory);
// that end is the shadow time. Later jobs may start now if they end before it, or if their
// GPUs fit in what is spare beside the reserved job then (counted pooled over nodes and types:
// an approximation).
//
// Cost. A non-preemptive pass orders only waiting jobs. With the built-in placement, a job that
// did not fit is not tried again until resources on its GPU types are freed (resources only
// shrink otherwise), nor is a job of the same shape in the same pass, and a pass in which no
// waiting job can fit returns at once.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "policies/placement/placement.hpp"
#include "policies/queueing/queue_policy.hpp"
#include "sim/cluster_state.hpp"
#include "sim/diagnostics.hpp"
#include "sim/job.hpp"
#include "sim/quantile_sketch.hpp"

namespace fleetsim {

struct JobClusterNode {
  std::string gpu_type;          // matches the jobs' steps_per_second keys; "" for no GPUs
  int gpus = 0;
  double gpu_memory_bytes = 0;   // per GPU; 0: not modelled
  double cpu = 0;                // cores; 0: not modelled
  double memory_bytes = 0;       // host memory; 0: not modelled
};

// The cluster a standalone job run uses: one node per entry, GPU types named as in the list
// (one catalog entry per type and GPU memory; memory not modelled is kUnmodelledGpuMemory).
inline constexpr double kUnmodelledGpuMemory = 1e30;
ClusterState job_cluster(std::span<const JobClusterNode> nodes);

struct JobRunOptions {
  SimTime round = 0;                    // 0: event-driven
  bool backfill = false;
  SimTime sample_interval = 0;          // utilization series; 0: none
  // Jobs whose trace gives no checkpoint interval: true = they checkpoint when preempted and
  // lose nothing (Gavel's and Tiresias's assumption); false = they lose all work since their
  // last start. Jobs with an interval lose the work since their last periodic checkpoint.
  bool checkpoint_on_preemption = true;
  SimTime restart_overhead = 0;         // for jobs whose trace gives none
  SimTime checkpoint_interval = 0;      // periodic checkpoints, for jobs whose trace gives none
  // A running job is not preempted before it has run this long since its last (re)start
  // (production schedulers have such a floor against thrashing; 0: none).
  SimTime min_run_time = 0;
  // Placement: null = the built-in gang placement (above). A placement policy instead places
  // each worker in turn (see "Placement by a policy" above).
  std::shared_ptr<PlacementPolicy> placement;
  std::string placement_name;           // for error messages
};

struct JobOutcome {
  std::string id;
  std::string tenant;
  std::string job_class;        // JobSpec::job_class
  double gpus = 0;              // of the whole gang; a share counts as milli / 1000
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
  // Jobs that can never run on this cluster (no allowed GPU type, GPUs too small, a gang larger
  // than the empty cluster): never started, left out of the queue; the first few, with why.
  std::uint64_t rejected = 0;
  std::vector<std::string> rejected_examples;
  SimTime makespan = 0;          // last completion - first submit
  std::uint64_t events = 0;
  // Preemptions whose resources no job started in the same scheduling pass used (must be 0:
  // a preemptive pass frees only what a waiting job needs).
  std::uint64_t futile_preemptions = 0;
  double gpu_seconds_busy = 0;
  double gpu_seconds_capacity = 0;  // GPUs × makespan
  std::vector<std::pair<SimTime, double>> busy_gpus;  // samples, when sample_interval > 0
  // Co-location: jobs submitted after the run ended (finish(end)), never run.
  std::uint64_t jobs_after_duration = 0;
};

// A job scheduler's event. Recheck: a running job's minimum run time ends (a pass may now
// preempt it).
enum class JobEventKind : std::uint8_t { Arrival, Completion, Round, Recheck };
struct JobEvent {
  JobEventKind kind;
  std::uint32_t job;
  std::uint32_t epoch;
};
// Where a co-located scheduler's events go: the driver's own queue (one event queue per run).
using JobEventSink = std::function<void(SimTime at, const JobEvent& event)>;

class JobSimulation {
 public:
  JobSimulation(std::vector<JobClusterNode> nodes, std::unique_ptr<JobSource> jobs,
                std::unique_ptr<QueuePolicy> policy, JobRunOptions options);
  // On a cluster the caller owns (co-location: the serving simulation's), which must outlive
  // this; jobs take and give back its resources through reserve() and release(). With a
  // `sink`, every event goes to the driver's queue, which hands each back through handle();
  // without, the scheduler keeps its own queue (advance(), run()).
  JobSimulation(ClusterState& cluster, std::unique_ptr<JobSource> jobs, std::unique_ptr<QueuePolicy> policy,
                JobRunOptions options, JobEventSink sink = {});
  ~JobSimulation();
  JobRunResult run();  // standalone: until every job has ended

  // Driven by another simulation (co-location), on its clock:
  void advance(SimTime until);               // handle own-queue job events up to and including `until`
  // One event from the driver's queue (sink mode). `instant_over`: no other event of this
  // scheduler is due at the same time (the driver's queue orders them before its own there).
  void handle(SimTime at, const JobEvent& event, bool instant_over);
  void resources_changed(SimTime now);       // GPUs were freed by someone else: schedule
  void capacity_added();                     // nodes came up (jobs see them at their next pass)
  // Preempts running preemptible jobs with priority below `below_priority` on `node` (lowest
  // priority, then latest started, first) until `gpus` whole GPUs are free there, and returns
  // true; when that cannot free enough, preempts nobody and returns false. The caller places
  // what needed the room, then calls resources_changed() so that jobs may use what the
  // preemptions freed beyond it (other nodes of a preempted gang).
  bool make_room(SimTime now, std::size_t node, int gpus, int below_priority);
  // GPUs of `node` that only jobs hold (no replica): more than make_room() could ever free there.
  int gpus_held_by_jobs(std::size_t node) const;
  JobRunResult finish(SimTime end);          // stops the clock at `end` (unfinished jobs stay so)

 private:
  JobSimulation(std::unique_ptr<ClusterState> owned, ClusterState* cluster, std::unique_ptr<JobSource> jobs,
                std::unique_ptr<QueuePolicy> policy, JobRunOptions options, JobEventSink sink);
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
JobSummary summarize_jobs(const JobRunResult& result, double min_gpus = 0, double max_gpus = 1e9);

// Finish-time fairness per tenant (Themis, Mahajan et al., NSDI'20): for each job
// rho = JCT / T_id, with T_id its run time alone on its tenant's equal share of the cluster
// (standalone run time × max(1, gang GPUs / (cluster GPUs / tenants))); CPU-only jobs count
// with their standalone time. rho <= 1 means the
// job finished no later than it would have with its fair share. Per tenant: jobs, mean JCT,
// mean and max rho.
struct TenantFairness {
  std::string tenant;
  std::uint64_t jobs = 0;
  double mean_jct_s = 0;
  double mean_rho = 0;
  double max_rho = 0;
};
std::vector<TenantFairness> finish_time_fairness(const JobRunResult& result, double cluster_gpus);

}  // namespace fleetsim
