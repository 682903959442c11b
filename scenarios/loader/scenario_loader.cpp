#include "scenarios/loader/scenario_loader.hpp"
#include "scenarios/loader/work_limits.hpp"

#include <yaml-cpp/yaml.h>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <limits>
#include <optional>
#include <set>
#include <sstream>
#include <unordered_map>

#include "scenarios/loader/build.hpp"
#include "scenarios/loader/imported_traces.hpp"
#include "scenarios/loader/llm_readers.hpp"
#include "scenarios/loader/shared_readers.hpp"
#include "scenarios/loader/yaml_reader.hpp"
#include "sim/perf_table.hpp"
#include "sim/rng.hpp"
#include "sim/transfers.hpp"
#include "traces/importers.hpp"
#include "traces/jobs/job_traces.hpp"

#include "sim/units.hpp"
#include "traces/request_csv.hpp"

namespace fleetsim {

namespace {

// ------------------------------------------------------------------ reading helpers

std::string index_path(const std::string& base, std::size_t i) {
  return base + "[" + std::to_string(i) + "]";
}

// Why `name` cannot be a folder name of its own below out/, or "": empty, a path separator,
// "..", or a control character (invisible in listings, and a line break in messages).
std::string unsafe_name_reason(const std::string& name) {
  if (name.empty()) return "must not be empty";
  if (name.find('/') != std::string::npos || name.find('\\') != std::string::npos)
    return "must not contain a path separator (/ or \\)";
  if (name == "." || name.find("..") != std::string::npos) return "must not be \".\" or contain \"..\"";
  for (unsigned char c : name)
    if (c < 0x20 || c == 0x7F) return "must not contain control characters";
  return "";
}

struct Loader {
  YamlContext& ctx;
  const PolicyRegistry& registry;
  std::string base_dir;
  std::string import_cache_dir;  // "" : default_import_cache_dir()
  const std::function<std::string(const std::string&)>* load_plugin;  // LoadOptions::load_plugin
  bool force = false;            // LoadOptions::force
  Scenario sc;
  std::unordered_map<std::string, std::uint32_t> pool_index;
  std::unordered_map<std::string, std::uint32_t> model_index;
  std::vector<YAML::Node> model_nodes;
  // Disaggregated models' decode pools, appended after the file's models once all are read
  // (so the file's models keep their indices): the prefill pool's index, the spec, its path.
  struct DecodePool {
    std::uint32_t prefill;
    ModelSpec spec;
    YAML::Node node;
    std::string path;
  };
  std::vector<DecodePool> decode_pools;
  std::vector<std::string> model_paths;  // per model: its entry's path (models[i]), for messages
  // Entries with `count`: the entry's name → its models, [first, first + count).
  struct ModelGroup {
    std::uint32_t first = 0, count = 0;
  };
  std::unordered_map<std::string, ModelGroup> model_groups;

  // plugins: [path, ...], relative to the scenario file; loaded before any policy is looked up.
  void read_plugins(MapReader& r) {
    if (!r.has("plugins")) return;
    auto items = list_of(r, "plugins");
    for (std::size_t i = 0; i < items.size(); ++i) {
      const std::string path = index_path("plugins", i);
      if (!items[i].IsScalar()) {
        ctx.error(items[i], path, "expected the path of a plugin (a shared library)");
        continue;
      }
      std::filesystem::path file = items[i].as<std::string>();
      if (file.is_relative()) file = std::filesystem::path(base_dir) / file;
      const std::string resolved = file.lexically_normal().string();
      std::string why;
      if (load_plugin && *load_plugin) {
        why = (*load_plugin)(resolved);
      } else {
        std::error_code ec;
        const std::string canonical = std::filesystem::canonical(resolved, ec).string();
        const auto& loaded = registry.plugins();
        if (ec || std::find(loaded.begin(), loaded.end(), canonical) == loaded.end())
          why = "plugin " + resolved + " is not loaded (here plugins are loaded with --plugin)";
      }
      if (!why.empty()) ctx.error(items[i], path, why);
    }
  }

