#include "reports/prometheus.hpp"

#include <cmath>
#include <functional>
#include <limits>

#include "reports/exposition.hpp"

namespace fleetsim {

namespace {

using exposition::Labels;
using Writer = exposition::Families;

Labels with(Labels l, const std::string& k, const std::string& v) {
  l.emplace_back(k, v);
  return l;
}

void run_info(Writer& w, const RunData& run) {
  w.gauge("fleetsim_run_info", "The run: front end (kind), scenario name, fleetsim version and seed (value 1).");
  w.add("fleetsim_run_info",
           {{"kind", run.kind}, {"scenario", run.scenario_name}, {"fleetsim_version", run.fleetsim_version},
            {"seed", std::to_string(run.seed)}},
           1.0);
}

// A summary of a latency block: quantiles 0.5 / 0.9 / 0.99 (NaN without observations), _sum
// (mean × count) and _count.
void summary(Writer& w, const std::string& name, const Labels& l, const LatencyStats& s) {
  const double nan = std::nan("");
  w.add_summary(name, l, s.count, s.count ? s.mean * static_cast<double>(s.count) : 0.0,
                {{0.5, s.count ? s.p50 : nan}, {0.9, s.count ? s.p90 : nan}, {0.99, s.count ? s.p99 : nan}});
}

// `fleetsim jobs`: the jobs block, by gang size and by tenant.
std::string jobs_export(const RunData& run) {
  Writer w;
  const JobsStats& j = run.jobs;
  run_info(w, run);
  w.gauge("fleetsim_run_end_time_seconds", "Simulated time at the end of the run.");
  w.add("fleetsim_run_end_time_seconds", {}, run.end_time_s);
  w.counter("fleetsim_run_events_total", "Discrete events the simulation processed.");
  w.add("fleetsim_run_events_total", {}, run.events);
  w.gauge("fleetsim_cluster_gpus", "GPUs of the cluster.");
  w.add("fleetsim_cluster_gpus", {}, run.cluster_gpus);
  w.counter("fleetsim_jobs_total", "Jobs that arrived.");
  w.add("fleetsim_jobs_total", {}, j.jobs);
  w.counter("fleetsim_jobs_completed_total", "Jobs that completed.");
  w.add("fleetsim_jobs_completed_total", {}, j.completed);
  w.counter("fleetsim_jobs_rejected_total", "Jobs that could never run on the cluster.");
  w.add("fleetsim_jobs_rejected_total", {}, j.rejected);
  w.summary("fleetsim_job_completion_seconds", "Job completion time (submit to end) of completed jobs.");
  summary(w, "fleetsim_job_completion_seconds", {}, j.jct);
  w.summary("fleetsim_job_queueing_seconds", "Queueing delay (submit to first start) of completed jobs.");
  summary(w, "fleetsim_job_queueing_seconds", {}, j.queueing);
  w.gauge("fleetsim_latency_max_seconds", "Largest observed value of each summary (latency = the summary's name without fleetsim_ and _seconds); "
           "NaN when it has no observations.");
  w.add("fleetsim_latency_max_seconds", {{"latency", "job_completion"}}, j.jct.count ? j.jct.max : std::nan(""));
  w.add("fleetsim_latency_max_seconds", {{"latency", "job_queueing"}},
           j.queueing.count ? j.queueing.max : std::nan(""));
  w.counter("fleetsim_job_preemptions_total", "Preemptions of running jobs.");
  w.add("fleetsim_job_preemptions_total", {}, j.preemptions);
  w.counter("fleetsim_job_futile_preemptions_total", "Preemptions whose resources no job started in the same scheduling pass used.");
  w.add("fleetsim_job_futile_preemptions_total", {}, j.futile_preemptions);
  w.counter("fleetsim_job_lost_gpu_seconds_total", "GPU-seconds of work thrown away by preemptions (GPU-hours × 3600).");
  w.add("fleetsim_job_lost_gpu_seconds_total", {}, j.lost_gpu_hours * 3600);
  w.counter("fleetsim_job_gpu_busy_seconds_total", "GPU-seconds that GPUs ran jobs.");
  w.add("fleetsim_job_gpu_busy_seconds_total", {}, j.gpu_seconds_busy);
  w.gauge("fleetsim_job_gpu_capacity_seconds", "GPU-seconds the cluster offered over the makespan (GPUs × makespan).");
  w.add("fleetsim_job_gpu_capacity_seconds", {}, j.gpu_seconds_capacity);
  w.gauge("fleetsim_gpu_utilization_ratio", "Busy GPU-seconds over GPUs × makespan.");
  w.add("fleetsim_gpu_utilization_ratio", {}, j.utilization);
  w.gauge("fleetsim_jobs_makespan_seconds", "First submit to last completion.");
  w.add("fleetsim_jobs_makespan_seconds", {}, j.makespan_s);
  if (!run.job_sizes.empty()) {
    w.counter("fleetsim_jobs_by_size_total", "Jobs that arrived, by gang size (GPUs of the whole gang).");
    for (const JobSizeRow& r : run.job_sizes) w.add("fleetsim_jobs_by_size_total", {{"size", r.label}}, r.jobs);
    w.gauge("fleetsim_job_completion_mean_seconds", "Mean job completion time of the completed jobs of each gang size (NaN: none completed).");
    for (const JobSizeRow& r : run.job_sizes)
      w.add("fleetsim_job_completion_mean_seconds", {{"size", r.label}}, r.completed ? r.mean_jct_s : std::nan(""));
  }
  if (!run.tenants.empty()) {
    w.counter("fleetsim_tenant_jobs_completed_total", "Completed jobs per tenant.");
    for (const TenantRow& t : run.tenants)
      w.add("fleetsim_tenant_jobs_completed_total", {{"tenant", t.tenant}}, t.completed_jobs);
    w.gauge("fleetsim_tenant_fairness_rho", "Finish-time fairness per tenant: JCT over the time alone on an equal share (stat mean or max; <= 1 is "
             "fair).");
    for (const TenantRow& t : run.tenants) {
      w.add("fleetsim_tenant_fairness_rho", {{"tenant", t.tenant}, {"stat", "mean"}}, t.mean_rho);
      w.add("fleetsim_tenant_fairness_rho", {{"tenant", t.tenant}, {"stat", "max"}}, t.max_rho);
    }
  }
  return w.text();
}

// `fleetsim saturation`: per policy, the pods and the curve's marks (and its end).
std::string saturation_export(const RunData& run) {
  Writer w;
  run_info(w, run);
  w.counter("fleetsim_run_events_total", "Pod arrivals, over all policies.");
  w.add("fleetsim_run_events_total", {}, run.events);
  w.gauge("fleetsim_saturation_capacity_gpus", "GPU capacity of the cluster.");
  w.add("fleetsim_saturation_capacity_gpus", {}, run.saturation_capacity_gpus);
  struct Counter {
    const char* name;
    const char* help;
    std::uint64_t SaturationPolicyResult::*value;
  };
  for (const Counter& c : {Counter{"fleetsim_saturation_pods_arrived_total", "Pods that arrived.",
                                   &SaturationPolicyResult::arrived_pods},
                           Counter{"fleetsim_saturation_pods_placed_total", "Pods the policy placed.",
                                   &SaturationPolicyResult::placed_pods},
                           Counter{"fleetsim_saturation_pods_failed_total", "Pods the policy could not place.",
                                   &SaturationPolicyResult::failed_pods}}) {
    w.counter(c.name, c.help);
    for (const SaturationPolicyResult& p : run.saturation) w.add(c.name, {{"policy", p.name}}, p.*c.value);
  }
  // Each figure at the recorded marks, and at the end unless the end is a mark.
  struct Figure {
    const char* name;
    const char* help;
    double SaturationMark::*value;
  };
  for (const Figure& f :
       {Figure{"fleetsim_saturation_allocation_ratio",
               "Allocated GPUs over capacity when the arrived demand reached arrived_pct% of capacity.",
               &SaturationMark::allocation_ratio},
        Figure{"fleetsim_saturation_unallocated_gpus", "GPUs not allocated at arrived_pct% of capacity arrived.",
               &SaturationMark::unallocated_gpus},
        Figure{"fleetsim_saturation_fragmentation_gpus",
               "Free GPU capacity the arrived pod sizes cannot use (FGD's fragmentation), at arrived_pct%.",
               &SaturationMark::frag_gpus},
        Figure{"fleetsim_saturation_fragmentation_ratio", "Fragmented over unallocated GPUs, at arrived_pct%.",
               &SaturationMark::frag_ratio}}) {
    w.gauge(f.name, f.help);
    for (const SaturationPolicyResult& p : run.saturation) {
      for (const SaturationMark& m : p.marks)
        w.add(f.name, {{"policy", p.name}, {"arrived_pct", std::to_string(m.arrived_pct)}}, m.*f.value);
      if (p.has_end && !p.at(p.end.arrived_pct))
        w.add(f.name, {{"policy", p.name}, {"arrived_pct", std::to_string(p.end.arrived_pct)}}, p.end.*f.value);
    }
  }
  return w.text();
}

// TTFT, TPOT and end-to-end latency again under vLLM's names, as vLLM's histograms (its bucket
// bounds: sim/latency_buckets.hpp) with vLLM's model_name label, so that dashboards built on
// vLLM's metrics read a simulated run. Per model only (vLLM has no "all"); a model whose block has
// no `buckets` (a result.json from before they were written) is left out.
void vllm_histograms(Writer& w, const RunData& run) {
  struct Histogram {
    const char* name;
    const char* help;
    const LatencyStats& (*pick)(const ModelResult&);
  };
  const Histogram histograms[] = {
      {"vllm:time_to_first_token_seconds", "Histogram of time to first token in seconds (simulated by fleetsim).",
       [](const ModelResult& m) -> const LatencyStats& { return m.ttft; }},
      {"vllm:time_per_output_token_seconds", "Histogram of time per output token in seconds (simulated by fleetsim).",
       [](const ModelResult& m) -> const LatencyStats& { return m.tpot; }},
      {"vllm:e2e_request_latency_seconds", "Histogram of e2e request latency in seconds (simulated by fleetsim).",
       [](const ModelResult& m) -> const LatencyStats& { return m.e2e; }},
  };
  for (const Histogram& h : histograms) {
    const std::vector<double>* bounds = nullptr;
    for (const ModelResult& m : run.models) {
      const LatencyStats& s = h.pick(m);
      if (!s.bucket_counts.empty()) {
        bounds = &s.bucket_bounds;
        break;
      }
    }
    if (!bounds) continue;
    w.histogram(h.name, h.help, *bounds);
    for (const ModelResult& m : run.models) {
      const LatencyStats& s = h.pick(m);
      if (s.bucket_counts.empty() || s.bucket_bounds != *bounds) continue;
      w.add_histogram(h.name, {{"model_name", m.name}}, s.bucket_counts, s.mean * static_cast<double>(s.count));
    }
  }
}

}  // namespace

std::string prometheus_export(const RunData& run) {
  if (run.kind == "jobs") return jobs_export(run);
  if (run.kind == "saturation") return saturation_export(run);
  Writer w;
  // Every per-model family: the models in result.json order, then model="all" (overall).
  std::vector<std::pair<Labels, const ModelResult*>> blocks;
  for (const ModelResult& m : run.models) blocks.push_back({{{"model", m.name}}, &m});
  blocks.push_back({{{"model", "all"}}, &run.overall});
  auto each = [&](const std::function<void(const Labels&, const ModelResult&)>& f) {
    for (const auto& [labels, m] : blocks) f(labels, *m);
  };

  w.gauge("fleetsim_run_info", "The run: scenario name, fleetsim version and seed (value 1).");
  w.add("fleetsim_run_info",
           {{"scenario", run.scenario_name}, {"fleetsim_version", run.fleetsim_version}, {"seed", std::to_string(run.seed)}},
           1.0);
  w.gauge("fleetsim_run_end_time_seconds", "Simulated time at the end of the run.");
  w.add("fleetsim_run_end_time_seconds", {}, run.end_time_s);
  w.counter("fleetsim_run_events_total", "Discrete events the simulation processed.");
  w.add("fleetsim_run_events_total", {}, run.events);
  w.gauge("fleetsim_percentile_relative_error_ratio", "Bound on the relative error of the reported percentiles.");
  w.add("fleetsim_percentile_relative_error_ratio", {}, run.percentile_relative_error);

  w.counter("fleetsim_requests_total", "Requests that arrived.");
  each([&](const Labels& l, const ModelResult& m) { w.add("fleetsim_requests_total", l, m.requests); });
  w.counter("fleetsim_requests_completed_total", "Requests that completed.");
  each([&](const Labels& l, const ModelResult& m) { w.add("fleetsim_requests_completed_total", l, m.completed); });
  w.counter("fleetsim_requests_failed_total", "Requests that failed, by reason.");
  each([&](const Labels& l, const ModelResult& m) {
    for (const auto& [reason, n] : m.failed_by_reason) w.add("fleetsim_requests_failed_total", with(l, "reason", reason), n);
  });
  w.gauge("fleetsim_slo_attainment_ratio", "Share of all requests that completed within both the TTFT and the end-to-end SLO.");
  each([&](const Labels& l, const ModelResult& m) { w.add("fleetsim_slo_attainment_ratio", l, m.slo_attainment); });

  struct Latency {
    const char* name;
    const char* key;
    const char* help;
    std::function<const LatencyStats&(const ModelResult&)> pick;
  };
  const Latency latencies[] = {
      {"fleetsim_ttft_seconds", "ttft", "Time to first token of completed requests.",
       [](const ModelResult& m) -> const LatencyStats& { return m.ttft; }},
      {"fleetsim_tpot_seconds", "tpot", "Time per output token of completed requests with more than one output token.",
       [](const ModelResult& m) -> const LatencyStats& { return m.tpot; }},
      {"fleetsim_e2e_seconds", "e2e", "End-to-end latency (arrival to last token) of completed requests.",
       [](const ModelResult& m) -> const LatencyStats& { return m.e2e; }},
      {"fleetsim_cold_start_wait_seconds", "cold_start_wait",
       "Time requests that found no ready replica spent in the buffer waiting for one.",
       [](const ModelResult& m) -> const LatencyStats& { return m.cold_starts.added_latency; }},
      {"fleetsim_cold_start_duration_seconds", "cold_start_duration",
       "Cold-start time, placement to ready, of replica starts that reached ready.",
       [](const ModelResult& m) -> const LatencyStats& { return m.cold_starts.duration; }},
  };
  for (const Latency& lat : latencies) {
    const std::string name = lat.name;
    w.summary(name, lat.help);
    each([&](const Labels& l, const ModelResult& m) { summary(w, name, l, lat.pick(m)); });
  }
  w.gauge("fleetsim_latency_max_seconds", "Largest observed value of each latency summary (latency = the summary's name without fleetsim_ and "
           "_seconds); NaN when it has no observations.");
  each([&](const Labels& l, const ModelResult& m) {
    for (const Latency& lat : latencies) {
      const LatencyStats& s = lat.pick(m);
      w.add("fleetsim_latency_max_seconds", with(l, "latency", lat.key), s.count ? s.max : std::nan(""));
    }
  });

  vllm_histograms(w, run);

  w.counter("fleetsim_cold_starts_total", "Replica starts that reached ready.");
  each([&](const Labels& l, const ModelResult& m) { w.add("fleetsim_cold_starts_total", l, m.cold_starts.count); });
  w.counter("fleetsim_cold_starts_aborted_total", "Replica starts abandoned before ready.");
  each([&](const Labels& l, const ModelResult& m) {
    w.add("fleetsim_cold_starts_aborted_total", l, m.cold_starts.aborted);
  });
  w.counter("fleetsim_requests_waited_total", "Requests that found no ready replica.");
  each([&](const Labels& l, const ModelResult& m) {
    w.add("fleetsim_requests_waited_total", l, m.cold_starts.requests_waited);
  });
  w.gauge("fleetsim_requests_waited_ratio", "Share of requests that found no ready replica.");
  each([&](const Labels& l, const ModelResult& m) {
    w.add("fleetsim_requests_waited_ratio", l, m.cold_starts.share_of_requests_waited);
  });
  w.gauge("fleetsim_cold_start_phase_mean_seconds", "Mean time of a cold-start phase: node_provision (when recorded), image_pull, weight_load, engine_startup.");
  const bool provision = run.has_node_provision();
  each([&](const Labels& l, const ModelResult& m) {
    if (provision)
      w.add("fleetsim_cold_start_phase_mean_seconds", with(l, "phase", "node_provision"),
               m.cold_starts.mean_node_provision_s);
    w.add("fleetsim_cold_start_phase_mean_seconds", with(l, "phase", "image_pull"), m.cold_starts.mean_image_pull_s);
    w.add("fleetsim_cold_start_phase_mean_seconds", with(l, "phase", "weight_load"), m.cold_starts.mean_weight_load_s);
    w.add("fleetsim_cold_start_phase_mean_seconds", with(l, "phase", "engine_startup"),
             m.cold_starts.mean_engine_startup_s);
  });
  bool host = run.overall.cold_starts.has_host_memory;
  for (const ModelResult& m : run.models) host = host || m.cold_starts.has_host_memory;
  w.counter("fleetsim_weight_loads_total", "Weight loads of cold starts, by source: host_memory (when recorded), disk_cache, model_store.");
  each([&](const Labels& l, const ModelResult& m) {
    if (host) w.add("fleetsim_weight_loads_total", with(l, "source", "host_memory"), m.cold_starts.weights_from_host_memory);
    w.add("fleetsim_weight_loads_total", with(l, "source", "disk_cache"), m.cold_starts.weights_from_disk_cache);
    w.add("fleetsim_weight_loads_total", with(l, "source", "model_store"), m.cold_starts.weights_from_model_store);
  });
  w.counter("fleetsim_unschedulable_scale_ups_total", "Scale-ups that found no node with room.");
  each([&](const Labels& l, const ModelResult& m) {
    w.add("fleetsim_unschedulable_scale_ups_total", l, m.cold_starts.unschedulable_scale_ups);
  });

  w.counter("fleetsim_gpu_allocated_seconds_total", "GPU-seconds allocated: GPUs times the time from placement to stop.");
  each([&](const Labels& l, const ModelResult& m) {
    w.add("fleetsim_gpu_allocated_seconds_total", l, m.gpu_seconds_allocated);
  });
  w.counter("fleetsim_gpu_state_seconds_total", "Allocated GPU-seconds by replica state: starting (not yet ready), busy (ready, >= 1 request), idle "
           "(ready, no request).");
  each([&](const Labels& l, const ModelResult& m) {
    w.add("fleetsim_gpu_state_seconds_total", with(l, "state", "starting"), m.gpu_seconds_starting);
    w.add("fleetsim_gpu_state_seconds_total", with(l, "state", "busy"), m.gpu_seconds_busy);
    w.add("fleetsim_gpu_state_seconds_total", with(l, "state", "idle"), m.gpu_seconds_idle);
  });
  bool memory = run.overall.has_gpu_memory_idle;
  for (const ModelResult& m : run.models) memory = memory || m.has_gpu_memory_idle;
  if (memory) {
    w.counter("fleetsim_gpu_memory_idle_byte_seconds_total", "GPU memory held by ready replicas with no request, in byte-seconds.");
    each([&](const Labels& l, const ModelResult& m) {
      w.add("fleetsim_gpu_memory_idle_byte_seconds_total", l, m.gpu_memory_byte_seconds_idle);
    });
  }
  w.gauge("fleetsim_replicas_peak", "Most replicas placed and not stopped at once.");
  each([&](const Labels& l, const ModelResult& m) { w.add("fleetsim_replicas_peak", l, m.replicas_peak); });
  w.gauge("fleetsim_replicas_mean", "Replicas placed and not stopped, time-weighted mean over the run.");
  each([&](const Labels& l, const ModelResult& m) { w.add("fleetsim_replicas_mean", l, m.replicas_mean); });

  if (run.has_cache) {
    w.counter("fleetsim_node_cache_hits_total", "Weight loads served from a node's disk cache.");
    w.add("fleetsim_node_cache_hits_total", {}, run.cache_hits);
    w.counter("fleetsim_node_cache_inserts_total", "Models copied into a node's disk cache.");
    w.add("fleetsim_node_cache_inserts_total", {}, run.cache_inserts);
    w.counter("fleetsim_node_cache_evictions_total", "Models evicted from a node's disk cache.");
    w.add("fleetsim_node_cache_evictions_total", {}, run.cache_evictions);
  }
  if (!run.pools.empty()) {
    w.counter("fleetsim_pool_node_seconds_total", "Node-seconds each node pool held (node-hours × 3600).");
    for (const PoolRow& p : run.pools) w.add("fleetsim_pool_node_seconds_total", {{"pool", p.pool}}, p.node_hours * 3600);
    w.gauge("fleetsim_pool_nodes_peak", "Most nodes a pool held at once.");
    for (const PoolRow& p : run.pools) w.add("fleetsim_pool_nodes_peak", {{"pool", p.pool}}, p.peak_nodes);
    w.counter("fleetsim_pool_nodes_provisioned_total", "Nodes a pool added during the run.");
    for (const PoolRow& p : run.pools) w.add("fleetsim_pool_nodes_provisioned_total", {{"pool", p.pool}}, p.provisioned);
    w.counter("fleetsim_pool_nodes_released_total", "Nodes a pool released during the run.");
    for (const PoolRow& p : run.pools) w.add("fleetsim_pool_nodes_released_total", {{"pool", p.pool}}, p.released);
  }
  if (!run.links.empty()) {
    w.counter("fleetsim_link_transferred_bytes_total", "Bytes moved over each shared link.");
    for (const LinkRow& l : run.links) w.add("fleetsim_link_transferred_bytes_total", {{"link", l.link}}, l.bytes);
    w.gauge("fleetsim_link_bandwidth_bytes_per_second", "Bandwidth of each link (+Inf: unlimited).");
    for (const LinkRow& l : run.links)
      w.add("fleetsim_link_bandwidth_bytes_per_second", {{"link", l.link}},
               l.bandwidth_bytes_per_s < 0 ? std::numeric_limits<double>::infinity() : l.bandwidth_bytes_per_s);
  }
  if (run.has_cost()) {
    w.gauge("fleetsim_cost", "Each numeric field (item) of result.json's cost block.");
    each([&](const Labels& l, const ModelResult& m) {
      for (const auto& [item, v] : m.cost) {
        Labels labels = with(l, "item", item);
        if (!m.cost_currency.empty()) labels.emplace_back("currency", m.cost_currency);
        w.add("fleetsim_cost", labels, v);
      }
    });
  }
  return w.text();
}

}  // namespace fleetsim
