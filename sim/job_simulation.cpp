// The job scheduler (JobSimulation): the public methods (construction, event handling, making
// room for replicas, finishing), arrivals and rejection, and the result summaries
// (summarize_jobs, finish_time_fairness). Placement, the scheduling pass and EASY backfill are
// in job_placement.cpp, job_scheduling_pass.cpp and job_backfill.cpp (job_scheduler_internal.hpp).
#include "sim/job_scheduler_internal.hpp"

#include <algorithm>
#include <cmath>

namespace fleetsim {

using namespace job_internal;

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

void JobSimulation::Impl::index_types() {
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

void JobSimulation::Impl::reject(std::uint32_t id, const std::string& why) {
  ++result.rejected;
  if (result.rejected_examples.size() < 5) result.rejected_examples.push_back("job " + jobs[id].spec.id + ": " + why);
  free_slots.push_back(id);
}

bool JobSimulation::Impl::read_next() {
  has_pending = source->next(pending, result.errors);
  if (has_pending) push(pending.submit, JobEvent{JobEventKind::Arrival, 0, 0});
  return has_pending;
}

void JobSimulation::Impl::arrive() {
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
  if (j.spec.checkpoint_interval == 0) j.spec.checkpoint_interval = options.checkpoint_interval;
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
  // The candidates, in the order the queue policy preempts them.
  s.views.clear();
  for (std::uint32_t id : s.active) {
    const auto& j = s.jobs[id];
    if (!j.running || !j.spec.preemptible || j.spec.priority >= below_priority) continue;
    if (std::any_of(j.alloc.gpus.begin(), j.alloc.gpus.end(), [&](const auto& g) { return g.node == node; })) {
      s.progress(s.jobs[id]);
      s.views.push_back(s.view_of(id));
    }
  }
  s.policy->rank_victims(s.queue_context(), s.views, s.order);
  if (!s.order_is_valid("rank_victims")) return false;
  std::vector<std::uint32_t> victims;
  for (std::uint32_t k : s.order) victims.push_back(s.views[k].index);
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
  // Jobs submitted after the end never ran: count them (reading the rest of the trace, without
  // scheduling) so that a trace longer than the run is reported, not cut silently.
  if (s.has_pending && s.pending.submit > end && s.result.errors.empty()) {
    s.result.jobs_after_duration = 1;
    JobSpec rest;
    while (s.source->next(rest, s.result.errors)) ++s.result.jobs_after_duration;
    s.has_pending = false;
  }
  s.now = std::max(s.now, end);
  s.account_busy(0);
  s.result.ok = s.result.errors.empty();
  s.result.makespan = (s.last_end > 0 ? std::max(s.last_end, end) : end) - s.first_submit;
  s.result.gpu_seconds_capacity = s.gpus_total * to_seconds(s.result.makespan);
  return std::move(s.result);
}

JobRunResult JobSimulation::run() {
  Impl& s = *impl_;
  try {
    advance(kNever - 1);
  } catch (const std::bad_alloc&) {
    throw;
  } catch (const std::exception& error) {  // out of a policy decision (see Simulation::run)
    s.result.errors.add(Diagnostic{"", 0, 0, "jobs", std::string("a policy threw an exception: ") + error.what()});
  }
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
