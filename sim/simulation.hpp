// Simulation: one run of a scenario — the event loop, the cluster state, replicas and their
// batches, the request buffer. It knows mechanisms; every decision (where to place, how many
// replicas, which replica serves, what to cache) comes from the policies it is given.
// A Simulation is a value: several can run in one process, each with its own clock and streams.
//
// End-of-run rule: arrivals stop at `duration`. Requests already in the system keep being
// served, and the autoscalers keep working, until the last of them ends or until
// `duration + drain_limit`, whichever is first; requests still in flight then fail with
// reason `cut-off`. The run's end time is max(duration, last request end) in the first case
// and duration + drain_limit in the second. Accounting (GPU-seconds, mean replicas) covers
// [0, end time].
#pragma once
#include <cmath>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "policies/api/cluster_view.hpp"
#include "policies/autoscaling/autoscaler.hpp"
#include "policies/batching/batching.hpp"
#include "policies/cache/cache.hpp"
#include "policies/placement/placement.hpp"
#include "policies/routing/router.hpp"
#include "sim/cluster_state.hpp"
#include "sim/diagnostics.hpp"
#include "sim/event_queue.hpp"
#include "sim/fifo.hpp"
#include "sim/job_simulation.hpp"
#include "sim/llm_perf_model.hpp"
#include "sim/observer.hpp"
#include "sim/prefix_cache.hpp"
#include "sim/quantile_sketch.hpp"
#include "sim/replica_backend.hpp"
#include "sim/request_source.hpp"
#include "sim/route_index.hpp"
#include "sim/rng.hpp"
#include "sim/scenario.hpp"
#include "sim/slab.hpp"
#include "sim/start_order.hpp"
#include "sim/transfers.hpp"

namespace fleetsim {

struct SimulationSetup {
  Scenario scenario;
  std::unique_ptr<PlacementPolicy> placement;
  std::unique_ptr<Router> router;
  std::unique_ptr<BatchingPolicy> batching;  // LLM replicas' batch scheduler
  std::unique_ptr<CachePolicy> cache;
  std::vector<std::unique_ptr<Autoscaler>> autoscalers;  // one per model, in model order
  std::vector<std::unique_ptr<RequestSource>> sources;
  // Oracle support: a second, identical copy of `sources` read ahead of the run, and which
  // models' autoscalers may see their next arrival. Empty when no autoscaler needs it.
  std::vector<std::unique_ptr<RequestSource>> lookahead;
  std::vector<bool> sees_future;  // per model
  // Jobs co-located with inference (Scenario::jobs): their trace and queue policy.
  std::unique_ptr<JobSource> job_source;
  std::unique_ptr<QueuePolicy> job_policy;
  std::unique_ptr<PlacementPolicy> job_placement;  // null: the built-in gang placement
  // Test-only: extra busy work per 65,536 events, to check that the speed gate notices.
  std::uint32_t test_slowdown = 0;
  // Ready replicas from which a model's least loaded comes from the route index
  // (sim/route_index.hpp); below, a scan of its few ready replicas is cheaper than keeping the
  // index up to date. The model leaves the index again under half as many. Both give the same
  // pick. Tests set 1 to route every model through the index.
  std::uint32_t route_index_from = 16;
  // Paged KV checks bound the blocks the decoding sequences hold from their count and kv_base
  // sum, and take the sum sequence by sequence only when the bound cannot decide
  // (sim/kv_blocks.cpp, kv_fits). Both give the same answers; tests set false to compare.
  bool kv_bounds = true;
  // The bound's running sum is taken afresh once its rounding bound passes this many blocks;
  // tests set 0 (afresh at nearly every check) to exercise it.
  double kv_base_refresh = 1e-3;
  // A prefill step that nothing can change before it ends is ended when it starts, and its
  // decode stretch scheduled from its end: one event a request fewer (sim/batching.cpp,
  // fuse_prefill_end). Both give the same results; tests set false to compare.
  bool fuse_prefill_ends = true;
  // Real mode: what performs cold starts and serves requests, on its own clock
  // (sim/replica_backend.hpp); not owned. Null in simulation.
  ReplicaBackend* backend = nullptr;
};

// Bytes a link carried during the run.
struct LinkUsage {
  std::string name;  // "model-store", "registry", "node-3/network", "node-3/disk"
  double bandwidth = 0;
  double bytes = 0;
};

// A pool's node usage over the run.
struct PoolUsage {
  std::string pool;
  double node_seconds = 0;       // ∫ nodes up dt
  std::uint32_t provisioned = 0;  // nodes added by growth
  std::uint32_t released = 0;     // nodes given back after standing idle
  int peak_nodes = 0;
};

// What the scenario's faults did (Scenario::faults).
struct FaultCounts {
  std::uint32_t applied = 0;
  std::uint32_t skipped = 0;           // named a replica that did not exist or had stopped
  std::uint32_t replicas_failed = 0;   // injected kills and (real mode) workers that died
  std::uint64_t requests_requeued = 0;
  std::uint64_t requests_failed = 0;   // past request_retries: outcome `failed`
  std::vector<std::string> warnings;   // one line per skipped fault
};

// What one LLM's paged KV caches did over the run (README "The KV cache").
struct KvCounts {
  std::uint64_t preemptions = 0;        // running requests preempted for want of blocks
  std::uint64_t recomputed_tokens = 0;  // KV tokens they dropped, computed again on readmission
  std::uint64_t chunked_steps = 0;      // steps that carried prompt chunks (chunked prefill)
  // Prefix caching, over every admission (a readmitted request's prompt counts again):
  std::uint64_t prompt_tokens = 0;      // prompt tokens admitted
  std::uint64_t prefix_hit_tokens = 0;  // of them found cached: their prefill was skipped
  std::uint64_t prefix_evicted_blocks = 0;
  // Swap preemption: preemptions that swapped (the others recomputed), the blocks copied out
  // (and back in, once each), and the replicas' time spent copying (out and in).
  std::uint64_t swaps = 0;
  std::uint64_t swapped_blocks = 0;
  double swap_seconds = 0;
  // KV offload tiers (README "KV offload tiers"), by KvTier. A tier's hits are counted in
  // prefix_hit_tokens too (their prefill was skipped).
  struct Tier {
    std::uint64_t offloaded_blocks = 0;  // blocks that entered the tier (evicted from the one above)
    std::uint64_t hit_tokens = 0;        // prompt tokens loaded back from it instead of computed
    std::uint64_t loaded_blocks = 0;
    double bytes_loaded = 0;
    double load_seconds = 0;             // summed over the loads (each alone on its link)
  };
  Tier offload[3];
  // Tokens found in a tier but computed, because loading them would have taken longer.
  std::uint64_t offload_declined_tokens = 0;
};

// The KV offload tiers, fastest first (KvCounts::offload's index).
enum KvTier : std::uint8_t { kTierHostMemory = 0, kTierDisk = 1, kTierSharedStore = 2 };

// What one disaggregated model's KV transfers did (README "Disaggregated prefill and decode"),
// and where its completed requests' time to decode went: queue (arrival to admission on a
// prefill replica), prefill (admission to first token; TTFT = queue + prefill), transfer (the
// KV cache's move to a decode replica, waiting for one included), decode wait (on the decode
// replica's queue until it joins the batch). Seconds.
struct KvTransferCounts {
  std::uint64_t transfers = 0;
  std::uint64_t same_node = 0;  // of them over NVLink
  double bytes = 0;
  QuantileSketch transfer_seconds;  // the move alone, per transfer
  QuantileSketch queue, prefill, transfer, decode_wait;  // per completed request
};

struct RunStatus {
  bool ok = true;
  Diagnostics errors;  // a policy's invalid decision or a bad trace record
  SimTime end_time = 0;
  std::uint64_t events = 0;    // events processed, stale ones included
  // Events pending in the queue, summed over a sample taken every 65,536 events (engine speed
  // against a bare heap of the same size: bench/gate/gate.hpp, measure_heap_ratios).
  std::uint64_t pending_events_sum = 0;
  std::uint64_t pending_events_samples = 0;
  std::uint64_t requests = 0;  // requests that arrived
  // Trace rows at or after `duration`, never simulated (generated workloads: their first
  // arrival past the end only).
  std::uint64_t requests_after_duration = 0;
  std::vector<LinkUsage> links;  // links that carried any bytes
  std::vector<PoolUsage> pools;
  std::shared_ptr<JobRunResult> jobs;  // co-located jobs, when the scenario has them
  double gpu_seconds_total = 0;        // GPUs × end time (the cluster's capacity over the run)
  // Real mode: the backend stopped the run early (an interrupt, a worker that broke the protocol
  // or never started; a worker that died is a failed replica instead); the requests still in
  // flight then were cut off. Never set in simulation.
  bool partial = false;
  std::string stop_reason;
  FaultCounts faults;
  std::vector<KvCounts> kv;  // per model
  std::vector<KvTransferCounts> kv_transfers;  // per model (its prefill pool's); empty: none disaggregated
};

class Simulation {
 public:
  explicit Simulation(SimulationSetup setup);
  ~Simulation();
  Simulation(const Simulation&) = delete;
  Simulation& operator=(const Simulation&) = delete;

