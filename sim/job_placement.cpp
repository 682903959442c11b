// The job scheduler's placement: which GPU types a job may use, the built-in gang placement
// (fit_count, take_workers, place_builtin), placement by a policy in a scheduling pass, and
// reading what is free from the ClusterState (read_node, read_free, read_now).
#include "sim/job_scheduler_internal.hpp"

#include <cstdio>
#include <tuple>

namespace fleetsim {

namespace job_internal {

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

}  // namespace job_internal

using namespace job_internal;

std::vector<std::uint16_t> JobSimulation::Impl::types_for(const Job& j) const {
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

std::string JobSimulation::Impl::no_type_reason(const Job& j) const {
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

void JobSimulation::Impl::take_workers(const JobSpec& s, std::uint32_t n, int count, JobClusterState& free, Allocation& out) const {
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

bool JobSimulation::Impl::place_builtin(const Job& j, JobClusterState& free, Allocation& out, std::uint16_t& type_out) const {
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

void JobSimulation::Impl::read_now(JobClusterState& out) {
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

bool JobSimulation::Impl::place_in_pass(Job& j, Allocation& out, std::uint16_t& type_out) {
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

}  // namespace fleetsim
