// Private to the job scheduler's own .cpp files (job_simulation.cpp, job_placement.cpp,
// job_scheduling_pass.cpp, job_backfill.cpp): JobSimulation::Impl, the scheduler's state and its
// member functions' declarations, and the free-resource arithmetic they share. Include nowhere else.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "sim/event_queue.hpp"
#include "sim/job_simulation.hpp"

namespace fleetsim::job_internal {

// Seconds to SimTime, rounded up; saturates at kFar (about 127 years) so that sums with a
// simulation time cannot overflow: a run time that long is "never" for every comparison.
constexpr SimTime kFar = SimTime{4'000'000'000} * 1'000'000'000;
inline SimTime ceil_seconds(double s) {
  const double ns = std::ceil(s * 1e9);
  return ns <= 0 ? 0 : ns >= static_cast<double>(kFar) ? kFar : static_cast<SimTime>(ns);
}

constexpr double kUnlimited = std::numeric_limits<double>::infinity();

// The free resources of every node, flat: GPU g of node n is entry gpu_begin[n] + g. "Not
// modelled" is infinity here. A scheduling pass plans on a copy of this (the scheduler's
// arithmetic, not a second model of the cluster: it is read from the ClusterState).
struct JobClusterState {
  std::vector<std::uint32_t> gpu_begin;  // nodes + 1 entries
  std::vector<int> milli_free;           // per GPU: 1000 = the whole GPU is free
  std::vector<double> gpu_memory_free;   // per GPU, bytes
  std::vector<int> whole_free;           // per node: GPUs with milli_free == 1000
  std::vector<double> cpu_free;          // per node, cores
  std::vector<double> memory_free;       // per node, bytes
};

// Adds (sign +1: released) or removes (sign -1: taken) an allocation's resources.
inline void apply_allocation(JobClusterState& state, const Allocation& allocation, int sign) {
  for (const Allocation::Gpu& g : allocation.gpus) {
    const std::size_t i = state.gpu_begin[g.node] + g.gpu;
    const bool was_whole = state.milli_free[i] == 1000;
    state.milli_free[i] += sign * g.milli;
    state.gpu_memory_free[i] += sign * g.memory;
    const bool is_whole = state.milli_free[i] == 1000;
    state.whole_free[g.node] += static_cast<int>(is_whole) - static_cast<int>(was_whole);
  }
  for (const Allocation::Host& h : allocation.hosts) {
    state.cpu_free[h.node] += sign * h.cpu;
    state.memory_free[h.node] += sign * h.memory;
  }
}

// GPU memory of a node's GPUs; infinity when not modelled.
inline double gpu_memory_of(const NodeView& node) {
  const double m = node.gpu_type->memory_bytes;
  return m <= 0 || m >= kUnmodelledGpuMemory ? kUnlimited : m;
}

// What is free on node n of `cluster` (a GPU held by a replica is taken whole; one with job
// shares has the rest free; a node that is not up offers nothing), or with `all` its whole
// capacity, written into `out`, whose layout (gpu_begin) is already set.
void read_node(const ClusterState& cluster, std::uint32_t n, JobClusterState& out, bool all);

// Sizes `out` for `cluster` and reads every node.
void read_free(const ClusterState& cluster, JobClusterState& out, bool all);

}  // namespace fleetsim::job_internal

namespace fleetsim {

struct JobSimulation::Impl {
  using JobClusterState = job_internal::JobClusterState;

  bool handle(SimTime at, const JobEvent& e);
  void after_event(bool changed, bool instant_over);
  struct Job {
    JobSpec spec;
    std::uint32_t outcome = 0;  // index into result.jobs
    std::uint32_t tenant = 0;   // index into tenants
    bool running = false;
    bool done = false;
    std::uint32_t epoch = 0;
    std::uint64_t seq = 0;             // arrival order
    SimTime projected_end = kNever;    // while running: when it will end (kNever: it never does)
    std::uint64_t failed_at = kNotFailed;  // free_epochs() when it last did not fit (built-in placement)
    bool asked_policy = false;         // a placement policy has seen this job's requests
    std::vector<std::uint16_t> types;  // GPU types it may use, fastest first
    std::uint16_t type = 0;            // GPU type it runs on
    Allocation alloc;
    double remaining = 0;        // work units left (steps, or seconds on the reference type)
    double checkpointed = 0;     // remaining work at the last checkpoint
    SimTime progress_since = 0;  // work accrues from here (start + restart overhead)
    SimTime started = 0;
    SimTime work_started = 0;    // started + restart overhead: when this run began progressing
    double attained = 0;         // GPU-seconds received
  };