  void add_observer(SimObserver* observer) {
    observers_.push_back(observer);
    if (observer->wants_batch_steps()) batch_observers_.push_back(observer);
    if (const SimTime period = observer->kv_sample_interval(); period > 0) {
      if (kv_observers_.empty()) kv_sample_interval_ = period;
      kv_observers_.push_back(observer);
    }
  }
  RunStatus run();

  const Scenario& scenario() const { return setup_.scenario; }
  std::span<const NodeView> nodes() const { return cluster_.nodes(); }
  const ClusterState& cluster() const { return cluster_; }
  SimTime now() const { return now_; }
  // Replica storage slots in use or free: bounded by the most replicas alive at once (plus the
  // ones stopped since the last autoscaler evaluation), not by how many were ever placed.
  std::size_t replica_slots() const { return replicas_.size(); }
  // The invariant checker's view of the KV caches: "" when every replica holds at most its
  // capacity in blocks and its block counts are consistent, else what is wrong.
  std::string kv_cache_violation() const;
  // Its view of the routers' outstanding tokens: "" when no replica's count is below 0 and every
  // replica without a request has a count of 0 — and with `recount` (only between two events'
  // handling, when no batch change is half done), when each simulated replica with up to 64
  // requests counts what its requests add up to — else which is not.
  // With `recount`, the route index too: every ready replica indexed with its counts as they
  // are, and each model's least loaded by requests and by tokens the one a scan finds.
  std::string routing_tokens_violation(bool recount = false) const;
  std::string route_index_violation() const;

 private:
  enum class EventKind : std::uint8_t {
    Arrival,      // target: source
    ReplicaPhase, // target: replica; end of a cold-start phase
    BatchStep,    // target: replica; end of an LLM prefill or next decode completion
    ServiceDone,  // target: replica, extra: request
    Autoscale,    // target: model
    BufferTimeout,// target: model
    TransferDone, // the earliest transfer on the network finished
    NodeUp,       // target: node, extra: the model that asked for it
    NodeIdle,     // target: node; release it if still empty
    Job,          // target: job, epoch, extra: JobEventKind; a co-located job scheduler's event
    Fault         // target: index into Scenario::faults; extra 1: a store outage's end
  };
  struct Event {
    EventKind kind;
    std::uint32_t target;
    std::uint32_t epoch;
    std::uint32_t extra;
  };

