// MetricsCollector: subscribes to a Simulation's signals and accumulates the figures a run
// reports, per model and overall. Latency percentiles come from QuantileSketch (relative
// error ≤ 0.5% of the exact order statistic); counts, GPU-seconds and the latency counts in
// fixed (vLLM's) buckets are exact.
//
// GPU-seconds: a replica holds its GPUs from placement to stop ("allocated"). That time is
// split into "starting" (placed, not yet ready: image pull, weight load, engine start-up),
// "busy" (ready or draining with at least one request queued or running) and "idle" (ready
// with no request). allocated = starting + busy + idle.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "sim/latency_buckets.hpp"
#include "sim/observer.hpp"
#include "sim/quantile_sketch.hpp"
#include "sim/scenario.hpp"

namespace fleetsim {

struct ModelMetrics {
  std::uint64_t requests = 0;  // ended, whatever the outcome (= arrived, once the run is over)
  std::array<std::uint64_t, kRequestOutcomes> outcomes{};  // indexed by RequestOutcome
  std::uint64_t slo_met = 0;   // completed within both SLO thresholds

  QuantileSketch ttft;  // seconds, completed requests
  QuantileSketch tpot;  // seconds per output token after the first, requests with > 1 token
  QuantileSketch e2e;   // seconds, completed requests
  // The same values counted exactly in vLLM's histogram buckets (sim/latency_buckets.hpp).
  BucketCounts ttft_buckets{vllm_ttft_index()};
  BucketCounts tpot_buckets{vllm_tpot_index()};
  BucketCounts e2e_buckets{vllm_e2e_index()};

  // Cold starts: replica starts that reached ready, their phases, and the requests that had
  // to wait for a replica (found none ready) with the time they waited.
  std::uint64_t cold_starts = 0;
  std::uint64_t cold_starts_aborted = 0;
  std::uint64_t loads_from_host_memory = 0;
  std::uint64_t loads_from_disk_cache = 0;
  std::uint64_t loads_from_model_store = 0;
  double node_provision_seconds = 0;
  double image_pull_seconds = 0;
  double weight_load_seconds = 0;
  double engine_startup_seconds = 0;
  QuantileSketch cold_start_duration;  // seconds, placement to ready
  std::uint64_t requests_waited = 0;
  QuantileSketch wait_for_replica;     // seconds in the buffer, requests that waited
  std::uint64_t unschedulable = 0;     // scale-ups that found no node
  std::uint64_t adapter_loads = 0;     // LoRA adapters loaded onto running replicas
  std::uint64_t adapter_loads_from_disk = 0;

  double gpu_seconds_allocated = 0;
  double gpu_seconds_starting = 0;
  double gpu_seconds_busy = 0;
  double gpu_seconds_idle = 0;
  double gpu_memory_byte_seconds_idle = 0;  // GPU memory held by idle replicas × time
  // Weight loads by the tier that served them: count and seconds spent loading.
  double load_seconds_host_memory = 0;
  double load_seconds_disk_cache = 0;
  double load_seconds_model_store = 0;
  int peak_replicas = 0;
  double replica_seconds = 0;  // ∫ replicas dt, for the time-weighted mean
  int replicas_now = 0;
  SimTime replicas_since = 0;

  std::uint64_t completed() const { return outcomes[0]; }
  std::uint64_t failed() const { return requests - completed(); }
};

struct RunMetrics {
  std::vector<ModelMetrics> models;  // in scenario order
  ModelMetrics overall;              // merged; peak/mean replicas count every model together
  SimTime end_time = 0;
  std::uint64_t cache_hits = 0;
  std::uint64_t cache_inserts = 0;
  std::uint64_t cache_evictions = 0;
};

class MetricsCollector : public SimObserver {
 public:
  explicit MetricsCollector(const Scenario& scenario);

  void on_request_end(const RequestResult& r) override;
  void on_replica_placed(SimTime now, const ReplicaInfo& info) override;
  void on_replica_phase(SimTime now, const ReplicaInfo& info, ReplicaPhase phase) override;
  void on_replica_busy(SimTime now, const ReplicaInfo& info, bool busy) override;
  void on_cold_start(const ColdStartRecord& record) override;
  void on_unschedulable(SimTime now, std::uint32_t model) override;
  void on_cache(SimTime now, std::uint32_t node, std::uint32_t model, CacheEvent event) override;
  void on_adapter_load(SimTime now, const ReplicaInfo& info, bool from_disk) override;
  void on_run_end(SimTime end) override;

