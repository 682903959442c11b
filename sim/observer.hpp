// SimObserver: the engine's signals. Metrics, invariant checks and event logs subscribe here;
// the engine knows nothing about what they do with them. Every callback has a no-op default.
#pragma once
#include <cstdint>
#include <vector>

#include "sim/time.hpp"

namespace fleetsim {

enum class RequestOutcome : std::uint8_t {
  Completed,
  TimedOut,     // waited longer than request_timeout for a replica
  TooLong,      // prompt + output can never fit the replica's KV cache
  CutOff,       // still in flight at duration + drain_limit
  Rejected,     // arrived to a full buffer (buffer_limit) or a full replica queue (queue_limit)
  Failed,       // its replica failed more than request_retries times while it was on one
};
inline constexpr int kRequestOutcomes = 6;
// "completed", "timeout", "too-long", "cut-off", "rejected", "failed"
const char* outcome_name(RequestOutcome outcome);

inline constexpr std::uint32_t kNoReplica = 0xFFFFFFFFu;

struct RequestResult {
  std::uint64_t serial = 0;  // unique per request in a run, in arrival order
  std::uint32_t model = 0;
  std::uint32_t input_tokens = 0;
  std::uint32_t output_tokens = 0;
  RequestOutcome outcome = RequestOutcome::Completed;
  SimTime arrival = 0;
  SimTime dispatched = 0;   // when it reached a replica (arrival if one was ready)
  SimTime first_token = 0;  // LLM: end of its prefill; service-time models: completion
  SimTime end = 0;
  bool waited_for_replica = false;  // found no ready replica and waited (> 0 s) in the buffer
  std::uint32_t replica = kNoReplica;  // the replica it was queued on (kNoReplica: never reached one)
};

enum class ReplicaPhase : std::uint8_t {
  PullingImage,
  LoadingWeights,
  StartingEngine,
  Ready,
  Draining,
  Stopped,
};
const char* phase_name(ReplicaPhase phase);

enum class WeightSource : std::uint8_t { None, HostMemory, DiskCache, ModelStore };
// "none", "host-memory", "disk-cache", "model-store"
const char* weight_source_name(WeightSource source);

struct ReplicaInfo {
  std::uint32_t id = 0;  // unique in the run, in placement order (a higher id is a newer replica)
  std::uint32_t model = 0;
  std::uint32_t node = 0;
  int gpus = 0;
  double memory_bytes = 0;  // GPU memory the replica claims, all its GPUs together
  // The engine's storage slot, reused by a later replica once this one has stopped: below the
  // most replicas ever placed and not yet stopped at once, so an observer can keep per-replica
  // state in a vector indexed by it without growing with the run's length. Never unique.
  std::uint32_t slot = 0;
};

// One replica start, phase by phase. A replica started warm (at t = 0 with warm_start) has no
// record; one drained before it became ready has `aborted` set.
struct ColdStartRecord {
  ReplicaInfo replica;
  SimTime placed = 0;
  SimTime ready = 0;
  SimTime node_provision = 0;  // waiting for a new node before placement (0 if none was needed)
  SimTime image_pull = 0;
  SimTime weight_load = 0;
  SimTime engine_startup = 0;
  WeightSource source = WeightSource::None;
  bool aborted = false;
};

// One LLM batch step on a replica, reported when it ends. A prefill step runs the prompts of the
// requests it admitted; a decode stretch is the decoding between two changes of the batch (the
// engine advances decoding from one completion, or one interrupting prefill, to the next — not
// token by token), so `tokens` there counts decode iterations, fractional when a prefill cut in.
struct BatchStepRecord {
  ReplicaInfo replica;
  SimTime start = 0;
  SimTime end = 0;
  bool prefill = false;
  std::uint32_t sequences = 0;  // requests in the prefill step / sequences decoding
  double tokens = 0;            // prefill: prompt tokens; decode: iterations (tokens per sequence)
};

enum class CacheEvent : std::uint8_t { Hit, Insert, Evict };

// A model's KV cache at one instant, over its replicas that hold one (ready or draining LLM
// replicas): the bytes the running requests' blocks fill, and the caches' capacity. Cached
// prefix blocks no request uses are free space (vLLM counts them so: evictable).
struct KvUsage {
  double used_bytes = 0;
  double capacity_bytes = 0;
};

class SimObserver {
 public:
  virtual ~SimObserver() = default;
  // A request arrived; `buffered`: no replica was ready, it waits in the model's buffer.
  virtual void on_request_arrived(SimTime, std::uint32_t /*model*/, bool /*buffered*/) {}
  // A buffered request left the buffer for a replica.
  virtual void on_request_dispatched(SimTime, std::uint32_t /*model*/) {}
  virtual void on_request_end(const RequestResult&) {}
  // A request whose replica failed went back to its model: to another ready replica, or
  // (`buffered`) into the buffer. It keeps its arrival; its result comes later, once.
  virtual void on_request_requeued(SimTime, std::uint32_t /*model*/, bool /*buffered*/) {}
  virtual void on_replica_placed(SimTime, const ReplicaInfo&) {}
  virtual void on_replica_phase(SimTime, const ReplicaInfo&, ReplicaPhase) {}
  // The replica's outstanding requests went 0 -> 1 (busy) or 1 -> 0 (idle).
  virtual void on_replica_busy(SimTime, const ReplicaInfo&, bool /*busy*/) {}
  virtual void on_cold_start(const ColdStartRecord&) {}
  // A replica failed (an injected fault, or in real mode its worker died): its requests are
  // re-queued, and on_replica_phase(Stopped) follows at once.
  virtual void on_replica_failed(SimTime, const ReplicaInfo&) {}
  // A fault of the scenario's `faults:` list (its index) could not be applied: the replica it
  // names does not exist or has stopped already.
  virtual void on_fault_skipped(SimTime, std::uint32_t /*fault*/) {}
  // Batch steps are the engine's most frequent signal, so they go only to observers that ask
  // for them: the engine reads wants_batch_steps() once, in add_observer, and with no such
  // observer builds no record at all.
  virtual bool wants_batch_steps() const { return false; }
  virtual void on_batch_step(const BatchStepRecord&) {}
  // KV-cache usage is a level that changes with every decode step, which the engine does not
  // signal; an observer that wants it names a period here (read once, in add_observer; 0: none)
  // and gets on_kv_usage at every multiple of it — the state just before the events at `t`, per
  // model — before any other signal at or after `t`. All such observers share the first one's
  // period. Only LLM models have KV caches (the others' entries stay 0); real mode has none.
  virtual SimTime kv_sample_interval() const { return 0; }
  virtual void on_kv_usage(SimTime /*t*/, const std::vector<KvUsage>& /*per_model*/) {}
  virtual void on_scale(SimTime, std::uint32_t /*model*/, int /*current*/, int /*desired*/) {}
  virtual void on_unschedulable(SimTime, std::uint32_t /*model*/) {}
  virtual void on_cache(SimTime, std::uint32_t /*node*/, std::uint32_t /*model*/, CacheEvent) {}
  // A replica started loading a LoRA adapter (from the node's disk, or else the model store).
  virtual void on_adapter_load(SimTime, const ReplicaInfo&, bool /*from_disk*/) {}
  // A node of an elastic pool came up, or was released after standing idle.
  virtual void on_node(SimTime, std::uint32_t /*node*/, bool /*up*/) {}
  // Every 65,536 events (and never more often): how far the run has got. For progress
  // displays and live metrics; cheap enough to leave attached.
  virtual void on_progress(SimTime /*now*/, std::uint64_t /*events*/, std::uint64_t /*requests*/) {}
  virtual void on_run_end(SimTime /*end*/) {}
};

}  // namespace fleetsim