  ClusterState* cluster = nullptr;
  std::unique_ptr<ClusterState> owned;  // a standalone run's cluster
  std::vector<std::string> type_names;               // distinct GPU types of the cluster
  std::vector<std::uint16_t> node_type;              // per node, into type_names
  std::vector<std::vector<std::uint32_t>> type_nodes;  // per type, its nodes in id order
  std::vector<std::string> tenants;  // names seen, in order of first arrival
  std::unique_ptr<JobSource> source;
  std::unique_ptr<QueuePolicy> policy;
  JobRunOptions options;
  EventQueue<JobEvent> queue;  // standalone; co-located, events go to the driver's queue
  JobEventSink sink;
  void push(SimTime at, JobEvent e) {
    if (sink) sink(at, e);
    else queue.push(at, e);
  }
  SimTime now = 0;
  std::vector<Job> jobs;               // arrived and not finished (slots reused)
  std::vector<std::uint32_t> active;   // indices into jobs
  std::vector<std::uint32_t> free_slots;
  std::vector<std::uint32_t> waiting;  // active jobs not running, in arrival order
  std::uint64_t next_seq = 0;
  // Per GPU type, how many times resources on its nodes were freed: a job that did not fit
  // cannot fit before one of its types' counts moves (nothing else adds resources).
  std::vector<std::uint64_t> type_frees;
  static constexpr std::uint64_t kNotFailed = ~std::uint64_t{0};
  std::uint64_t free_epochs(const Job& j) const {
    std::uint64_t sum = 0;
    for (std::uint16_t t : j.types) sum += type_frees[t];
    return sum;
  }
  void add_waiting(std::uint32_t id) {
    auto at = std::lower_bound(waiting.begin(), waiting.end(), jobs[id].seq,
                               [&](std::uint32_t w, std::uint64_t seq) { return jobs[w].seq < seq; });
    waiting.insert(at, id);
  }
  void remove_waiting(std::uint32_t id) {
    auto at = std::lower_bound(waiting.begin(), waiting.end(), jobs[id].seq,
                               [&](std::uint32_t w, std::uint64_t seq) { return jobs[w].seq < seq; });
    waiting.erase(at);
  }
  JobSpec pending;
  bool has_pending = false;
  JobRunResult result;
  double busy = 0;
  SimTime busy_since = 0;
  bool round_scheduled = false;
  SimTime first_submit = 0;
  SimTime last_end = 0;
  JobClusterState scratch;             // the free resources a scheduling pass plans on
  JobClusterState capacity;            // everything free: what no job may exceed
  JobClusterState real_free;           // in a preemptive pass: what is free without preempting
  std::vector<std::uint32_t> victim_rank;  // per GPU: best rank in the order among its holders
  bool preemptive_pass = false;
  mutable std::vector<std::uint32_t> candidates;

  std::vector<double> type_memory;     // per type: the largest GPU memory of its nodes
  int gpus_total = 0;  // GPUs jobs may use (standalone: all; co-located: counted at start)
  double cpu_total = 0, memory_total = 0;  // 0 when not modelled on some node

  void index_types();

  static bool cpu_only(const JobSpec& s) { return s.worker.gpus == 0 && s.worker.milli_gpu == 0; }
  double rate(const Job& j, std::uint16_t type) const {
    if (j.spec.steps > 0) {
      auto it = j.spec.steps_per_second.find(type_names[type]);
      return it == j.spec.steps_per_second.end() ? 0.0 : it->second;
    }
    return 1.0;
  }
  // Steps, or seconds of work; a long-running instance (neither) runs until its end — for ever
  // when it has none (kForever seconds: no completion is scheduled).
  static constexpr double kForever = 1e12;
  double total_work(const JobSpec& s) const {
    if (s.steps > 0) return s.steps;
    if (s.duration > 0) return to_seconds(s.duration);
    return s.end != kNever ? std::max(0.0, to_seconds(s.end - s.submit)) : kForever;
  }
  static double gang(const JobSpec& s) {
    return s.workers * (s.worker.milli_gpu > 0 ? s.worker.milli_gpu / 1000.0 : s.worker.gpus);
  }