  // Valid after on_run_end.
  const RunMetrics& result() const { return result_; }

 private:
  enum class Mode : std::uint8_t { Starting, Busy, Idle, Stopped };
  struct ReplicaAccount {
    Mode mode = Mode::Stopped;
    SimTime since = 0;
    int gpus = 0;
    std::uint32_t model = 0;
    double memory_bytes = 0;
    std::uint32_t id = 0;  // public replica id: the run's end closes the open accounts in its order
  };
  void close_interval(ReplicaAccount& account, SimTime now);
  void change_replicas(ModelMetrics& m, SimTime now, int delta);

  // A request's end as counted: its latencies as differences of its times, and (place()) the
  // sketches' buckets they count in.
  struct Ended {
    SimTime ttft = 0, e2e = 0, decode = 0, wait = 0;  // first token, end, end - first token, dispatch
    std::uint32_t model = 0;
    std::uint32_t output_tokens = 0;
    std::uint32_t next = 0;  // in a batch: the next request of the same model (kEndOfList: none)
    RequestOutcome outcome = RequestOutcome::Completed;
    bool waited = false;
    int ttft_bucket = 0, e2e_bucket = 0, tpot_bucket = 0;  // QuantileSketch::place
  };
  // place() finds an end's buckets and starts loading their counters; count() counts it, in the
  // buckets place() found if `placed`.
  void place(const ModelMetrics& m, Ended& e) const;
  void count(ModelMetrics& m, const Ended& e, bool placed);
  // With many models, requests' ends are counted in batches of kBatch, model by model, each
  // model's in the order they ended: a model's counters (its ModelMetrics, three sketches'
  // arrays, its SLO) are spread over megabytes at a fleet's scale, and a batch
  // touches each model's lines once, not once per request, and places each request's buckets
  // kPlaceAhead requests before it counts them. Every count and sum is what counting at once
  // gives, bit for bit (each model's values are added in the same order). Under
  // kBatchFromModels models they stay in cache, and are counted at once.
  static constexpr std::size_t kBatch = 4096;
  static constexpr std::size_t kPlaceAhead = 8;
  static constexpr std::size_t kBatchFromModels = 64;
  static constexpr std::uint32_t kEndOfList = 0xFFFFFFFFu;
  void count_batch();
  bool batched_;
  std::vector<Ended> batch_;             // (reserved to kBatch when batched_)
  std::vector<std::uint32_t> first_;     // per model: its first request in the batch, or kEndOfList
  std::vector<std::uint32_t> touched_;   // the models in the batch
  std::vector<std::uint32_t> order_;     // the batch's requests, model by model

  // vLLM's histograms (ModelMetrics::*_buckets) are made at the run's end from the latency
  // sketches (BoundTallies, sim/latency_buckets.hpp): per model, a tally per bound of the values
  // near it that are at or below it, TTFT's bounds first, then TPOT's, then E2E's. (Each value
  // was bucketed twice, and each request's three histogram counters were three more lines to
  // touch at a fleet's scale.)
  static constexpr std::size_t kTtftTallies = 0;
  static constexpr std::size_t kTpotTallies = kVllmTtftBounds.size();
  static constexpr std::size_t kE2eTallies = kTpotTallies + kVllmTpotBounds.size();
  static constexpr std::size_t kTalliesPerModel = kE2eTallies + kVllmE2eBounds.size();
  std::vector<std::uint64_t> tallies_;
  const BoundTallies* ttft_tallies_ = &vllm_ttft_tallies();
  const BoundTallies* tpot_tallies_ = &vllm_tpot_tallies();
  const BoundTallies* e2e_tallies_ = &vllm_e2e_tallies();

  // Each model's SLO thresholds, copied from its ModelSpec: a completed request reads them, and
  // at a fleet's thousand models a 600-byte spec apiece was one more line out of cache.
  std::vector<SloSpec> slos_;
  std::vector<ReplicaAccount> replicas_;  // by ReplicaInfo::slot
  RunMetrics result_;
};

}  // namespace fleetsim
