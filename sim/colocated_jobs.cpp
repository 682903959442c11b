// Jobs co-located with inference (Scenario::jobs): the view of the inference cluster's nodes
// that the job scheduler (sim/job_simulation) places on, setting that scheduler up, and making
// room for an inference replica by preempting jobs. Self-contained: only jobs need this file.
#include "sim/simulation.hpp"

#include <algorithm>
#include <limits>
#include <memory>
#include <unordered_map>
#include <utility>

namespace fleetsim {

// The inference cluster's nodes as jobs see them: GPUs no replica holds (whole, or what job
// shares leave of one), GPU memory, CPU and host memory of the nodes that are up. What job
// workers take is marked on the NodeViews (holders, milli_used, memory_used, cpu_used,
// host_memory_used), so placement policies and the inference side see it taken.
class Simulation::NodeJobCluster final : public JobCluster {
 public:
  explicit NodeJobCluster(std::vector<NodeView>& nodes) : nodes_(nodes) {}
  std::size_t size() const override { return nodes_.size(); }
  const std::string& gpu_type(std::size_t n) const override { return nodes_[n].gpu_type->name; }
  double gpu_memory(std::size_t n) const override {
    const double m = nodes_[n].gpu_type->memory_bytes;
    return m > 0 ? m : std::numeric_limits<double>::infinity();
  }
  void read(JobClusterState& out) const override { fill(out, false); }
  void read_capacity(JobClusterState& out) const override { fill(out, true); }

 private:
  // Free resources (a GPU held by an inference replica is taken whole; one with job shares has
  // the rest free; a node that is not up offers nothing), or with `all` the whole capacity.
  void fill(JobClusterState& out, bool all) const {
    const double unlimited = std::numeric_limits<double>::infinity();
    out.gpu_begin.assign(1, 0);
    out.milli_free.clear();
    out.gpu_memory_free.clear();
    out.whole_free.clear();
    out.cpu_free.clear();
    out.memory_free.clear();
    for (const NodeView& node : nodes_) {
      const bool offers = all || node.up;
      int whole = 0;
      const double memory = gpu_memory(node.id);
      for (const GpuSlot& g : node.gpus) {
        const int used = all ? 0 : static_cast<int>(std::min<std::uint32_t>(g.milli_used, 1000));
        const int free = offers ? 1000 - used : 0;
        out.milli_free.push_back(free);
        out.gpu_memory_free.push_back(!offers ? 0.0 : all ? memory : std::max(0.0, memory - g.memory_used));
        whole += free == 1000;
      }
      out.gpu_begin.push_back(static_cast<std::uint32_t>(out.milli_free.size()));
      out.whole_free.push_back(whole);
      const double cpu_used = all ? 0 : node.cpu_used, memory_used = all ? 0 : node.host_memory_used;
      out.cpu_free.push_back(!offers ? 0.0 : node.cpu_capacity > 0 ? node.cpu_capacity - cpu_used : unlimited);
      out.memory_free.push_back(!offers                          ? 0.0
                                : node.host_memory_capacity > 0 ? node.host_memory_capacity - memory_used
                                                                : unlimited);
    }
  }

 public:
  void take(const JobAllocation& a, std::uint32_t) override { change(a, +1); }
  void give(const JobAllocation& a, std::uint32_t) override { change(a, -1); }

  // Whole GPUs free on node n, and how many more jobs hold alone (preemption could free them).
  int free_gpus(std::size_t n) const {
    const NodeView& node = nodes_[n];
    if (!node.up) return 0;
    int free = 0;
    for (const GpuSlot& g : node.gpus) free += g.holders == 0;
    return free;
  }
  int job_gpus(std::size_t n) const {
    int count = 0;
    for (std::size_t g = 0; g < nodes_[n].gpus.size(); ++g) {
      const std::uint32_t holders = nodes_[n].gpus[g].holders;
      const auto it = job_holders_.find(key(n, g));
      count += holders > 0 && it != job_holders_.end() && holders == it->second;
    }
    return count;
  }

