// EASY backfill for the job scheduler: the reservation (shadow time and spare GPUs) of the
// first waiting job that does not fit, from running jobs' and this pass's starts' known ends.
#include "sim/job_scheduler_internal.hpp"

namespace fleetsim {

using namespace job_internal;

void JobSimulation::Impl::reserve(const Job& head, const JobClusterState& free, SimTime& shadow, double& extra) {
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

}  // namespace fleetsim
