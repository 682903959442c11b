#include "sim/job_simulation.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "sim/event_queue.hpp"

namespace fleetsim {

namespace {
enum class JobEventKind : std::uint8_t { Arrival, Completion, Round };
struct JobEvent {
  JobEventKind kind;
  std::uint32_t job;
  std::uint32_t epoch;
};

SimTime ceil_seconds(double s) {
  const double ns = std::ceil(s * 1e9);
  return ns <= 0 ? 0 : static_cast<SimTime>(ns);
}
}  // namespace

namespace {
class ListCluster final : public JobCluster {
 public:
  explicit ListCluster(std::vector<JobClusterNode> nodes) : nodes_(std::move(nodes)) {
    for (const auto& n : nodes_) free_.push_back(n.gpus);
  }
  std::size_t size() const override { return nodes_.size(); }
  const std::string& gpu_type(std::size_t n) const override { return nodes_[n].gpu_type; }
  int free_gpus(std::size_t n) const override { return free_[n]; }
  void take(std::size_t n, int g, std::uint32_t) override { free_[n] -= g; }
  void give(std::size_t n, int g, std::uint32_t) override { free_[n] += g; }

 private:
  std::vector<JobClusterNode> nodes_;
  std::vector<int> free_;
};
}  // namespace

struct JobSimulation::Impl {
  struct Job {
    JobSpec spec;
    std::uint32_t outcome = 0;  // index into result.jobs
    bool running = false;
    bool done = false;
    std::uint32_t epoch = 0;
    std::string type;                       // GPU type it runs on
    std::vector<std::pair<int, int>> alloc;  // (node, gpus)
    double remaining = 0;        // work units left (steps, or seconds on the reference type)
    double checkpointed = 0;     // remaining work at the last checkpoint
    SimTime progress_since = 0;  // work accrues from here (start + restart overhead)
    SimTime started = 0;
    SimTime work_started = 0;    // started + restart overhead: when this run began progressing
    double attained = 0;         // GPU-seconds received
  };

  std::unique_ptr<JobCluster> cluster;
  std::vector<std::string> tenants;  // names seen, in order of first arrival
  std::unique_ptr<JobSource> source;
  std::unique_ptr<QueuePolicy> policy;
  JobRunOptions options;
  EventQueue<JobEvent> queue;
  SimTime now = 0;
  std::vector<Job> jobs;               // arrived and not finished (slots reused)
  std::vector<std::uint32_t> active;   // indices into jobs
  std::vector<std::uint32_t> free_slots;
  JobSpec pending;
  bool has_pending = false;
  JobRunResult result;
  int busy = 0;
  SimTime busy_since = 0;
  bool round_scheduled = false;
  SimTime first_submit = 0;
  SimTime last_end = 0;

  int gpus_total = 0;  // GPUs jobs may use (standalone: all; co-located: counted at start)
  int total_gpus() const { return gpus_total; }
  std::vector<int> current_free() const {
    std::vector<int> free(cluster->size());
    for (std::size_t n = 0; n < free.size(); ++n) free[n] = cluster->free_gpus(n);
    return free;
  }

  double rate(const Job& j, const std::string& type) const {
    if (j.spec.steps > 0) {
      auto it = j.spec.steps_per_second.find(type);
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
  int gang(const JobSpec& s) const { return s.workers * std::max(1, s.worker.gpus); }

  // The fastest type the job can use that the cluster has, with its rate.
  std::vector<std::string> types_for(const Job& j) const {
    std::vector<std::pair<double, std::string>> ranked;
    for (std::size_t n = 0; n < cluster->size(); ++n) {
      const std::string& type = cluster->gpu_type(n);
      bool seen = false;
      for (const auto& r : ranked) seen = seen || r.second == type;
      if (seen) continue;
      if (!j.spec.gpu_types.empty() &&
          std::find(j.spec.gpu_types.begin(), j.spec.gpu_types.end(), type) == j.spec.gpu_types.end())
        continue;
      const double r = rate(j, type);
      if (r > 0) ranked.push_back({r, type});
    }
    std::stable_sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    std::vector<std::string> out;
    for (auto& r : ranked) out.push_back(r.second);
    return out;
  }

  // Gang placement on `free` (see the header); empty when it does not fit.
  std::vector<std::pair<int, int>> place(const Job& j, const std::vector<int>& free, std::string& type_out) const {
    const int per_worker = std::max(1, j.spec.worker.gpus);
    const int workers = j.spec.workers;
    for (const std::string& type : types_for(j)) {
      // One node for the whole gang: the tightest.
      int best = -1;
      for (std::size_t n = 0; n < cluster->size(); ++n)
        if (cluster->gpu_type(n) == type && free[n] >= per_worker * workers &&
            (best < 0 || free[n] < free[static_cast<std::size_t>(best)]))
          best = static_cast<int>(n);
      if (best >= 0) {
        type_out = type;
        return {{best, per_worker * workers}};
      }
      // Else fill the nodes with the most free GPUs first.
      std::vector<int> order;
      for (std::size_t n = 0; n < cluster->size(); ++n)
        if (cluster->gpu_type(n) == type && free[n] >= per_worker) order.push_back(static_cast<int>(n));
      std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return free[static_cast<std::size_t>(a)] > free[static_cast<std::size_t>(b)]; });
      std::vector<std::pair<int, int>> alloc;
      int left = workers;
      for (int n : order) {
        const int take = std::min(left, free[static_cast<std::size_t>(n)] / per_worker);
        if (take > 0) alloc.push_back({n, take * per_worker});
        left -= take;
        if (left == 0) break;
      }
      if (left == 0) {
        type_out = type;
        return alloc;
      }
    }
    return {};
  }

