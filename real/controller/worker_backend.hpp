// WorkerBackend: real mode's ReplicaBackend (sim/replica_backend.hpp). Every replica the engine
// places is a `fleetsim worker` process (real/worker/worker.hpp) on one end of a socket pair;
// its cold start and its requests are real work, and what it reports comes back to the engine
// as events at the times they happened.
//
// - The clock: run time = (CLOCK_MONOTONIC − start) × speedup. wait() sleeps in one poll over
//   every worker's socket (and the interrupt pipe) until the engine's next event is due.
// - Cold start: spawn() forks and execs the worker (its own process group, killed if the
//   controller dies); its hello ends the image-pull phase. load() sends the weights' path:
//   the node's cache file for a disk (or host-memory) hit, else a fetch from the model store
//   into a staging file in the node's folder. "loaded" ends the weight load (fetch, read past
//   the page cache, copy into the model) and, start-up time later, the engine's start.
// - Node folders (work_dir/node-N) mirror the engine's disk caches: a model the cache policy
//   admits is there as a file (the fetched staging file renamed, else copied from the store),
//   an evicted one is deleted. A fetch the policy did not admit is deleted after the engine
//   has acted on the load. The host-memory tier has no separate copy here: a host-memory hit
//   reads the node's file when there is one, else fetches.
// - Stops: a drained replica's worker is told to stop and reaped; shutdown() stops the rest
//   (SIGKILL after a grace period) and waits for every process, so none outlives the run.
// - SIGINT and SIGTERM (while a backend exists) are caught through a self-pipe and become the
//   engine's Stop event ("interrupted"): the run ends there with a partial result. A second
//   one kills the controller as usual; its workers die with it (PR_SET_PDEATHSIG).
// - A worker that dies (exits on its own, crashes, is killed, closes its socket) is a failed
//   replica, not a failed run: the engine gets ReplicaFailed, re-queues the replica's requests
//   and lets the autoscaler replace it. kill() (a scenario's kill_replica fault, or
//   `--kill-worker`) sends the worker SIGKILL and takes the same path. A worker that breaks the
//   protocol — reports an error, rejects a request the engine admitted — still stops the run:
//   that is a bug to see, not a fault to recover from; so do an interrupt and a worker that
//   cannot be started at all (one that dies before its hello: a replacement would fail alike).
// - store_outage(true) makes the store answer 503 to every model fetch until store_outage(false);
//   the workers' fetches retry (fetch_model's backoff), so the outage lands in the weight-load
//   phase. A fetch gives up after fetch_model's retry_for_s (30 s): a longer outage fails the
//   worker's load, which reports an error and stops the run.
// Host assumption: each computing worker (loading, or with requests) has a core of its own.
// The backend counts how many computed at once and for how long more of them than the
// machine's cores did (facts()), and result.json says so.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "real/controller/scaling.hpp"
#include "real/store/store_server.hpp"
#include "real/worker/channel.hpp"
#include "sim/diagnostics.hpp"
#include "sim/replica_backend.hpp"
#include "sim/scenario.hpp"

namespace fleetsim::real {

// What real mode cannot run yet, each with the scenario path it comes from (empty: all of it):
// service-time models (no worker for them), LoRA adapters, co-located jobs, a model without
// parameters. (A batching policy from a plugin runs: every worker loads the controller's plugins.)
Diagnostics real_mode_problems(const Scenario& scenario);

struct WorkerBackendOptions {
  std::string worker_binary = "/proc/self/exe";  // the fleetsim program: `BINARY worker --fd 3`
  std::string work_dir;      // store/ and node-N/ are made below it
  std::string model_backend = "cpu";  // what the workers compute with: "cpu" or "cuda"
  std::vector<std::string> plugins;   // loaded by every worker (the controller registry's plugins)
  double speedup = 1;        // run time per wall-clock time
  int cores = 1;             // the machine's, for the contention figures
  bool catch_signals = true; // SIGINT/SIGTERM stop the run (tests that fork it may turn it off)
};

// What the run's workers did, for result.json.
struct WorkerFacts {
  int spawned = 0;
  int killed = 0;        // by kill() (injected faults)
  int died = 0;          // workers that died while the engine counted on them (killed ones included)
  int peak_live = 0;       // worker processes at once
  int peak_computing = 0;  // of them loading or with requests at once
  double contended_seconds = 0;  // wall-clock time with more computing workers than cores
  int loads = 0;
  std::uint64_t fetched_bytes = 0;
  std::uint64_t read_bytes = 0;
  bool direct_io = true;  // every read bypassed the page cache with O_DIRECT
  double fetch_seconds = 0, read_seconds = 0;
  std::uint64_t prefill_steps = 0, decode_steps = 0;
  std::uint64_t files_written = 0, files_deleted = 0;  // node cache files admitted / evicted
};

class WorkerBackend final : public ReplicaBackend {
 public:
  WorkerBackend(const Scenario& scenario, ModelScaling models, WorkerBackendOptions options);
  ~WorkerBackend() override;
  WorkerBackend(const WorkerBackend&) = delete;
  WorkerBackend& operator=(const WorkerBackend&) = delete;