  // The types the job can use that the cluster has, fastest first (ties: cluster order; a
  // CPU-only job: nodes without GPUs first). A type whose GPUs are too small for the job's GPU
  // memory is left out.
  std::vector<std::uint16_t> types_for(const Job& j) const;

  // Why a job has no GPU type to run on here, in the user's terms: per cluster type, what rules
  // it out (a gavel job with no throughputs at all is told to give the table).
  std::string no_type_reason(const Job& j) const;

  // How many of the job's workers fit on node n of `free`, at most `cap`.
  int fit_count(const JobSpec& s, std::uint32_t n, const JobClusterState& free, int cap) const {
    const WorkerSpec& w = s.worker;
    double count = cap;
    if (w.cpu > 0) count = std::min(count, std::floor(free.cpu_free[n] / w.cpu + 1e-9));
    if (w.memory_bytes > 0) count = std::min(count, std::floor(free.memory_free[n] / w.memory_bytes));
    if (w.milli_gpu > 0) {
      double shares = 0;
      for (std::uint32_t i = free.gpu_begin[n]; i < free.gpu_begin[n + 1] && shares < count; ++i) {
        double k = std::floor(free.milli_free[i] / static_cast<double>(w.milli_gpu));
        if (w.gpu_memory_bytes > 0) k = std::min(k, std::floor(free.gpu_memory_free[i] / w.gpu_memory_bytes));
        shares += k;
      }
      count = std::min(count, shares);
    } else if (w.gpus > 0) {
      int whole = free.whole_free[n];
      if (w.gpu_memory_bytes > 0) {  // only GPUs with the memory asked for (nodes of a type may differ)
        whole = 0;
        for (std::uint32_t i = free.gpu_begin[n]; i < free.gpu_begin[n + 1]; ++i)
          whole += free.milli_free[i] == 1000 && free.gpu_memory_free[i] >= w.gpu_memory_bytes;
      }
      count = std::min(count, static_cast<double>(whole / w.gpus));
    }
    return static_cast<int>(count);
  }

  // Takes `count` workers' resources on node n of `free` (they fit) and records them. In a
  // preemptive pass `free` counts running jobs' resources as free: then GPUs free without
  // preemption are chosen first, then those of the lowest-ranked running jobs, so a new job
  // displaces as few and as unimportant jobs as it can.
  void take_workers(const JobSpec& s, std::uint32_t n, int count, JobClusterState& free, Allocation& out) const;

  // Gang placement on `free` (see the header): true and `out` filled (and `free` reduced) when
  // the whole gang fits; else false and nothing changed.
  bool place_builtin(const Job& j, JobClusterState& free, Allocation& out, std::uint16_t& type_out) const;

  // ---- Placement by a policy (see the header) ----
  ClusterState plan;                     // the cluster as this pass has planned it so far

  // What is free now, into `out`: a copy of `mirror`, whose nodes are read again only where the
  // cluster's version moved since the last read (a pass is then a copy, not a walk of every GPU).
  JobClusterState mirror;
  std::vector<std::uint64_t> mirror_version;
  void read_now(JobClusterState& out);
  std::vector<std::uint32_t> one_type;   // the request's allowed type

  // Changes the pass's scratch state (and, with a placement policy, the plan it sees).
  void change_scratch(const Allocation& a, int sign) {
    job_internal::apply_allocation(scratch, a, sign);
    if (!options.placement) return;
    if (sign < 0) plan.reserve(a);
    else plan.release(a);
  }

  // A placement in the scheduling pass: the policy's, or the built-in one.
  bool place_in_pass(Job& j, Allocation& out, std::uint16_t& type_out);
  // Jobs the placement policy said can never fit, found in this pass (rejected after it).
  std::vector<std::pair<std::uint32_t, std::string>> never_fits;
  std::uint32_t id_of(const Job& j) const { return static_cast<std::uint32_t>(&j - jobs.data()); }