  SimTime next_sample = 0;

  void account_busy(int delta) {
    // Samples of busy GPUs (the level before the change: it held until now).
    if (options.sample_interval > 0)
      for (; next_sample <= now; next_sample += options.sample_interval)
        result.busy_gpus.push_back({next_sample, busy});
    result.gpu_seconds_busy += busy * to_seconds(now - busy_since);
    busy_since = now;
    busy += delta;
  }

  void progress(Job& j) {
    if (!j.running || now <= j.progress_since) return;
    const double r = rate(j, j.type);
    j.remaining = std::max(0.0, j.remaining - r * to_seconds(now - j.progress_since));
    j.attained += gang(j.spec) * to_seconds(now - j.progress_since);
    j.progress_since = now;
  }

  void start(std::uint32_t id, std::vector<std::pair<int, int>> alloc, const std::string& type) {
    Job& j = jobs[id];
    for (auto [n, g] : alloc) cluster->take(static_cast<std::size_t>(n), g, id);
    j.alloc = std::move(alloc);
    j.type = type;
    j.running = true;
    j.started = now;
    JobOutcome& o = result.jobs[j.outcome];
    const bool restart = o.first_start != kNever;
    if (!restart) o.first_start = now;
    const SimTime overhead = j.spec.restart_overhead > 0 ? j.spec.restart_overhead : options.restart_overhead;
    j.progress_since = now + (restart ? overhead : 0);
    j.work_started = j.progress_since;
    account_busy(gang(j.spec));
    ++j.epoch;
    const double r = rate(j, type);
    if (j.remaining / r < kForever / 2)
      queue.push(j.progress_since + ceil_seconds(j.remaining / r), JobEvent{JobEventKind::Completion, id, j.epoch});
  }

  void stop(std::uint32_t id) {  // frees the GPUs (completion or preemption)
    Job& j = jobs[id];
    for (auto [n, g] : j.alloc) cluster->give(static_cast<std::size_t>(n), g, id);
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
  }

  void complete(std::uint32_t id) {
    Job& j = jobs[id];
    stop(id);
    j.done = true;
    JobOutcome& o = result.jobs[j.outcome];
    o.end = now;
    o.gpu_type = j.type;
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
    const double r = j.running ? rate(j, j.type) : [&] {
      auto types = types_for(j);
      return types.empty() ? 1.0 : rate(j, types.front());
    }();
    v.total_seconds = total_work(j.spec) / r;
    v.remaining_seconds = j.remaining / r;
    v.attained_gpu_seconds = j.attained;
    v.cpu = j.spec.workers * j.spec.worker.cpu;
    v.memory_bytes = j.spec.workers * j.spec.worker.memory_bytes;
    auto t = std::find(tenants.begin(), tenants.end(), j.spec.tenant);
    v.tenant = static_cast<std::uint32_t>(t - tenants.begin());
    return v;
  }