  void read(const YAML::Node& root) {
    MapReader r(ctx, root, "");
    if (!r.ok()) {
      if (!root.IsDefined() || root.IsNull()) ctx.error(root, "", "the scenario file is empty");
      return;
    }
    sc.name = r.text("name", "unnamed");
    // The name is the default output folder (out/<name>): it must stay one folder inside out/.
    if (const std::string why = unsafe_name_reason(sc.name); !why.empty())
      ctx.error(r.get("name"), "name", why + " (it names the output folder out/<name>)");
    sc.description = r.text("description", "");
    read_plugins(r);
    sc.seed = static_cast<std::uint64_t>(r.number("seed", 1, 0, 9007199254740991.0));
    sc.duration = r.duration("duration", 0, kMillisecond, true);
    sc.drain_limit = r.duration("drain_limit", 10 * kMinute, 0);
    // Knative's revision timeout (`revision-timeout-seconds`, 300 s) bounds how long the
    // activator holds a request; we use it as the default buffer timeout.
    sc.request_timeout = r.duration("request_timeout", 5 * kMinute, kMillisecond);
    // Times are int64 nanoseconds: keep every sum the run forms far from overflow.
    constexpr SimTime kLongest = 100LL * 365 * 24 * kHour;  // 100 years
    for (auto [value, key] : {std::pair{sc.duration, "duration"}, {sc.drain_limit, "drain_limit"},
                              {sc.request_timeout, "request_timeout"}})
      if (value > kLongest)
        ctx.error(r.get(key), key, "must be at most 100 years (" + format_duration(kLongest) + ")");
    sc.warm_start = r.flag("warm_start", true);
    sc.sample_interval = r.duration("sample_interval", 60 * kSecond, kMillisecond);
    sc.timeseries_models = static_cast<std::uint32_t>(r.integer("timeseries_models", 50, 0, 10'000'000));
    // The report draws up to 10 models one by one (reports/html_report.cpp): each needs its rows.
    if (sc.timeseries_models > 0 && sc.timeseries_models < 10)
      ctx.error(r.get("timeseries_models"), "timeseries_models",
                "must be 0 (every model) or at least 10, the models the report draws (got " +
                    std::to_string(sc.timeseries_models) + ")");
    sc.buffer_limit = static_cast<std::uint32_t>(r.integer("buffer_limit", 100'000, 1, 10'000'000));
    sc.queue_limit = static_cast<std::uint32_t>(r.integer("queue_limit", 100'000, 1, 10'000'000));
    sc.request_retries = r.integer("request_retries", 2, 0, 1000);
    read_gpu_types(r);
    read_cluster(r);
    read_performance(r);
    SloSpec slo = read_slo(r.get("slo"), "slo", SloSpec{});
    PolicyChoice autoscaler = read_policies(r);
    read_models(r, autoscaler, slo);
    resolve_names(sc.placement, PolicyFamily::Placement, "policies.placement", r.get("policies"));
    resolve_names(sc.router, PolicyFamily::Router, "policies.router", r.get("policies"));
    resolve_names(sc.batching, PolicyFamily::Batching, "policies.batching", r.get("policies"));
    resolve_names(sc.cache, PolicyFamily::Cache, "policies.cache", r.get("policies"));
    for (std::size_t i = 0; i < sc.models.size(); ++i)
      resolve_names(sc.models[i].autoscaler, PolicyFamily::Autoscaler, model_paths[i] + ".autoscaler",
                    model_nodes[i]);
    read_workloads(r);
    read_jobs(r);
    read_faults(r);
    r.finish();
    check_fit();
  }

  void read_gpu_types(MapReader& r) {
    sc.gpu_types = builtin_gpu_types();
    auto items = list_of(r, "gpu_types");
    for (std::size_t i = 0; i < items.size(); ++i) {
      const std::string path = index_path("gpu_types", i);
      MapReader g(ctx, items[i], path);
      if (!g.ok()) continue;
      std::string name = g.text("name", "", true);
      auto it = std::find_if(sc.gpu_types.begin(), sc.gpu_types.end(),
                             [&](const GpuType& t) { return t.name == name; });
      const bool adding = it == sc.gpu_types.end();
      GpuType t = adding ? GpuType{name, 0, 0, 0, 0} : *it;
      t.memory_bytes = g.size("memory", t.memory_bytes, true, adding);
      t.bf16_flops = g.number("bf16_tflops", t.bf16_flops / 1e12, 0.001, 1e6, adding) * 1e12;
      t.memory_bandwidth = g.bandwidth("memory_bandwidth", t.memory_bandwidth, adding);
      t.host_to_device_bandwidth =
          g.bandwidth("host_to_device_bandwidth", t.host_to_device_bandwidth, adding);
      g.finish();
      if (adding) sc.gpu_types.push_back(t);
      else *it = t;
    }
  }

  void read_cluster(MapReader& r) {
    MapReader c(ctx, r.get("cluster"), "cluster");
    if (!c.ok()) {
      ctx.error(r.node(), "cluster", "required key is missing");
      return;
    }
    // Cluster-wide aggregate limits; absent means no limit beyond each node's own link.
    sc.model_store_bandwidth = c.bandwidth("model_store_bandwidth", TransferNetwork::kUnlimited);
    sc.registry_bandwidth = c.bandwidth("registry_bandwidth", TransferNetwork::kUnlimited);
    auto pools = list_of(c, "pools");
    if (pools.empty()) ctx.error(c.node(), "cluster.pools", "at least one node pool is required");
    for (std::size_t i = 0; i < pools.size(); ++i) {
      const std::string path = index_path("cluster.pools", i);
      MapReader p(ctx, pools[i], path);
      if (!p.ok()) continue;
      PoolSpec pool;
      pool.name = p.text("name", "", true);
      if (pool_index.count(pool.name))
        ctx.error(p.get("name"), p.path("name"), "duplicate pool name \"" + pool.name + "\"");
      pool.nodes = p.integer("nodes", 1, 0, 1000000, true);
      pool.max_nodes = p.integer("max_nodes", pool.nodes, 0, 1000000);
      if (pool.max_nodes < pool.nodes)
        ctx.error(p.get("max_nodes"), p.path("max_nodes"), "must be >= nodes (" + std::to_string(pool.nodes) + ")");
      if (pool.max_nodes == 0) ctx.error(p.get("nodes"), p.path("nodes"), "a pool needs nodes or max_nodes > 0");
      pool.node_idle_timeout = p.duration("node_idle_timeout", 10 * kMinute, 0);
      // Provisioning a GPU node: VM start, driver and device plugin. The Kubernetes
      // cluster-autoscaler notes a GPU node "can take up to 15 minutes" before its GPUs are
      // allocatable (kubernetes/autoscaler, cluster-autoscaler/utils/gpu/gpu.go); we take a
      // median of 5 minutes, capped there.
      pool.provisioning_time = p.has("provisioning_time")
                                   ? read_distribution(ctx, p.get("provisioning_time"), p.path("provisioning_time"), true)
                                   : Distribution{Distribution::Kind::Lognormal, 300, 0.4, 900};
      (void)p.get("provisioning_time");
      std::string gpu = p.text("gpu", "", true);
      auto it = std::find_if(sc.gpu_types.begin(), sc.gpu_types.end(),
                             [&](const GpuType& t) { return t.name == gpu; });
      if (it == sc.gpu_types.end() && !gpu.empty()) {
        std::vector<std::string> names;
        for (const auto& t : sc.gpu_types) names.push_back(t.name);
        std::string s = did_you_mean(gpu, names);
        std::string all;
        for (const auto& n : names) all += (all.empty() ? "" : ", ") + n;
        ctx.error(p.get("gpu"), p.path("gpu"),
                  "unknown GPU type \"" + gpu + "\"" + (s.empty() ? "" : ", did you mean " + s + "?") +
                      " (known: " + all + "; add others under gpu_types)");
      } else if (it != sc.gpu_types.end()) {
        pool.gpu_type = static_cast<std::uint32_t>(it - sc.gpu_types.begin());
      }
      pool.gpus_per_node = p.integer("gpus_per_node", 8, 1, 1024);
      pool.host_memory_bytes = p.size("host_memory", 1024.0 * 1073741824.0, true);
      pool.disk_cache_bytes = p.size("disk_cache", 0, false);
      pool.host_cache_bytes = p.size("host_cache", 0, false);
      if (pool.host_cache_bytes > pool.host_memory_bytes)
        ctx.error(p.get("host_cache"), p.path("host_cache"),
                  "larger than the node's host_memory (" + format_size(pool.host_memory_bytes) + ")");
      pool.disk_read_bandwidth = p.bandwidth("disk_read_bandwidth", 2e9);
      pool.network_bandwidth = p.bandwidth("network_bandwidth", 100e9 / 8);
      p.finish();
      pool_index[pool.name] = static_cast<std::uint32_t>(sc.pools.size());
      sc.pools.push_back(pool);
    }
    c.finish();
  }

  void read_performance(MapReader& r) {
    MapReader p(ctx, r.get("performance"), "performance");
    sc.perf.compute_efficiency = p.number("compute_efficiency", sc.perf.compute_efficiency, 0.01, 1);
    sc.perf.memory_efficiency = p.number("memory_efficiency", sc.perf.memory_efficiency, 0.01, 1);
    sc.perf.iteration_overhead = p.duration("iteration_overhead", sc.perf.iteration_overhead, 0);
    sc.perf.tensor_parallel_overhead =
        p.duration("tensor_parallel_overhead", sc.perf.tensor_parallel_overhead, 0);
    p.finish();
  }

  SloSpec read_slo(const YAML::Node& node, const std::string& path, SloSpec def) {
    MapReader s(ctx, node, path);
    def.ttft = s.duration("ttft", def.ttft, 0);
    def.e2e = s.duration("e2e", def.e2e, 0);
    s.finish();
    return def;
  }

  PolicyChoice read_policies(MapReader& r) {
    MapReader p(ctx, r.get("policies"), "policies");
    sc.placement = read_policy(ctx, p.get("placement"), "policies.placement", PolicyFamily::Placement,
                               registry, "best-fit");
    sc.router = read_policy(ctx, p.get("router"), "policies.router", PolicyFamily::Router, registry,
                            "least-outstanding");
    sc.batching = read_policy(ctx, p.get("batching"), "policies.batching", PolicyFamily::Batching, registry,
                              "fcfs");
    sc.cache = read_policy(ctx, p.get("cache"), "policies.cache", PolicyFamily::Cache, registry, "lru");
    PolicyChoice autoscaler = read_policy(ctx, p.get("autoscaler"), "policies.autoscaler",
                                          PolicyFamily::Autoscaler, registry, "kpa");
    p.finish();
    return autoscaler;
  }

  void read_models(MapReader& r, const PolicyChoice& autoscaler, const SloSpec& slo) {
    auto items = list_of(r, "models");
    if (items.empty()) ctx.error(r.node(), "models", "at least one model is required");
    for (std::size_t i = 0; i < items.size(); ++i) {
      const std::string path = index_path("models", i);
      MapReader m(ctx, items[i], path);
      if (!m.ok()) continue;
      ModelSpec spec;
      spec.name = m.text("name", "", true);
      if (model_index.count(spec.name) || model_groups.count(spec.name))
        ctx.error(m.get("name"), m.path("name"), "duplicate model name \"" + spec.name + "\"");
      std::string kind = m.text("kind", "llm");
      if (kind == "llm") spec.kind = ModelSpec::Kind::Llm;
      else if (kind == "service-time") spec.kind = ModelSpec::Kind::ServiceTime;
      else
        ctx.error(m.get("kind"), m.path("kind"),
                  "unknown model kind \"" + kind + "\" (expected llm or service-time)");
      const bool llm = spec.kind == ModelSpec::Kind::Llm;
      spec.parameters = m.number("parameters", 0, 1, 1e14, llm);
      spec.bytes_per_parameter = m.number("bytes_per_parameter", 2, 0.125, 8);
      spec.gpus_per_replica = m.integer("gpus_per_replica", 1, 1, 1024);
      spec.image_bytes = m.size("image_size", 10e9, false);
      spec.startup_time = m.duration("startup_time", 20 * kSecond, 0);
      for (const auto& pool : list_of(m, "pools")) {
        std::string name = pool.IsScalar() ? pool.Scalar() : "";
        auto it = pool_index.find(name);
        if (it == pool_index.end()) {
          std::vector<std::string> names;
          for (const auto& p : sc.pools) names.push_back(p.name);
          std::string s = did_you_mean(name, names);
          ctx.error(pool, m.path("pools"),
                    "unknown pool \"" + name + "\"" + (s.empty() ? "" : ", did you mean " + s + "?"));
        } else {
          spec.pools.push_back(it->second);
        }
      }
      if (llm) {
        spec.kv_bytes_per_token = m.size("kv_cache_per_token", 0, true, true);
        spec.gpu_memory_utilization = m.number("gpu_memory_utilization", 0.9, 0.05, 1.0);
        spec.max_batch = m.integer("max_batch", 256, 1, 1000000);
        spec.max_prefill_tokens = m.integer("max_prefill_tokens", 8192, 1, 100000000);
        spec.kv_block_size = m.integer("kv_block_size", 16, 1, 1000000);
        const std::string allocation = m.text("kv_allocation", "paged");
        if (allocation == "reserve")
          spec.kv_allocation = ModelSpec::KvAllocation::Reserve;
        else if (allocation != "paged")
          ctx.error(m.get("kv_allocation"), m.path("kv_allocation"),
                    "unknown kv_allocation \"" + allocation + "\" (expected paged or reserve)");
        const std::string preemption = m.text("kv_preemption", "recompute");
        if (preemption == "swap")
          spec.kv_preemption = ModelSpec::KvPreemption::Swap;
        else if (preemption != "recompute")
          ctx.error(m.get("kv_preemption"), m.path("kv_preemption"),
                    "unknown kv_preemption \"" + preemption + "\" (expected recompute or swap)");
        spec.swap_space = m.size("swap_space", spec.swap_space, false);
        spec.swap_bandwidth = m.bandwidth("swap_bandwidth", spec.swap_bandwidth);
        spec.chunked_prefill = m.flag("chunked_prefill", false);
        spec.prefix_caching = m.flag("prefix_caching", true);
        spec.prefix_block_tokens = m.integer("prefix_block_tokens", 512, 1, 1000000);
        if (m.has("kv_offload")) read_kv_offload(ctx, m, spec);
        (void)m.get("kv_offload");
        // vLLM's --max-loras defaults to 1; we default to 4 adapters per replica.
        spec.max_adapters = m.integer("max_adapters", 4, 1, 100000);
        spec.max_model_len = m.integer("max_model_len", 0, 1, 1000000000);
        if (m.has("performance_table")) read_performance_table(m, spec);
        (void)m.get("performance_table");
        auto adapters = list_of(m, "adapters");
        for (std::size_t a = 0; a < adapters.size(); ++a) {
          MapReader ar(ctx, adapters[a], index_path(m.path("adapters"), a));
          if (!ar.ok()) continue;
          AdapterSpec adapter;
          adapter.name = ar.text("name", "", true);
          adapter.bytes = ar.size("size", 0, true, true);
          for (const auto& other : spec.adapters)
            if (other.name == adapter.name)
              ctx.error(ar.get("name"), ar.path("name"), "duplicate adapter name \"" + adapter.name + "\"");
          if (adapter.name.find(':') != std::string::npos)
            ctx.error(ar.get("name"), ar.path("name"), "adapter names may not contain ':'");
          ar.finish();
          spec.adapters.push_back(adapter);
        }
      } else {
        spec.service_time = read_distribution(ctx, m.get("service_time"), m.path("service_time"), true);
        spec.max_concurrency = m.integer("max_concurrency", 1, 1, 1000000);
        spec.memory_per_gpu = m.size("memory_per_gpu", 0, true, true);
      }
      spec.autoscaler = m.has("autoscaler")
                            ? read_policy(ctx, m.get("autoscaler"), m.path("autoscaler"),
                                          PolicyFamily::Autoscaler, registry, autoscaler.impl, &autoscaler)
                            : autoscaler;
      (void)m.get("autoscaler");
      spec.slo = read_slo(m.get("slo"), m.path("slo"), slo);
      std::optional<DecodePool> decode;
      if (m.has("disaggregated")) decode = read_disaggregated(m, spec);
      (void)m.get("disaggregated");
      // `count: N`: N identical models named <name>-<k>, k zero-padded to the digits of N − 1
      // (llm-000 .. llm-999), so a fleet of a thousand deployments is one entry; a workload that
      // names the entry spreads its traffic over them (read_workloads, `popularity`).
      const int count = m.has("count") ? m.integer("count", 1, 1, 100'000) : 0;
      if (count > 0 && decode)
        ctx.error(m.get("count"), m.path("count"), "count and disaggregated cannot be combined (not supported yet)");
      m.finish();
      if (count == 0) {
        if (decode) decode->prefill = static_cast<std::uint32_t>(sc.models.size());
        add_model(spec, items[i], path);
        if (decode) decode_pools.push_back(std::move(*decode));
        continue;
      }
      model_groups[spec.name] = ModelGroup{static_cast<std::uint32_t>(sc.models.size()), static_cast<std::uint32_t>(count)};
      const std::size_t digits = std::to_string(count - 1).size();
      const std::string base = spec.name;
      for (int k = 0; k < count; ++k) {
        std::string index = std::to_string(k);
        spec.name = base + "-" + std::string(digits - index.size(), '0') + index;
        if (model_index.count(spec.name))
          ctx.error(m.get("name"), m.path("name"), "count: model name \"" + spec.name + "\" is taken");
        add_model(spec, items[i], path);
      }
    }
    // Disaggregated models' decode pools, after the file's models (not in model_index: traces
    // and workloads name the model, whose prefill pool the requests reach first).
    for (DecodePool& d : decode_pools) {
      const auto index = static_cast<std::uint32_t>(sc.models.size());
      sc.models[d.prefill].partner = index;
      d.spec.partner = d.prefill;
      sc.models.push_back(std::move(d.spec));
      model_nodes.push_back(d.node);
      model_paths.push_back(d.path);
    }
  }

  // A model's `disaggregated:` section (README "Disaggregated prefill and decode"): `prefill`
  // and `decode` (each required; what may differ between the pools, defaulting to the model's
  // own values) and `transfer` (the KV cache's links). `spec` becomes the prefill pool; the
  // decode pool is returned, to be appended after the file's models.
  std::optional<DecodePool> read_disaggregated(MapReader& m, ModelSpec& spec) {
    MapReader d(ctx, m.get("disaggregated"), m.path("disaggregated"));
    if (!d.ok()) return std::nullopt;
    if (spec.kind != ModelSpec::Kind::Llm)
      ctx.error(d.node(), m.path("disaggregated"), "only LLMs can be disaggregated (prefill and decode are an LLM's phases)");
    if (!spec.adapters.empty())
      ctx.error(d.node(), m.path("disaggregated"), "a disaggregated model cannot have LoRA adapters (not modelled yet)");
    DecodePool decode{0, spec, d.get("decode"), d.path("decode")};
    decode.spec.name = spec.name + "/decode";
    decode.spec.role = ModelSpec::Role::Decode;
    decode.spec.prefix_caching = false;  // prompts are prefilled on the other pool
    decode.spec.kv_offload_host_bytes = decode.spec.kv_offload_disk_bytes = decode.spec.kv_offload_store_bytes = 0;
    spec.role = ModelSpec::Role::Prefill;
    auto read_pool = [&](const std::string& key, ModelSpec& pool) {
      if (!d.has(key)) ctx.error(d.node(), d.path(key), "required key is missing (the " + key + " pool)");
      MapReader p(ctx, d.get(key), d.path(key));
      if (!p.ok()) return;
      const int tp = pool.gpus_per_replica;
      pool.gpus_per_replica = p.integer("gpus_per_replica", pool.gpus_per_replica, 1, 1024);
      pool.gpu_memory_utilization = p.number("gpu_memory_utilization", pool.gpu_memory_utilization, 0.05, 1.0);
      pool.max_batch = p.integer("max_batch", pool.max_batch, 1, 1000000);
      pool.max_prefill_tokens = p.integer("max_prefill_tokens", pool.max_prefill_tokens, 1, 100000000);
      pool.chunked_prefill = p.flag("chunked_prefill", pool.chunked_prefill);
      if (p.has("pools")) {
        pool.pools.clear();
        for (const auto& item : list_of(p, "pools")) {
          const std::string name = item.IsScalar() ? item.Scalar() : "";
          auto it = pool_index.find(name);
          if (it != pool_index.end()) {
            pool.pools.push_back(it->second);
            continue;
          }
          std::vector<std::string> names;
          for (const auto& x : sc.pools) names.push_back(x.name);
          const std::string s = did_you_mean(name, names);
          ctx.error(item, p.path("pools"), "unknown pool \"" + name + "\"" + (s.empty() ? "" : ", did you mean " + s + "?"));
        }
      }
      if (p.has("autoscaler"))
        pool.autoscaler = read_policy(ctx, p.get("autoscaler"), p.path("autoscaler"), PolicyFamily::Autoscaler,
                                      registry, pool.autoscaler.impl, &pool.autoscaler);
      (void)p.get("autoscaler");
      // An oracle sees its model's next arrival; the decode pool has no arrivals of its own.
      if (const PolicyInfo* info = registry.find(PolicyFamily::Autoscaler, pool.autoscaler.impl);
          key == "decode" && info && info->needs_future)
        ctx.error(p.get("autoscaler"), p.path("autoscaler"),
                  "autoscaler \"" + pool.autoscaler.impl + "\" needs the model's next arrivals, which a decode pool "
                  "has none of (its requests come from the prefill pool)");
      p.finish();
      if (pool.gpus_per_replica != tp) reselect_performance_tables(ctx, pool, p.path("gpus_per_replica"));
    };
    read_pool("prefill", spec);
    read_pool("decode", decode.spec);
    MapReader t(ctx, d.get("transfer"), d.path("transfer"));
    // NVLink 4 (H100 SXM): 18 links of 25 GB/s each way, 450 GB/s per GPU per direction
    // (NVIDIA H100 Tensor Core GPU datasheet: "900 GB/s" counts both directions).
    const double nvlink = t.bandwidth("nvlink_bandwidth", 450e9);
    const double network = t.bandwidth("network_bandwidth", TransferNetwork::kUnlimited);
    t.finish();
    d.finish();
    spec.kv_nvlink_bandwidth = decode.spec.kv_nvlink_bandwidth = nvlink;
    spec.kv_network_bandwidth = decode.spec.kv_network_bandwidth = network;
    return decode;
  }

  void add_model(const ModelSpec& spec, const YAML::Node& node, const std::string& path) {
    model_index[spec.name] = static_cast<std::uint32_t>(sc.models.size());
    sc.models.push_back(spec);
    model_nodes.push_back(node);
    model_paths.push_back(path);
  }

  // A model's `performance_table`: a profile in the Splitwise format and, per GPU type, the
  // value of its `hardware` column; the rows of the model's tensor-parallel degree are used.
  // The file is read once per model (sim/perf_table.hpp checks every row).
  void read_performance_table(MapReader& m, ModelSpec& spec) {
    MapReader t(ctx, m.get("performance_table"), m.path("performance_table"));
    if (!t.ok()) return;
    std::filesystem::path file = t.text("file", "", true);
    if (!file.empty() && file.is_relative()) file = std::filesystem::path(base_dir) / file;
    spec.perf_table_file = file.lexically_normal().string();
    spec.perf_table_model = t.text("model", spec.name);
    MapReader g(ctx, t.get("gpus"), t.path("gpus"));
    std::vector<std::pair<std::uint32_t, std::string>> wanted;  // GPU type, hardware value
    const auto entries = g.ok() ? g.entries() : std::vector<std::pair<YAML::Node, YAML::Node>>{};
    if (!t.has("gpus"))
      ctx.error(t.node(), t.path("gpus"), "required key is missing (GPU type: the profile's hardware value)");
    else if (g.ok() && entries.empty())
      ctx.error(t.get("gpus"), t.path("gpus"), "name at least one GPU type (GPU type: the profile's hardware value)");
    for (const auto& [key, value] : entries) {
      const std::string name = key.IsScalar() ? key.Scalar() : "";
      auto it = std::find_if(sc.gpu_types.begin(), sc.gpu_types.end(), [&](const GpuType& x) { return x.name == name; });
      if (it == sc.gpu_types.end()) {
        std::vector<std::string> names;
        for (const GpuType& x : sc.gpu_types) names.push_back(x.name);
        const std::string s = did_you_mean(name, names);
        ctx.error(key, g.path(name), "unknown GPU type \"" + name + "\"" + (s.empty() ? "" : ", did you mean " + s + "?"));
        continue;
      }
      if (!value.IsScalar() || value.Scalar().empty()) {
        ctx.error(value, g.path(name), "expected the profile's hardware value (got " + describe(value) + ")");
        continue;
      }
      wanted.emplace_back(static_cast<std::uint32_t>(it - sc.gpu_types.begin()), value.Scalar());
    }
    g.finish();
    t.finish();
    if (spec.perf_table_file.empty() || wanted.empty()) return;
    const auto rows = PerfTable::read_rows(spec.perf_table_file, t.path("file"), ctx.errors);
    if (!rows) return;
    spec.perf_tables.resize(sc.gpu_types.size());
    spec.perf_table_hardware.resize(sc.gpu_types.size());
    for (const auto& [gpu, hardware] : wanted) {
      auto table = PerfTable::select(*rows, spec.perf_table_model, hardware, spec.gpus_per_replica,
                                     spec.perf_table_file, g.path(sc.gpu_types[gpu].name), ctx.errors);
      if (!table) continue;
      spec.perf_tables[gpu] = std::make_shared<const PerfTable>(std::move(*table));
      spec.perf_table_hardware[gpu] = hardware;
    }
  }

  void read_workloads(MapReader& r) {
    auto items = list_of(r, "workloads");
    if (items.empty()) ctx.error(r.node(), "workloads", "at least one workload is required");
    for (std::size_t i = 0; i < items.size(); ++i) {
      const std::string path = index_path("workloads", i);
      MapReader w(ctx, items[i], path);
      if (!w.ok()) continue;
      WorkloadSpec spec;
      spec.start = w.duration("start", 0, 0);
      if (w.has("trace")) {
        spec.arrivals = WorkloadSpec::Arrivals::Trace;
        spec.name = "trace/" + std::to_string(i);
        YAML::Node t = w.get("trace");
        if (t.IsMap()) {
          spec.trace_path = import_for_scenario(ctx, t, w.path("trace"), base_dir, import_cache_dir, force);
          spec.trace_source = (t["path"].IsScalar() ? t["path"].Scalar() : std::string()) + " (" +
                              (t["format"].IsScalar() ? t["format"].Scalar() : std::string()) + ")";
        } else {
          std::filesystem::path p = w.text("trace", "");
          if (p.is_relative()) p = std::filesystem::path(base_dir) / p;
          spec.trace_path = p.lexically_normal().string();
          spec.trace_source = spec.trace_path;
          std::error_code ec;
          const auto st = std::filesystem::status(spec.trace_path, ec);
          if (!std::filesystem::exists(st))
            ctx.error(w.get("trace"), w.path("trace"), "trace file not found: " + spec.trace_path);
          else if (std::filesystem::is_directory(st))
            ctx.error(w.get("trace"), w.path("trace"), "is a folder, not a trace file: " + spec.trace_path);
          else if (!std::filesystem::is_regular_file(st))
            ctx.error(w.get("trace"), w.path("trace"), "not a regular file (a device, pipe or socket): " + spec.trace_path);
        }
        if (w.has("prefixes"))
          ctx.error(w.get("prefixes"), w.path("prefixes"),
                    "a trace's requests carry their own prefix hashes (its prefix_hashes column); "
                    "prefixes apply to generated workloads");
        w.finish();
        sc.workloads.push_back(spec);
        continue;
      }
      std::string model = w.text("model", "", true);
      auto it = model_index.find(model);
      const auto group = model_groups.find(model);
      if (group != model_groups.end()) it = model_index.find(sc.models[group->second.first].name);
      if (it == model_index.end() && !model.empty()) {
        std::vector<std::string> names;
        for (const auto& m : sc.models) names.push_back(m.name);
        for (const auto& [group_name, g] : model_groups) names.push_back(group_name);
        std::string s = did_you_mean(model, names);
        ctx.error(w.get("model"), w.path("model"),
                  "unknown model \"" + model + "\"" + (s.empty() ? "" : ", did you mean " + s + "?"));
      } else if (it != model_index.end()) {
        spec.model = it->second;
      }
      spec.name = w.text("name", model + "/" + std::to_string(i));
      if (w.has("adapter_zipf")) {
        spec.adapter_zipf = w.number("adapter_zipf", 1.0, 0, 100);
        if (it != model_index.end() && sc.models[it->second].adapters.empty())
          ctx.error(w.get("adapter_zipf"), w.path("adapter_zipf"), "model \"" + model + "\" declares no adapters");
      }
      (void)w.get("adapter_zipf");
      MapReader a(ctx, w.get("arrivals"), w.path("arrivals"));
      if (!a.ok()) ctx.error(items[i], w.path("arrivals"), "required key is missing");
      std::string process = a.text("process", "", a.ok());
      spec.rate = a.rate("rate", 0, a.ok());
      if (spec.rate > 0 && spec.rate < 1e-9)
        ctx.error(a.get("rate"), a.path("rate"), "a rate below one request per 30 years; use 0 for none");
      if (process == "poisson") {
        spec.arrivals = WorkloadSpec::Arrivals::Poisson;
      } else if (process == "gamma") {
        spec.arrivals = WorkloadSpec::Arrivals::Gamma;
        spec.cv = a.number("cv", 1, 0.01, 100, true);
      } else if (process == "on-off") {
        spec.arrivals = WorkloadSpec::Arrivals::OnOff;
        spec.on = a.duration("on", 0, kMillisecond, true);
        spec.off = a.duration("off", 0, 0, true);
      } else if (process == "diurnal") {
        spec.arrivals = WorkloadSpec::Arrivals::Diurnal;
        spec.amplitude = a.number("amplitude", 0.5, 0, 1);
        spec.period = a.duration("period", 24 * kHour, kSecond);
        spec.peak = a.duration("peak", 14 * kHour, 0);
      } else if (!process.empty()) {
        std::string s = did_you_mean(process, {"poisson", "gamma", "on-off", "diurnal"});
        ctx.error(a.get("process"), a.path("process"),
                  "unknown arrival process \"" + process + "\"" +
                      (s.empty() ? " (expected poisson, gamma, on-off or diurnal)" : ", did you mean " + s + "?"));
      }
      a.finish();
      // Token lengths matter only to LLMs; service-time models default to one token each way.
      const bool llm = it == model_index.end() || sc.models[it->second].kind == ModelSpec::Kind::Llm;
      spec.input_tokens = spec.output_tokens = Distribution{Distribution::Kind::Fixed, 1, 0, 0};
      if (llm || w.has("input_tokens"))
        spec.input_tokens = read_distribution(ctx, w.get("input_tokens"), w.path("input_tokens"), false);
      if (llm || w.has("output_tokens"))
        spec.output_tokens = read_distribution(ctx, w.get("output_tokens"), w.path("output_tokens"), false);
      (void)w.get("input_tokens");
      (void)w.get("output_tokens");
      if (w.has("prefixes")) {
        if (!llm)
          ctx.error(w.get("prefixes"), w.path("prefixes"),
                    "model \"" + model + "\" is a service-time model; prefixes apply to LLM models");
        spec.prefixes = read_prefixes(ctx, w.get("prefixes"), w.path("prefixes"));
      }
      double zipf = 0;
      if (w.has("model_zipf")) {
        zipf = w.number("model_zipf", 0, 0, 100);
        if (group == model_groups.end() && it != model_index.end())
          ctx.error(w.get("model_zipf"), w.path("model_zipf"),
                    "model \"" + model + "\" is one model; model_zipf splits the traffic of an entry with `count`");
      }
      (void)w.get("model_zipf");
      // `initial_scale: {latency: L}`: size the initial replicas of every model this workload
      // feeds by Little's law (applied after all workloads, in size_initial_scale).
      SimTime initial_latency = 0;
      if (w.has("initial_scale")) {
        MapReader is(ctx, w.get("initial_scale"), w.path("initial_scale"));
        if (is.ok()) initial_latency = is.duration("latency", 0, kMillisecond, true);
        is.finish();
      }
      (void)w.get("initial_scale");
      w.finish();
      // The rate at the workload's first instant: a diurnal cycle's, else the mean.
      const double start_factor =
          spec.arrivals == WorkloadSpec::Arrivals::Diurnal
              ? 1 + spec.amplitude * std::cos(2 * M_PI * (0 - to_seconds(spec.peak)) / to_seconds(spec.period))
              : 1.0;
      if (group == model_groups.end()) {
        if (initial_latency > 0 && it != model_index.end())
          add_initial_concurrency(it->second, spec.rate * start_factor * to_seconds(initial_latency),
                                  items[i], w.path("initial_scale"));
        sc.workloads.push_back(spec);
        continue;
      }
      // A workload naming a `count` entry: one workload per model of it, named <name>/<model>
      // (its random streams), sharing `rate` by Zipf(model_zipf) weights in the entry's order
      // (model k gets (k + 1)^−s of the sum; s = 0, the default, splits it evenly).
      const ModelGroup g = group->second;
      double total = 0;
      for (std::uint32_t k = 0; k < g.count; ++k) total += std::pow(static_cast<double>(k + 1), -zipf);
      const double rate = spec.rate;
      const std::string name = spec.name;
      for (std::uint32_t k = 0; k < g.count; ++k) {
        spec.model = g.first + k;
        spec.name = name + "/" + sc.models[spec.model].name;
        spec.rate = rate * std::pow(static_cast<double>(k + 1), -zipf) / total;
        if (initial_latency > 0 &&  // (an autoscaler without the parameters: one error, not N)
            !add_initial_concurrency(spec.model, spec.rate * start_factor * to_seconds(initial_latency),
                                     items[i], w.path("initial_scale")))
          initial_latency = 0;
        sc.workloads.push_back(spec);
      }
    }
    size_initial_scale();
  }

  // Expected requests in flight at t = 0 per model, from workloads with `initial_scale`
  // (Little's law: arrival rate × latency, summed over the workloads that feed the model);
  // negative: no such workload.
  std::vector<double> initial_concurrency;

  bool add_initial_concurrency(std::uint32_t model, double concurrency, const YAML::Node& node,
                               const std::string& path) {
    const ParamValues& p = sc.models[model].autoscaler.params;
    if (!p.numbers().count("initial_scale") || !p.numbers().count("target_concurrency")) {
      ctx.error(node, path,
                "model \"" + sc.models[model].name + "\"'s autoscaler \"" + sc.models[model].autoscaler.impl +
                    "\" has no initial_scale and target_concurrency parameters to size");
      return false;
    }
    if (initial_concurrency.size() < sc.models.size()) initial_concurrency.resize(sc.models.size(), -1);
    initial_concurrency[model] = std::max(initial_concurrency[model], 0.0) + concurrency;
    return true;
  }

  // Each sized model's initial_scale: ceil(concurrency / (target_concurrency × target_utilization)),
  // at least 1 (target_utilization counted as 1 where the autoscaler has none). This is the
  // count KPA's stable window would settle on for that traffic, so a warm start begins there
  // instead of panicking up from a guess.
  void size_initial_scale() {
    for (std::size_t m = 0; m < initial_concurrency.size(); ++m) {
      if (initial_concurrency[m] < 0) continue;
      ParamValues& p = sc.models[m].autoscaler.params;
      const double utilization = p.numbers().count("target_utilization") ? p.number("target_utilization") : 1.0;
      const double replicas = std::ceil(initial_concurrency[m] / (p.number("target_concurrency") * utilization));
      p.set_number("initial_scale", std::clamp(replicas, 1.0, 1e6));
    }
  }

  // ModelList / PoolList parameters: names -> ids, each name checked.
  void resolve_names(PolicyChoice& choice, PolicyFamily family, const std::string& path, const YAML::Node& where) {
    const PolicyInfo* info = registry.find(family, choice.impl);
    if (!info) return;
    for (const ParamSpec& p : info->params) {
      if (p.type != ParamType::ModelList && p.type != ParamType::PoolList) continue;
      if (!choice.params.strings().count(p.name)) continue;  // rejected when read (reported there)
      const bool models = p.type == ParamType::ModelList;
      const auto& index = models ? model_index : pool_index;
      std::vector<std::string> known;
      for (const auto& [name, id] : index) known.push_back(name);
      std::sort(known.begin(), known.end());
      std::vector<std::uint32_t> ids;
      std::stringstream in(choice.params.text(p.name));
      std::string name;
      while (std::getline(in, name, ',')) {
        name.erase(0, name.find_first_not_of(' '));
        name.erase(name.find_last_not_of(' ') + 1);
        if (name.empty()) continue;
        auto it = index.find(name);
        if (it != index.end()) {
          ids.push_back(it->second);
          continue;
        }
        std::string s = did_you_mean(name, known);
        ctx.error(where, path + "." + p.name,
                  std::string("unknown ") + (models ? "model" : "pool") + " \"" + name + "\"" +
                      (s.empty() ? "" : ", did you mean " + s + "?"));
      }
      choice.params.set_ids(p.name, ids);
    }
  }

  // Injected faults: `- {kill_replica: N, at: T}` or `- {store_down: LENGTH, at: T}`. Each
  // entry names exactly one kind; `at` lies in the run (before duration + drain_limit).
  void read_faults(MapReader& r) {
    auto items = list_of(r, "faults");
    for (std::size_t i = 0; i < items.size(); ++i) {
      const std::string path = index_path("faults", i);
      MapReader f(ctx, items[i], path);
      if (!f.ok()) continue;
      FaultSpec fault;
      const bool kill = f.has("kill_replica"), store = f.has("store_down");
      if (kill == store) {
        ctx.error(items[i], path,
                  kill ? "names two faults (kill_replica and store_down): one per entry"
                       : "names no fault: expected kill_replica: REPLICA or store_down: LENGTH");
      }
      if (kill) {
        fault.kind = FaultSpec::Kind::KillReplica;
        fault.replica = static_cast<std::uint32_t>(f.integer("kill_replica", 0, 0, 1'000'000));
      }
      if (store) {
        fault.kind = FaultSpec::Kind::StoreDown;
        fault.length = f.duration("store_down", 0, kMillisecond);
      }
      fault.at = f.duration("at", 0, 0, true);
      if (f.has("at") && fault.at >= sc.duration + sc.drain_limit && sc.duration > 0)
        ctx.error(f.get("at"), f.path("at"),
                  "must be before the run's end, duration + drain_limit (" +
                      format_duration(sc.duration + sc.drain_limit) + ")");
      f.finish();
      sc.faults.push_back(fault);
    }
  }

  // Co-located training / batch jobs: a job trace and a queue policy.
  void read_jobs(MapReader& r) {
    if (!r.has("jobs")) {
      (void)r.get("jobs");
      return;
    }
    MapReader j(ctx, r.get("jobs"), "jobs");
    if (!j.ok()) return;
    JobsSpec& spec = sc.jobs;
    spec.enabled = true;
    std::filesystem::path p = j.text("trace", "", true);
    if (p.is_relative()) p = std::filesystem::path(base_dir) / p;
    spec.trace_path = p.lexically_normal().string();
    if (!std::filesystem::is_regular_file(spec.trace_path))
      ctx.error(j.get("trace"), j.path("trace"), "job trace not found: " + spec.trace_path);
    spec.format = j.text("format", "generic-csv");
    if (spec.format != "generic-csv" && spec.format != "gavel" && spec.format != "openb" && spec.format != "dlrm-2025")
      ctx.error(j.get("format"), j.path("format"),
                "unknown job trace format \"" + spec.format + "\" (expected generic-csv, gavel, openb or dlrm-2025)");
    if (j.has("throughputs")) {
      std::filesystem::path t = j.text("throughputs", "");
      if (t.is_relative()) t = std::filesystem::path(base_dir) / t;
      spec.throughputs = t.lexically_normal().string();
    }
    (void)j.get("throughputs");
    if (spec.format == "gavel" && spec.throughputs.empty())  // as `fleetsim jobs --format gavel`
      ctx.error(j.get("format"), j.path("format"),
                "gavel needs jobs.throughputs (gavel_simulation_throughputs.json): its jobs are counted in steps");
    spec.lenient = j.flag("lenient", false);
    spec.backfill = j.flag("backfill", false);
    spec.inference_preempts = j.flag("inference_preempts", true);
    spec.inference_priority = j.integer("inference_priority", spec.inference_priority, std::numeric_limits<int>::min(),
                                        std::numeric_limits<int>::max());
    spec.checkpoint_on_preemption = j.flag("checkpoint_on_preemption", true);
    spec.restart_overhead = j.duration("restart_overhead", 0, 0);
    spec.checkpoint_interval = j.duration("checkpoint_interval", 0, 0);
    spec.policy = read_policy(ctx, j.get("policy"), j.path("policy"), PolicyFamily::Queue, registry, "fifo");
    if (j.has("placement"))
      spec.placement = read_policy(ctx, j.get("placement"), j.path("placement"), PolicyFamily::Placement, registry, "");
    (void)j.get("placement");
    MapReader c(ctx, j.get("columns"), j.path("columns"));
    spec.id_column = c.text("id", spec.id_column);
    spec.submit_column = c.text("submit", spec.submit_column);
    spec.duration_column = c.text("duration", spec.duration_column);
    spec.gpus_column = c.text("gpus", spec.gpus_column);
    spec.workers_column = c.text("workers", spec.workers_column);
    spec.tenant_column = c.text("tenant", spec.tenant_column);
    spec.priority_column = c.text("priority", spec.priority_column);
    spec.milli_gpu_column = c.text("milli_gpu", spec.milli_gpu_column);
    spec.gpu_fraction_column = c.text("gpu_fraction", spec.gpu_fraction_column);
    spec.cpu_column = c.text("cpu", spec.cpu_column);
    spec.memory_column = c.text("memory", spec.memory_column);
    spec.gpu_memory_column = c.text("gpu_memory", spec.gpu_memory_column);
    spec.gpu_type_column = c.text("gpu_type", spec.gpu_type_column);
    spec.submit_unit = c.text("submit_unit", spec.submit_unit);
    spec.duration_unit = c.text("duration_unit", spec.duration_unit);
    spec.memory_unit = c.text("memory_unit", spec.memory_unit);
    spec.reference_gpu_type = c.text("reference_gpu_type", spec.reference_gpu_type);
    spec.delimiter = c.text("delimiter", spec.delimiter);
    c.finish();
    j.finish();
    if (ctx.errors.empty()) {  // the header and options, now; rows are read during the run
      Diagnostics errors;
      if (!open_job_trace(job_trace_options(spec), errors))
        for (const auto& d : errors.items()) add_job_trace_error(r.get("jobs"), d);
    }
  }

  // open_job_trace names a bad option as JobTraceOptions does ("columns.memory_unit",
  // "throughput_table") and gives it no file position: report it at the scenario's key.
  // Diagnostics about the trace file itself already carry its file, line and column.
  void add_job_trace_error(const YAML::Node& jobs, const Diagnostic& d) {
    if (!d.file.empty()) {
      ctx.errors.add(d);
      return;
    }
    const std::string key = d.path == "throughput_table" ? "throughputs" : d.path == "path" ? "trace" : d.path;
    auto child = [](const YAML::Node& n, const std::string& k) {
      return n.IsDefined() && n.IsMap() ? n[k] : YAML::Node(YAML::NodeType::Undefined);
    };
    const std::size_t dot = key.find('.');
    const YAML::Node node = dot == std::string::npos ? child(jobs, key)
                                                     : child(child(jobs, key.substr(0, dot)), key.substr(dot + 1));
    ctx.error(node, "jobs." + key, d.message);
  }

  // Every model must fit on at least one node of its allowed pools.
  void check_fit() {
    if (!ctx.errors.empty()) return;
    for (std::size_t i = 0; i < sc.models.size(); ++i) {
      const ModelSpec& m = sc.models[i];
      std::string why = "no node pool";
      bool fits = false;
      for (std::uint32_t p = 0; p < sc.pools.size() && !fits; ++p) {
        if (!m.pools.empty() && std::find(m.pools.begin(), m.pools.end(), p) == m.pools.end()) continue;
        const PoolSpec& pool = sc.pools[p];
        const GpuType& gpu = sc.gpu_types[pool.gpu_type];
        const double usable = m.kind == ModelSpec::Kind::Llm ? gpu.memory_bytes * m.gpu_memory_utilization
                                                             : gpu.memory_bytes;
        const double need = m.kind == ModelSpec::Kind::Llm ? m.weight_bytes() / m.gpus_per_replica
                                                           : m.memory_per_gpu;
        if (pool.gpus_per_node < m.gpus_per_replica) {
          why = "pool " + pool.name + " has " + std::to_string(pool.gpus_per_node) +
                " GPUs per node, the model needs " + std::to_string(m.gpus_per_replica) +
                " (replicas do not span nodes)";
        } else if (need >= usable) {
          why = "pool " + pool.name + ": " + format_size(need) + " per GPU needed, " + gpu.name +
                " offers " + format_size(usable) +
                (m.kind == ModelSpec::Kind::Llm ? " at gpu_memory_utilization, leaving no KV cache" : "");
        } else {
          fits = true;
        }
      }
      if (!fits)
        ctx.error(model_nodes[i], model_paths[i],
                  "replica of model \"" + m.name + "\" fits on no node: " + why);
    }
  }
};

}  // namespace

std::string default_import_cache_dir() {
  // The XDG base directory spec: XDG_CACHE_HOME if set to an absolute path, else ~/.cache.
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && xdg[0] == '/')
    return (std::filesystem::path(xdg) / "fleetsim" / "imports").string();
  if (const char* home = std::getenv("HOME"); home && home[0] != '\0')
    return (std::filesystem::path(home) / ".cache" / "fleetsim" / "imports").string();
  return "";
}

LoadResult load_scenario_text(const std::string& yaml, const std::string& source_name,
                              const std::string& base_dir, const PolicyRegistry& registry,
                              const LoadOptions& options) {
  LoadResult result;
  YamlContext ctx{source_name, result.errors, {}};
  std::optional<YAML::Node> parsed = parse_yaml(yaml, source_name, result.errors);
  if (!parsed) return result;
  YAML::Node root = *parsed;
  for (const auto& o : options.overrides) {
    apply_override(root, o, result.errors);
    ctx.overridden.push_back(normal_key_path(o.substr(0, o.find('='))));  // "models.0.name" -> "models[0].name"
  }
  if (!result.errors.empty()) return result;
  Loader loader{ctx, registry, base_dir, options.import_cache_dir, &options.load_plugin, options.force,
                {}, {}, {}, {}, {}, {}, {}, {}};
  loader.sc.source_file = source_name;
  loader.read(root);
  if (options.seed) loader.sc.seed = *options.seed;
  if (result.errors.empty()) result.scenario = std::move(loader.sc);
  return result;
}

LoadResult load_scenario_file(const std::string& path, const PolicyRegistry& registry,
                              const LoadOptions& options) {
  std::string text;
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    LoadResult result;
    result.errors.add(Diagnostic{path, 0, 0, "", "is a folder, not a scenario file"});
    return result;
  }
  if (!read_text_file(path, text)) {
    LoadResult result;
    result.errors.add(Diagnostic{path, 0, 0, "", "cannot open the scenario file (or it is a device)"});
    return result;
  }
  std::string base = std::filesystem::path(path).parent_path().string();
  return load_scenario_text(text, path, base.empty() ? "." : base, registry, options);
}

PolicyChoice policy_from_key_values(PolicyFamily family, const std::string& impl,
                                    const std::vector<std::string>& key_values, const PolicyRegistry& registry,
                                    const std::string& flag, Diagnostics& errors) {
  YAML::Node node(YAML::NodeType::Map);
  node["impl"] = impl;
  for (const std::string& kv : key_values) {
    const auto eq = kv.find('=');
    const std::string key = eq == std::string::npos ? kv : kv.substr(0, eq);
    if (eq == std::string::npos || key.empty()) {
      errors.add(Diagnostic{"", 0, 0, flag, "expected KEY=VALUE, got \"" + kv + "\""});
      continue;
    }
    if (key == "impl") {
      errors.add(Diagnostic{"", 0, 0, flag, "the policy is named by --policy, not by a parameter"});
      continue;
    }
    node[key] = kv.substr(eq + 1);
  }
  if (!errors.empty()) return {};
  YamlContext ctx{"", errors, {}};
  return read_policy(ctx, node, flag, family, registry, impl);
}

Diagnostics check_traces(const Scenario& scenario) {
  Diagnostics errors;
  const auto names = trace_model_names(scenario);
  for (const auto& w : scenario.workloads)
    if (w.arrivals == WorkloadSpec::Arrivals::Trace) check_request_csv(w.trace_path, names, errors);
  return errors;
}

}  // namespace fleetsim
