#include "reports/prometheus.hpp"

#include <charconv>
#include <cmath>
#include <functional>
#include <limits>

namespace fleetsim {

namespace {

std::string help_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

using Labels = std::vector<std::pair<std::string, std::string>>;

class Writer {
 public:
  // Starts a family; `unit` empty when it has none (counters carry theirs in the name only: see
  // the header).
  void family(const std::string& name, const char* type, const std::string& unit, const std::string& help) {
    out_ += "# HELP " + name + " " + help_escape(help) + "\n";
    out_ += "# TYPE " + name + " " + type + "\n";
    if (!unit.empty()) out_ += "# UNIT " + name + " " + unit + "\n";
  }
  template <class V>
  void sample(const std::string& name, const Labels& labels, V v) {
    out_ += name;
    if (!labels.empty()) {
      out_ += '{';
      for (std::size_t i = 0; i < labels.size(); ++i) {
        if (i) out_ += ',';
        out_ += labels[i].first + "=\"" + prometheus_label_escape(labels[i].second) + "\"";
      }
      out_ += '}';
    }
    out_ += ' ' + prometheus_value(v) + '\n';
  }
  std::string finish() { return out_ + "# EOF\n"; }

 private:
  std::string out_;
};

Labels with(Labels l, const std::string& k, const std::string& v) {
  l.emplace_back(k, v);
  return l;
}

void run_info(Writer& w, const RunData& run) {
  w.family("fleetsim_run_info", "gauge", "",
           "The run: front end (kind), scenario name, fleetsim version and seed (value 1).");
  w.sample("fleetsim_run_info",
           {{"kind", run.kind}, {"scenario", run.scenario_name}, {"fleetsim_version", run.fleetsim_version},
            {"seed", std::to_string(run.seed)}},
           std::uint64_t{1});
}

// A summary of a latency block: quantiles 0.5 / 0.9 / 0.99 (NaN without observations), _sum, _count.
void summary(Writer& w, const std::string& name, const Labels& l, const LatencyStats& s) {
  const double nan = std::nan("");
  w.sample(name, with(l, "quantile", "0.5"), s.count ? s.p50 : nan);
  w.sample(name, with(l, "quantile", "0.9"), s.count ? s.p90 : nan);
  w.sample(name, with(l, "quantile", "0.99"), s.count ? s.p99 : nan);
  w.sample(name + "_sum", l, s.count ? s.mean * static_cast<double>(s.count) : 0.0);
  w.sample(name + "_count", l, s.count);
}

// `fleetsim jobs`: the jobs block, by gang size and by tenant.
std::string jobs_export(const RunData& run) {
  Writer w;
  const JobsStats& j = run.jobs;
  run_info(w, run);
  w.family("fleetsim_run_end_time_seconds", "gauge", "seconds", "Simulated time at the end of the run.");
  w.sample("fleetsim_run_end_time_seconds", {}, run.end_time_s);
  w.family("fleetsim_run_events_total", "counter", "", "Discrete events the simulation processed.");
  w.sample("fleetsim_run_events_total", {}, run.events);
  w.family("fleetsim_cluster_gpus", "gauge", "", "GPUs of the cluster.");
  w.sample("fleetsim_cluster_gpus", {}, run.cluster_gpus);
  w.family("fleetsim_jobs_total", "counter", "", "Jobs that arrived.");
  w.sample("fleetsim_jobs_total", {}, j.jobs);
  w.family("fleetsim_jobs_completed_total", "counter", "", "Jobs that completed.");
  w.sample("fleetsim_jobs_completed_total", {}, j.completed);
  w.family("fleetsim_jobs_rejected_total", "counter", "", "Jobs that could never run on the cluster.");
  w.sample("fleetsim_jobs_rejected_total", {}, j.rejected);
  w.family("fleetsim_job_completion_seconds", "summary", "seconds",
           "Job completion time (submit to end) of completed jobs.");
  summary(w, "fleetsim_job_completion_seconds", {}, j.jct);
  w.family("fleetsim_job_queueing_seconds", "summary", "seconds",
           "Queueing delay (submit to first start) of completed jobs.");
  summary(w, "fleetsim_job_queueing_seconds", {}, j.queueing);
  w.family("fleetsim_latency_max_seconds", "gauge", "seconds",
           "Largest observed value of each summary (latency = the summary's name without fleetsim_ and _seconds); "
           "NaN when it has no observations.");
  w.sample("fleetsim_latency_max_seconds", {{"latency", "job_completion"}}, j.jct.count ? j.jct.max : std::nan(""));
  w.sample("fleetsim_latency_max_seconds", {{"latency", "job_queueing"}},
           j.queueing.count ? j.queueing.max : std::nan(""));
  w.family("fleetsim_job_preemptions_total", "counter", "", "Preemptions of running jobs.");
  w.sample("fleetsim_job_preemptions_total", {}, j.preemptions);
  w.family("fleetsim_job_futile_preemptions_total", "counter", "",
           "Preemptions whose resources no job started in the same scheduling pass used.");
  w.sample("fleetsim_job_futile_preemptions_total", {}, j.futile_preemptions);
  w.family("fleetsim_job_lost_gpu_seconds_total", "counter", "",
           "GPU-seconds of work thrown away by preemptions (GPU-hours × 3600).");
  w.sample("fleetsim_job_lost_gpu_seconds_total", {}, j.lost_gpu_hours * 3600);
  w.family("fleetsim_job_gpu_busy_seconds_total", "counter", "", "GPU-seconds that GPUs ran jobs.");
  w.sample("fleetsim_job_gpu_busy_seconds_total", {}, j.gpu_seconds_busy);
  w.family("fleetsim_job_gpu_capacity_seconds", "gauge", "seconds",
           "GPU-seconds the cluster offered over the makespan (GPUs × makespan).");
  w.sample("fleetsim_job_gpu_capacity_seconds", {}, j.gpu_seconds_capacity);
  w.family("fleetsim_gpu_utilization_ratio", "gauge", "ratio", "Busy GPU-seconds over GPUs × makespan.");
  w.sample("fleetsim_gpu_utilization_ratio", {}, j.utilization);
  w.family("fleetsim_jobs_makespan_seconds", "gauge", "seconds", "First submit to last completion.");
  w.sample("fleetsim_jobs_makespan_seconds", {}, j.makespan_s);
  if (!run.job_sizes.empty()) {
    w.family("fleetsim_jobs_by_size_total", "counter", "", "Jobs that arrived, by gang size (GPUs of the whole gang).");
    for (const JobSizeRow& r : run.job_sizes) w.sample("fleetsim_jobs_by_size_total", {{"size", r.label}}, r.jobs);
    w.family("fleetsim_job_completion_mean_seconds", "gauge", "seconds",
             "Mean job completion time of the completed jobs of each gang size (NaN: none completed).");
    for (const JobSizeRow& r : run.job_sizes)
      w.sample("fleetsim_job_completion_mean_seconds", {{"size", r.label}}, r.completed ? r.mean_jct_s : std::nan(""));
  }
  if (!run.tenants.empty()) {
    w.family("fleetsim_tenant_jobs_completed_total", "counter", "", "Completed jobs per tenant.");
    for (const TenantRow& t : run.tenants)
      w.sample("fleetsim_tenant_jobs_completed_total", {{"tenant", t.tenant}}, t.completed_jobs);
    w.family("fleetsim_tenant_fairness_rho", "gauge", "",
             "Finish-time fairness per tenant: JCT over the time alone on an equal share (stat mean or max; <= 1 is "
             "fair).");
    for (const TenantRow& t : run.tenants) {
      w.sample("fleetsim_tenant_fairness_rho", {{"tenant", t.tenant}, {"stat", "mean"}}, t.mean_rho);
      w.sample("fleetsim_tenant_fairness_rho", {{"tenant", t.tenant}, {"stat", "max"}}, t.max_rho);
    }
  }
  return w.finish();
}

// `fleetsim saturation`: per policy, the pods and the curve's marks (and its end).
std::string saturation_export(const RunData& run) {
  Writer w;
  run_info(w, run);
  w.family("fleetsim_run_events_total", "counter", "", "Pod arrivals, over all policies.");
  w.sample("fleetsim_run_events_total", {}, run.events);
  w.family("fleetsim_saturation_capacity_gpus", "gauge", "", "GPU capacity of the cluster.");
  w.sample("fleetsim_saturation_capacity_gpus", {}, run.saturation_capacity_gpus);
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
    w.family(c.name, "counter", "", c.help);
    for (const SaturationPolicyResult& p : run.saturation) w.sample(c.name, {{"policy", p.name}}, p.*c.value);
  }
  // Each figure at the recorded marks, and at the end unless the end is a mark.
  struct Figure {
    const char* name;
    const char* unit;
    const char* help;
    double SaturationMark::*value;
  };
  for (const Figure& f :
       {Figure{"fleetsim_saturation_allocation_ratio", "ratio",
               "Allocated GPUs over capacity when the arrived demand reached arrived_pct% of capacity.",
               &SaturationMark::allocation_ratio},
        Figure{"fleetsim_saturation_unallocated_gpus", "", "GPUs not allocated at arrived_pct% of capacity arrived.",
               &SaturationMark::unallocated_gpus},
        Figure{"fleetsim_saturation_fragmentation_gpus", "",
               "Free GPU capacity the arrived pod sizes cannot use (FGD's fragmentation), at arrived_pct%.",
               &SaturationMark::frag_gpus},
        Figure{"fleetsim_saturation_fragmentation_ratio", "ratio", "Fragmented over unallocated GPUs, at arrived_pct%.",
               &SaturationMark::frag_ratio}}) {
    w.family(f.name, "gauge", f.unit, f.help);
    for (const SaturationPolicyResult& p : run.saturation) {
      for (const SaturationMark& m : p.marks)
        w.sample(f.name, {{"policy", p.name}, {"arrived_pct", std::to_string(m.arrived_pct)}}, m.*f.value);
      if (p.has_end && !p.at(p.end.arrived_pct))
        w.sample(f.name, {{"policy", p.name}, {"arrived_pct", std::to_string(p.end.arrived_pct)}}, p.end.*f.value);
    }
  }
  return w.finish();
}

}  // namespace