  void schedule() {
    for (std::uint32_t id : active) progress(jobs[id]);
    std::vector<JobView> views;
    std::vector<std::uint32_t> ids;
    const bool preemptive = policy->preemptive();
    for (std::uint32_t id : active) {
      if (!preemptive && jobs[id].running) continue;
      views.push_back(view_of(id));
      ids.push_back(id);
    }
    if (views.empty()) return;
    std::vector<std::uint32_t> order;
    QueueContext context;
    context.now = now;
    context.total_gpus = total_gpus();
    context.tenants = tenants;
    policy->order(context, views, order);
    // The target: walk the order on a scratch copy of the free GPUs.
    std::vector<int> free = current_free();
    if (preemptive)
      for (std::uint32_t id : active)
        if (jobs[id].running && jobs[id].spec.preemptible)
          for (auto [n, g] : jobs[id].alloc) free[static_cast<std::size_t>(n)] += g;
    std::vector<std::uint32_t> keep, to_start;
    std::vector<std::vector<std::pair<int, int>>> placements;
    std::vector<std::string> types;
    bool blocked = false;
    SimTime shadow = kNever;
    int extra = 0;
    for (std::uint32_t k : order) {
      const std::uint32_t id = ids[k];
      Job& j = jobs[id];
      if (j.running) {  // preemptive only: keep its GPUs if a higher-ranked job did not take them
        if (!j.spec.preemptible) {
          keep.push_back(id);
          continue;
        }
        bool fits = true;
        for (auto [n, g] : j.alloc) fits = fits && free[static_cast<std::size_t>(n)] >= g;
        if (fits) {
          for (auto [n, g] : j.alloc) free[static_cast<std::size_t>(n)] -= g;
          keep.push_back(id);
        }
        continue;
      }
      if (blocked && !options.backfill) continue;
      std::string type;
      auto alloc = place(j, free, type);
      if (alloc.empty()) {
        if (!blocked && options.backfill && !preemptive) reserve(j, shadow, extra);
        blocked = true;
        continue;
      }
      if (blocked) {  // EASY backfill: must not delay the reserved job
        const double r = rate(j, type);
        const bool ends_in_time = now + ceil_seconds(j.remaining / r) <= shadow;
        if (!ends_in_time && gang(j.spec) > extra) continue;
        if (!ends_in_time) extra -= gang(j.spec);
      }
      for (auto [n, g] : alloc) free[static_cast<std::size_t>(n)] -= g;
      to_start.push_back(id);
      placements.push_back(std::move(alloc));
      types.push_back(type);
    }
    if (preemptive)
      for (std::uint32_t id : std::vector<std::uint32_t>(active))
        if (jobs[id].running && jobs[id].spec.preemptible && std::find(keep.begin(), keep.end(), id) == keep.end())
          preempt(id);
    for (std::size_t i = 0; i < to_start.size(); ++i) start(to_start[i], placements[i], types[i]);
  }

  // EASY: when does `head` fit, from running jobs' known ends; GPUs left over at that time.
  void reserve(const Job& head, SimTime& shadow, int& extra) {
    int free_now = 0;
    for (int f : current_free()) free_now += f;
    std::vector<std::pair<SimTime, int>> ends;
    for (std::uint32_t id : active) {
      const Job& j = jobs[id];
      if (!j.running) continue;
      ends.push_back({j.progress_since + ceil_seconds(j.remaining / rate(j, j.type)), gang(j.spec)});
    }
    std::sort(ends.begin(), ends.end());
    int available = free_now;
    shadow = kNever;
    for (auto [t, g] : ends) {
      available += g;
      if (available >= gang(head.spec)) {
        shadow = t;
        break;
      }
    }
    extra = shadow == kNever ? 0 : available - gang(head.spec);
  }

  bool read_next() {
    has_pending = source->next(pending, result.errors);
    if (has_pending) queue.push(pending.submit, JobEvent{JobEventKind::Arrival, 0, 0});
    return has_pending;
  }

