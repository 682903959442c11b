// Scenario: a validated, fully resolved description of one simulation — cluster, models,
// workloads, policies, SLOs, duration and seed. Every field has its final value (defaults
// filled in); the YAML loader in scenarios/loader produces it, the Simulation consumes it.
#pragma once
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "policies/api/params.hpp"
#include "sim/gpu_catalog.hpp"
#include "sim/time.hpp"

namespace fleetsim {

class PerfTable;  // sim/perf_table.hpp

// A distribution of a non-negative quantity (token counts, service times in seconds).
struct Distribution {
  enum class Kind { Fixed, Uniform, Lognormal, Exponential };
  Kind kind = Kind::Fixed;
  double a = 0;  // fixed: value; uniform: low; lognormal: median; exponential: mean
  double b = 0;  // uniform: high; lognormal: sigma (of the underlying normal)
  double max = 0;  // lognormal/exponential draws are capped here when > 0
};

struct PoolSpec {
  std::string name;
  int nodes = 1;       // up at the start
  int max_nodes = 1;   // the pool grows to this many when replicas find no room
  SimTime node_idle_timeout = 0;  // a node added by growth goes after this long without replicas
  Distribution provisioning_time;  // from the request for a node to the node being usable
  std::uint32_t gpu_type = 0;  // index into Scenario::gpu_types
  int gpus_per_node = 8;
  double host_memory_bytes = 0;
  double disk_cache_bytes = 0;
  double host_cache_bytes = 0;     // host memory set aside for model weights (a cache tier)
  double disk_read_bandwidth = 0;  // bytes/s
  double network_bandwidth = 0;    // bytes/s to the model store and image registry
};

struct SloSpec {
  SimTime ttft = 0;  // 0 means no threshold
  SimTime e2e = 0;
};

// A LoRA adapter of an LLM: small weights a replica of its base model loads on demand.
struct AdapterSpec {
  std::string name;
  double bytes = 0;
};

struct ModelSpec {
  enum class Kind { Llm, ServiceTime };
  std::string name;
  Kind kind = Kind::Llm;
  double parameters = 0;          // count
  double bytes_per_parameter = 2;
  int gpus_per_replica = 1;       // tensor-parallel degree
  double image_bytes = 0;
  SimTime startup_time = 0;       // engine start-up after weights are on the GPU
  std::vector<std::uint32_t> pools;  // allowed pools; empty = any
  // LLM serving
  double kv_bytes_per_token = 0;
  double gpu_memory_utilization = 0.9;  // vLLM's default fraction of GPU memory it may use
  int max_batch = 256;                  // vLLM max_num_seqs
  int max_prefill_tokens = 8192;        // tokens per batch step (vLLM max_num_batched_tokens):
                                        // a prefill's prompt tokens, or with chunked prefill the
                                        // step's decodes plus its prompt chunks
  // The KV cache (README "The KV cache"): in blocks of kv_block_size tokens (vLLM's default 16).
  // Paged: a request holds the blocks of the tokens it has so far and gets more as it decodes;
  // when none are left the newest running request is preempted and recomputed later.
  // Reserve: a request is admitted only when its whole prompt + output fits; nothing is
  // ever preempted (the real-mode worker's rule).
  enum class KvAllocation { Paged, Reserve };
  KvAllocation kv_allocation = KvAllocation::Paged;
  int kv_block_size = 16;
  // What a preempted running request loses (README "The KV cache"): recompute — its blocks, its
  // prompt and output so far computed again on readmission (vLLM's default, V1's only mode);
  // swap — its blocks copied to host memory over PCIe and back on readmission (vLLM V0's
  // preemption_mode="swap"), while the replica's swap space (swap_space per GPU) has room.
  enum class KvPreemption { Recompute, Swap };
  KvPreemption kv_preemption = KvPreemption::Recompute;
  double swap_space = 4.0 * (1ull << 30);  // bytes per GPU (vLLM --swap-space, default 4 GiB)
  double swap_bandwidth = 0;  // bytes/s per GPU, each way; 0: the GPU type's host_to_device_bandwidth
  bool chunked_prefill = false;         // a step mixes decodes with prompt chunks (Sarathi-Serve)
  // Prefix caching (README "Prefix caching"): requests that carry prefix hashes skip the
  // prefill of the leading blocks a replica still holds. prefix_block_tokens: the tokens each
  // hash covers (the trace's; Mooncake's are 512).
  bool prefix_caching = true;
  int prefix_block_tokens = 512;
  // KV offload tiers (README "KV offload tiers"; sim/kv_offload.cpp): prefix blocks evicted
  // from a replica's KV cache go to the first of these with room, each an LRU of this model's
  // blocks; a later prefix hit there is loaded back when that beats recomputing it. Bytes;
  // 0 = no such tier (all 0: no offload, as before).
  double kv_offload_host_bytes = 0;   // host memory, per replica (over its GPUs' PCIe links)
  double kv_offload_disk_bytes = 0;   // the node's local disk, per node (its disk read bandwidth)
  double kv_offload_store_bytes = 0;  // a shared store, cluster-wide (over the node's network link)
  bool kv_offload() const {
    return kv_offload_host_bytes > 0 || kv_offload_disk_bytes > 0 || kv_offload_store_bytes > 0;
  }
  std::vector<AdapterSpec> adapters;    // LoRA adapters of this base model
  int max_adapters = 4;                 // adapters a replica holds in GPU memory at once
  int max_model_len = 0;                // vLLM --max-model-len: prompt + output tokens; 0 = no limit
  // `performance_table`: measured times by GPU type (index into Scenario::gpu_types; empty, or a
  // null entry: that GPU type runs on the analytical model). Shared: scenarios are copied.
  std::vector<std::shared_ptr<const PerfTable>> perf_tables;
  std::string perf_table_file;                       // as resolved; "" = none
  std::vector<std::string> perf_table_hardware;      // by GPU type: the file's `hardware` value, or ""
  std::string perf_table_model;                      // the file's `model` value
  // Service-time models (embeddings, rerankers, classic ML)
  Distribution service_time;
  int max_concurrency = 1;
  double memory_per_gpu = 0;  // bytes, for service-time models (LLMs: weights / gpus)
  // Per-model choices
  PolicyChoice autoscaler;
  SloSpec slo;
  // Disaggregated prefill and decode (README "Disaggregated prefill and decode"; sim/
  // disaggregation.cpp). The loader turns a model with `disaggregated:` into two specs: the
  // model itself, now its prefill pool (role Prefill), and "<name>/decode", appended after the
  // scenario's models (role Decode). Each is placed and autoscaled as a model of its own;
  // requests arrive at the prefill pool, and after their first token move, with their KV
  // cache, to the decode pool. `partner` is the other pool's model index.
  enum class Role : std::uint8_t { Colocated, Prefill, Decode };
  Role role = Role::Colocated;
  std::uint32_t partner = 0;
  // The KV transfer (both pools carry the same values): inside a node over NVLink at
  // kv_nvlink_bandwidth (a link per node, shared by its concurrent transfers); between nodes
  // over both nodes' network links (shared with image pulls and weight loads), each transfer
  // also capped at kv_network_bandwidth.
  double kv_nvlink_bandwidth = 0;     // bytes/s
  double kv_network_bandwidth = 0;    // bytes/s; infinity: only the node links limit it

