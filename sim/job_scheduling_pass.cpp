// The job scheduler's scheduling pass: ordering by the queue policy, placing, preempting
// (may_preempt, retake, used_by_started) and the minimum-run-time recheck; and what a start,
// stop, preemption or completion does to a job, its progress and the busy-GPU accounting.
#include "sim/job_scheduler_internal.hpp"

namespace fleetsim {

using namespace job_internal;

void JobSimulation::Impl::account_busy(double delta) {
  // Samples of busy GPUs (the level before the change: it held until now).
  if (options.sample_interval > 0)
    for (; next_sample <= now; next_sample += options.sample_interval)
      result.busy_gpus.push_back({next_sample, busy});
  result.gpu_seconds_busy += busy * to_seconds(now - busy_since);
  busy_since = now;
  busy += delta;
  if (std::abs(busy) < 1e-9) busy = 0;
}

void JobSimulation::Impl::progress(Job& j) {
  if (!j.running || now <= j.progress_since) return;
  const double r = rate(j, j.type);
  j.remaining = std::max(0.0, j.remaining - r * to_seconds(now - j.progress_since));
  j.attained += gang(j.spec) * to_seconds(now - j.progress_since);
  j.progress_since = now;
}

void JobSimulation::Impl::start(std::uint32_t id, Allocation& alloc, std::uint16_t type) {
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

void JobSimulation::Impl::stop(std::uint32_t id) {  // frees the resources (completion or preemption)
  Job& j = jobs[id];
  cluster->release(j.alloc);
  ++type_frees[j.type];
  if (j.projected_end != kNever) running_ends.erase({j.projected_end, id});
  j.alloc.clear();
  j.running = false;
  ++j.epoch;
  account_busy(-gang(j.spec));
}

void JobSimulation::Impl::preempt(std::uint32_t id) {
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

void JobSimulation::Impl::complete(std::uint32_t id) {
  Job& j = jobs[id];
  stop(id);
  j.done = true;
  JobOutcome& o = result.jobs[j.outcome];
  o.end = now;
  o.gpu_type = type_names[j.type];
  active.erase(std::find(active.begin(), active.end(), id));
  free_slots.push_back(id);
}

JobView JobSimulation::Impl::view_of(std::uint32_t id) const {
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
  v.last_start = j.running ? j.started : 0;
  return v;
}

// The policy's answer in `order` names each of `views` at most once; else the run stops with an
// error naming the policy (a job left out is allowed: it is held).
bool JobSimulation::Impl::order_is_valid(const char* what) {
  seen.assign(views.size(), 0);
  for (std::uint32_t k : order) {
    if (k < views.size() && !seen[k]) {
      seen[k] = 1;
      continue;
    }
    result.errors.add(Diagnostic{"", 0, 0, "jobs",
                                 "queue policy '" + policy->name() + "' " + what + ": index " + std::to_string(k) +
                                     (k < views.size() ? " given twice" : " out of range") + " (" +
                                     std::to_string(views.size()) + " jobs)"});
    return false;
  }
  return true;
}

QueueContext JobSimulation::Impl::queue_context() const {
  QueueContext context;
  context.now = now;
  context.total_gpus = gpus_total;
  context.total_cpu = cpu_total;
  context.total_memory_bytes = memory_total;
  context.tenants = tenants;
  return context;
}

void JobSimulation::Impl::plan_recheck() {
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

void JobSimulation::Impl::schedule() {
  for (int pass = 0; pass < 8 && schedule_pass(); ++pass) {
  }
  if (policy->preemptive()) plan_recheck();
}

bool JobSimulation::Impl::schedule_pass() {
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
  policy->order(queue_context(), views, order);
  if (!order_is_valid("order")) return false;
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

bool JobSimulation::Impl::used_by_started(const Allocation& a, std::size_t placed) const {
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

bool JobSimulation::Impl::retake(const Allocation& a) {
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

}  // namespace fleetsim
