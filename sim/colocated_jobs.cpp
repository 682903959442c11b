// Jobs co-located with inference (Scenario::jobs): setting up the job scheduler
// (sim/job_simulation) on the simulation's ClusterState, and making room for an inference
// replica by preempting jobs. Self-contained: only jobs need this file.
#include "sim/simulation.hpp"

#include <algorithm>
#include <memory>
#include <utility>

namespace fleetsim {

// The jobs' scheduler, when the scenario has jobs and a trace and queue policy for them: it
// takes and gives back resources of cluster_, as replicas do. Called once, by the constructor.
void Simulation::set_up_jobs() {
  const Scenario& sc = setup_.scenario;
  if (sc.jobs.enabled && setup_.job_source && setup_.job_policy) {
    JobRunOptions options;
    options.backfill = sc.jobs.backfill;
    options.checkpoint_on_preemption = sc.jobs.checkpoint_on_preemption;
    options.restart_overhead = sc.jobs.restart_overhead;
    options.checkpoint_interval = sc.jobs.checkpoint_interval;
    options.placement = std::move(setup_.job_placement);
    options.placement_name = sc.jobs.placement.impl;
    // One event queue per run: the scheduler's events are ours, ahead of ours at equal times.
    auto sink = [this](SimTime at, const JobEvent& e) {
      queue_.push_first(at, Event{EventKind::Job, e.job, e.epoch, static_cast<std::uint32_t>(e.kind)});
    };
    jobs_ = std::make_unique<JobSimulation>(cluster_, std::move(setup_.job_source),
                                            std::move(setup_.job_policy), options, sink);
  }
}

// A job scheduler's event from the queue; `instant_over` unless the next event is another of
// its events at the same time. Not counted in RunStatus::events (JobRunResult counts them).
void Simulation::on_job_event(SimTime at, const Event& e) {
  const bool instant_over = queue_.empty() || queue_.top().payload.kind != EventKind::Job || queue_.top().time != at;
  jobs_->handle(at, JobEvent{static_cast<JobEventKind>(e.extra), e.target, e.epoch}, instant_over);
}

// Handles the job events left in the queue up to `end` (after the serving events stopped);
// serving events still queued are dropped: the run is over.
void Simulation::finish_job_events(SimTime end) {
  while (!queue_.empty() && queue_.top().time <= end) {
    const auto entry = queue_.pop();
    if (entry.payload.kind == EventKind::Job) on_job_event(entry.time, entry.payload);
  }
}

// Co-location: an inference replica that finds no room may take GPUs from preemptible jobs,
// on the node where that needs the fewest preemptions (most GPUs free already; ties: lowest id);
// a node where the jobs that may be preempted would not free enough is passed over.
bool Simulation::make_room_for(std::uint32_t model) {
  if (!jobs_ || !setup_.scenario.jobs.inference_preempts) return false;
  const PlacementRequest request = placement_request(model);
  std::vector<std::pair<int, std::size_t>> candidates;  // (-free GPUs, node)
  for (std::size_t n = 0; n < cluster_.size(); ++n) {
    const NodeView& node = cluster_.node(static_cast<std::uint32_t>(n));
    if (!node.up || node.gpu_type->memory_bytes < request.min_gpu_memory) continue;
    if (!request.pools.empty() &&
        std::find(request.pools.begin(), request.pools.end(), node.pool) == request.pools.end())
      continue;
    const int free = node.free_gpus;
    if (free + jobs_->gpus_held_by_jobs(n) < request.gpus || free >= request.gpus) continue;
    candidates.push_back({-free, n});
  }
  std::sort(candidates.begin(), candidates.end());
  for (auto [minus_free, n] : candidates)
    if (jobs_->make_room(now_, n, request.gpus, setup_.scenario.jobs.inference_priority)) return true;
  return false;
}

}  // namespace fleetsim
