#include "reports/result_json.hpp"

#include <algorithm>
#include <limits>
#include <cmath>
#include <nlohmann/json.hpp>

#include "reports/json_blocks.hpp"
#include "sim/units.hpp"

namespace fleetsim {

namespace {

using ordered = json_blocks::ordered;
using json_blocks::percentiles;

ordered policy_json(const PolicyChoice& c, PolicyFamily family, const PolicyRegistry& registry) {
  return json_blocks::policy(c, family, registry);
}

ordered distribution_json(const Distribution& d, bool durations) {
  auto v = [&](double x) -> ordered {
    if (durations) return format_duration(from_seconds(x));
    return x;
  };
  ordered j;
  switch (d.kind) {
    case Distribution::Kind::Fixed: j["dist"] = "fixed"; j["value"] = v(d.a); break;
    case Distribution::Kind::Uniform: j["dist"] = "uniform"; j["low"] = v(d.a); j["high"] = v(d.b); break;
    case Distribution::Kind::Lognormal:
      j["dist"] = "lognormal"; j["median"] = v(d.a); j["sigma"] = d.b;
      if (d.max > 0) j["max"] = v(d.max);
      break;
    case Distribution::Kind::Exponential:
      j["dist"] = "exponential"; j["mean"] = v(d.a);
      if (d.max > 0) j["max"] = v(d.max);
      break;
  }
  return j;
}

ordered slo_json(const SloSpec& s) {
  ordered j;
  j["ttft"] = format_duration(s.ttft);
  j["e2e"] = format_duration(s.e2e);
  return j;
}

ordered scenario_tree(const Scenario& sc, const PolicyRegistry& registry) {
  ordered j;
  j["name"] = sc.name;
  j["description"] = sc.description;
  j["seed"] = sc.seed;
  j["duration"] = format_duration(sc.duration);
  j["drain_limit"] = format_duration(sc.drain_limit);
  j["request_timeout"] = format_duration(sc.request_timeout);
  j["warm_start"] = sc.warm_start;
  j["sample_interval"] = format_duration(sc.sample_interval);
  // (only where it took effect, so that the results of smaller fleets are unchanged)
  if (sc.timeseries_models > 0 && sc.models.size() > sc.timeseries_models) j["timeseries_models"] = sc.timeseries_models;
  j["buffer_limit"] = sc.buffer_limit;
  j["queue_limit"] = sc.queue_limit;
  if (!sc.faults.empty()) {  // (absent without faults, so that other results are unchanged)
    j["request_retries"] = sc.request_retries;
    nlohmann::ordered_json faults = nlohmann::ordered_json::array();
    for (const FaultSpec& f : sc.faults) {
      ordered e;
      if (f.kind == FaultSpec::Kind::KillReplica)
        e["kill_replica"] = f.replica;
      else
        e["store_down"] = format_duration(f.length);
      e["at"] = format_duration(f.at);
      faults.push_back(e);
    }
    j["faults"] = faults;
  }
  ordered gpus = ordered::array();
  for (const auto& g : sc.gpu_types) {
    ordered t;
    t["name"] = g.name;
    t["memory"] = format_size(g.memory_bytes);
    t["bf16_tflops"] = g.bf16_flops / 1e12;
    t["memory_bandwidth"] = format_bandwidth(g.memory_bandwidth);
    t["host_to_device_bandwidth"] = format_bandwidth(g.host_to_device_bandwidth);
    gpus.push_back(t);
  }
  j["gpu_types"] = gpus;
  ordered pools = ordered::array();
  for (const auto& p : sc.pools) {
    ordered t;
    t["name"] = p.name;
    t["nodes"] = p.nodes;
    t["gpu"] = sc.gpu_types[p.gpu_type].name;
    t["gpus_per_node"] = p.gpus_per_node;
    t["host_memory"] = format_size(p.host_memory_bytes);
    t["disk_cache"] = format_size(p.disk_cache_bytes);
    t["host_cache"] = format_size(p.host_cache_bytes);
    t["disk_read_bandwidth"] = format_bandwidth(p.disk_read_bandwidth);
    t["network_bandwidth"] = format_bandwidth(p.network_bandwidth);
    pools.push_back(t);
  }
  auto limit = [](double bw) -> ordered {
    if (std::isinf(bw)) return "unlimited";
    return format_bandwidth(bw);
  };
  j["cluster"]["model_store_bandwidth"] = limit(sc.model_store_bandwidth);
  j["cluster"]["registry_bandwidth"] = limit(sc.registry_bandwidth);
  j["cluster"]["pools"] = pools;
  j["performance"]["compute_efficiency"] = sc.perf.compute_efficiency;
  j["performance"]["memory_efficiency"] = sc.perf.memory_efficiency;
  j["performance"]["iteration_overhead"] = format_duration(sc.perf.iteration_overhead);
  j["performance"]["tensor_parallel_overhead"] = format_duration(sc.perf.tensor_parallel_overhead);
  j["policies"]["placement"] = policy_json(sc.placement, PolicyFamily::Placement, registry);
  j["policies"]["router"] = policy_json(sc.router, PolicyFamily::Router, registry);
  j["policies"]["batching"] = policy_json(sc.batching, PolicyFamily::Batching, registry);
  j["policies"]["cache"] = policy_json(sc.cache, PolicyFamily::Cache, registry);
  ordered models = ordered::array();
  for (const auto& m : sc.models) {
    ordered t;
    t["name"] = m.name;
    const bool llm = m.kind == ModelSpec::Kind::Llm;
    t["kind"] = llm ? "llm" : "service-time";
    t["parameters"] = m.parameters;
    t["bytes_per_parameter"] = m.bytes_per_parameter;
    t["gpus_per_replica"] = m.gpus_per_replica;
    t["image_size"] = format_size(m.image_bytes);
    t["startup_time"] = format_duration(m.startup_time);
    ordered pool_names = ordered::array();
    for (auto p : m.pools) pool_names.push_back(sc.pools[p].name);
    t["pools"] = pool_names;
    if (llm) {
      t["kv_cache_per_token"] = format_size(m.kv_bytes_per_token);
      t["gpu_memory_utilization"] = m.gpu_memory_utilization;
      t["max_batch"] = m.max_batch;
      t["max_prefill_tokens"] = m.max_prefill_tokens;
      t["kv_block_size"] = m.kv_block_size;
      t["kv_allocation"] = m.kv_allocation == ModelSpec::KvAllocation::Paged ? "paged" : "reserve";
      if (m.kv_preemption == ModelSpec::KvPreemption::Swap) {  // (recompute: the keys stay out, as before)
        t["kv_preemption"] = "swap";
        t["swap_space"] = format_size(m.swap_space);
        t["swap_bandwidth"] = m.swap_bandwidth > 0 ? format_bandwidth(m.swap_bandwidth) : "gpu host_to_device_bandwidth";
      }
      t["chunked_prefill"] = m.chunked_prefill;
      t["prefix_caching"] = m.prefix_caching;
      t["prefix_block_tokens"] = m.prefix_block_tokens;
    } else {
      t["service_time"] = distribution_json(m.service_time, true);
      t["max_concurrency"] = m.max_concurrency;
      t["memory_per_gpu"] = format_size(m.memory_per_gpu);
    }
    if (llm) {
      ordered adapters = ordered::array();
      for (const auto& a : m.adapters) adapters.push_back(ordered{{"name", a.name}, {"size", format_size(a.bytes)}});
      t["adapters"] = adapters;
      t["max_adapters"] = m.max_adapters;
      // Only when set, so results of scenarios without them stay as they were.
      if (m.max_model_len > 0) t["max_model_len"] = m.max_model_len;
      if (m.kv_offload())
        t["kv_offload"] = ordered{{"host_memory", format_size(m.kv_offload_host_bytes)},
                                  {"disk", format_size(m.kv_offload_disk_bytes)},
                                  {"shared_store", format_size(m.kv_offload_store_bytes)}};
      if (!m.perf_table_file.empty()) {
        ordered gpus;
        for (std::size_t g = 0; g < m.perf_table_hardware.size(); ++g)
          if (!m.perf_table_hardware[g].empty()) gpus[sc.gpu_types[g].name] = m.perf_table_hardware[g];
        t["performance_table"] = ordered{{"file", m.perf_table_file}, {"model", m.perf_table_model}, {"gpus", gpus}};
      }
    }
    t["autoscaler"] = policy_json(m.autoscaler, PolicyFamily::Autoscaler, registry);
    t["slo"] = slo_json(m.slo);
    // Disaggregated models' two pools (only then, so other results stay as they were): which
    // pool this is, the other one, and the KV transfer's links.
    if (m.role != ModelSpec::Role::Colocated)
      t["disaggregated"] = ordered{{"pool", m.role == ModelSpec::Role::Prefill ? "prefill" : "decode"},
                                   {"other_pool", sc.models[m.partner].name},
                                   {"nvlink_bandwidth", format_bandwidth(m.kv_nvlink_bandwidth)},
                                   {"network_bandwidth", limit(m.kv_network_bandwidth)}};
    models.push_back(t);
  }
  j["models"] = models;
  ordered workloads = ordered::array();
  for (const auto& w : sc.workloads) {
    ordered t;
    if (w.arrivals == WorkloadSpec::Arrivals::Trace) {
      t["trace"] = w.trace_source.empty() ? w.trace_path : w.trace_source;
    } else {
      t["name"] = w.name;
      t["model"] = sc.models[w.model].name;
      ordered a;
      a["process"] = w.arrivals == WorkloadSpec::Arrivals::Poisson ? "poisson"
                     : w.arrivals == WorkloadSpec::Arrivals::Gamma ? "gamma"
                     : w.arrivals == WorkloadSpec::Arrivals::Diurnal ? "diurnal" : "on-off";
      a["rate"] = format_rate(w.rate);
      if (w.arrivals == WorkloadSpec::Arrivals::Gamma) a["cv"] = w.cv;
      if (w.arrivals == WorkloadSpec::Arrivals::Diurnal) {
        a["amplitude"] = w.amplitude;
        a["period"] = format_duration(w.period);
        a["peak"] = format_duration(w.peak);
      }
      if (w.arrivals == WorkloadSpec::Arrivals::OnOff) {
        a["on"] = format_duration(w.on);
        a["off"] = format_duration(w.off);
      }
      t["arrivals"] = a;
      if (w.adapter_zipf >= 0) t["adapter_zipf"] = w.adapter_zipf;
      t["input_tokens"] = distribution_json(w.input_tokens, false);
      t["output_tokens"] = distribution_json(w.output_tokens, false);
      const PrefixWorkloadSpec& p = w.prefixes;
      if (p.any()) {
        ordered prefixes;
        if (p.tenants > 0)
          prefixes["system_prompts"] = ordered{{"tenants", p.tenants},
                                               {"zipf", p.tenant_zipf},
                                               {"tokens", distribution_json(p.system_prompt_tokens, false)}};
        if (p.conversations)
          prefixes["conversations"] = ordered{{"turns", distribution_json(p.turns, false)},
                                              {"think_time", distribution_json(p.think_time, true)}};
        if (p.prompts > 0) prefixes["prompts"] = ordered{{"count", p.prompts}, {"zipf", p.prompt_zipf}};
        t["prefixes"] = prefixes;
      }
    }
    t["start"] = format_duration(w.start);
    workloads.push_back(t);
  }
  j["workloads"] = workloads;
  if (sc.jobs.enabled) {
    ordered jobs;
    jobs["trace"] = sc.jobs.trace_path;
    jobs["format"] = sc.jobs.format;
    if (sc.jobs.format == "generic-csv") {  // the columns read, and their units
      const JobsSpec& c = sc.jobs;
      ordered columns;
      for (const auto& [key, value] :
           {std::pair<const char*, const std::string*>{"id", &c.id_column}, {"submit", &c.submit_column},
            {"duration", &c.duration_column}, {"gpus", &c.gpus_column}, {"workers", &c.workers_column},
            {"tenant", &c.tenant_column}, {"priority", &c.priority_column}, {"milli_gpu", &c.milli_gpu_column},
            {"gpu_fraction", &c.gpu_fraction_column}, {"cpu", &c.cpu_column}, {"memory", &c.memory_column},
            {"gpu_memory", &c.gpu_memory_column}, {"gpu_type", &c.gpu_type_column}})
        if (!value->empty()) columns[key] = *value;
      columns["submit_unit"] = c.submit_unit;
      columns["duration_unit"] = c.duration_unit;
      columns["memory_unit"] = c.memory_unit;
      if (!c.reference_gpu_type.empty()) columns["reference_gpu_type"] = c.reference_gpu_type;
      columns["delimiter"] = c.delimiter;
      jobs["columns"] = columns;
    }
    jobs["policy"] = policy_json(sc.jobs.policy, PolicyFamily::Queue, registry);
    if (!sc.jobs.placement.impl.empty())
      jobs["placement"] = policy_json(sc.jobs.placement, PolicyFamily::Placement, registry);
    jobs["backfill"] = sc.jobs.backfill;
    jobs["inference_preempts"] = sc.jobs.inference_preempts;
    if (sc.jobs.inference_priority != std::numeric_limits<int>::max())
      jobs["inference_priority"] = sc.jobs.inference_priority;
    jobs["checkpoint_on_preemption"] = sc.jobs.checkpoint_on_preemption;
    jobs["restart_overhead"] = format_duration(sc.jobs.restart_overhead);
    jobs["checkpoint_interval"] = format_duration(sc.jobs.checkpoint_interval);
    j["jobs"] = jobs;
  }
  return j;
}

// A latency block with its exact counts in vLLM's buckets: `buckets.le` (upper bounds, seconds)
// and `buckets.counts` (per bucket, not cumulative; one more than `le`: the last is above every
// bound). result.prom exports them as vLLM's histograms.
ordered latency_json(const QuantileSketch& s, const BucketCounts& b) {
  ordered j = percentiles(s);
  ordered buckets;
  buckets["le"] = std::vector<double>(b.bounds().begin(), b.bounds().end());
  buckets["counts"] = b.counts();
  j["buckets"] = buckets;
  return j;
}

ordered metrics_json(const ModelMetrics& m) {
  ordered j;
  j["requests"] = m.requests;
  j["completed"] = m.completed();
  j["failed"] = m.failed();
  ordered reasons;
  for (int i = 1; i < kRequestOutcomes; ++i)
    reasons[outcome_name(static_cast<RequestOutcome>(i))] = m.outcomes[static_cast<std::size_t>(i)];
  j["failed_by_reason"] = reasons;
  j["slo_attainment"] = m.requests ? static_cast<double>(m.slo_met) / static_cast<double>(m.requests) : 1.0;
  j["ttft_s"] = latency_json(m.ttft, m.ttft_buckets);
  j["tpot_s"] = latency_json(m.tpot, m.tpot_buckets);
  j["e2e_s"] = latency_json(m.e2e, m.e2e_buckets);
  ordered cs;
  cs["count"] = m.cold_starts;
  cs["aborted"] = m.cold_starts_aborted;
  cs["requests_waited"] = m.requests_waited;
  cs["share_of_requests_waited"] =
      m.requests ? static_cast<double>(m.requests_waited) / static_cast<double>(m.requests) : 0.0;
  cs["added_latency_s"] = percentiles(m.wait_for_replica);
  cs["duration_s"] = percentiles(m.cold_start_duration);
  const double n = m.cold_starts ? static_cast<double>(m.cold_starts) : 1.0;
  cs["mean_node_provision_s"] = m.node_provision_seconds / n;
  cs["mean_image_pull_s"] = m.image_pull_seconds / n;
  cs["mean_weight_load_s"] = m.weight_load_seconds / n;
  cs["mean_engine_startup_s"] = m.engine_startup_seconds / n;
  cs["weights_from_host_memory"] = m.loads_from_host_memory;
  cs["weights_from_disk_cache"] = m.loads_from_disk_cache;
  cs["weights_from_model_store"] = m.loads_from_model_store;
  // By the tier that served the weights: loads, mean load time, and the tier's hit ratio —
  // the share of the loads that reached it which it served (host memory sees every load, the
  // disk the ones host memory missed).
  auto tier = [](std::uint64_t served, double seconds, std::uint64_t reached) {
    ordered t;
    t["loads"] = served;
    t["mean_load_s"] = served ? seconds / static_cast<double>(served) : 0.0;
    t["hit_ratio"] = reached ? static_cast<double>(served) / static_cast<double>(reached) : 0.0;
    return t;
  };
  const std::uint64_t loads = m.loads_from_host_memory + m.loads_from_disk_cache + m.loads_from_model_store;
  cs["by_tier"]["host-memory"] = tier(m.loads_from_host_memory, m.load_seconds_host_memory, loads);
  cs["by_tier"]["disk-cache"] =
      tier(m.loads_from_disk_cache, m.load_seconds_disk_cache, loads - m.loads_from_host_memory);
  cs["by_tier"]["model-store"] =
      tier(m.loads_from_model_store, m.load_seconds_model_store, m.loads_from_model_store);
  cs["unschedulable_scale_ups"] = m.unschedulable;
  j["cold_starts"] = cs;
  j["adapters"]["loads"] = m.adapter_loads;
  j["adapters"]["loads_from_disk"] = m.adapter_loads_from_disk;
  ordered g;
  g["allocated"] = m.gpu_seconds_allocated;
  g["busy"] = m.gpu_seconds_busy;
  g["idle"] = m.gpu_seconds_idle;
  g["starting"] = m.gpu_seconds_starting;
  j["gpu_seconds"] = g;
  j["gpu_memory_byte_seconds_idle"] = m.gpu_memory_byte_seconds_idle;
  j["replicas"]["peak"] = m.peak_replicas;
  return j;
}

}  // namespace

std::string scenario_json(const Scenario& scenario, const PolicyRegistry& registry) {
  return scenario_tree(scenario, registry).dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
}

namespace {

ordered real_block(const RealRunInfo& real) {
  ordered r;
  r["speedup"] = real.speedup;
  r["token_scale"] = real.token_scale;
  r["parameter_scale"] = real.parameter_scale;
  r["backend"] = real.backend;
  ordered models = ordered::array();
  for (const RealRunInfo::Model& m : real.models) {
    ordered o;
    o["name"] = m.name;
    o["parameters"] = m.parameters;
    o["worker_parameters"] = m.worker_parameters;
    o["layers"] = m.layers;
    o["hidden"] = m.hidden;
    o["heads"] = m.heads;
    o["ffn"] = m.ffn;
    o["vocab"] = m.vocab;
    o["file_bytes"] = m.file_bytes;
    models.push_back(o);
  }
  r["models"] = models;
  if (real.mode != "real") return r;
  r["host"]["cpu"] = real.host_cpu;
  r["host"]["kernel"] = real.host_kernel;
  r["host"]["cores"] = real.host_cores;
  r["host"]["memory_bytes"] = real.host_memory_bytes;
  r["assumption"] = "each computing worker (loading, or with requests) has a core of its own";
  r["workers"]["spawned"] = real.workers_spawned;
  r["workers"]["peak"] = real.peak_workers;
  r["workers"]["peak_computing"] = real.peak_computing;
  r["workers"]["contended"] = real.contended_seconds > 0;
  r["workers"]["contended_seconds"] = real.contended_seconds;
  r["loads"]["count"] = real.loads;
  r["loads"]["fetched_bytes"] = real.fetched_bytes;
  r["loads"]["read_bytes"] = real.read_bytes;
  r["loads"]["direct_io"] = real.direct_io;
  r["loads"]["fetch_seconds"] = real.fetch_seconds;
  r["loads"]["read_seconds"] = real.read_seconds;
  r["steps"]["prefill"] = real.prefill_steps;
  r["steps"]["decode"] = real.decode_steps;
  r["cache_files"]["written"] = real.cache_files_written;
  r["cache_files"]["deleted"] = real.cache_files_deleted;
  r["wall_seconds"] = real.wall_seconds;
  return r;
}

}  // namespace

std::string result_json(const Scenario& sc, const PolicyRegistry& registry, const RunMetrics& metrics,
                        const RunStatus& status, const std::string& version, const RealRunInfo* real) {
  ordered j;
  j["schema_version"] = kResultSchemaVersion;
  j["fleetsim_version"] = version;
  if (real) j["mode"] = real->mode;
  j["scenario"] = scenario_tree(sc, registry);
  const double end_s = to_seconds(metrics.end_time);
  j["run"]["seed"] = sc.seed;
  j["run"]["end_time_s"] = end_s;
  j["run"]["events"] = status.events;
  j["run"]["requests"] = status.requests;
  j["run"]["requests_after_duration"] = status.requests_after_duration;  // trace rows never run
  j["run"]["percentile_relative_error"] = metrics.overall.ttft.relative_accuracy();
  if (!sc.faults.empty() || status.faults.replicas_failed > 0) {  // (absent otherwise: such results stay as they were)
    ordered f;
    f["configured"] = sc.faults.size();
    f["applied"] = status.faults.applied;
    f["skipped"] = status.faults.skipped;
    f["skipped_why"] = status.faults.warnings;
    f["replicas_failed"] = status.faults.replicas_failed;
    f["requests_requeued"] = status.faults.requests_requeued;
    f["requests_failed"] = status.faults.requests_failed;
    j["run"]["faults"] = f;
  }
  if (real) {
    j["run"]["partial"] = status.partial;
    if (status.partial) j["run"]["stop_reason"] = status.stop_reason;
    j["real"] = real_block(*real);
  }
  auto with_mean = [&](const ModelMetrics& m) {
    ordered o = metrics_json(m);
    o["replicas"]["mean"] = end_s > 0 ? m.replica_seconds / end_s : 0.0;
    return o;
  };
  j["overall"] = with_mean(metrics.overall);
  // How the cold-start share spreads over models (the keep-alive literature reports it this
  // way): percentiles of the per-model share of requests that waited, over models with traffic.
  {
    std::vector<double> shares;
    for (const ModelMetrics& m : metrics.models)
      if (m.requests > 0) shares.push_back(static_cast<double>(m.requests_waited) / static_cast<double>(m.requests));
    std::sort(shares.begin(), shares.end());
    auto pick = [&](double q) {
      return shares.empty() ? 0.0 : shares[static_cast<std::size_t>(q * static_cast<double>(shares.size() - 1))];
    };
    ordered across;
    across["models"] = shares.size();
    across["p50"] = pick(0.50);
    across["p75"] = pick(0.75);
    across["p99"] = pick(0.99);
    j["overall"]["cold_start_share_across_models"] = across;
  }
  j["overall"]["cache"]["hits"] = metrics.cache_hits;
  j["overall"]["cache"]["inserts"] = metrics.cache_inserts;
  j["overall"]["cache"]["evictions"] = metrics.cache_evictions;
  ordered links = ordered::array();
  for (const LinkUsage& l : status.links) {
    ordered link;
    link["link"] = l.name;
    link["bytes"] = l.bytes;
    link["bandwidth_bytes_per_s"] = std::isinf(l.bandwidth) ? -1.0 : l.bandwidth;
    links.push_back(link);
  }
  j["links"] = links;
  ordered pools = ordered::array();
  for (const PoolUsage& p : status.pools) {
    ordered pool;
    pool["pool"] = p.pool;
    pool["node_hours"] = p.node_seconds / 3600.0;
    pool["peak_nodes"] = p.peak_nodes;
    pool["provisioned"] = p.provisioned;
    pool["released"] = p.released;
    pools.push_back(pool);
  }
  j["pools"] = pools;
  // Co-located jobs, and how busy the cluster was: GPUs held by inference replicas plus GPUs
  // running jobs, over GPUs × the run.
  double job_busy = 0;
  if (status.jobs) {
    job_busy = status.jobs->gpu_seconds_busy;
    j["jobs"] = json_blocks::jobs(*status.jobs);
  }
  j["cluster"]["gpu_seconds_total"] = status.gpu_seconds_total;
  j["cluster"]["utilization"] =
      status.gpu_seconds_total > 0
          ? (metrics.overall.gpu_seconds_allocated + job_busy) / status.gpu_seconds_total : 0.0;
  j["cluster"]["inference_utilization"] =
      status.gpu_seconds_total > 0 ? metrics.overall.gpu_seconds_allocated / status.gpu_seconds_total : 0.0;
  // The KV caches (LLM models): preemptions for want of blocks, the tokens they threw away,
  // and steps that carried prompt chunks.
  // KV offload tiers (only for models that have them, and overall when one does).
  auto offload_json = [](const KvCounts& k) {
    ordered o;
    const char* names[] = {"host_memory", "disk", "shared_store"};
    for (int t = 0; t < 3; ++t)
      o[names[t]] = ordered{{"offloaded_blocks", k.offload[t].offloaded_blocks},
                            {"hit_tokens", k.offload[t].hit_tokens},
                            {"loaded_blocks", k.offload[t].loaded_blocks},
                            {"bytes_loaded", k.offload[t].bytes_loaded},
                            {"load_seconds", k.offload[t].load_seconds}};
    o["declined_tokens"] = k.offload_declined_tokens;
    return o;
  };
  bool any_offload = false;
  auto kv_json = [](const KvCounts& k) {
    ordered o;
    o["preemptions"] = k.preemptions;
    o["recomputed_tokens"] = k.recomputed_tokens;
    o["chunked_steps"] = k.chunked_steps;
    o["prompt_tokens"] = k.prompt_tokens;
    o["prefix_hit_tokens"] = k.prefix_hit_tokens;
    o["prefix_hit_rate"] = k.prompt_tokens > 0 ? static_cast<double>(k.prefix_hit_tokens) / k.prompt_tokens : 0.0;
    o["prefix_evicted_blocks"] = k.prefix_evicted_blocks;
    o["swaps"] = k.swaps;
    o["swapped_blocks"] = k.swapped_blocks;
    o["swap_seconds"] = k.swap_seconds;
    return o;
  };
  KvCounts kv_all;
  ordered models;
  for (std::size_t i = 0; i < sc.models.size(); ++i) {
    models[sc.models[i].name] = with_mean(metrics.models[i]);
    if (sc.models[i].kind != ModelSpec::Kind::Llm || i >= status.kv.size()) continue;
    models[sc.models[i].name]["kv_cache"] = kv_json(status.kv[i]);
    if (sc.models[i].kv_offload()) {
      any_offload = true;
      models[sc.models[i].name]["kv_cache"]["offload"] = offload_json(status.kv[i]);
      for (int t = 0; t < 3; ++t) {
        KvCounts::Tier& all = kv_all.offload[t];
        const KvCounts::Tier& one = status.kv[i].offload[t];
        all.offloaded_blocks += one.offloaded_blocks;
        all.hit_tokens += one.hit_tokens;
        all.loaded_blocks += one.loaded_blocks;
        all.bytes_loaded += one.bytes_loaded;
        all.load_seconds += one.load_seconds;
      }
      kv_all.offload_declined_tokens += status.kv[i].offload_declined_tokens;
    }
    kv_all.preemptions += status.kv[i].preemptions;
    kv_all.recomputed_tokens += status.kv[i].recomputed_tokens;
    kv_all.chunked_steps += status.kv[i].chunked_steps;
    kv_all.prompt_tokens += status.kv[i].prompt_tokens;
    kv_all.prefix_hit_tokens += status.kv[i].prefix_hit_tokens;
    kv_all.prefix_evicted_blocks += status.kv[i].prefix_evicted_blocks;
    kv_all.swaps += status.kv[i].swaps;
    kv_all.swapped_blocks += status.kv[i].swapped_blocks;
    kv_all.swap_seconds += status.kv[i].swap_seconds;
  }
  j["overall"]["kv_cache"] = kv_json(kv_all);
  if (any_offload) j["overall"]["kv_cache"]["offload"] = offload_json(kv_all);
  // Disaggregated models (README "Disaggregated prefill and decode"): their KV transfers and
  // where their completed requests' time to decode went. Absent when no model is disaggregated.
  if (!status.kv_transfers.empty()) {
    auto seconds = [](const QuantileSketch& s) {
      ordered o;
      o["mean"] = s.mean();
      o["p50"] = s.quantile(0.50);
      o["p99"] = s.quantile(0.99);
      return o;
    };
    auto transfer_json = [&](const KvTransferCounts& k) {
      ordered o;
      o["transfers"] = k.transfers;
      o["same_node"] = k.same_node;
      o["bytes"] = k.bytes;
      o["transfer_seconds"] = seconds(k.transfer_seconds);
      ordered split;  // per completed request; ttft = queue + prefill
      split["requests"] = k.queue.count();
      split["queue_seconds"] = seconds(k.queue);
      split["prefill_seconds"] = seconds(k.prefill);
      split["transfer_seconds"] = seconds(k.transfer);
      split["decode_wait_seconds"] = seconds(k.decode_wait);
      o["time_to_decode"] = split;
      return o;
    };
    KvTransferCounts all;
    for (std::size_t i = 0; i < sc.models.size() && i < status.kv_transfers.size(); ++i) {
      if (sc.models[i].role != ModelSpec::Role::Prefill) continue;
      const KvTransferCounts& k = status.kv_transfers[i];
      models[sc.models[i].name]["kv_transfer"] = transfer_json(k);
      all.transfers += k.transfers;
      all.same_node += k.same_node;
      all.bytes += k.bytes;
      all.transfer_seconds.merge(k.transfer_seconds);
      all.queue.merge(k.queue);
      all.prefill.merge(k.prefill);
      all.transfer.merge(k.transfer);
      all.decode_wait.merge(k.decode_wait);
    }
    j["overall"]["kv_transfer"] = transfer_json(all);
  }
  j["models"] = models;
  // Names come from user files as bytes: ones that are not UTF-8 are written as U+FFFD, not thrown
  // (nlohmann's default) as an internal error after the run. Every result writer does the same.
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace fleetsim