  // A request's fields that serving reads, on one cache line: a fleet has ~10^5 in flight, out
  // of cache, and a line read out of cache is the costliest thing a handler does, so 64 bytes a
  // record rather than 128 halves the lines (and pages) the table spreads over. What only
  // features most runs leave off read is in its RequestExtras (below), where it reached a
  // replica too when that was after its arrival; its disaggregated times are in kv_times_.
  struct alignas(64) Request {
    std::uint64_t serial = 0;
    SimTime arrival = 0;
    SimTime first_token = 0;
    double kv_base = 0;  // decoding: its KV tokens = kv_base + the replica's progress
    std::uint32_t model = 0;
    std::uint32_t input_tokens = 0;
    std::uint32_t output_tokens = 0;
    std::uint32_t adapter = kNoAdapter;
    std::uint32_t replica = kNoReplica;  // where it was queued
    // LLM serving on its replica (sim/batching.cpp, sim/kv_blocks.cpp)
    std::uint32_t generated = 0;  // output tokens out so far (settled at prefill end and preemption)
    // Admission order on its replica (the newest is preempted first): the low 32 bits of the
    // replica's count, compared modulo 2^32 (newer_admission), which holds while the requests a
    // replica holds at once were admitted fewer than 2^31 admissions apart.
    std::uint32_t admitted = 0;
    bool swapped : 1 = false;  // preempted with its KV blocks in the replica's host swap space
    bool waited : 1 = false;
    bool live : 1 = false;
    bool has_prefix : 1 = false;  // its slot's request_hashes_ are not empty (read without touching them)
    bool has_extras : 1 = false;  // its RequestExtras are written (else it reads kNoExtras)
  };
  static_assert(sizeof(Request) == 64);
  static bool newer_admission(std::uint32_t a, std::uint32_t b) { return static_cast<std::int32_t>(a - b) > 0; }

  // What a request holds for the features most runs leave off, by request id beside requests_
  // (extras_): written only for a request that uses one (extras()), read through extras_of(),
  // which gives a request that never did kNoExtras, the values every request starts with.
  struct RequestExtras {
    SimTime dispatched = 0;       // when it reached a replica, if after its arrival (dispatched_of)
    std::uint32_t retries = 0;    // times re-queued after its replica failed (sim/faults.cpp)
    std::uint32_t prefilled = 0;  // chunked prefill: prompt tokens computed so far
    std::uint32_t chunk = 0;      // chunked prefill: prompt tokens in the step under way
    std::uint32_t cached = 0;     // prompt tokens found in the replica's prefix cache (or swap) at admission
    // Disaggregated serving (sim/disaggregation.cpp): after its prefill, its KV cache waits on
    // kv_node for a decode replica, then moves to kv_to (slot; kv_to_id: its public id), then
    // waits there with kv_arrived set until it joins the decode batch without a prefill.
    std::uint32_t kv_node = 0xFFFFFFFFu;
    std::uint32_t kv_to = kNoReplica;
    std::uint32_t kv_to_id = kNoReplica;
    // KV offload (sim/kv_offload.cpp): its loads from the node's disk and the shared store under
    // way (offload_loads_); while any is, it is admitted (its slot and blocks held) but waits in
    // its replica's `loading`, computing nothing.
    std::uint8_t loads_pending = 0;
    bool kv_arrived = false;
    bool kv_moved = false;  // kv_times_'s `joined` is set
  };
  static const RequestExtras kNoExtras;  // (simulation.cpp)

  struct AdapterSlot {  // a LoRA adapter resident (or loading) on a replica
    std::uint32_t adapter;
    SimTime last_used;
    int in_use;  // admitted requests using it
    bool loading;
    TransferNetwork::TransferId transfer;  // while loading
  };

  struct Sequence {  // an LLM request in the decode batch
    double finish;   // batch progress (decode steps) at which its last token is out
    std::uint32_t request;
    // Min-heap order on (finish, request) for std::push_heap and friends (a function object,
    // so that the heap operations inline it; a function pointer they call each time).
    struct After {
      bool operator()(const Sequence& a, const Sequence& b) const {
        return a.finish > b.finish || (a.finish == b.finish && a.request > b.request);
      }
    };
  };

  // Swap: the KV blocks of requests preempted to host memory are being copied out (swap
  // preemption); the replica computes nothing meanwhile. Prefilled: a prefill step ended ahead
  // of its time (fuse_prefill_end) that a request arrived during: the step's end, at
  // step_started, takes it as a prefill step's end would.
  enum class BatchStepKind : std::uint8_t { Idle, Prefill, Decode, Mixed, Swap, Prefilled };

  // A replica's fields that requests and batch steps read, in the order its handlers read them,
  // on five cache lines; what it holds on its node is in its ReplicaHoldings (below), a table of
  // its own. A fleet's replica table does not stay in cache, and on this engine's machines what
  // a line read out of cache pays is mostly the page walk, so the table a request's path reads
  // is kept to the fewest pages: 320 bytes a replica rather than 832 with both together.
  struct alignas(64) Replica {
    ReplicaInfo info;
    const LlmPerfModel* perf = nullptr;
    ReplicaPhase phase = ReplicaPhase::PullingImage;
    BatchStepKind step = BatchStepKind::Idle;  // LLM batch state (below)
    bool joins_at_step = false;  // next_step may have requests to join: takes_kv, or `loading` may fill
    bool sends_kv = false;  // of a prefill pool: requests leave after their first token
    bool takes_kv = false;  // of a decode pool: requests arrive with their KV cache
    // `prefix` (past the hot lines) has been given blocks: each step end checks this first, so a
    // replica whose requests carry no prefix hashes never reads the cache's lines.
    bool prefix_used = false;
    int outstanding = 0;  // waiting + running
    int running = 0;      // admitted to the batch (LLM) or in service
    std::uint32_t step_decodes = 0;  // a mixed step's decoding sequences (one token each)
    std::uint32_t kv_block_size = 16;  // tokens per block (the model's)
    Fifo<std::uint32_t> waiting;
    // The router's outstanding tokens (policies/routing/router.hpp) as two running sums: the
    // requests queued or prefilling (prompt tokens left + output tokens left; service-time: 1
    // each; whole numbers, so exact), and the decoding sequences' tokens left (finish - progress
    // each), taken down with `progress` at each batch change as `context` is taken up, and reset
    // with it when the batch empties (rounding).
    std::int64_t queued_tokens = 0;
    double decoding_tokens = 0;
    // LLM batch state; `progress` counts decode steps since the replica started.
    // Of the prefill step or decode stretch under way; later than now only while a prefill
    // step ended ahead of its time is still running (fuse_prefill_end): the stretch after it
    // starts then.
    SimTime step_started = 0;
    double step_tokens = 0;        // the prefill (or mixed) step's prompt tokens
    double decode_started_at = 0;  // `progress` when the decode stretch began
    double decode_target = 0;      // `progress` at which the stretch ends (a finish, or KV full)
    double progress = 0;
    double context = 0;  // KV tokens held by the decoding sequences at progress_time
    SimTime progress_time = 0;
    // The decoding sequences' Request::kv_base summed, and a bound on that sum's rounding error
    // (both 0 while none decodes): with their count they bound kv_blocks_needed without a pass
    // over the sequences, each a request record out of cache (sim/kv_blocks.cpp, kv_fits, which
    // may take the sum afresh: mutable, a cache of what the sequences determine).
    mutable double kv_base_sum = 0;
    std::int64_t kv_blocks = 0;        // capacity in blocks
    std::int64_t kv_final_blocks = 0;  // blocks the admitted requests hold at their longest
    std::int64_t prefill_blocks = 0;   // blocks of the requests in prefill_batch
    std::uint64_t admissions = 0;      // counter behind Request::admitted
    // Swap preemption (kv_preemption: swap): the copy time owed before the next step (swap-outs)
    // or added to it (swap-ins); the host-memory blocks are below.
    double swap_out_seconds = 0;
    double swap_in_seconds = 0;
    double step_load_seconds = 0;      // KV offload: loads of the requests admitted to the step being formed
    std::vector<std::uint32_t> prefill_batch;  // in the prefill step; chunked: all still prefilling
    std::vector<Sequence> decoding;  // min-heap on (finish, request)
    // KV offload: admitted requests whose disk / shared-store loads are under way (or landed, until
    // the next step boundary moves them to prefill_batch), in admission order.
    std::vector<std::uint32_t> loading;
    mutable double kv_base_error = 0;  // (with kv_base_sum above)