  // Ends a job that can never run here without starting it (counted in result.rejected).
  void reject(std::uint32_t id, const std::string& why);

  SimTime next_sample = 0;

  void account_busy(double delta);

  void progress(Job& j);

  void start(std::uint32_t id, Allocation& alloc, std::uint16_t type);

  // How long after it (re)starts a job makes progress: its restart overhead when it has run
  // before, else nothing.
  SimTime start_delay(const Job& j) const {
    if (result.jobs[j.outcome].first_start == kNever) return 0;
    return j.spec.restart_overhead > 0 ? j.spec.restart_overhead : options.restart_overhead;
  }

  void stop(std::uint32_t id);  // frees the resources (completion or preemption)

  void preempt(std::uint32_t id);

  void complete(std::uint32_t id);

  JobView view_of(std::uint32_t id) const;
  QueueContext queue_context() const;
  bool order_is_valid(const char* what);

  // Jobs that did not fit in this pass, one per shape (what the built-in placement looks at).
  std::vector<std::uint32_t> failed_shapes;
  static bool same_shape(const Job& a, const Job& b) {
    const WorkerSpec &x = a.spec.worker, &y = b.spec.worker;
    return a.spec.workers == b.spec.workers && x.gpus == y.gpus && x.milli_gpu == y.milli_gpu &&
           x.gpu_memory_bytes == y.gpu_memory_bytes && x.cpu == y.cpu && x.memory_bytes == y.memory_bytes &&
           a.types == b.types;
  }
  bool failed_shape(const Job& j) const {
    return std::any_of(failed_shapes.begin(), failed_shapes.end(), [&](std::uint32_t f) { return same_shape(jobs[f], j); });
  }

  // Scratch of one scheduling pass (kept to reuse their memory).
  std::vector<JobView> views;
  std::vector<std::uint8_t> seen;  // order_is_valid's marks
  std::vector<std::uint32_t> ids, order, to_start;
  std::vector<Allocation> placements;
  std::vector<std::uint16_t> placement_types;
  std::vector<char> keep;

  // A job may be preempted when it is preemptible and has run at least the minimum run time.
  bool may_preempt(const Job& j) const { return j.spec.preemptible && now - j.started >= options.min_run_time; }
  // While jobs wait and a running job is protected by the minimum run time, a pass is due
  // when the first protection ends.
  SimTime next_recheck = kNever;
  void plan_recheck();

  // One scheduling pass, then, when it preempted a job, another at once, so that a preempted
  // job may start again on what is left (bounded: each pass preempts only lower-ranked jobs).
  void schedule();

  // Returns whether it preempted a job.
  bool schedule_pass();

  // Whether a job that starts in this pass uses any GPU of `a`, or CPU or host memory on a node
  // where `a` has them: a preemption no start needs is futile.
  bool used_by_started(const Allocation& a, std::size_t placed) const;

  // Takes a running job's own allocation back in the scratch state if it is still free there
  // (pieces on one GPU, workers on one node, add up); false and nothing changed otherwise.
  bool retake(const Allocation& a);

  // EASY: the reservation of the first waiting job that does not fit. Starting from `free`
  // (what this pass has not handed out), running jobs release their resources in the order of
  // their known ends until the head's gang fits (with its shape: per-node GPUs, shares, CPU,
  // memory); that end is the shadow time. `extra`: the GPUs (pooled, shares as fractions)
  // still free then beside the head. No reservation (shadow kNever) when it never fits.
  void reserve(const Job& head, const JobClusterState& free, SimTime& shadow, double& extra);
  std::vector<std::pair<SimTime, std::uint32_t>> pass_ends;  // reserve()'s: jobs this pass starts
  std::set<std::pair<SimTime, std::uint32_t>> running_ends;  // running jobs that end, by end
  std::vector<int> node_room, type_room;                     // reserve()'s scratch
  JobClusterState future;  // reserve()'s scratch
  Allocation reserve_probe;

  bool read_next();

  void arrive();
};

}  // namespace fleetsim