  double weight_bytes() const { return parameters * bytes_per_parameter; }
};

// Prefix blocks a generated workload's prompts carry (README "Prefixes in generated
// workloads"), so that prefix caching and prefix-aware routing see shared prompt parts. Off
// unless a part is named; `prompts` excludes the other two.
struct PrefixWorkloadSpec {
  std::uint32_t tenants = 0;          // > 0: each request's prompt starts with its tenant's system prompt
  double tenant_zipf = 1.0;           //   tenant k (from 1) chosen with weight 1/k^s
  Distribution system_prompt_tokens;  //   each tenant's system prompt length, drawn once
  bool conversations = false;         // each arrival starts a conversation of several turns
  Distribution turns;                 //   turns per conversation (at least 1)
  Distribution think_time;            //   seconds from one turn's arrival to the next's
  std::uint32_t prompts = 0;          // > 0: requests repeat one of this many distinct prompts
  double prompt_zipf = 1.0;           //   prompt k (from 1) chosen with weight 1/k^s
  bool any() const { return tenants > 0 || conversations || prompts > 0; }
};

struct WorkloadSpec {
  enum class Arrivals { Poisson, Gamma, OnOff, Diurnal, Trace };
  Arrivals arrivals = Arrivals::Poisson;
  std::uint32_t model = 0;  // not used by Trace (the trace names models per row)
  double rate = 0;          // requests/s (OnOff: rate while on)
  double cv = 1;            // Gamma: coefficient of variation of inter-arrival times
  SimTime on = 0;           // OnOff periods
  SimTime off = 0;
  double amplitude = 0;     // Diurnal: rate(t) = rate · (1 + amplitude · sin(2π (t − peak + period/4) / period))
  SimTime period = 0;
  SimTime peak = 0;         // Diurnal: when in the period the rate is highest
  SimTime start = 0;        // arrivals begin here
  Distribution input_tokens;
  Distribution output_tokens;
  std::string trace_path;   // Trace: resolved path of the native CSV file that is replayed
  std::string trace_source; // as the scenario named it (for imported traces: the original)
  double adapter_zipf = -1;  // >= 0: each request names one of the model's adapters, Zipf(s)
  std::string name;         // stable name, seeds its random streams
  PrefixWorkloadSpec prefixes;  // generated prefix hashes (none by default)
};

struct PerfSpec {
  // Defaults fitted to measured iteration times (Splitwise profiles; README "Performance model
  // accuracy"; bench/calibrate_perf_model.cpp --fit gives 0.419 / 0.911 / 13.2 ms / 1.70 ms).
  double compute_efficiency = 0.40;  // achieved fraction of peak FLOP/s (MFU) in prefill
  double memory_efficiency = 0.90;   // achieved fraction of peak memory bandwidth in decode
  SimTime iteration_overhead = 13 * kMillisecond;  // per batch step (scheduling, launches)
  SimTime tensor_parallel_overhead = 1700 * kMicrosecond;  // per step, per GPU beyond the first
};

// Training / batch jobs sharing the cluster with inference (co-location).
struct JobsSpec {
  bool enabled = false;
  std::string trace_path;
  std::string format = "generic-csv";
  std::string throughputs;   // gavel throughput table
  bool lenient = false;
  PolicyChoice policy;       // queue policy
  PolicyChoice placement;    // placement policy for job workers; impl "" = the built-in gang placement
  bool backfill = false;
  bool inference_preempts = true;  // an inference scale-up may preempt preemptible jobs ...
  int inference_priority = std::numeric_limits<int>::max();  // ... whose priority is below this
  bool checkpoint_on_preemption = true;
  SimTime restart_overhead = 0;
  SimTime checkpoint_interval = 0;  // periodic checkpoints of jobs whose trace gives none; 0: none
  // generic-csv column names (see traces/jobs/job_traces.hpp); empty = not in the file
  std::string id_column = "id", submit_column = "submit_s", duration_column = "duration_s",
              gpus_column = "gpus", workers_column = "workers", tenant_column = "tenant",
              priority_column = "priority";
  std::string milli_gpu_column, gpu_fraction_column, cpu_column, memory_column, gpu_memory_column,
      gpu_type_column;
  // generic-csv units and reading options (GenericJobColumns's; open_job_trace checks them)
  std::string submit_unit = "s", duration_unit = "s", memory_unit = "B";
  std::string reference_gpu_type;  // the GPU type durations were measured on ("" = unstated)
  std::string delimiter = ",";     // one character, or "tab"
};

// A fault injected at a set time (Scenario::faults; README "Faults"). KillReplica fails the
// engine's replica number `replica` (as in decisions.csv and cold_starts.csv) at `at`: its GPUs
// are freed and its requests re-queued. StoreDown makes the model store refuse every load from
// `at` for `length`.
struct FaultSpec {
  enum class Kind : std::uint8_t { KillReplica, StoreDown };
  Kind kind = Kind::KillReplica;
  SimTime at = 0;
  SimTime length = 0;          // StoreDown
  std::uint32_t replica = 0;   // KillReplica
};

struct Scenario {
  std::string name;
  std::string description;
  std::string source_file;
  std::uint64_t seed = 1;
  SimTime duration = 0;
  SimTime drain_limit = 0;       // after `duration`, in-flight requests get this long to end
  SimTime request_timeout = 0;   // longest wait in the buffer for a replica
  bool warm_start = true;        // replicas wanted at t = 0 begin ready (a deployed system)
  SimTime sample_interval = 60 * kSecond;  // time-series sampling period
  // timeseries.csv has per-model series for at most this many models, those with the most
  // expected traffic, and sums the rest into one `other (N models)` (0: every model).
  std::uint32_t timeseries_models = 50;
  // Memory stays bounded by what is in flight: a request arriving to a model buffer holding
  // buffer_limit requests, or routed to a replica with queue_limit requests waiting, fails
  // with outcome `rejected` (README "Requests, the buffer and the end of a run").
  std::uint32_t buffer_limit = 100'000;
  std::uint32_t queue_limit = 100'000;
  // A request whose replica failed is re-queued at most this many times; once more and it ends
  // with outcome `failed`.
  int request_retries = 2;
  std::vector<FaultSpec> faults;  // in the file's order
  std::vector<GpuType> gpu_types;
  std::vector<PoolSpec> pools;
  double model_store_bandwidth = 0;  // bytes/s, cluster-wide aggregate; infinity = no limit
  double registry_bandwidth = 0;     // bytes/s, image registry aggregate; infinity = no limit
  std::vector<ModelSpec> models;
  std::vector<WorkloadSpec> workloads;
  PolicyChoice placement;
  PolicyChoice router;
  PolicyChoice batching;  // LLM replicas' batch scheduler
  PolicyChoice cache;
  PerfSpec perf;
  JobsSpec jobs;
};

}  // namespace fleetsim
