#include "sim/saturation.hpp"

#include <deque>
#include <queue>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "policies/placement/fragmentation.hpp"
#include "sim/cluster_state.hpp"
#include "sim/csv_field.hpp"
#include "sim/rng.hpp"

namespace fleetsim {

const SaturationPoint* SaturationResult::at(int pct) const {
  for (const SaturationPoint& p : points)
    if (p.arrived_pct == pct) return &p;
  return nullptr;
}

namespace {

struct Pod {
  PlacementRequest request;
  std::vector<std::uint32_t> types;  // request.gpu_types views this
  PodSize size;
  std::int64_t demand_milli = 0;
};

// What both replays start from: the GPU catalog (the nodes' types first seen first, then any
// only pods name; filled before any NodeView points into it), each pod's request, and the
// empty cluster. `error` is set when a pod has more than one worker.
struct Replay {
  std::vector<GpuType> catalog;
  std::vector<Pod> pods;
  ClusterState cluster;
  std::int64_t capacity = 0;  // milli-GPUs
  std::int64_t total_demand = 0;
  std::string error;
};

void build_replay(Replay& r, std::span<const NodeRecord> records, std::span<const JobSpec> pods) {
  auto type_index = [&r](const std::string& name) {
    for (std::size_t i = 0; i < r.catalog.size(); ++i)
      if (r.catalog[i].name == name) return static_cast<std::uint32_t>(i);
    r.catalog.push_back(GpuType{name, 0, 0, 0, 0});
    return static_cast<std::uint32_t>(r.catalog.size() - 1);
  };
  std::vector<std::uint32_t> node_type;
  for (const NodeRecord& n : records) node_type.push_back(type_index(n.gpus > 0 ? n.gpu_type : ""));
  r.pods.resize(pods.size());
  for (std::size_t i = 0; i < pods.size(); ++i) {
    const JobSpec& job = pods[i];
    if (job.workers != 1) {
      r.error = "pod " + job.id + " has " + std::to_string(job.workers) + " workers; the replay places single pods";
      return;
    }
    Pod& pod = r.pods[i];
    for (const std::string& t : job.gpu_types) pod.types.push_back(type_index(t));
    pod.request.gpus = job.worker.milli_gpu > 0 ? 0 : job.worker.gpus;
    pod.request.milli_gpu = job.worker.milli_gpu;
    pod.request.cpu = job.worker.cpu;
    pod.request.host_memory = job.worker.memory_bytes;
    pod.demand_milli = job.worker.milli_gpu > 0 ? job.worker.milli_gpu : 1000LL * job.worker.gpus;
    r.total_demand += pod.demand_milli;
  }
  for (Pod& pod : r.pods) {
    pod.request.gpu_types = pod.types;
    pod.request.catalog = r.catalog;
    pod.size = pod_size(pod.request);
  }
  r.cluster = ClusterState(r.catalog);
  for (std::size_t i = 0; i < records.size(); ++i) {
    const std::uint32_t n = r.cluster.add_node(0, node_type[i], records[i].gpus);
    NodeView& node = r.cluster.node_for_update(n);
    node.cpu_capacity = records[i].cpu;
    node.host_memory_capacity = records[i].memory_bytes;
    r.capacity += 1000LL * static_cast<std::int64_t>(node.gpus.size());
  }
  for (Pod& pod : r.pods) pod.request.catalog = r.cluster.catalog();
}

// Checks a pod's placement and reserves it; "" when it kept the contract, else what is wrong.
std::string place(ClusterState& cluster, const Placement& p, const Pod& pod, Allocation& out) {
  if (Status s = cluster.check(pod.request, p, "a pod"); !s.ok) return s.message;
  out = cluster.allocation_for(pod.request, p);
  out.counts_as_replica = true;
  cluster.reserve(out);
  return "";
}
}  // namespace

SaturationResult run_saturation(std::span<const NodeRecord> records, std::span<const JobSpec> pods,
                                PlacementPolicy& policy, const SaturationOptions& options) {
  SaturationResult result;
  result.policy = options.policy_name;
  const std::string who = "placement policy '" + options.policy_name + "'";

  Replay replay;
  build_replay(replay, records, pods);
  if (!replay.error.empty()) {
    result.error = replay.error;
    return result;
  }
  std::vector<Pod>& stream = replay.pods;
  ClusterState& cluster = replay.cluster;
  const std::int64_t capacity = replay.capacity;
  const std::int64_t total_demand = replay.total_demand;
  result.capacity_gpus = static_cast<double>(capacity) / 1000;
  if (capacity == 0) {
    result.error = "the cluster has no GPUs";
    return result;
  }
  if (pods.empty() || total_demand == 0) {
    result.error = "no pod asks for a GPU, so the arrived GPU demand never grows";
    return result;
  }
  if (!(options.until >= 0.01) || options.until > 100) {
    result.error = "the stop multiple must be between 0.01 and 100";
    return result;
  }

  FragmentationModel workload;
  RngStream rng(options.seed, "saturation/sample");
  std::int64_t arrived = 0, allocated = 0;
  int next_pct = 0;
  auto record = [&](int pct) {
    SaturationPoint p;
    p.arrived_pct = pct;
    p.allocation_ratio = static_cast<double>(allocated) / static_cast<double>(capacity);
    p.unallocated_gpus = static_cast<double>(capacity - allocated) / 1000;
    p.frag_gpus = workload.cluster(cluster.nodes()) / 1000;
    p.frag_ratio = p.unallocated_gpus > 0 ? p.frag_gpus / p.unallocated_gpus : 0;
    p.arrived_pods = result.arrived_pods;
    p.failed_pods = result.failed_pods;
    result.points.push_back(p);
  };
  // Points are due at pct% of capacity: arrived * 100 >= pct * capacity (exact, in milli).
  auto due = [&](int pct) { return arrived * 100 >= static_cast<std::int64_t>(pct) * capacity; };
  const int last_pct = static_cast<int>(std::llround(options.until * 100));
  record(next_pct++);
  Allocation taken;
  while (!due(last_pct)) {
    const Pod& pod = stream[rng.below(stream.size())];
    workload.add(pod.size);
    ++result.arrived_pods;
    arrived += pod.demand_milli;
    const PlacementAnswer placement = policy.place(pod.request, cluster.view(0));  // "never" fails it too
    if (placement) {
      if (std::string bad = place(cluster, *placement, pod, taken); !bad.empty()) {
        result.error = who + " " + bad;
        result.policy_error = true;
        break;
      }
      allocated += pod.demand_milli;
      ++result.placed_pods;
    } else {
      ++result.failed_pods;
    }
    while (next_pct <= last_pct && due(next_pct)) record(next_pct++);
  }
  result.arrived_gpus = static_cast<double>(arrived) / 1000;
  result.allocated_gpus = static_cast<double>(allocated) / 1000;
  return result;
}

PodReplayResult run_pod_replay(std::span<const NodeRecord> records, std::span<const JobSpec> pods,
                               PlacementPolicy& policy, const PodReplayOptions& options) {
  PodReplayResult result;
  result.policy = options.policy_name;
  result.pods = pods.size();
  const std::string who = "placement policy '" + options.policy_name + "'";
  for (std::size_t i = 1; i < pods.size(); ++i)
    if (pods[i].submit < pods[i - 1].submit) {
      result.error = "pod " + pods[i].id + " comes before the previous pod in time (use a time-ordered trace)";
      return result;
    }
  Replay replay;
  build_replay(replay, records, pods);
  if (!replay.error.empty()) {
    result.error = replay.error;
    return result;
  }
  std::vector<Pod>& stream = replay.pods;
  ClusterState& cluster = replay.cluster;
  const std::int64_t capacity = replay.capacity;
  result.capacity_gpus = static_cast<double>(capacity) / 1000;
  if (capacity == 0) {
    result.error = "the cluster has no GPUs";
    return result;
  }

  // Departures ordered by (time, pod index); arrivals walk the (time-ordered) pods.
  struct Departure {
    SimTime time;
    std::size_t pod;
    bool operator>(const Departure& o) const { return time != o.time ? time > o.time : pod > o.pod; }
  };
  std::priority_queue<Departure, std::vector<Departure>, std::greater<>> departures;
  std::vector<Allocation> placed(pods.size());
  std::deque<std::size_t> waiting;
  FragmentationModel workload;
  std::int64_t allocated = 0;
  std::uint64_t running = 0, waited_and_placed = 0;
  double wait_sum = 0, allocation_integral = 0;
  SimTime now = pods.empty() ? 0 : pods.front().submit, last = now, next_sample = now;
  const SimTime start = now;

  auto try_place = [&](std::size_t i) -> bool {
    const PlacementAnswer p = policy.place(stream[i].request, cluster.view(now));
    if (!p) return false;
    if (std::string bad = place(cluster, *p, stream[i], placed[i]); !bad.empty()) {
      result.error = who + " " + bad;
      result.policy_error = true;
      return false;
    }
    allocated += stream[i].demand_milli;
    ++running;
    if (pods[i].end != kNever) departures.push(Departure{std::max(pods[i].end, now), i});
    return true;
  };
  auto advance = [&](SimTime t) {  // samples up to t, and the allocation integral
    for (; next_sample <= t; next_sample += options.sample_interval) {
      PodReplayPoint p;
      p.time = next_sample;
      p.allocation_ratio = static_cast<double>(allocated) / static_cast<double>(capacity);
      p.unallocated_gpus = static_cast<double>(capacity - allocated) / 1000;
      p.frag_gpus = workload.cluster(cluster.nodes()) / 1000;
      p.running = running;
      p.waiting = waiting.size();
      result.points.push_back(p);
    }
    allocation_integral += static_cast<double>(allocated) / static_cast<double>(capacity) * to_seconds(t - last);
    last = t;
    now = t;
  };

  std::size_t next = 0;
  while ((next < pods.size() || !departures.empty()) && result.error.empty()) {
    const bool arrival = next < pods.size() && (departures.empty() || pods[next].submit <= departures.top().time);
    if (arrival) {
      advance(pods[next].submit);
      workload.add(stream[next].size);
      if (try_place(next)) ++result.placed_on_arrival;
      else if (result.error.empty()) waiting.push_back(next);
      ++next;
      continue;
    }
    const Departure d = departures.top();
    departures.pop();
    advance(d.time);
    cluster.release(placed[d.pod]);
    allocated -= stream[d.pod].demand_milli;
    --running;
    // Retry the queue in order; pods that fit start.
    for (std::size_t k = 0; k < waiting.size() && result.error.empty();) {
      const std::size_t i = waiting[k];
      if (pods[i].end != kNever && pods[i].end <= now) {  // deleted before it ever ran
        ++result.expired;
        waiting.erase(waiting.begin() + static_cast<std::ptrdiff_t>(k));
        continue;
      }
      if (try_place(i)) {
        const double w = to_seconds(now - pods[i].submit);
        wait_sum += w;
        result.max_wait_s = std::max(result.max_wait_s, w);
        ++waited_and_placed;
        waiting.erase(waiting.begin() + static_cast<std::ptrdiff_t>(k));
      } else {
        ++k;
      }
    }
  }
  advance(now);
  result.never_placed = waiting.size();
  result.mean_wait_s = waited_and_placed ? wait_sum / static_cast<double>(waited_and_placed) : 0;
  result.mean_allocation_ratio = now > start ? allocation_integral / to_seconds(now - start) : 0;
  return result;
}

std::string saturation_csv(std::span<const SaturationResult> results) {
  std::string out = "policy,arrived_pct,allocation_ratio,unallocated_gpus,frag_gpus,frag_ratio,failed_pods\n";
  char line[256];
  for (const SaturationResult& r : results)
    for (const SaturationPoint& p : r.points) {
      std::snprintf(line, sizeof line, ",%d,%.6f,%.3f,%.3f,%.6f,%llu\n", p.arrived_pct, p.allocation_ratio,
                    p.unallocated_gpus, p.frag_gpus, p.frag_ratio,
                    static_cast<unsigned long long>(p.failed_pods));
      out += csv_field(r.policy);
      out += line;
    }
  return out;
}

}  // namespace fleetsim
