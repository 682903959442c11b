#include "sim/job_simulation.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <set>
#include <cstdio>

#include "sim/event_queue.hpp"

namespace fleetsim {

namespace {

// Seconds to SimTime, rounded up; saturates at kFar (about 127 years) so that sums with a
// simulation time cannot overflow: a run time that long is "never" for every comparison.
constexpr SimTime kFar = SimTime{4'000'000'000} * 1'000'000'000;
SimTime ceil_seconds(double s) {
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
void apply_allocation(JobClusterState& state, const Allocation& allocation, int sign) {
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
double gpu_memory_of(const NodeView& node) {
  const double m = node.gpu_type->memory_bytes;
  return m <= 0 || m >= kUnmodelledGpuMemory ? kUnlimited : m;
}

// What is free on node n of `cluster` (a GPU held by a replica is taken whole; one with job
// shares has the rest free; a node that is not up offers nothing), or with `all` its whole
// capacity, written into `out`, whose layout (gpu_begin) is already set.
void read_node(const ClusterState& cluster, std::uint32_t n, JobClusterState& out, bool all) {
  const NodeView& node = cluster.node(n);
  const bool offers = all || node.up;
  int whole = 0;
  const double memory = gpu_memory_of(node);
  for (std::size_t g = 0; g < node.gpus.size(); ++g) {
    const GpuSlot& slot = node.gpus[g];
    const int used = all ? 0 : static_cast<int>(std::min<std::uint32_t>(slot.milli_used, 1000));
    const int free = offers ? 1000 - used : 0;
    const std::size_t i = out.gpu_begin[n] + g;
    out.milli_free[i] = free;
    out.gpu_memory_free[i] = !offers ? 0.0 : all ? memory : std::max(0.0, memory - slot.memory_used);
    whole += free == 1000;
  }
  out.whole_free[n] = whole;
  const double cpu_used = all ? 0 : node.cpu_used, memory_used = all ? 0 : node.host_memory_used;
  out.cpu_free[n] = !offers ? 0.0 : node.cpu_capacity > 0 ? node.cpu_capacity - cpu_used : kUnlimited;
  out.memory_free[n] = !offers                          ? 0.0
                       : node.host_memory_capacity > 0 ? node.host_memory_capacity - memory_used
                                                       : kUnlimited;
}

// Sizes `out` for `cluster` and reads every node.
void read_free(const ClusterState& cluster, JobClusterState& out, bool all) {
  out.gpu_begin.assign(1, 0);
  for (const NodeView& node : cluster.nodes())
    out.gpu_begin.push_back(out.gpu_begin.back() + static_cast<std::uint32_t>(node.gpus.size()));
  out.milli_free.assign(out.gpu_begin.back(), 0);
  out.gpu_memory_free.assign(out.gpu_begin.back(), 0);
  out.whole_free.assign(cluster.size(), 0);
  out.cpu_free.assign(cluster.size(), 0);
  out.memory_free.assign(cluster.size(), 0);
  for (std::uint32_t n = 0; n < cluster.size(); ++n) read_node(cluster, n, out, all);
}
}  // namespace

ClusterState job_cluster(std::span<const JobClusterNode> nodes) {
  std::vector<GpuType> catalog;  // one entry per type name and GPU memory
  std::vector<std::uint32_t> entry;
  for (const JobClusterNode& n : nodes) {
    GpuType g;
    g.name = n.gpu_type;
    g.memory_bytes = n.gpu_memory_bytes > 0 ? n.gpu_memory_bytes : kUnmodelledGpuMemory;
    auto it = std::find_if(catalog.begin(), catalog.end(),
                           [&](const GpuType& c) { return c.name == g.name && c.memory_bytes == g.memory_bytes; });
    if (it == catalog.end()) it = catalog.insert(catalog.end(), g);
    entry.push_back(static_cast<std::uint32_t>(it - catalog.begin()));
  }
  ClusterState cluster(std::move(catalog));
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    const std::uint32_t n = cluster.add_node(0, entry[i], nodes[i].gpus);
    cluster.node_for_update(n).cpu_capacity = nodes[i].cpu;
    cluster.node_for_update(n).host_memory_capacity = nodes[i].memory_bytes;
  }
  return cluster;
}

struct JobSimulation::Impl {
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

  void index_types() {
    for (std::size_t n = 0; n < cluster->size(); ++n) {
      const std::string& name = cluster->node(static_cast<std::uint32_t>(n)).gpu_type->name;
      auto it = std::find(type_names.begin(), type_names.end(), name);
      if (it == type_names.end()) {
        type_names.push_back(name);
        type_nodes.emplace_back();
        it = type_names.end() - 1;
      }
      node_type.push_back(static_cast<std::uint16_t>(it - type_names.begin()));
      type_nodes[node_type.back()].push_back(static_cast<std::uint32_t>(n));
    }
    type_memory.assign(type_names.size(), 0);
    for (std::size_t n = 0; n < cluster->size(); ++n)
      type_memory[node_type[n]] = std::max(type_memory[node_type[n]], gpu_memory_of(cluster->node(static_cast<std::uint32_t>(n))));
    read_free(*cluster, capacity, true);
    type_frees.assign(type_names.size(), 0);
    read_free(*cluster, scratch, false);  // the totals count what is up at the start
    for (std::size_t n = 0; n < cluster->size(); ++n) {
      gpus_total += scratch.whole_free[n];
      cpu_total += scratch.cpu_free[n];
      memory_total += scratch.memory_free[n];
    }
    if (std::isinf(cpu_total)) cpu_total = 0;
    if (std::isinf(memory_total)) memory_total = 0;
  }

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
  std::vector<std::uint16_t> types_for(const Job& j) const {
    std::vector<std::pair<double, std::uint16_t>> ranked;
    const bool no_gpu = cpu_only(j.spec);
    for (std::uint16_t t = 0; t < type_names.size(); ++t) {
      const std::string& name = type_names[t];
      if (name.empty() && !no_gpu) continue;
      if (!name.empty() && !j.spec.gpu_types.empty() &&
          std::find(j.spec.gpu_types.begin(), j.spec.gpu_types.end(), name) == j.spec.gpu_types.end())
        continue;
      if (!no_gpu && j.spec.worker.gpu_memory_bytes > type_memory[t]) continue;
      const double r = rate(j, t);
      if (r > 0) ranked.push_back({no_gpu && name.empty() ? kForever : r, t});
    }
    std::stable_sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    std::vector<std::uint16_t> out;
    for (auto& r : ranked) out.push_back(r.second);
    return out;
  }

  // Why a job has no GPU type to run on here, in the user's terms: per cluster type, what rules
  // it out (a gavel job with no throughputs at all is told to give the table).
  std::string no_type_reason(const Job& j) const {
    const JobSpec& s = j.spec;
    if (s.steps > 0 && s.steps_per_second.empty())
      return "its work is in steps, with no throughput for any GPU type (gavel traces: give the throughput table)";
    std::string out;
    for (std::uint16_t t = 0; t < type_names.size(); ++t) {
      const std::string& name = type_names[t];
      std::string why;
      if (name.empty()) {
        continue;  // nodes without GPUs: not what a GPU job looks for
      } else if (!s.gpu_types.empty() && std::find(s.gpu_types.begin(), s.gpu_types.end(), name) == s.gpu_types.end()) {
        why = "not allowed";
      } else if (s.steps > 0 && !s.steps_per_second.count(name)) {
        why = "no throughput";
      } else if (s.worker.gpu_memory_bytes > type_memory[t]) {
        char buf[64];
        std::snprintf(buf, sizeof buf, "%.1f GiB of GPU memory, %.1f asked", type_memory[t] / (1024.0 * 1024 * 1024),
                      s.worker.gpu_memory_bytes / (1024.0 * 1024 * 1024));
        why = buf;
      } else {
        continue;
      }
      out += (out.empty() ? "" : ", ") + (name.empty() ? std::string("nodes without GPUs") : name) + " (" + why + ")";
    }
    return "no GPU type of the cluster can run it: " + out;
  }

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
  void take_workers(const JobSpec& s, std::uint32_t n, int count, JobClusterState& free, Allocation& out) const {
    const WorkerSpec& w = s.worker;
    const int milli = w.milli_gpu > 0 ? w.milli_gpu : 1000;
    // Larger is better to take: free without preemption, else the rank of its best holder.
    auto cost = [&](std::size_t i) -> std::uint32_t {
      if (!preemptive_pass || real_free.milli_free[i] >= milli) return std::numeric_limits<std::uint32_t>::max();
      return victim_rank[i];
    };
    for (int k = 0; k < count; ++k) {
      Allocation one;
      one.hosts.push_back({n, w.cpu, w.memory_bytes});
      if (w.milli_gpu > 0) {  // best fit: the GPU with the least free milli that fits
        std::int64_t best = -1;
        auto better = [&](std::size_t i, std::size_t b) {
          if (cost(i) != cost(b)) return cost(i) > cost(b);
          return free.milli_free[i] < free.milli_free[b];
        };
        for (std::uint32_t i = free.gpu_begin[n]; i < free.gpu_begin[n + 1]; ++i) {
          if (free.milli_free[i] < w.milli_gpu || free.gpu_memory_free[i] < w.gpu_memory_bytes) continue;
          if (best < 0 || better(i, static_cast<std::size_t>(best))) best = i;
        }
        one.gpus.push_back({n, static_cast<std::uint32_t>(best) - free.gpu_begin[n], w.milli_gpu, w.gpu_memory_bytes});
      } else {
        candidates.clear();
        for (std::uint32_t i = free.gpu_begin[n]; i < free.gpu_begin[n + 1]; ++i)
          if (free.milli_free[i] == 1000 && free.gpu_memory_free[i] >= w.gpu_memory_bytes) candidates.push_back(i);
        std::stable_sort(candidates.begin(), candidates.end(),
                         [&](std::uint32_t a, std::uint32_t b) { return cost(a) > cost(b); });
        for (int g = 0; g < w.gpus; ++g) {
          const std::uint32_t i = candidates[static_cast<std::size_t>(g)];
          // All its memory (none recorded when memory is not modelled).
          const double memory = std::isinf(free.gpu_memory_free[i]) ? 0.0 : free.gpu_memory_free[i];
          one.gpus.push_back({n, i - free.gpu_begin[n], 1000, memory});
        }
      }
      apply_allocation(free, one, -1);
      out.gpus.insert(out.gpus.end(), one.gpus.begin(), one.gpus.end());
      out.hosts.push_back(one.hosts.front());
    }
  }

  // Gang placement on `free` (see the header): true and `out` filled (and `free` reduced) when
  // the whole gang fits; else false and nothing changed.
  bool place_builtin(const Job& j, JobClusterState& free, Allocation& out, std::uint16_t& type_out) const {
    const int workers = j.spec.workers;
    for (std::uint16_t type : j.types) {
      const auto& nodes = type_nodes[type];
      // One node for the whole gang: the tightest.
      std::int64_t best = -1;
      auto slack = [&](std::uint32_t n) {
        double milli = 0;
        if (j.spec.worker.milli_gpu > 0)
          for (std::uint32_t i = free.gpu_begin[n]; i < free.gpu_begin[n + 1]; ++i) milli += free.milli_free[i];
        return std::tuple{free.whole_free[n], milli, free.cpu_free[n]};
      };
      for (std::uint32_t n : nodes)
        if (fit_count(j.spec, n, free, workers) >= workers &&
            (best < 0 || slack(n) < slack(static_cast<std::uint32_t>(best))))
          best = n;
      if (best >= 0) {
        out.clear();
        take_workers(j.spec, static_cast<std::uint32_t>(best), workers, free, out);
        type_out = type;
        return true;
      }
      // Else fill the nodes with room for the most workers first.
      std::vector<std::pair<int, std::uint32_t>> room;
      int total = 0;
      for (std::uint32_t n : nodes)
        if (const int k = fit_count(j.spec, n, free, workers); k > 0) {
          room.push_back({k, n});
          total += k;
        }
      if (total < workers) continue;
      std::stable_sort(room.begin(), room.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
      out.clear();
      int left = workers;
      for (auto [k, n] : room) {
        const int take = std::min(left, k);
        take_workers(j.spec, n, take, free, out);
        left -= take;
        if (left == 0) break;
      }
      type_out = type;
      return true;
    }
    return false;
  }

  // ---- Placement by a policy (see the header) ----
  ClusterState plan;                     // the cluster as this pass has planned it so far

  // What is free now, into `out`: a copy of `mirror`, whose nodes are read again only where the
  // cluster's version moved since the last read (a pass is then a copy, not a walk of every GPU).
  JobClusterState mirror;
  std::vector<std::uint64_t> mirror_version;
  void read_now(JobClusterState& out) {
    if (mirror_version.size() != cluster->size()) {
      read_free(*cluster, mirror, false);
      mirror_version.resize(cluster->size());
      for (std::uint32_t n = 0; n < cluster->size(); ++n) mirror_version[n] = cluster->version(n);
    } else {
      for (std::uint32_t n = 0; n < cluster->size(); ++n)
        if (mirror_version[n] != cluster->version(n)) {
          read_node(*cluster, n, mirror, false);
          mirror_version[n] = cluster->version(n);
        }
    }
    out = mirror;
  }
  std::vector<std::uint32_t> one_type;   // the request's allowed type

  // Changes the pass's scratch state (and, with a placement policy, the plan it sees).
  void change_scratch(const Allocation& a, int sign) {
    apply_allocation(scratch, a, sign);
    if (!options.placement) return;
    if (sign < 0) plan.reserve(a);
    else plan.release(a);
  }

  // A placement in the scheduling pass: the policy's, or the built-in one.
  bool place_in_pass(Job& j, Allocation& out, std::uint16_t& type_out) {
    if (!options.placement) return place_builtin(j, scratch, out, type_out);
    const WorkerSpec& w = j.spec.worker;
    bool never = !j.types.empty();  // every type answered "never" for the first worker
    std::string why;
    for (std::uint16_t type : j.types) {
      one_type.clear();  // the catalog entries of this type
      for (std::uint32_t c = 0; c < plan.catalog().size(); ++c)
        if (plan.catalog()[c].name == type_names[type]) one_type.push_back(c);
      PlacementRequest request;
      request.gpus = w.milli_gpu > 0 ? 0 : w.gpus;
      request.milli_gpu = w.milli_gpu;
      // GPU memory: types too small are already left out (types_for); a share claims its
      // memory where the type's memory is modelled.
      request.memory_per_gpu = w.milli_gpu > 0 ? w.gpu_memory_bytes : 0;
      request.min_gpu_memory = w.gpu_memory_bytes;
      request.cpu = w.cpu;
      request.host_memory = w.memory_bytes;
      request.gpu_types = one_type;
      request.catalog = plan.catalog();
      request.asked_before = j.asked_policy;
      out.clear();
      bool placed = true;
      for (int k = 0; k < j.spec.workers && placed; ++k) {
        const PlacementAnswer p = options.placement->place(request, plan.view(now));
        if (!p) {
          if (k == 0 && p.never()) why = p.why();
          never = never && k == 0 && p.never();
          placed = false;
          break;
        }
        never = false;
        Allocation one;
        if (const Status status = plan.check(request, *p, "a worker"); !status.ok) {
          result.errors.add(Diagnostic{"", 0, 0, "jobs",
                                       "placement policy '" + options.placement_name + "' " + status.message + " (job " + j.spec.id + ")"});
          placed = false;
          break;
        }
        one.hosts.push_back({p->node, w.cpu, w.memory_bytes});
        for (int g : p->gpus) {
          const std::size_t i = scratch.gpu_begin[p->node] + static_cast<std::size_t>(g);
          const bool whole = w.milli_gpu == 0;
          const double memory = whole ? (std::isinf(scratch.gpu_memory_free[i]) ? 0.0 : scratch.gpu_memory_free[i])
                                      : w.gpu_memory_bytes;
          one.gpus.push_back({p->node, static_cast<std::uint32_t>(g), whole ? 1000 : w.milli_gpu, memory});
        }
        change_scratch(one, -1);
        out.gpus.insert(out.gpus.end(), one.gpus.begin(), one.gpus.end());
        out.hosts.push_back(one.hosts.front());
      }
      j.asked_policy = true;  // its first type's requests were the ones a learning policy counts
      if (placed) {
        type_out = type;
        return true;
      }
      change_scratch(out, +1);  // undo the workers placed
      out.clear();
      if (!result.errors.empty()) return false;
    }
    if (never) never_fits.push_back({id_of(j), "placement policy '" + options.placement_name + "': " + why});
    return false;
  }
  // Jobs the placement policy said can never fit, found in this pass (rejected after it).
  std::vector<std::pair<std::uint32_t, std::string>> never_fits;
  std::uint32_t id_of(const Job& j) const { return static_cast<std::uint32_t>(&j - jobs.data()); }

  // Ends a job that can never run here without starting it (counted in result.rejected).
  void reject(std::uint32_t id, const std::string& why) {
    ++result.rejected;
    if (result.rejected_examples.size() < 5) result.rejected_examples.push_back("job " + jobs[id].spec.id + ": " + why);
    free_slots.push_back(id);
  }

  SimTime next_sample = 0;

  void account_busy(double delta) {
    // Samples of busy GPUs (the level before the change: it held until now).
    if (options.sample_interval > 0)
      for (; next_sample <= now; next_sample += options.sample_interval)
        result.busy_gpus.push_back({next_sample, busy});
    result.gpu_seconds_busy += busy * to_seconds(now - busy_since);
    busy_since = now;
    busy += delta;
    if (std::abs(busy) < 1e-9) busy = 0;
  }

  void progress(Job& j) {
    if (!j.running || now <= j.progress_since) return;
    const double r = rate(j, j.type);
    j.remaining = std::max(0.0, j.remaining - r * to_seconds(now - j.progress_since));
    j.attained += gang(j.spec) * to_seconds(now - j.progress_since);
    j.progress_since = now;
  }

  void start(std::uint32_t id, Allocation& alloc, std::uint16_t type) {
    Job& j = jobs[id];
    cluster->reserve(alloc);
    std::swap(j.alloc, alloc);
    j.type = type;
    j.running = true;
    remove_waiting(id);
    j.started = now;
    JobOutcome& o = result.jobs[j.outcome];
    const SimTime delay = start_delay(j);  // read before first_start is set
    if (o.first_start == kNever) o.first_start = now;
    j.progress_since = now + delay;
    j.work_started = j.progress_since;
    account_busy(gang(j.spec));
    ++j.epoch;
    const double r = rate(j, type);
    j.projected_end = kNever;
    if (const SimTime run = ceil_seconds(j.remaining / r); run < kFar) {
      j.projected_end = j.progress_since + run;
      push(j.projected_end, JobEvent{JobEventKind::Completion, id, j.epoch});
      running_ends.insert({j.projected_end, id});
    }
  }

  // How long after it (re)starts a job makes progress: its restart overhead when it has run
  // before, else nothing.
  SimTime start_delay(const Job& j) const {
    if (result.jobs[j.outcome].first_start == kNever) return 0;
    return j.spec.restart_overhead > 0 ? j.spec.restart_overhead : options.restart_overhead;
  }

  void stop(std::uint32_t id) {  // frees the resources (completion or preemption)
    Job& j = jobs[id];
    cluster->release(j.alloc);
    ++type_frees[j.type];
    if (j.projected_end != kNever) running_ends.erase({j.projected_end, id});
    j.alloc.clear();
    j.running = false;
    ++j.epoch;
    account_busy(-gang(j.spec));
  }

  void preempt(std::uint32_t id) {
    Job& j = jobs[id];
    progress(j);
    // Work since the last checkpoint is lost.
    const double r = rate(j, j.type);
    double kept = j.remaining;
    if (j.spec.checkpoint_interval == 0 && options.checkpoint_on_preemption) {
      kept = j.remaining;
    } else if (j.spec.checkpoint_interval > 0) {
      const double ran = std::max(0.0, to_seconds(now - j.work_started));
      const double interval = to_seconds(j.spec.checkpoint_interval);
      const double checkpoints = std::floor(ran / interval);
      kept = std::max(j.remaining, j.checkpointed - checkpoints * interval * r);
    } else {
      kept = j.checkpointed;
    }
    JobOutcome& o = result.jobs[j.outcome];
    o.lost_gpu_seconds += (kept - j.remaining) / r * gang(j.spec);
    ++o.preemptions;
    j.remaining = kept;
    j.checkpointed = kept;
    stop(id);
    add_waiting(id);
  }

  void complete(std::uint32_t id) {
    Job& j = jobs[id];
    stop(id);
    j.done = true;
    JobOutcome& o = result.jobs[j.outcome];
    o.end = now;
    o.gpu_type = type_names[j.type];
    active.erase(std::find(active.begin(), active.end(), id));
    free_slots.push_back(id);
  }

  JobView view_of(std::uint32_t id) const {
    const Job& j = jobs[id];
    JobView v;
    v.index = id;
    v.submit = j.spec.submit;
    v.gpus = gang(j.spec);
    v.running = j.running;
    v.preemptible = j.spec.preemptible;
    v.priority = j.spec.priority;
    // One basis for every job, running or waiting: its time on the fastest type it may use (a
    // running job's own GPU speed would rank identical jobs differently by where they run).
    const double r = rate(j, j.types.front());
    v.total_seconds = total_work(j.spec) / r;
    v.remaining_seconds = j.remaining / r;
    v.attained_gpu_seconds = j.attained;
    v.cpu = j.spec.workers * j.spec.worker.cpu;
    v.memory_bytes = j.spec.workers * j.spec.worker.memory_bytes;
    v.tenant = j.tenant;
    return v;
  }

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
  std::vector<std::uint32_t> ids, order, to_start;
  std::vector<Allocation> placements;
  std::vector<std::uint16_t> placement_types;
  std::vector<char> keep;

  // A job may be preempted when it is preemptible and has run at least the minimum run time.
  bool may_preempt(const Job& j) const { return j.spec.preemptible && now - j.started >= options.min_run_time; }
  // While jobs wait and a running job is protected by the minimum run time, a pass is due
  // when the first protection ends.
  SimTime next_recheck = kNever;
  void plan_recheck() {
    if (options.min_run_time <= 0 || waiting.empty()) return;
    SimTime first = kNever;
    for (std::uint32_t id : active) {
      const Job& j = jobs[id];
      if (j.running && j.spec.preemptible && now - j.started < options.min_run_time)
        first = std::min(first, j.started + options.min_run_time);
    }
    if (first == kNever || first >= next_recheck) return;
    next_recheck = first;
    push(first, JobEvent{JobEventKind::Recheck, 0, 0});
  }

  // One scheduling pass, then, when it preempted a job, another at once, so that a preempted
  // job may start again on what is left (bounded: each pass preempts only lower-ranked jobs).
  void schedule() {
    for (int pass = 0; pass < 8 && schedule_pass(); ++pass) {
    }
    if (policy->preemptive()) plan_recheck();
  }

  // Returns whether it preempted a job.
  bool schedule_pass() {
    const bool preemptive = policy->preemptive();
    // A non-preemptive policy only orders waiting jobs, whose state does not change while they
    // wait; running jobs' progress is brought up to date where it is needed (preemption, views).
    if (!preemptive && waiting.empty()) return false;
    // Nothing was freed where any waiting job could go since it last failed to fit: no job can
    // start, and the order does not matter (built-in placement; see the memo below).
    if (!preemptive && !options.placement &&
        std::all_of(waiting.begin(), waiting.end(), [&](std::uint32_t id) { return jobs[id].failed_at == free_epochs(jobs[id]); }))
      return false;
    if (preemptive)
      for (std::uint32_t id : active) progress(jobs[id]);
    views.clear();
    ids.clear();
    failed_shapes.clear();
    for (std::uint32_t id : preemptive ? active : waiting) {
      views.push_back(view_of(id));
      ids.push_back(id);
    }
    if (views.empty()) return false;
    QueueContext context;
    context.now = now;
    context.total_gpus = gpus_total;
    context.total_cpu = cpu_total;
    context.total_memory_bytes = memory_total;
    context.tenants = tenants;
    policy->order(context, views, order);
    // The target: walk the order on a scratch copy of the free resources.
    read_now(scratch);
    if (options.placement) plan = *cluster;
    if (preemptive) keep.assign(jobs.size(), 0);
    preemptive_pass = preemptive;
    if (preemptive) {
      real_free = scratch;
      victim_rank.assign(scratch.milli_free.size(), std::numeric_limits<std::uint32_t>::max());
      for (std::uint32_t k = 0; k < order.size(); ++k)
        for (const auto& g : jobs[ids[order[k]]].alloc.gpus) {
          std::uint32_t& r = victim_rank[scratch.gpu_begin[g.node] + g.gpu];
          r = std::min(r, k);
        }
    }
    if (preemptive)
      for (std::uint32_t id : active)
        if (jobs[id].running && may_preempt(jobs[id])) change_scratch(jobs[id].alloc, +1);
    to_start.clear();
    std::size_t placed = 0;
    bool blocked = false;
    SimTime shadow = kNever;
    double extra = 0;
    for (std::uint32_t k : order) {
      const std::uint32_t id = ids[k];
      Job& j = jobs[id];
      if (j.running) {  // preemptive only: keep its resources if a higher-ranked job did not take them
        if (!may_preempt(j)) {
          keep[id] = 1;
          continue;
        }
        if (retake(j.alloc)) keep[id] = 1;
        continue;
      }
      if (blocked && !options.backfill) {
        if (!preemptive) break;
        continue;
      }
      if (placements.size() <= placed) placements.emplace_back();
      if (placement_types.size() <= placed) placement_types.emplace_back();
      Allocation& alloc = placements[placed];
      std::uint16_t type = 0;
      // Without preemption resources only shrink until something is freed: a job that did not
      // fit need not be tried again before then (the built-in placement is deterministic).
      // Within a pass resources only shrink too: a job shaped like one that did not fit does not.
      const bool memo = !preemptive && !options.placement;
      const bool known_misfit = (memo && j.failed_at == free_epochs(j)) || (!options.placement && failed_shape(j));
      // In a preemptive pass, capacity that is free now comes first: a job preempts others only
      // when it cannot run without doing so (built-in placement).
      bool on_free = false;
      if (preemptive && !options.placement && !known_misfit && place_builtin(j, real_free, alloc, type)) {
        apply_allocation(scratch, alloc, -1);
        on_free = true;
      }
      if (!on_free && (known_misfit || !place_in_pass(j, alloc, type))) {
        if (memo) j.failed_at = free_epochs(j);
        if (!options.placement && !failed_shape(j)) failed_shapes.push_back(id);
        if (!blocked && options.backfill && !preemptive) reserve(j, scratch, shadow, extra);
        blocked = true;
        continue;
      }
      if (blocked) {  // EASY backfill: must not delay the reserved job
        const bool ends_in_time = now + start_delay(j) + ceil_seconds(j.remaining / rate(j, type)) <= shadow;
        if (!ends_in_time && gang(j.spec) > extra + 1e-9) {
          change_scratch(alloc, +1);
          continue;
        }
        if (!ends_in_time) extra -= gang(j.spec);
      }
      if (preemptive && !on_free) apply_allocation(real_free, alloc, -1);  // (held GPUs go below 0: taken)
      to_start.push_back(id);
      placement_types[placed] = type;
      ++placed;
    }
    preemptive_pass = false;
    bool preempted = false;
    if (preemptive)
      for (std::uint32_t id : std::vector<std::uint32_t>(active))
        if (jobs[id].running && may_preempt(jobs[id]) && !keep[id]) {
          if (!used_by_started(jobs[id].alloc, placed)) ++result.futile_preemptions;
          preempt(id);
          preempted = true;
        }
    for (std::size_t i = 0; i < to_start.size(); ++i) start(to_start[i], placements[i], placement_types[i]);
    for (const auto& [id, why] : never_fits) {
      remove_waiting(id);
      active.erase(std::find(active.begin(), active.end(), id));
      reject(id, why);
    }
    never_fits.clear();
    return preempted;
  }

  // Whether a job that starts in this pass uses any GPU of `a`, or CPU or host memory on a node
  // where `a` has them: a preemption no start needs is futile.
  bool used_by_started(const Allocation& a, std::size_t placed) const {
    for (std::size_t i = 0; i < placed; ++i) {
      const Allocation& b = placements[i];
      for (const auto& x : a.gpus)
        for (const auto& y : b.gpus)
          if (x.node == y.node && x.gpu == y.gpu) return true;
      for (const auto& x : a.hosts)
        for (const auto& y : b.hosts)
          if (x.node == y.node && ((x.cpu > 0 && y.cpu > 0) || (x.memory > 0 && y.memory > 0))) return true;
    }
    return false;
  }

  // Takes a running job's own allocation back in the scratch state if it is still free there
  // (pieces on one GPU, workers on one node, add up); false and nothing changed otherwise.
  bool retake(const Allocation& a) {
    change_scratch(a, -1);
    bool fits = true;
    for (const auto& g : a.gpus) {
      const std::size_t i = scratch.gpu_begin[g.node] + g.gpu;
      fits = fits && scratch.milli_free[i] >= 0 && scratch.gpu_memory_free[i] >= -1e-6;
    }
    for (const auto& h : a.hosts)
      fits = fits && scratch.cpu_free[h.node] >= -1e-9 && scratch.memory_free[h.node] >= -1e-6;
    if (!fits) change_scratch(a, +1);
    return fits;
  }

  // EASY: the reservation of the first waiting job that does not fit. Starting from `free`
  // (what this pass has not handed out), running jobs release their resources in the order of
  // their known ends until the head's gang fits (with its shape: per-node GPUs, shares, CPU,
  // memory); that end is the shadow time. `extra`: the GPUs (pooled, shares as fractions)
  // still free then beside the head. No reservation (shadow kNever) when it never fits.
  void reserve(const Job& head, const JobClusterState& free, SimTime& shadow, double& extra) {
    // Only the nodes a release touches change, so the head's room (workers that fit, per node,
    // capped at the gang) is kept per type and updated there; the gang fits once a type's room
    // reaches it (the built-in placement fills nodes).
    future = free;
    shadow = kNever;
    extra = 0;
    const int workers = head.spec.workers;
    node_room.assign(cluster->size(), 0);
    type_room.assign(type_names.size(), -1);  // -1: a type the head may not use
    for (std::uint16_t t : head.types) {
      type_room[t] = 0;
      for (std::uint32_t n : type_nodes[t]) type_room[t] += node_room[n] = fit_count(head.spec, n, future, workers);
    }
    // Releases, in end order: running jobs, merged with the jobs this pass starts (their ends
    // count from now, after a restart's overhead).
    pass_ends.clear();
    for (std::size_t i = 0; i < to_start.size(); ++i) {
      const Job& j = jobs[to_start[i]];
      const SimTime run = ceil_seconds(j.remaining / rate(j, placement_types[i]));
      if (run < kFar) pass_ends.push_back({now + start_delay(j) + run, static_cast<std::uint32_t>(i)});
    }
    std::sort(pass_ends.begin(), pass_ends.end());
    auto running = running_ends.begin();
    auto started = pass_ends.begin();
    while (running != running_ends.end() || started != pass_ends.end()) {
      const bool take_running = started == pass_ends.end() || (running != running_ends.end() && running->first <= started->first);
      const SimTime t = take_running ? running->first : started->first;
      const Allocation& a = take_running ? jobs[running->second].alloc : placements[started->second];
      if (take_running) ++running;
      else ++started;
      apply_allocation(future, a, +1);
      bool fits = false;
      for (std::size_t h = 0; h < a.hosts.size(); ++h) {
        const std::uint32_t n = a.hosts[h].node;
        if (type_room[node_type[n]] < 0 || (h > 0 && a.hosts[h - 1].node == n)) continue;
        const int room = fit_count(head.spec, n, future, workers);
        type_room[node_type[n]] += room - node_room[n];
        node_room[n] = room;
        fits = fits || type_room[node_type[n]] >= workers;
      }
      if (fits) {
        shadow = t;
        std::uint16_t type = 0;
        place_builtin(head, future, reserve_probe, type);
        for (int m : future.milli_free) extra += m / 1000.0;
        return;
      }
    }
  }
  std::vector<std::pair<SimTime, std::uint32_t>> pass_ends;  // reserve()'s: jobs this pass starts
  std::set<std::pair<SimTime, std::uint32_t>> running_ends;  // running jobs that end, by end
  std::vector<int> node_room, type_room;                     // reserve()'s scratch
  JobClusterState future;  // reserve()'s scratch
  Allocation reserve_probe;

  bool read_next() {
    has_pending = source->next(pending, result.errors);
    if (has_pending) push(pending.submit, JobEvent{JobEventKind::Arrival, 0, 0});
    return has_pending;
  }

  void arrive() {
    std::uint32_t id;
    if (!free_slots.empty()) {
      id = free_slots.back();
      free_slots.pop_back();
      const std::uint32_t epoch = jobs[id].epoch;  // stale events of the slot's last job must stay stale
      jobs[id] = Job{};
      jobs[id].epoch = epoch + 1;
    } else {
      id = static_cast<std::uint32_t>(jobs.size());
      jobs.emplace_back();
    }
    Job& j = jobs[id];
    j.spec = pending;
    j.seq = next_seq++;
    auto t = std::find(tenants.begin(), tenants.end(), j.spec.tenant);
    if (t == tenants.end()) t = tenants.insert(t, j.spec.tenant);
    j.tenant = static_cast<std::uint32_t>(t - tenants.begin());
    j.remaining = j.checkpointed = total_work(j.spec);
    j.types = types_for(j);
    j.outcome = static_cast<std::uint32_t>(result.jobs.size());
    JobOutcome o;
    o.id = j.spec.id;
    o.tenant = j.spec.tenant;
    o.job_class = j.spec.job_class;
    o.gpus = gang(j.spec);
    o.submit = j.spec.submit;
    if (!j.types.empty()) o.standalone_s = total_work(j.spec) / rate(j, j.types.front());
    result.jobs.push_back(o);
    // A job that could not run even on the empty cluster is rejected: it ends unstarted rather
    // than waiting for ever (and, under FIFO, blocking every job behind it).
    Allocation probe;
    std::uint16_t type = 0;
    std::string why = j.types.empty()                            ? no_type_reason(j)
                      : !place_builtin(j, capacity, probe, type) ? "its gang does not fit even the empty cluster"
                                                                 : "";
    if (why.empty()) apply_allocation(capacity, probe, +1);
    if (!why.empty()) {
      reject(id, why);
      return;
    }
    active.push_back(id);
    add_waiting(id);
  }
};

JobSimulation::JobSimulation(std::vector<JobClusterNode> nodes, std::unique_ptr<JobSource> jobs,
                             std::unique_ptr<QueuePolicy> policy, JobRunOptions options)
    : JobSimulation(std::make_unique<ClusterState>(job_cluster(nodes)), nullptr, std::move(jobs), std::move(policy),
                    std::move(options), {}) {}

JobSimulation::JobSimulation(ClusterState& cluster, std::unique_ptr<JobSource> jobs,
                             std::unique_ptr<QueuePolicy> policy, JobRunOptions options, JobEventSink sink)
    : JobSimulation(nullptr, &cluster, std::move(jobs), std::move(policy), std::move(options), std::move(sink)) {}

JobSimulation::JobSimulation(std::unique_ptr<ClusterState> owned, ClusterState* cluster, std::unique_ptr<JobSource> jobs,
                             std::unique_ptr<QueuePolicy> policy, JobRunOptions options, JobEventSink sink)
    : impl_(std::make_unique<Impl>()) {
  impl_->owned = std::move(owned);
  impl_->cluster = impl_->owned ? impl_->owned.get() : cluster;
  impl_->sink = std::move(sink);
  impl_->index_types();
  impl_->source = std::move(jobs);
  impl_->policy = std::move(policy);
  impl_->options = std::move(options);
  impl_->read_next();
  impl_->first_submit = impl_->has_pending ? impl_->pending.submit : 0;
}

JobSimulation::~JobSimulation() = default;

// One event: returns whether it changed what a pass would decide.
bool JobSimulation::Impl::handle(SimTime at, const JobEvent& e) {
  now = at;
  ++result.events;
  switch (e.kind) {
    case JobEventKind::Arrival:
      arrive();
      read_next();
      return true;
    case JobEventKind::Completion: {
      auto& j = jobs[e.job];
      if (j.done || !j.running || j.epoch != e.epoch) return false;
      progress(j);
      complete(e.job);
      last_end = now;
      return true;
    }
    case JobEventKind::Recheck:
      if (next_recheck == now) next_recheck = kNever;
      if (options.round == 0) schedule();
      return false;
    case JobEventKind::Round:
      round_scheduled = false;
      schedule();
      return false;
  }
  return false;
}

// After an event: event-driven, one scheduling pass once every event of this instant is
// handled (when the last one changed something); round-based, allocations change only at
// round boundaries, while jobs are in the system.
void JobSimulation::Impl::after_event(bool changed, bool instant_over) {
  if (changed && options.round == 0 && instant_over) schedule();
  if (options.round > 0 && !round_scheduled && !active.empty()) {
    push((now / options.round + 1) * options.round, JobEvent{JobEventKind::Round, 0, 0});
    round_scheduled = true;
  }
}

void JobSimulation::advance(SimTime until) {
  Impl& s = *impl_;
  while (!s.queue.empty() && s.queue.top().time <= until && s.result.errors.empty()) {
    auto e = s.queue.pop();
    const bool changed = s.handle(e.time, e.payload);
    s.after_event(changed, s.queue.empty() || s.queue.top().time != s.now);
  }
}

void JobSimulation::handle(SimTime at, const JobEvent& event, bool instant_over) {
  Impl& s = *impl_;
  if (!s.result.errors.empty()) return;
  const bool changed = s.handle(at, event);
  s.after_event(changed, instant_over);
}

void JobSimulation::capacity_added() {
  for (auto& f : impl_->type_frees) ++f;
}

void JobSimulation::resources_changed(SimTime now) {
  Impl& s = *impl_;
  advance(now);
  s.now = now;
  capacity_added();
  if (s.options.round == 0 && !s.active.empty()) s.schedule();
}

bool JobSimulation::make_room(SimTime now, std::size_t node, int gpus, int below_priority) {
  Impl& s = *impl_;
  advance(now);
  s.now = now;
  std::vector<std::uint32_t> victims;
  for (std::uint32_t id : s.active) {
    const auto& j = s.jobs[id];
    if (!j.running || !j.spec.preemptible || j.spec.priority >= below_priority) continue;
    if (std::any_of(j.alloc.gpus.begin(), j.alloc.gpus.end(), [&](const auto& g) { return g.node == node; }))
      victims.push_back(id);
  }
  std::sort(victims.begin(), victims.end(), [&](std::uint32_t a, std::uint32_t b) {
    const auto& ja = s.jobs[a];
    const auto& jb = s.jobs[b];
    if (ja.spec.priority != jb.spec.priority) return ja.spec.priority < jb.spec.priority;
    if (ja.started != jb.started) return ja.started > jb.started;
    return a < b;
  });
  // Plan first: release the victims in order on a copy until `gpus` whole GPUs are free there;
  // when even all of them would not do, preempt nobody.
  s.read_now(s.scratch);
  std::size_t needed = 0;
  while (s.scratch.whole_free[node] < gpus && needed < victims.size())
    apply_allocation(s.scratch, s.jobs[victims[needed++]].alloc, +1);
  if (s.scratch.whole_free[node] < gpus) return false;
  // Then drop, last first, every planned victim the others suffice without (a share beside a job
  // that cannot be preempted frees no whole GPU).
  std::vector<std::uint32_t> plan(victims.begin(), victims.begin() + static_cast<std::ptrdiff_t>(needed));
  for (std::size_t k = plan.size(); k-- > 0;) {
    apply_allocation(s.scratch, s.jobs[plan[k]].alloc, -1);
    if (s.scratch.whole_free[node] >= gpus) {
      plan.erase(plan.begin() + static_cast<std::ptrdiff_t>(k));
    } else {
      apply_allocation(s.scratch, s.jobs[plan[k]].alloc, +1);
    }
  }
  for (std::uint32_t id : plan) s.preempt(id);
  return true;
}

int JobSimulation::gpus_held_by_jobs(std::size_t node) const {
  const Impl& s = *impl_;
  const NodeView& n = s.cluster->node(static_cast<std::uint32_t>(node));
  std::vector<std::uint32_t> pieces(n.gpus.size(), 0);  // job pieces on each GPU
  for (std::uint32_t id : s.active)
    for (const Allocation::Gpu& g : s.jobs[id].alloc.gpus)
      if (g.node == node) ++pieces[g.gpu];
  int count = 0;
  for (std::size_t g = 0; g < n.gpus.size(); ++g) count += n.gpus[g].holders > 0 && n.gpus[g].holders == pieces[g];
  return count;
}

JobRunResult JobSimulation::finish(SimTime end) {
  Impl& s = *impl_;
  advance(end);
  s.now = std::max(s.now, end);
  s.account_busy(0);
  s.result.ok = s.result.errors.empty();
  s.result.makespan = (s.last_end > 0 ? std::max(s.last_end, end) : end) - s.first_submit;
  s.result.gpu_seconds_capacity = s.gpus_total * to_seconds(s.result.makespan);
  return std::move(s.result);
}

JobRunResult JobSimulation::run() {
  Impl& s = *impl_;
  advance(kNever - 1);
  s.account_busy(0);
  s.result.ok = s.result.errors.empty();
  s.result.makespan = std::max<SimTime>(0, s.last_end - s.first_submit);  // 0 when nothing completed
  s.result.gpu_seconds_capacity = s.gpus_total * to_seconds(s.result.makespan);
  return std::move(s.result);
}

std::vector<TenantFairness> finish_time_fairness(const JobRunResult& result, double cluster_gpus) {
  std::vector<TenantFairness> out;
  for (const JobOutcome& o : result.jobs) {
    if (std::none_of(out.begin(), out.end(), [&](const TenantFairness& t) { return t.tenant == o.tenant; }))
      out.push_back(TenantFairness{o.tenant});
  }
  const double share = cluster_gpus / static_cast<double>(std::max<std::size_t>(1, out.size()));
  for (TenantFairness& t : out) {
    double jct = 0, rho = 0;
    for (const JobOutcome& o : result.jobs) {
      if (o.tenant != t.tenant || !o.completed() || o.standalone_s <= 0) continue;
      const double isolated = o.standalone_s * std::max(1.0, o.gpus / share);
      const double r = to_seconds(o.end - o.submit) / isolated;
      ++t.jobs;
      jct += to_seconds(o.end - o.submit);
      rho += r;
      t.max_rho = std::max(t.max_rho, r);
    }
    if (t.jobs) {
      t.mean_jct_s = jct / static_cast<double>(t.jobs);
      t.mean_rho = rho / static_cast<double>(t.jobs);
    }
  }
  return out;
}

JobSummary summarize_jobs(const JobRunResult& result, double min_gpus, double max_gpus) {
  JobSummary out;
  double jct_sum = 0, queue_sum = 0;
  for (const JobOutcome& o : result.jobs) {
    if (o.gpus < min_gpus || o.gpus > max_gpus) continue;
    ++out.jobs;
    out.preemptions += static_cast<std::uint64_t>(o.preemptions);
    out.lost_gpu_hours += o.lost_gpu_seconds / 3600.0;
    if (!o.completed()) continue;
    ++out.completed;
    const double jct = to_seconds(o.end - o.submit);
    const double wait = to_seconds(o.first_start - o.submit);
    out.jct.add(jct);
    out.queueing.add(wait);
    jct_sum += jct;
    queue_sum += wait;
  }
  if (out.completed) {
    out.mean_jct_s = jct_sum / static_cast<double>(out.completed);
    out.mean_queueing_s = queue_sum / static_cast<double>(out.completed);
  }
  if (result.gpu_seconds_capacity > 0) out.utilization = result.gpu_seconds_busy / result.gpu_seconds_capacity;
  return out;
}

}  // namespace fleetsim