  void arrive() {
    std::uint32_t id;
    if (!free_slots.empty()) {
      id = free_slots.back();
      free_slots.pop_back();
      jobs[id] = Job{};
    } else {
      id = static_cast<std::uint32_t>(jobs.size());
      jobs.emplace_back();
    }
    Job& j = jobs[id];
    j.spec = pending;
    if (std::find(tenants.begin(), tenants.end(), j.spec.tenant) == tenants.end()) tenants.push_back(j.spec.tenant);
    j.remaining = j.checkpointed = total_work(j.spec);
    j.outcome = static_cast<std::uint32_t>(result.jobs.size());
    JobOutcome o;
    o.id = j.spec.id;
    o.tenant = j.spec.tenant;
    o.gpus = gang(j.spec);
    o.submit = j.spec.submit;
    if (auto types = types_for(j); !types.empty()) o.standalone_s = total_work(j.spec) / rate(j, types.front());
    result.jobs.push_back(o);
    if (types_for(j).empty()) {  // can never run here: ends unfinished, not waiting forever
      result.errors.add(Diagnostic{"", 0, 0, "jobs", "job " + j.spec.id + " has no GPU type this cluster offers"});
      free_slots.push_back(id);
      return;
    }
    active.push_back(id);
  }
};

JobSimulation::JobSimulation(std::vector<JobClusterNode> nodes, std::unique_ptr<JobSource> jobs,
                             std::unique_ptr<QueuePolicy> policy, JobRunOptions options)
    : JobSimulation(std::make_unique<ListCluster>(std::move(nodes)), std::move(jobs), std::move(policy), options) {}

JobSimulation::JobSimulation(std::unique_ptr<JobCluster> cluster, std::unique_ptr<JobSource> jobs,
                             std::unique_ptr<QueuePolicy> policy, JobRunOptions options)
    : impl_(std::make_unique<Impl>()) {
  impl_->cluster = std::move(cluster);
  for (std::size_t n = 0; n < impl_->cluster->size(); ++n) impl_->gpus_total += impl_->cluster->free_gpus(n);
  impl_->source = std::move(jobs);
  impl_->policy = std::move(policy);
  impl_->options = options;
  impl_->read_next();
  impl_->first_submit = impl_->has_pending ? impl_->pending.submit : 0;
}

JobSimulation::~JobSimulation() = default;

SimTime JobSimulation::next_event() const { return impl_->queue.empty() ? kNever : impl_->queue.top().time; }

void JobSimulation::advance(SimTime until) {
  Impl& s = *impl_;
  while (!s.queue.empty() && s.queue.top().time <= until && s.result.errors.empty()) {
    auto e = s.queue.pop();
    s.now = e.time;
    ++s.result.events;
    bool changed = false;
    switch (e.payload.kind) {
      case JobEventKind::Arrival:
        s.arrive();
        s.read_next();
        changed = true;
        break;
      case JobEventKind::Completion: {
        auto& j = s.jobs[e.payload.job];
        if (j.done || !j.running || j.epoch != e.payload.epoch) break;
        s.progress(j);
        s.complete(e.payload.job);
        s.last_end = s.now;
        changed = true;
        break;
      }
      case JobEventKind::Round:
        s.round_scheduled = false;
        s.schedule();
        break;
    }
    // Event-driven: one scheduling pass once every event of this instant is handled.
    if (changed && s.options.round == 0 && (s.queue.empty() || s.queue.top().time != s.now)) s.schedule();
    // Round-based: allocations change only at round boundaries, while jobs are in the system.
    if (s.options.round > 0 && !s.round_scheduled && !s.active.empty()) {
      const SimTime next = (s.now / s.options.round + 1) * s.options.round;
      s.queue.push(next, JobEvent{JobEventKind::Round, 0, 0});
      s.round_scheduled = true;
    }
  }
}

void JobSimulation::resources_changed(SimTime now) {
  Impl& s = *impl_;
  advance(now);
  s.now = now;
  if (s.options.round == 0 && !s.active.empty()) s.schedule();
}

bool JobSimulation::make_room(SimTime now, std::size_t node, int gpus) {
  Impl& s = *impl_;
  advance(now);
  s.now = now;
  std::vector<std::uint32_t> victims;
  for (std::uint32_t id : s.active) {
    const auto& j = s.jobs[id];
    if (!j.running || !j.spec.preemptible) continue;
    for (auto [n, g] : j.alloc)
      if (static_cast<std::size_t>(n) == node) victims.push_back(id);
  }
  std::sort(victims.begin(), victims.end(), [&](std::uint32_t a, std::uint32_t b) {
    const auto& ja = s.jobs[a];
    const auto& jb = s.jobs[b];
    if (ja.spec.priority != jb.spec.priority) return ja.spec.priority < jb.spec.priority;
    return ja.started > jb.started;
  });
  for (std::uint32_t id : victims) {
    if (s.cluster->free_gpus(node) >= gpus) break;
    s.preempt(id);
  }
  return s.cluster->free_gpus(node) >= gpus;
}

JobRunResult JobSimulation::finish(SimTime end) {
  Impl& s = *impl_;
  advance(end);
  s.now = std::max(s.now, end);
  s.account_busy(0);
  s.result.ok = s.result.errors.empty();
  s.result.makespan = (s.last_end > 0 ? std::max(s.last_end, end) : end) - s.first_submit;
  s.result.gpu_seconds_capacity = s.total_gpus() * to_seconds(s.result.makespan);
  return std::move(s.result);
}

JobRunResult JobSimulation::run() {
  Impl& s = *impl_;
  advance(kNever - 1);
  s.account_busy(0);
  s.result.ok = s.result.errors.empty();
  s.result.makespan = s.last_end - s.first_submit;
  s.result.gpu_seconds_capacity = s.total_gpus() * to_seconds(s.result.makespan);
  return std::move(s.result);
}

std::vector<TenantFairness> finish_time_fairness(const JobRunResult& result, int cluster_gpus) {
  std::vector<TenantFairness> out;
  for (const JobOutcome& o : result.jobs) {
    if (std::none_of(out.begin(), out.end(), [&](const TenantFairness& t) { return t.tenant == o.tenant; }))
      out.push_back(TenantFairness{o.tenant});
  }
  const double share = static_cast<double>(cluster_gpus) / std::max<std::size_t>(1, out.size());
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

JobSummary summarize_jobs(const JobRunResult& result, int min_gpus, int max_gpus) {
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