  // Makes the store (one model file per scenario model) and the node folders; "" or why not.
  std::string prepare();
  // Stops every worker still running and waits for each process to end.
  void shutdown();
  const WorkerFacts& facts() const { return facts_; }
  std::string store_dir() const { return options_.work_dir + "/store"; }
  std::string store_location() const;  // the model store's address for a worker's fetch
  std::string node_dir(std::uint32_t node) const;

  void start_clock() override;
  SimTime wait(SimTime deadline, std::vector<BackendEvent>& out) override;
  bool busy() const override;
  void spawn(const ReplicaInfo& replica) override;
  void load(const ReplicaInfo& replica, WeightSource source, double kv_capacity_tokens) override;
  void deploy(const ReplicaInfo& replica, double kv_capacity_tokens) override;
  void submit(const ReplicaInfo& replica, const BackendRequest& request) override;
  void stop(const ReplicaInfo& replica) override;
  void kill(const ReplicaInfo& replica) override;
  void store_outage(bool down) override;
  void cache_changed(std::uint32_t node, std::uint32_t model, CacheTier tier, CacheEvent event) override;

 private:
  struct Worker {
    ReplicaInfo replica;
    pid_t pid = -1;
    std::unique_ptr<Channel> channel;
    bool loading = false;   // spawned and not yet loaded
    bool stopped = false;   // told to stop (or gone): nothing it says counts any more
    bool killed = false;    // kill() sent it SIGKILL
    bool started = false;   // said hello (a worker that dies before cannot be started: Stop)
    std::string staged;     // the file a fetch writes, while the load is under way
    std::unordered_map<std::uint64_t, std::uint32_t> requests;  // serial -> the engine's id
  };
  struct Staged {
    std::uint32_t node, model;
    std::string path;
  };

  Worker* worker(std::uint32_t replica);
  SimTime run_time(std::int64_t monotonic) const;
  std::int64_t wall_time(SimTime run) const;
  std::string cache_file(std::uint32_t node, std::uint32_t model) const;
  void send_load(Worker& w, WeightSource source, double kv_capacity_tokens);
  void handle(Worker& w, const nlohmann::json& message, std::vector<BackendEvent>& out);
  void fail(std::vector<BackendEvent>& out, const std::string& why);
  void worker_gone(Worker& w, std::vector<BackendEvent>& out);
  void note_computing();
  void reap(bool block);
  std::string describe(const Worker& w) const;

  const Scenario& scenario_;
  ModelScaling models_;
  WorkerBackendOptions options_;
  std::vector<std::unique_ptr<Worker>> workers_;  // by replica id
  std::unique_ptr<StoreServer> store_server_;     // serves store_dir() (started by prepare())
  std::vector<pid_t> exiting_;                    // told to stop, not yet reaped
  std::vector<Staged> staged_;                    // fetched, loaded, not (yet) admitted
  std::vector<BackendEvent> early_;               // reports made outside wait() (a failed deploy)
  std::int64_t start_ = 0;  // CLOCK_MONOTONIC at run time 0 (moved on while the clock stands still)
  bool started_ = false;
  int live_ = 0;
  int computing_ = 0;
  std::int64_t computing_since_ = 0;
  WorkerFacts facts_;
  bool signals_installed_ = false;
};

}  // namespace fleetsim::real