 private:
  std::uint64_t key(std::size_t n, std::size_t g) const { return (static_cast<std::uint64_t>(n) << 32) | g; }
  // A whole GPU takes all its memory (a job using it alone); a share takes what it asked.
  void change(const JobAllocation& a, int sign) {
    for (const auto& piece : a.gpus) {
      NodeView& node = nodes_[piece.node];
      GpuSlot& slot = node.gpus[piece.gpu];
      const bool whole = piece.milli >= 1000;
      const double memory = whole ? node.gpu_type->memory_bytes : piece.memory;
      if (sign > 0) {
        if (slot.holders == 0) --node.free_gpus;
        ++slot.holders;
        ++job_holders_[key(piece.node, piece.gpu)];
        slot.milli_used += static_cast<std::uint32_t>(piece.milli);
        slot.memory_used += memory;
      } else {
        --slot.holders;
        if (--job_holders_[key(piece.node, piece.gpu)] == 0) job_holders_.erase(key(piece.node, piece.gpu));
        slot.milli_used -= static_cast<std::uint32_t>(piece.milli);
        slot.memory_used -= memory;
        if (slot.holders == 0) {
          ++node.free_gpus;
          slot.memory_used = 0;
          slot.milli_used = 0;
        }
      }
    }
    for (const auto& host : a.hosts) {
      NodeView& node = nodes_[host.node];
      node.cpu_used += sign * host.cpu;
      node.host_memory_used += sign * host.memory;
    }
  }
  std::vector<NodeView>& nodes_;
  std::unordered_map<std::uint64_t, std::uint32_t> job_holders_;  // (node, GPU) -> job pieces on it
};

// The jobs' scheduler, when the scenario has jobs and a trace and queue policy for them: it
// places on the nodes through a NodeJobCluster. Called once, by the constructor.
void Simulation::set_up_jobs() {
  const Scenario& sc = setup_.scenario;
  if (sc.jobs.enabled && setup_.job_source && setup_.job_policy) {
    JobRunOptions options;
    options.backfill = sc.jobs.backfill;
    options.checkpoint_on_preemption = sc.jobs.checkpoint_on_preemption;
    options.restart_overhead = sc.jobs.restart_overhead;
    options.placement = std::move(setup_.job_placement);
    options.placement_name = sc.jobs.placement.impl;
    auto cluster = std::make_unique<NodeJobCluster>(nodes_);
    job_cluster_ = cluster.get();
    jobs_ = std::make_unique<JobSimulation>(std::move(cluster), std::move(setup_.job_source),
                                            std::move(setup_.job_policy), options);
  }
}

// Co-location: an inference replica that finds no room may take GPUs from preemptible jobs,
// on the node where that needs the fewest preemptions (most GPUs free already; ties: lowest id);
// a node where the jobs that may be preempted would not free enough is passed over.
bool Simulation::make_room_for(std::uint32_t model) {
  if (!jobs_ || !setup_.scenario.jobs.inference_preempts) return false;
  const PlacementRequest request = placement_request(model);
  std::vector<std::pair<int, std::size_t>> candidates;  // (-free GPUs, node)
  for (std::size_t n = 0; n < nodes_.size(); ++n) {
    const NodeView& node = nodes_[n];
    if (!node.up || node.gpu_type->memory_bytes < request.min_gpu_memory) continue;
    if (!request.pools.empty() &&
        std::find(request.pools.begin(), request.pools.end(), node.pool) == request.pools.end())
      continue;
    const int free = job_cluster_->free_gpus(n);
    if (free + job_cluster_->job_gpus(n) < request.gpus || free >= request.gpus) continue;
    candidates.push_back({-free, n});
  }
  std::sort(candidates.begin(), candidates.end());
  for (auto [minus_free, n] : candidates)
    if (jobs_->make_room(now_, n, request.gpus, setup_.scenario.jobs.inference_priority)) return true;
  return false;
}

}  // namespace fleetsim