    double kv_capacity() const { return perf ? perf->kv_capacity_tokens() : 0; }  // tokens (LLM)

    // Prompt tokens not yet computed + output tokens not yet generated, exact at the last
    // batch change (the decode stretch under way has not been taken off yet).
    double outstanding_tokens() const { return static_cast<double>(queued_tokens) + decoding_tokens; }

    // KV blocks that `tokens` tokens fill (a decoding sequence's count may be fractional).
    std::int64_t blocks(std::uint64_t tokens) const {
      return static_cast<std::int64_t>((tokens + kv_block_size - 1) / kv_block_size);
    }
    std::int64_t blocks_at(double tokens) const {
      return static_cast<std::int64_t>(std::ceil(tokens / kv_block_size - 1e-9));
    }
  };
  static_assert(sizeof(Replica) == 320);

  // What a replica holds on its node and how it got there, off the request path: its GPUs and
  // memory, its start-up, its prefix caches, adapters and swap space. By slot, in holdings_.
  struct ReplicaHoldings {
    // Placement and start-up.
    std::vector<int> gpus;
    double memory_per_gpu = 0;
    Allocation allocation;  // what it holds in cluster_
    ColdStartRecord cold;
    SimTime phase_started = 0;
    TransferNetwork::TransferId transfer = TransferNetwork::kNone;
    double store_bytes_left = 0;  // a model-store load paused by a store outage
    // Caches. A replica whose requests carry prefix hashes sets Replica::prefix_used.
    PrefixCache prefix;        // prompt-prefix blocks held (prefix caching)
    PrefixCache offload_host;  // KV offload: blocks in this replica's host-memory tier
    std::vector<AdapterSlot> adapters;
    // Swap preemption: host-memory blocks, and those in use by swapped-out requests.
    std::int64_t swap_blocks = 0;
    std::int64_t swapped_blocks = 0;
    double swap_bandwidth = 0;  // bytes/s, all its GPUs' PCIe links together
  };

  // While a prefill step ended ahead of its time is still running (fuse_prefill_end): what its
  // end took off the queued tokens and the decoding tokens before it, so that routers see the
  // tokens as they are until then (routed_tokens); and the prefill blocks and decoding context
  // before it, from which a KV usage sample until then counts the blocks held (sample_kv_usage;
  // only there, so not at each fused step). By slot, in fused_before_: a table of its own, 32
  // bytes a replica, as each fused step writes it (in the holdings, 512 bytes a replica, each
  // write was a page out of the TLB's reach at a fleet's scale).
  struct BeforeFusedEnd {
    std::int64_t queued_tokens_taken = 0;
    double decoding_tokens = 0;
    std::int64_t prefill_blocks = 0;
    double context = 0;  // 0 while none decoded
  };

  // The ModelSpec fields that each request and each batch step read, two models to a cache line.
  // A ModelSpec is 600 bytes with these on five of its lines, so at a fleet's thousand models
  // they were a cache miss or several an event; these rows, 32 KB for a thousand, stay in
  // cache. Copied from the scenario when the simulation is made (it never changes a spec).
  struct alignas(32) ServingSpec {
    std::int32_t max_batch = 0;
    std::int32_t max_prefill_tokens = 0;
    std::int32_t max_model_len = 0;  // 0: no limit
    std::int32_t prefix_block_tokens = 0;
    std::uint32_t reported_model = 0;  // its own index; a decode pool's: its prefill pool's (the model's name)
    bool llm = true;                   // else a service-time model
    bool chunked_prefill = false;
    bool paged = true;                 // kv_allocation: paged (else reserve)
    bool prefix_caching = false;
    bool kv_offload = false;
  };

  // A model's state; what each arrival and each request's end touch first, in one line (a
  // fleet's thousand models do not stay in cache; the event loop loads the line an arrival ahead).
  struct alignas(64) ModelState {
    std::vector<std::uint32_t> ready;  // slots, by ascending public replica id
    int in_flight = 0;    // requests queued or running on replicas
    int concurrency = 0;  // requests arrived and not ended: in flight + buffered
    double concurrency_integral = 0;
    SimTime integral_time = 0;
    SimTime idle_since = 0;          // concurrency has been 0 since then; kNever while busy
    bool had_request = false;        // the idle time before a model's first request is no idle period
    bool wake_on_arrival = false;
    bool indexed = false;  // its ready replicas are in the route index (route_index_from)
    bool buffer_timer = false;
    int draining = 0;
    Fifo<std::uint32_t> buffer;
    std::uint32_t buffer_epoch = 0;
    SimTime next_evaluation = kNever;
    std::uint32_t evaluation_epoch = 0;
    RngStream service_rng;
    std::vector<SimTime> idle_periods;  // ended since the last evaluation
    SimTime last_cold_start = 0;
    // Oracle lookahead: upcoming arrival times, and how many were consumed / read ahead.
    std::deque<SimTime> future;
    std::uint64_t arrivals_seen = 0;
    std::uint64_t arrivals_read_ahead = 0;
    // A node this model asked for: when requested, and which (none while kNoNode).
    std::uint32_t awaited_node = 0xFFFFFFFFu;
    SimTime node_requested = 0;
  };