std::string prometheus_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

std::string prometheus_value(std::uint64_t v) { return std::to_string(v); }

std::string prometheus_label_escape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

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

  w.family("fleetsim_run_info", "gauge", "", "The run: scenario name, fleetsim version and seed (value 1).");
  w.sample("fleetsim_run_info",
           {{"scenario", run.scenario_name}, {"fleetsim_version", run.fleetsim_version}, {"seed", std::to_string(run.seed)}},
           std::uint64_t{1});
  w.family("fleetsim_run_end_time_seconds", "gauge", "seconds", "Simulated time at the end of the run.");
  w.sample("fleetsim_run_end_time_seconds", {}, run.end_time_s);
  w.family("fleetsim_run_events_total", "counter", "", "Discrete events the simulation processed.");
  w.sample("fleetsim_run_events_total", {}, run.events);
  w.family("fleetsim_percentile_relative_error_ratio", "gauge", "ratio",
           "Bound on the relative error of the reported percentiles.");
  w.sample("fleetsim_percentile_relative_error_ratio", {}, run.percentile_relative_error);

  w.family("fleetsim_requests_total", "counter", "", "Requests that arrived.");
  each([&](const Labels& l, const ModelResult& m) { w.sample("fleetsim_requests_total", l, m.requests); });
  w.family("fleetsim_requests_completed_total", "counter", "", "Requests that completed.");
  each([&](const Labels& l, const ModelResult& m) { w.sample("fleetsim_requests_completed_total", l, m.completed); });
  w.family("fleetsim_requests_failed_total", "counter", "", "Requests that failed, by reason.");
  each([&](const Labels& l, const ModelResult& m) {
    for (const auto& [reason, n] : m.failed_by_reason) w.sample("fleetsim_requests_failed_total", with(l, "reason", reason), n);
  });
  w.family("fleetsim_slo_attainment_ratio", "gauge", "ratio",
           "Share of all requests that completed within both the TTFT and the end-to-end SLO.");
  each([&](const Labels& l, const ModelResult& m) { w.sample("fleetsim_slo_attainment_ratio", l, m.slo_attainment); });

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
    w.family(name, "summary", "seconds", lat.help);
    each([&](const Labels& l, const ModelResult& m) {
      const LatencyStats& s = lat.pick(m);
      const double nan = std::nan("");
      w.sample(name, with(l, "quantile", "0.5"), s.count ? s.p50 : nan);
      w.sample(name, with(l, "quantile", "0.9"), s.count ? s.p90 : nan);
      w.sample(name, with(l, "quantile", "0.99"), s.count ? s.p99 : nan);
      w.sample(name + "_sum", l, s.count ? s.mean * static_cast<double>(s.count) : 0.0);
      w.sample(name + "_count", l, s.count);
    });
  }
  w.family("fleetsim_latency_max_seconds", "gauge", "seconds",
           "Largest observed value of each latency summary (latency = the summary's name without fleetsim_ and "
           "_seconds); NaN when it has no observations.");
  each([&](const Labels& l, const ModelResult& m) {
    for (const Latency& lat : latencies) {
      const LatencyStats& s = lat.pick(m);
      w.sample("fleetsim_latency_max_seconds", with(l, "latency", lat.key), s.count ? s.max : std::nan(""));
    }
  });

  w.family("fleetsim_cold_starts_total", "counter", "", "Replica starts that reached ready.");
  each([&](const Labels& l, const ModelResult& m) { w.sample("fleetsim_cold_starts_total", l, m.cold_starts.count); });
  w.family("fleetsim_cold_starts_aborted_total", "counter", "", "Replica starts abandoned before ready.");
  each([&](const Labels& l, const ModelResult& m) {
    w.sample("fleetsim_cold_starts_aborted_total", l, m.cold_starts.aborted);
  });
  w.family("fleetsim_requests_waited_total", "counter", "", "Requests that found no ready replica.");
  each([&](const Labels& l, const ModelResult& m) {
    w.sample("fleetsim_requests_waited_total", l, m.cold_starts.requests_waited);
  });
  w.family("fleetsim_requests_waited_ratio", "gauge", "ratio", "Share of requests that found no ready replica.");
  each([&](const Labels& l, const ModelResult& m) {
    w.sample("fleetsim_requests_waited_ratio", l, m.cold_starts.share_of_requests_waited);
  });
  w.family("fleetsim_cold_start_phase_mean_seconds", "gauge", "seconds",
           "Mean time of a cold-start phase: node_provision (when recorded), image_pull, weight_load, engine_startup.");
  const bool provision = run.has_node_provision();
  each([&](const Labels& l, const ModelResult& m) {
    if (provision)
      w.sample("fleetsim_cold_start_phase_mean_seconds", with(l, "phase", "node_provision"),
               m.cold_starts.mean_node_provision_s);
    w.sample("fleetsim_cold_start_phase_mean_seconds", with(l, "phase", "image_pull"), m.cold_starts.mean_image_pull_s);
    w.sample("fleetsim_cold_start_phase_mean_seconds", with(l, "phase", "weight_load"), m.cold_starts.mean_weight_load_s);
    w.sample("fleetsim_cold_start_phase_mean_seconds", with(l, "phase", "engine_startup"),
             m.cold_starts.mean_engine_startup_s);
  });
  bool host = run.overall.cold_starts.has_host_memory;
  for (const ModelResult& m : run.models) host = host || m.cold_starts.has_host_memory;
  w.family("fleetsim_weight_loads_total", "counter", "",
           "Weight loads of cold starts, by source: host_memory (when recorded), disk_cache, model_store.");
  each([&](const Labels& l, const ModelResult& m) {
    if (host) w.sample("fleetsim_weight_loads_total", with(l, "source", "host_memory"), m.cold_starts.weights_from_host_memory);
    w.sample("fleetsim_weight_loads_total", with(l, "source", "disk_cache"), m.cold_starts.weights_from_disk_cache);
    w.sample("fleetsim_weight_loads_total", with(l, "source", "model_store"), m.cold_starts.weights_from_model_store);
  });
  w.family("fleetsim_unschedulable_scale_ups_total", "counter", "", "Scale-ups that found no node with room.");
  each([&](const Labels& l, const ModelResult& m) {
    w.sample("fleetsim_unschedulable_scale_ups_total", l, m.cold_starts.unschedulable_scale_ups);
  });

  w.family("fleetsim_gpu_allocated_seconds_total", "counter", "",
           "GPU-seconds allocated: GPUs times the time from placement to stop.");
  each([&](const Labels& l, const ModelResult& m) {
    w.sample("fleetsim_gpu_allocated_seconds_total", l, m.gpu_seconds_allocated);
  });
  w.family("fleetsim_gpu_state_seconds_total", "counter", "",
           "Allocated GPU-seconds by replica state: starting (not yet ready), busy (ready, >= 1 request), idle "
           "(ready, no request).");
  each([&](const Labels& l, const ModelResult& m) {
    w.sample("fleetsim_gpu_state_seconds_total", with(l, "state", "starting"), m.gpu_seconds_starting);
    w.sample("fleetsim_gpu_state_seconds_total", with(l, "state", "busy"), m.gpu_seconds_busy);
    w.sample("fleetsim_gpu_state_seconds_total", with(l, "state", "idle"), m.gpu_seconds_idle);
  });
  bool memory = run.overall.has_gpu_memory_idle;
  for (const ModelResult& m : run.models) memory = memory || m.has_gpu_memory_idle;
  if (memory) {
    w.family("fleetsim_gpu_memory_idle_byte_seconds_total", "counter", "",
             "GPU memory held by ready replicas with no request, in byte-seconds.");
    each([&](const Labels& l, const ModelResult& m) {
      w.sample("fleetsim_gpu_memory_idle_byte_seconds_total", l, m.gpu_memory_byte_seconds_idle);
    });
  }
  w.family("fleetsim_replicas_peak", "gauge", "", "Most replicas placed and not stopped at once.");
  each([&](const Labels& l, const ModelResult& m) { w.sample("fleetsim_replicas_peak", l, m.replicas_peak); });
  w.family("fleetsim_replicas_mean", "gauge", "", "Replicas placed and not stopped, time-weighted mean over the run.");
  each([&](const Labels& l, const ModelResult& m) { w.sample("fleetsim_replicas_mean", l, m.replicas_mean); });

  if (run.has_cache) {
    w.family("fleetsim_node_cache_hits_total", "counter", "", "Weight loads served from a node's disk cache.");
    w.sample("fleetsim_node_cache_hits_total", {}, run.cache_hits);
    w.family("fleetsim_node_cache_inserts_total", "counter", "", "Models copied into a node's disk cache.");
    w.sample("fleetsim_node_cache_inserts_total", {}, run.cache_inserts);
    w.family("fleetsim_node_cache_evictions_total", "counter", "", "Models evicted from a node's disk cache.");
    w.sample("fleetsim_node_cache_evictions_total", {}, run.cache_evictions);
  }
  if (!run.pools.empty()) {
    w.family("fleetsim_pool_node_seconds_total", "counter", "", "Node-seconds each node pool held (node-hours × 3600).");
    for (const PoolRow& p : run.pools) w.sample("fleetsim_pool_node_seconds_total", {{"pool", p.pool}}, p.node_hours * 3600);
    w.family("fleetsim_pool_nodes_peak", "gauge", "", "Most nodes a pool held at once.");
    for (const PoolRow& p : run.pools) w.sample("fleetsim_pool_nodes_peak", {{"pool", p.pool}}, p.peak_nodes);
    w.family("fleetsim_pool_nodes_provisioned_total", "counter", "", "Nodes a pool added during the run.");
    for (const PoolRow& p : run.pools) w.sample("fleetsim_pool_nodes_provisioned_total", {{"pool", p.pool}}, p.provisioned);
    w.family("fleetsim_pool_nodes_released_total", "counter", "", "Nodes a pool released during the run.");
    for (const PoolRow& p : run.pools) w.sample("fleetsim_pool_nodes_released_total", {{"pool", p.pool}}, p.released);
  }
  if (!run.links.empty()) {
    w.family("fleetsim_link_transferred_bytes_total", "counter", "", "Bytes moved over each shared link.");
    for (const LinkRow& l : run.links) w.sample("fleetsim_link_transferred_bytes_total", {{"link", l.link}}, l.bytes);
    w.family("fleetsim_link_bandwidth_bytes_per_second", "gauge", "", "Bandwidth of each link (+Inf: unlimited).");
    for (const LinkRow& l : run.links)
      w.sample("fleetsim_link_bandwidth_bytes_per_second", {{"link", l.link}},
               l.bandwidth_bytes_per_s < 0 ? std::numeric_limits<double>::infinity() : l.bandwidth_bytes_per_s);
  }
  if (run.has_cost()) {
    w.family("fleetsim_cost", "gauge", "", "Each numeric field (item) of result.json's cost block.");
    each([&](const Labels& l, const ModelResult& m) {
      for (const auto& [item, v] : m.cost) {
        Labels labels = with(l, "item", item);
        if (!m.cost_currency.empty()) labels.emplace_back("currency", m.cost_currency);
        w.sample("fleetsim_cost", labels, v);
      }
    });
  }
  return w.finish();
}

}  // namespace fleetsim
