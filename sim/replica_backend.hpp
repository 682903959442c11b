// ReplicaBackend: what performs replicas' cold starts and serves their requests when the
// simulator's models do not — real mode's worker processes (real/controller/), or a test's
// fake. A Simulation holds at most one (SimulationSetup::backend); with none, which is every
// simulated run, nothing here is called and the run is exactly the simulator's.
//
// The engine keeps every decision: autoscaler evaluations, placement through ClusterState,
// routing, the cache policy (which tier a load reads from, what is admitted, what is evicted),
// keep-alive, buffer timeouts, the end of the run. A backend does what it is told and reports
// when it is done; the engine acts on each report at the time it happened.
//
// Contract:
// - Time. The backend owns the run's clock: start_clock() makes run time 0 "now", wait()
//   sleeps on it. Reports carry the run time at which they happened, never later than the
//   time the wait() that returned them gives back, in non-decreasing order.
// - Cold start. spawn(r) starts the replica's process: Spawned ends its image-pull phase (the
//   process start stands in for the image). load(r, source, kv) then reads the weights from
//   `source`, the tier the engine's cache chose (ModelStore: fetched into the node's cache
//   first): WeightsLoaded ends the weight-load phase, EngineStarted the engine's start-up.
//   deploy(r, kv) is a replica that is ready at t = 0 (warm start): spawned and loaded from the
//   node's cache before deploy() returns, with the clock standing still meanwhile; no reports.
// - Requests (LLM models only). submit(r, request) hands a request to a ready or draining
//   replica whose KV capacity it fits (the engine checked). FirstToken then LastToken end it
//   (both, in that order, for a single output token). The replica batches as it likes.
// - stop(r): the replica is gone (drained, or its cold start abandoned). No report about it
//   follows.
// - cache_changed: the engine's cache admitted (Insert) or evicted (Evict) a model's weights
//   on a node's tier. The backend mirrors it (real mode writes or deletes the node's file).
// - kill(r): a fault the scenario injects (`faults: - {kill_replica: r, ...}`): end the
//   replica's process abruptly (real mode: SIGKILL). The backend then reports ReplicaFailed
//   when it sees the death, as for any other.
// - ReplicaFailed: the replica's process died while the engine still counted on it (killed,
//   crashed, its socket closed); `message` says how. The engine fails the replica: frees its
//   GPUs, re-queues its requests, lets the autoscaler replace it. No report about that replica
//   follows, and stop(r) is then a no-op. Reports about it made before are still valid (a
//   request that finished before the death did finish).
// - store_outage(down): the scenario's `store_down` window begins (true) or ends (false):
//   the model store refuses loads meanwhile; a load retries until it is back (the delay is in
//   its weight-load phase).
// - Stop: the run must end now (an interrupt, a broken protocol: a worker that reports an
//   error or rejects what it was given); `message` says why. The engine ends the run at that
//   time, cuts off the requests in flight and marks the run partial (RunStatus::partial).
// - busy(): something was asked that has not been reported yet (a spawn, a load, a request).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "policies/cache/cache.hpp"
#include "sim/observer.hpp"
#include "sim/time.hpp"

namespace fleetsim {

struct BackendRequest {
  std::uint32_t id = 0;       // the engine's request slot; reports name it
  std::uint64_t serial = 0;   // the request's serial in the run
  std::uint32_t input_tokens = 0;
  std::uint32_t output_tokens = 1;
  SimTime arrival = 0;
  bool adapter = false;  // names a LoRA adapter
};

struct BackendEvent {
  enum class Kind : std::uint8_t { Spawned, WeightsLoaded, EngineStarted, FirstToken, LastToken, Stop, ReplicaFailed };
  Kind kind = Kind::Stop;
  SimTime time = 0;
  std::uint32_t replica = 0;
  std::uint32_t request = 0;  // FirstToken, LastToken: BackendRequest::id
  std::string message;        // Stop, ReplicaFailed: why
};

class ReplicaBackend {
 public:
  virtual ~ReplicaBackend() = default;
  virtual void start_clock() = 0;
  // Waits until the clock reaches `deadline` or something is reported, whichever is first;
  // appends the reports to `out` and returns the clock's time.
  virtual SimTime wait(SimTime deadline, std::vector<BackendEvent>& out) = 0;
  virtual bool busy() const = 0;
  virtual void spawn(const ReplicaInfo& replica) = 0;
  virtual void load(const ReplicaInfo& replica, WeightSource source, double kv_capacity_tokens) = 0;
  virtual void deploy(const ReplicaInfo& replica, double kv_capacity_tokens) = 0;
  virtual void submit(const ReplicaInfo& replica, const BackendRequest& request) = 0;
  virtual void stop(const ReplicaInfo& replica) = 0;
  virtual void kill(const ReplicaInfo& replica) = 0;
  virtual void store_outage(bool down) = 0;
  virtual void cache_changed(std::uint32_t node, std::uint32_t model, CacheTier tier, CacheEvent event) = 0;
};

}  // namespace fleetsim