  struct PoolState {
    int up = 0;
    int pending = 0;
    RngStream provisioning;
    PoolUsage usage;
    SimTime usage_since = 0;
  };

  struct PolicyError {
    std::string message;
  };

  // Member functions are defined across sim/, one file per entity:

  // sim/simulation.cpp: arrivals (the event loop, construction and run-end accounting too)
  // The event loop's prefetch hints (always inlined: GCC drops a call to a function that only
  // prefetches, as it has no effect the compiler must keep)
  [[gnu::always_inline]] inline void prefetch_for(const Event& next) const;
  [[gnu::always_inline]] inline void prefetch_replica(std::uint32_t slot, bool step) const;
  void on_arrival(std::uint32_t source);
  std::uint32_t new_request();
  void count_after_duration(std::uint32_t source);
  SimTime next_arrival_of(std::uint32_t model);

  // sim/request_routing.cpp: requests through the buffer (activator) and the router
  void dispatch_or_buffer(std::uint32_t request);
  void route(std::uint32_t request);
  class ReadyView;  // the ReadyReplicas a route_ready() router reads
  RouteCandidate route_candidate(const Replica& replica, const Request& request,
                                 std::span<const std::uint64_t> prefix) const;
  // The outstanding tokens a router sees: the replica's, or, while a prefill step ended ahead of
  // its time is still running (fuse_prefill_end), those it had with the step not yet ended.
  double routed_tokens(const Replica& rep) const {
    if (rep.step_started <= now_) return rep.outstanding_tokens();
    const BeforeFusedEnd& before = fused_before_[rep.info.slot];
    return static_cast<double>(rep.queued_tokens + before.queued_tokens_taken) + before.decoding_tokens;
  }
  void add_ready(std::uint32_t replica);     // joins its model's ready list and the route index
  void remove_ready(std::uint32_t replica);  // leaves them
  // A replica's outstanding requests or tokens may have changed: its place in the route index.
  // Called at the end of each handler that may change them (enqueue, a batch step, a service
  // completion, an adapter loaded, a real-mode token report), not at each change inside.
  void route_load_changed(std::uint32_t replica) {
    const Replica& r = replicas_[replica];
    if (!models_[r.info.model].indexed) {  // (the common case of a small scenario: a few instructions)
      routed_outstanding_[replica] = r.outstanding;
      return;
    }
    route_index_.update(r.info.model, ready_at_[replica], r.outstanding, r.outstanding_tokens());  // (kNotReady: nothing)
  }
  void enqueue(std::uint32_t request, std::uint32_t replica);
  static std::int64_t request_tokens(const ServingSpec& spec, const Request& request);
  void complete(std::uint32_t request, std::uint32_t replica);
  void finish_request(std::uint32_t request, RequestOutcome outcome);
  void after_request_left(Replica& replica, std::uint32_t id);
  void set_busy(Replica& replica, bool busy);
  void change_concurrency(std::uint32_t model, int delta);
  void arm_buffer_timer(std::uint32_t model);
  void on_buffer_timeout(std::uint32_t model);

  // sim/batching.cpp: LLM continuous batching
  void llm_try_schedule(Replica& replica, std::uint32_t id);
  bool admissible(const Replica& replica, const Request& request) const;
  void next_step(Replica& replica, std::uint32_t id);
  BatchAdmission ask_batching(const Replica& replica, const Request& request, std::uint32_t step_requests,
                              double step_tokens) const;
  bool head_joins(Replica& replica, std::uint32_t id, std::uint32_t step_requests, double step_tokens);
  void admit_head(Replica& replica);
  void start_prefill(Replica& replica, std::uint32_t id);
  bool prefill_end_fuses(const Replica& replica, SimTime end) const;
  void fuse_prefill_end(Replica& replica, std::uint32_t id, SimTime end);
  bool start_mixed_step(Replica& replica, std::uint32_t id);
  void prefill_done(Replica& replica, std::uint32_t replica_id, std::uint32_t request);
  void advance_decode(Replica& replica);
  void cut_decode(Replica& replica, std::uint32_t id);
  void schedule_decode(Replica& replica, std::uint32_t id);
  void complete_finished(Replica& replica, std::uint32_t id);
  void on_batch_step(std::uint32_t replica);
  void report_batch_step(const Replica& replica, std::uint32_t sequences, double tokens);
  // sim/kv_blocks.cpp: the paged KV cache (blocks held, admission, preemption)
  double progress_now(const Replica& replica) const { return progress_at(replica, now_); }
  double progress_at(const Replica& replica, SimTime t) const;
  void sample_kv_usage(SimTime until);  // on_kv_usage for each sample time <= until
  std::int64_t kv_blocks_needed(const Replica& replica, double progress, double extra_tokens) const;
  bool kv_admits_prompt(const Replica& replica, const Request& request) const;
  // kv_blocks_needed(replica, progress, extra_tokens) <= limit, mostly without the pass.
  bool kv_fits(const Replica& replica, double progress, double extra_tokens, std::int64_t limit) const;
  // The decoding sequences' kv_base sum, as a sequence joins (+) or leaves (-). Each change's
  // rounding is at most half a unit in the last place of the new sum (2^-53 of it); the bound
  // adds twice that, which also covers its own rounding.
  static void add_kv_base(Replica& replica, double kv_base) {
    replica.kv_base_sum += kv_base;
    replica.kv_base_error += std::abs(replica.kv_base_sum) * 0x1p-52;
  }
  double decode_steps_before_kv_full(const Replica& replica) const;
  bool swap_out(Replica& replica, std::uint32_t request, double context);
  void swap_in(Replica& replica, Request& request);
  void make_kv_room(Replica& replica, std::uint32_t id);
  void trim_prefix_cache(Replica& replica);
  // KV offload tiers (sim/kv_offload.cpp)
  void set_up_kv_offload();
  void offload_evicted(Replica& replica);
  std::size_t load_offloaded(Replica& replica, std::uint32_t request, std::span<const std::uint64_t> prefix,
                             std::size_t gpu_hit);
  PrefixCache* offload_tier(Replica& replica, KvTier tier);
  double offload_tier_bandwidth(const Replica& replica, KvTier tier) const;
  TransferNetwork::LinkId offload_tier_link(const Replica& replica, KvTier tier) const;
  double offload_load_estimate(const Replica& replica, KvTier tier) const;
  void start_offload_loads(Replica& replica, std::uint32_t request, const double (&bytes)[2]);
  void on_offload_load_done(std::uint64_t owner_offset);
  void cancel_offload_loads(std::uint32_t request);
  bool join_loaded(Replica& replica);
  void clear_node_kv_offload(std::uint32_t node);
  std::size_t offload_match(const Replica& replica, std::span<const std::uint64_t> prefix, std::size_t from) const;
  // (The flag inline: most requests carry no prefix hashes, and each asks three times.)
  std::span<const std::uint64_t> cacheable_prefix(std::uint32_t request) const {
    if (!requests_[request].has_prefix) return {};
    return prefix_hashes_to_cache(request);
  }
  std::span<const std::uint64_t> prefix_hashes_to_cache(std::uint32_t request) const;
  void preempt_newest(Replica& replica);
  // sim/disaggregation.cpp: disaggregated prefill and decode (KV transfers between pools)
  void set_up_disaggregation();
  void send_kv(Replica& replica, std::uint32_t replica_id, std::uint32_t request);
  void hand_to_decode(std::uint32_t request);
  void start_kv_transfer(std::uint32_t request, std::uint32_t decode_replica);
  void on_kv_transfer_done(std::uint32_t request);
  bool take_transferred(Replica& replica, std::uint32_t replica_id);
  void join_transferred(Replica& replica);
  void count_kv_components(std::uint32_t request);
  std::uint32_t reported_model(std::uint32_t model) const { return serving_[model].reported_model; }
  // ... and service-time models
  void service_try_start(Replica& replica, std::uint32_t id);
  void on_service_done(std::uint32_t replica, std::uint32_t request);

  // sim/replica_lifecycle.cpp: autoscaler evaluation, placement, cold start, drain, stop
  void request_evaluation(std::uint32_t model, SimTime at);
  void on_autoscale(std::uint32_t model);
  void evaluate(std::uint32_t model);
  const LlmPerfModel* perf_for(std::uint32_t model, std::uint32_t gpu_type);
  PlacementRequest placement_request(std::uint32_t model) const;
  bool start_replica(std::uint32_t model, bool warm);
  ClusterView cluster_view();
  void begin_phase(std::uint32_t replica, ReplicaPhase phase);
  void on_replica_phase(std::uint32_t replica);
  void end_phase(std::uint32_t replica);
  void make_ready(std::uint32_t replica);
  void drain(std::uint32_t replica);
  // A replica still starting gives up: its transfer cancelled, its cold start recorded as
  // aborted, counted as draining until stop().
  void abandon_cold_start(std::uint32_t replica);
  void stop(std::uint32_t replica);

  // sim/faults.cpp: injected faults (Scenario::faults), a replica's failure and its requests' retries
  void on_fault(std::uint32_t fault, bool outage_end);
  void fail_replica(std::uint32_t replica);
  void requeue(std::uint32_t request);
  void set_store_down(bool down);
  bool wait_for_store(std::uint32_t replica, double bytes);

  // sim/model_loading.cpp: transfers on the shared links, node weight caches, prefetch
  void start_transfer(std::uint64_t owner, double bytes, double cap,
                      std::initializer_list<TransferNetwork::LinkId> links, std::uint32_t replica);
  void reschedule_transfers();
  void on_transfer_done();
  void prefetch_at_start(NodeView& node);
  void prefetch(std::uint32_t model);
  void cache_admit(NodeView& node, CacheTier tier, std::uint32_t model);

  // sim/backend_driving.cpp: real mode, the run on a ReplicaBackend's clock and its reports
  bool wait_for_next_event(SimTime hard_end, std::uint64_t events);
  void on_backend_event(const BackendEvent& event);
  void submit_to_backend(std::uint32_t request, Replica& replica);

  // sim/lora_adapters.cpp: LoRA adapters on replicas
  bool holds_adapter(const Replica& replica, std::uint32_t adapter) const;
  bool adapter_ready(Replica& replica, std::uint32_t id, std::uint32_t adapter);

  // sim/node_pools.cpp: growing and releasing pool nodes
  std::uint32_t pool_first_node(std::uint32_t pool) const;
  static constexpr std::uint32_t kProvisioning = 0xFFFFFFFEu;  // node_epoch_ of a node on its way up
  void count_nodes(std::uint32_t pool, int delta);
  bool request_node(std::uint32_t model);
  void on_node_up(std::uint32_t node, std::uint32_t model);
  void on_node_idle(std::uint32_t node);

  // sim/colocated_jobs.cpp: jobs co-located with inference
  void set_up_jobs();
  bool make_room_for(std::uint32_t model);
  void on_job_event(SimTime at, const Event& e);
  void finish_job_events(SimTime end);

  void schedule(SimTime at, EventKind kind, std::uint32_t target, std::uint32_t epoch = 0,
                std::uint32_t extra = 0) {
    queue_.push(at, Event{kind, target, epoch, extra});
  }
  // A batch step's `extra`: the request it will read first, + 1 (0: none), which the event loop
  // starts loading an event ahead (a hint only: the handler does not read it).
  static std::uint32_t prefetch_hint(std::uint32_t request) { return request + 1; }

  SimulationSetup setup_;
  std::vector<SimObserver*> observers_;
  std::vector<SimObserver*> kv_observers_;  // want on_kv_usage (SimObserver::kv_sample_interval)
  SimTime kv_sample_interval_ = 0;
  SimTime next_kv_sample_ = kNever;         // the next on_kv_usage; kNever: none wanted
  std::vector<KvUsage> kv_usage_;           // scratch, per model
  std::vector<SimObserver*> batch_observers_;  // those of observers_ that want batch steps
  // A batch step or service completion whose replica's epoch moved on is cancelled for good
  // (replica epochs only grow, a reused slot's too): the queue drops it when it moves it.
  // Other kinds are checked only when popped (a node's epoch is reset when it comes up).
  struct CancelledStep {
    const Simulation* sim;
    bool operator()(const Event& e) const {
      return (e.kind == EventKind::BatchStep || e.kind == EventKind::ServiceDone) &&
             sim->replica_epochs_[e.target] != e.epoch;
    }
  };
  EventQueue<Event, CancelledStep> queue_{CancelledStep{this}};
  SimTime now_ = 0;
  Diagnostics errors_;

  ClusterState cluster_;  // nodes, GPUs, memory, caches; every replica and job worker allocation
  NodeView& node_at(std::uint32_t n) { return cluster_.node_for_update(n); }
  std::vector<GpuType> gpu_types_;
  std::size_t cluster_gpus_ = 0;  // on every node the pools can have, up or not
  std::vector<ModelState> models_;
  std::vector<ServingSpec> serving_;  // by model
  StartOrder starting_;  // per model: its replicas still starting, oldest first
  // Indexed by slot (ReplicaInfo::slot), which every internal reference to a replica uses
  // (events, model lists, requests, transfer owners); ReplicaInfo::id is the public id, seen by
  // policies and observers. A stopped replica's slot waits in stopped_slots_ until the next
  // autoscaler evaluation (so no handler still holding it sees it reused), then in free_slots_.
  std::vector<Replica> replicas_;
  // By slot: bumped to cancel the replica's pending phase, batch step and service completions
  // (events carry the epoch they were scheduled under). Beside the table, not in it: a fleet's
  // cancelled batch steps (a quarter of what it schedules) are dropped without loading their
  // replica, mostly inside the queue (CancelledStep).
  std::vector<std::uint32_t> replica_epochs_;
  // By slot, while ready: its position in its model's ready list (add_ready, remove_ready), which
  // is its rank in the route index while its model is indexed; kNotReady otherwise.
  std::vector<std::uint32_t> ready_at_;
  static constexpr std::uint32_t kNotReady = 0xFFFFFFFFu;
  // By slot, for a ready replica of a model not in the route index: its outstanding requests as
  // of its last route_load_changed, which that model's scan reads in its ready list's order
  // (ReadyView::fewest_outstanding): one line for the ready list and a few entries of a
  // 4-bytes-a-slot table, where reading each replica's own count was a line a replica (a fleet's
  // hundreds of small models). (An indexed model's are not kept: its key in the index is.)
  std::vector<std::int32_t> routed_outstanding_;
  std::uint32_t& epoch_of(const Replica& rep) { return replica_epochs_[rep.info.slot]; }
  // By slot, beside replicas_ (grown and reset with it).
  std::vector<ReplicaHoldings> holdings_;
  ReplicaHoldings& holdings(const Replica& rep) { return holdings_[rep.info.slot]; }
  const ReplicaHoldings& holdings(const Replica& rep) const { return holdings_[rep.info.slot]; }
  std::vector<BeforeFusedEnd> fused_before_;  // by slot, beside replicas_ (grown with it)
  std::vector<std::uint32_t> free_slots_;
  std::vector<std::uint32_t> stopped_slots_;
  std::uint32_t replicas_placed_ = 0;  // the next public id
  std::unordered_map<std::uint32_t, std::uint32_t> live_slots_;  // public id -> slot, not stopped
  std::uint32_t slot_of(std::uint32_t id) const {
    auto it = live_slots_.find(id);
    return it == live_slots_.end() ? kNoReplica : it->second;
  }
  std::uint32_t public_id(std::uint32_t slot) const { return slot == kNoReplica ? kNoReplica : replicas_[slot].info.id; }
  Slab<Request> requests_;  // by request slot (id), reused once its request ends (free_requests_)
  std::vector<std::uint32_t> free_requests_;
  std::vector<Arrival> pending_arrivals_;
  std::vector<bool> source_pending_;  // per source: an arrival is scheduled
  std::vector<Arrival> lookahead_pending_;
  std::vector<bool> lookahead_live_;
  // Each model's performance model on each GPU type, made when a replica first needs it:
  // perf_models_[model * gpu types + gpu type] points into distinct_perf_models_, where models
  // whose coefficients are the same bit for bit share one (a fleet's 600 deployments of one
  // 8B model read one line at each batch step, not 600 lines out of cache).
  std::vector<const LlmPerfModel*> perf_models_;
  std::vector<std::unique_ptr<LlmPerfModel>> distinct_perf_models_;
  std::vector<RouteCandidate> candidates_;                   // scratch for the router
  unsigned router_reads_ = kReadsCandidates;                 // the router's reads(), read once
  RouteIndex route_index_;                                   // ready replicas by load, when read
  std::vector<DrainCandidate> drain_candidates_;             // scratch for choose_drain
  std::vector<PoolView> pool_views_;                         // scratch for choose_pool
  TransferNetwork network_;
  std::vector<TransferNetwork::LinkId> node_network_link_, node_disk_link_;
  std::vector<std::uint32_t> link_node_;  // per link: the node it belongs to, or kNoNode
  TransferNetwork::LinkId store_link_ = 0, registry_link_ = 0;
  std::uint32_t transfer_epoch_ = 0;
  TransferNetwork::TransferId last_transfer_ = TransferNetwork::kNone;
  std::vector<std::uint64_t> finished_transfers_;
  struct Prefetch {
    std::uint32_t node;
    std::uint32_t model;
  };
  std::vector<Prefetch> prefetches_;  // in flight
  std::vector<PoolState> pools_;
  std::unique_ptr<JobSimulation> jobs_;
  std::vector<std::vector<std::uint64_t>> node_adapters_;  // (model << 20 | adapter) on each node's disk
  std::vector<std::uint32_t> node_epoch_;  // bumped when a replica lands, cancels idle checks
  std::uint64_t next_serial_ = 0;
  std::uint64_t requests_after_duration_ = 0;
  std::uint64_t live_requests_ = 0;
  // Prefill steps ending no later than this may be fused (fuse_prefill_end): the run's hard end
  // when nothing in the run reads a replica mid-step in a way a fused step would change; else
  // before every time (set in run()).
  SimTime fuse_prefill_until_ = -1;
  SimTime last_request_end_ = 0;
  volatile std::uint64_t spin_ = 0;  // the test slowdown's busy work
  // Real mode (setup_.backend non-null): reports not yet acted on, from backend_next_ on.
  std::vector<BackendEvent> backend_events_;
  std::size_t backend_next_ = 0;
  std::string stop_reason_;  // non-empty: the backend stopped the run
  // Faults (sim/faults.cpp); untouched in a run without them.
  FaultCounts fault_counts_;
  std::vector<KvCounts> kv_counts_;  // per model
  // KV offload (sim/kv_offload.cpp): per model, the disk tier of each node (empty: the model has
  // none) and the shared store; the blocks a trim evicted, and those a tier passes down.
  std::vector<std::vector<PrefixCache>> offload_disk_;
  std::vector<PrefixCache> offload_store_;
  std::vector<std::uint64_t> offload_evicted_, offload_passed_;
  // The disk / shared-store loads under way or landed and not yet joined, one entry a request (in
  // no order; a scan finds one: few are in flight at once).
  struct OffloadLoad {
    std::uint32_t request;
    TransferNetwork::TransferId transfers[2];  // disk, shared store (kNone: none or landed)
    SimTime started;
    double host_seconds;  // its host-memory blocks' copy, added to the step it joins
  };
  std::vector<OffloadLoad> offload_loads_;
  // Disaggregation: per node its NVLink domain's link; per model KV transfer counts. Both empty
  // when no model is disaggregated.
  std::vector<TransferNetwork::LinkId> node_nvlink_link_;
  std::vector<KvTransferCounts> kv_transfer_counts_;
  // Each request slot's prefix hashes (by request id, as requests_; reused with the slot). Only
  // as long as the last slot that had any (read only where Request::has_prefix says so): most
  // workloads carry none, and at a fleet's scale an empty vector a slot was 24 MB.
  std::vector<std::vector<std::uint64_t>> request_hashes_;
  // A disaggregated request's times (sim/disaggregation.cpp), by request id as requests_: beside
  // the table, so that a request stays one cache line. Each is set before it is read, in the
  // same request's life (a slot's old values are never read).
  struct KvTimes {
    SimTime admitted = 0;  // to the prefill batch
    SimTime sent = 0;      // KV transfer started
    SimTime landed = 0;    // transfer done
    SimTime joined = 0;    // joined the decode batch
  };
  std::vector<KvTimes> kv_times_;
  std::vector<RequestExtras> extras_;  // by request id, as requests_; see RequestExtras
  // By replica slot: where its decode heap, prefill batch, queue's second entry (the first is in
  // the replica: Fifo) and the first's request record were when its pending batch step was
  // scheduled. The event loop prefetches them for that step without reading the replica first
  // (hints only: never dereferenced, stale after a change). The queue's first request is what
  // the step's end reads to admit it (head_joins): queued a while ago, so a cache miss at a
  // fleet's scale; it changes only at admissions, at step ends, so the hint holds till then.
  // 32 bytes on a 32-byte boundary, so that the event loop's read of an entry (itself out of
  // cache at a fleet's scale) is one line, never two (at 40 bytes, half the entries straddled).
  struct alignas(32) StepReads {
    const char* decoding = nullptr;  // the decode heap's storage, `decoding_bytes` of it
    const void* prefill_batch = nullptr;
    const void* waiting = nullptr;  // the queue's second entry
    std::uint32_t head_request = kNoHead;  // the queue's first entry (its request id)
    std::uint32_t decoding_bytes = 0;
    static constexpr std::uint32_t kNoHead = 0xFFFFFFFFu;
  };
  static_assert(sizeof(StepReads) == 32);
  std::vector<StepReads> step_reads_;
  // Whether the engine's prefetch hints are worth their work: from a replica table past a
  // core's L2 cache (1,024 replicas of 320 bytes and their holdings' 512; the fleet has
  // ~12,000, the shipped small scenarios tens).
  bool tables_out_of_cache() const { return replicas_.size() >= 1024; }
  // Starts loading a request's record. Always inlined: a call to a function that only
  // prefetches has no effect the compiler must keep, and GCC drops it.
  [[gnu::always_inline]] static void prefetch_request(const Request* r) { __builtin_prefetch(r); }
  void note_step_reads(const Replica& rep, std::uint32_t rep_id) {
    if (tables_out_of_cache())
      step_reads_[rep_id] = {reinterpret_cast<const char*>(rep.decoding.data()), rep.prefill_batch.data(),
                             rep.waiting.next_address(), rep.waiting.empty() ? StepReads::kNoHead : rep.waiting.front(),
                             static_cast<std::uint32_t>(rep.decoding.size() * sizeof(Sequence))};
  }
  // A request's extras to write: from here on it reads them rather than kNoExtras.
  RequestExtras& extras(Request& r) {
    const std::size_t id = requests_.index_of(r);
    if (!r.has_extras) {
      if (extras_.size() <= id) extras_.resize(requests_.size());
      extras_[id] = RequestExtras{};
      r.has_extras = true;
    }
    return extras_[id];
  }
  const RequestExtras& extras_of(const Request& r) const {
    return r.has_extras ? extras_[requests_.index_of(r)] : kNoExtras;
  }
  // When a request reached its replica (its arrival but for one that waited, or was re-queued):
  // kept in its extras only when later than its arrival, as few dispatches in a fleet are.
  SimTime dispatched_of(const Request& r) const {
    const SimTime d = extras_of(r).dispatched;
    return d > r.arrival ? d : r.arrival;
  }
  void set_dispatched(Request& r, SimTime t) {
    if (t > r.arrival || r.has_extras) extras(r).dispatched = t;
  }
  KvTimes& kv_times(std::uint32_t id) {
    if (kv_times_.size() <= id) kv_times_.resize(requests_.size());
    return kv_times_[id];
  }
  bool store_down_ = false;
  struct StoreWaiter {
    std::uint32_t replica;
    std::uint32_t epoch;
  };
  std::vector<StoreWaiter> store_waiters_;  // model-store loads waiting for the outage's end
};

}  // namespace fleetsim
