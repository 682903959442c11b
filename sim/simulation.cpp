// Simulation: construction, the event loop that dispatches every event to its handler, the
// run-end accounting, request arrivals (and the oracle's lookahead on them), and the names of
// outcomes, phases and weight sources. The handlers live with their entity in the other sim/
// files listed in simulation.hpp.
#include "sim/simulation.hpp"

#include <algorithm>
#include <string>

#include "sim/simulation_internal.hpp"

namespace fleetsim {

const char* outcome_name(RequestOutcome outcome) {
  switch (outcome) {
    case RequestOutcome::Completed: return "completed";
    case RequestOutcome::TimedOut: return "timeout";
    case RequestOutcome::TooLong: return "too-long";
    case RequestOutcome::CutOff: return "cut-off";
    case RequestOutcome::Rejected: return "rejected";
    case RequestOutcome::Failed: return "failed";
  }
  return "?";
}

const char* phase_name(ReplicaPhase phase) {
  switch (phase) {
    case ReplicaPhase::PullingImage: return "pulling-image";
    case ReplicaPhase::LoadingWeights: return "loading-weights";
    case ReplicaPhase::StartingEngine: return "starting-engine";
    case ReplicaPhase::Ready: return "ready";
    case ReplicaPhase::Draining: return "draining";
    case ReplicaPhase::Stopped: return "stopped";
  }
  return "?";
}

const char* weight_source_name(WeightSource source) {
  switch (source) {
    case WeightSource::None: return "none";
    case WeightSource::HostMemory: return "host-memory";
    case WeightSource::DiskCache: return "disk-cache";
    case WeightSource::ModelStore: return "model-store";
  }
  return "?";
}

Simulation::Simulation(SimulationSetup setup) : setup_(std::move(setup)) {
  const Scenario& sc = setup_.scenario;
  gpu_types_ = sc.gpu_types;
  cluster_ = ClusterState(gpu_types_);
  pools_.resize(sc.pools.size());
  for (std::uint32_t p = 0; p < sc.pools.size(); ++p) {
    const PoolSpec& pool = sc.pools[p];
    pools_[p].provisioning = RngStream(sc.seed, "provisioning/" + pool.name);
    pools_[p].usage.pool = pool.name;
    pools_[p].up = pool.nodes;
    pools_[p].usage.peak_nodes = pool.nodes;
    // Slots beyond `nodes` are the pool's room to grow: down until provisioned.
    for (int i = 0; i < std::max(pool.nodes, pool.max_nodes); ++i) {
      NodeView node;
      node.up = i < pool.nodes;
      node.id = static_cast<std::uint32_t>(cluster_.size());
      node.pool = p;
      node.gpu_type = &cluster_.catalog()[pool.gpu_type];
      node.gpus.assign(static_cast<std::size_t>(pool.gpus_per_node), GpuSlot{});
      node.free_gpus = pool.gpus_per_node;
      node.disk_cache_capacity = pool.disk_cache_bytes;
      node.host_cache_capacity = pool.host_cache_bytes;
      node.disk_read_bandwidth = pool.disk_read_bandwidth;
      node.network_bandwidth = pool.network_bandwidth;
      node_network_link_.push_back(network_.add_link(pool.network_bandwidth));
      node_disk_link_.push_back(network_.add_link(pool.disk_read_bandwidth));
      link_node_.resize(node_disk_link_.back() + 1, simulation_internal::kNoNode);
      link_node_[node_network_link_.back()] = link_node_[node_disk_link_.back()] = node.id;
      cluster_.add_node(std::move(node));
      node_epoch_.push_back(0);
      node_adapters_.emplace_back();
    }
  }
  // Room for a replica on every GPU the pools can have: reserved, not touched (a page is faulted
  // in when a replica first writes it), so a fleet's replica table is not copied as it fills
  // (the default at 1,000x: 20,000 replicas of 832 bytes with their holdings, 14 MB copied by
  // doublings). More replicas than GPUs (fractional ones) grow it as before.
  for (const NodeView& node : cluster_.nodes()) cluster_gpus_ += node.gpus.size();
  replicas_.reserve(cluster_gpus_);
  holdings_.reserve(cluster_gpus_);
  replica_epochs_.reserve(cluster_gpus_);
  ready_at_.reserve(cluster_gpus_);
  step_reads_.reserve(cluster_gpus_);
  fused_before_.reserve(cluster_gpus_);
  store_link_ = network_.add_link(sc.model_store_bandwidth);
  registry_link_ = network_.add_link(sc.registry_bandwidth);
  models_.resize(sc.models.size());
  for (std::uint32_t m = 0; m < sc.models.size(); ++m) {
    const ModelSpec& spec = sc.models[m];
    serving_.push_back(ServingSpec{
        .max_batch = spec.max_batch,
        .max_prefill_tokens = spec.max_prefill_tokens,
        .max_model_len = spec.max_model_len,
        .prefix_block_tokens = spec.prefix_block_tokens,
        .reported_model = spec.role == ModelSpec::Role::Decode ? spec.partner : m,
        .llm = spec.kind == ModelSpec::Kind::Llm,
        .chunked_prefill = spec.chunked_prefill,
        .paged = spec.kv_allocation == ModelSpec::KvAllocation::Paged,
        .prefix_caching = spec.prefix_caching,
        .kv_offload = spec.kv_offload(),
    });
  }
  starting_ = StartOrder(sc.models.size());
  if (setup_.router) router_reads_ = setup_.router->reads();
  route_index_ = RouteIndex(sc.models.size(), (router_reads_ & kReadsFewestOutstanding) == kReadsFewestOutstanding,
                            (router_reads_ & kReadsFewestTokens) == kReadsFewestTokens);
  kv_counts_.resize(sc.models.size());
  for (std::uint32_t m = 0; m < sc.models.size(); ++m)
    models_[m].service_rng = RngStream(sc.seed, "service/" + sc.models[m].name);
  set_up_kv_offload();      // offload tiers, when a model has them (kv_offload.cpp)
  set_up_disaggregation();  // NVLink links, when a model is disaggregated (disaggregation.cpp)
  set_up_jobs();  // co-located jobs, when the scenario has them (colocated_jobs.cpp)
  perf_models_.resize(sc.models.size() * gpu_types_.size());
  pending_arrivals_.resize(setup_.sources.size());
  source_pending_.assign(setup_.sources.size(), false);
  setup_.sees_future.resize(sc.models.size(), false);
  lookahead_pending_.resize(setup_.lookahead.size());
  lookahead_live_.assign(setup_.lookahead.size(), true);
  Diagnostics ignored;  // the real sources report the same records
  for (std::size_t s = 0; s < setup_.lookahead.size(); ++s)
    lookahead_live_[s] = setup_.lookahead[s]->next(lookahead_pending_[s], ignored);
}

Simulation::~Simulation() = default;

// ---------------------------------------------------------------- prefetch hints

// At a fleet's scale the replica, request, source and model tables are megabytes, and each
// event's first reads of them miss the cache one after another. The event loop asks for the
// next event's lines while the current one runs. Hints only: nothing is read through them but
// the engine's own tables, and no decision depends on them. (Always inlined, as
// prefetch_request is, by their declarations: a call to a function that only prefetches has no
// effect the compiler must keep, and GCC drops it, prefetches and all.)

// A replica's hot lines, and with `step` what its batch step's end reads: the decode heap (a
// completion's pop walks it from its root to a leaf), the prefill batch, the queue's next
// entries and its head's request record.
inline void Simulation::prefetch_replica(std::uint32_t slot, bool step) const {
  const char* hot = reinterpret_cast<const char*>(&replicas_[slot]);
  for (int line = 0; line < 5; ++line) __builtin_prefetch(hot + 64 * line);
  if (!step) return;
  const StepReads& reads = step_reads_[slot];
  for (std::uint32_t at = 0; at < std::min<std::uint32_t>(reads.decoding_bytes, 512); at += 64)
    __builtin_prefetch(reads.decoding + at);
  __builtin_prefetch(reads.prefill_batch);
  __builtin_prefetch(reads.waiting);
  if (reads.head_request != StepReads::kNoHead) prefetch_request(&requests_[reads.head_request]);
}

// The next event's first reads: a batch step's or service end's replica (not when the event
// is stale) and the request it ends; an arrival's source, model and likely replica.
inline void Simulation::prefetch_for(const Event& next) const {
  if (next.kind == EventKind::BatchStep || next.kind == EventKind::ServiceDone) {
    if (next.target >= replicas_.size() || replica_epochs_[next.target] != next.epoch) return;  // stale
    prefetch_replica(next.target, next.kind == EventKind::BatchStep);
    if (next.kind == EventKind::BatchStep && next.extra != 0 && next.extra <= requests_.size())
      prefetch_request(&requests_[next.extra - 1]);
  } else if (next.kind == EventKind::Arrival) {
    const char* source = reinterpret_cast<const char*>(setup_.sources[next.target].get());
    for (std::size_t at = 0; at < RequestSource::kHotBytes; at += 64) __builtin_prefetch(source + at);
    const std::uint32_t model = pending_arrivals_[next.target].model;
    __builtin_prefetch(&models_[model]);
    // The router's likely pick, the model's least loaded ready replica (the route index's top;
    // none for a model with few ready replicas, which routers scan): the request is queued there
    // and may cut its decode stretch short. (Reading the top here can miss the cache itself; 12
    // alternating runs of the fleet's 5 minutes were ~2% faster with it all the same.)
    if (const RouteIndex::Pick pick = route_index_.fewest_outstanding(model); pick.slot != RouteIndex::kNone)
      prefetch_replica(pick.slot, true);
  }
}

RunStatus Simulation::run() {
  RunStatus status;
  const Scenario& sc = setup_.scenario;
  const SimTime hard_end = sc.duration + sc.drain_limit;
  // A prefill step's end is fused into its start (sim/batching.cpp, fuse_prefill_end) unless
  // something may act on a replica mid-step in a way that would tell: a fault or a co-located
  // job may stop it, real mode's worker runs its own steps, batch observers see every step, and
  // a route index on tokens would be updated at the step's start instead of its end.
  if (setup_.fuse_prefill_ends && !setup_.backend && sc.faults.empty() && !jobs_ && batch_observers_.empty() &&
      !route_index_.keeps_tokens())
    fuse_prefill_until_ = hard_end;
  try {
    for (std::uint32_t s = 0; s < setup_.sources.size(); ++s)
      if (setup_.sources[s]->next(pending_arrivals_[s], errors_)) {
        source_pending_[s] = true;
        schedule(pending_arrivals_[s].time, EventKind::Arrival, s);
      }
    // Before the run: caches the policy prefetches, then the deployed state at t = 0 (every
    // model's autoscaler is asked once).
    for (std::uint32_t f = 0; f < sc.faults.size(); ++f) schedule(sc.faults[f].at, EventKind::Fault, f);
    if (setup_.backend) setup_.backend->start_clock();
    for (std::uint32_t n = 0; n < cluster_.size(); ++n)
      if (cluster_.node(n).up) prefetch_at_start(node_at(n));
    for (std::uint32_t m = 0; m < models_.size(); ++m) evaluate(m);
    if (!kv_observers_.empty() && !setup_.backend &&
        std::any_of(sc.models.begin(), sc.models.end(),
                    [](const ModelSpec& m) { return m.kind == ModelSpec::Kind::Llm; }))
      next_kv_sample_ = kv_sample_interval_;

    while (errors_.empty()) {
      // Real mode: sleep until the next event is due, acting on the backend's reports meanwhile.
      if (setup_.backend && !wait_for_next_event(hard_end, status.events)) break;
      if (queue_.empty()) break;
      const auto& top = queue_.top();
      if (top.time >= sc.duration && live_requests_ == 0) break;
      if (top.time > hard_end) break;
      auto entry = queue_.pop();
      now_ = entry.time;
      // At a fleet's scale, start loading what the next event reads first while this one runs
      // (prefetch_for). Not below a fleet's scale: there everything is in cache and the hints
      // are only work, 4% of a small run.
      if (const auto* hint = tables_out_of_cache() ? queue_.peek_hint() : nullptr) prefetch_for(hint->payload);
      if (now_ >= next_kv_sample_) sample_kv_usage(now_);
      if (entry.payload.kind == EventKind::Job) {  // (first at equal times: see push_first)
        on_job_event(now_, entry.payload);
        continue;
      }
      if ((++status.events & 0xFFFF) == 0) {
        status.pending_events_sum += queue_.size();
        ++status.pending_events_samples;
        for (auto* o : observers_) o->on_progress(now_, status.events, next_serial_);
        for (std::uint32_t i = 0; i < setup_.test_slowdown; ++i) spin_ = spin_ + 1;  // tests only
      }
      const Event& e = entry.payload;
      switch (e.kind) {
        case EventKind::Arrival: on_arrival(e.target); break;
        case EventKind::ReplicaPhase:
          if (replica_epochs_[e.target] == e.epoch) on_replica_phase(e.target);
          break;
        case EventKind::BatchStep:
          if (replica_epochs_[e.target] == e.epoch) on_batch_step(e.target), route_load_changed(e.target);
          break;
        case EventKind::ServiceDone:  // (a failed replica's completions are stale)
          if (replica_epochs_[e.target] == e.epoch) on_service_done(e.target, e.extra), route_load_changed(e.target);
          break;
        case EventKind::Autoscale:
          if (models_[e.target].evaluation_epoch == e.epoch) on_autoscale(e.target);
          break;
        case EventKind::BufferTimeout:
          if (models_[e.target].buffer_epoch == e.epoch) on_buffer_timeout(e.target);
          break;
        case EventKind::TransferDone:
          if (transfer_epoch_ == e.epoch) on_transfer_done();
          break;
        case EventKind::NodeUp: on_node_up(e.target, e.extra); break;
        case EventKind::NodeIdle:
          if (node_epoch_[e.target] == e.epoch) on_node_idle(e.target);
          break;
        case EventKind::Job: break;  // handled above
        case EventKind::Fault: on_fault(e.target, e.extra == 1); break;
      }
    }
    // Sources whose next arrival lies past the end: count what a trace still holds. (A run the
    // backend stopped early did not reach the end: what was left is no "after the duration".)
    for (std::uint32_t s = 0; s < setup_.sources.size() && errors_.empty() && stop_reason_.empty(); ++s)
      if (source_pending_[s]) count_after_duration(s);
    if (errors_.empty()) {
      const bool stopped = !stop_reason_.empty();  // real mode: at the time the backend stopped it
      if (live_requests_ > 0) {
        if (!stopped) now_ = hard_end;
        sample_kv_usage(now_);  // (before the cut-off's request ends reach the observers)
        if (jobs_) finish_job_events(now_);  // the jobs' state at the cut-off, before replicas stop
        for (std::uint32_t model = 0; model < models_.size(); ++model)
          for (std::size_t i = models_[model].buffer.size(); i > 0; --i) {
            models_[model].buffer.pop();
            for (auto* o : observers_) o->on_request_dispatched(now_, model);
          }
        for (std::uint32_t r = 0; r < requests_.size(); ++r)
          if (requests_[r].live) finish_request(r, RequestOutcome::CutOff);
      } else {
        if (!stopped) now_ = std::max(sc.duration, last_request_end_);
        sample_kv_usage(now_);
        if (jobs_) finish_job_events(now_);
      }
    }
  } catch (const PolicyError& error) {
    errors_.add(Diagnostic{"", 0, 0, "", error.message});
  } catch (const std::bad_alloc&) {
    throw;  // not a policy's doing: main reports it
  } catch (const std::exception& error) {
    // Policies are the code the engine calls that it does not own (plugins among them): an
    // exception out of a decision ends the run as a broken contract does, with its message.
    errors_.add(Diagnostic{"", 0, 0, "", std::string("a policy threw an exception: ") + error.what()});
  }
  status.end_time = now_;
  status.partial = !stop_reason_.empty();
  status.stop_reason = stop_reason_;
  status.faults = fault_counts_;
  status.kv = kv_counts_;
  status.kv_transfers = kv_transfer_counts_;
  status.requests = next_serial_;
  status.requests_after_duration = requests_after_duration_;
  if (jobs_ && errors_.empty()) status.jobs = std::make_shared<JobRunResult>(jobs_->finish(now_));
  status.gpu_seconds_total = static_cast<double>(cluster_gpus_) * to_seconds(now_);
  network_.settle_all();  // (transfers still moving count up to the network's last change, as they always have)
  auto usage = [&](const std::string& name, TransferNetwork::LinkId link) {
    if (network_.bytes_moved(link) > 0)
      status.links.push_back(LinkUsage{name, network_.bandwidth(link), network_.bytes_moved(link)});
  };
  for (std::uint32_t p = 0; p < pools_.size(); ++p) {
    count_nodes(p, 0);
    status.pools.push_back(pools_[p].usage);
  }
  usage("model-store", store_link_);
  usage("registry", registry_link_);
  for (std::size_t n = 0; n < cluster_.size(); ++n) {
    usage("node-" + std::to_string(n) + "/network", node_network_link_[n]);
    usage("node-" + std::to_string(n) + "/disk", node_disk_link_[n]);
  }
  for (std::size_t n = 0; n < node_nvlink_link_.size(); ++n) usage("node-" + std::to_string(n) + "/nvlink", node_nvlink_link_[n]);
  status.ok = errors_.empty();
  status.errors = errors_;
  if (status.ok)
    for (auto* o : observers_) o->on_run_end(now_);
  return status;
}

// ---------------------------------------------------------------- arrivals

const Simulation::RequestExtras Simulation::kNoExtras{};

std::uint32_t Simulation::new_request() {
  if (!free_requests_.empty()) {
    std::uint32_t id = free_requests_.back();
    free_requests_.pop_back();
    return id;
  }
  requests_.emplace_back();
  return static_cast<std::uint32_t>(requests_.size() - 1);
}

void Simulation::on_arrival(std::uint32_t source) {
  const Arrival a = pending_arrivals_[source];
  if (a.time >= setup_.scenario.duration) {  // arrivals stop at the end of the run
    count_after_duration(source);
    return;
  }
  std::uint32_t id = new_request();
  Request& r = requests_[id];
  const bool stale_prefix = r.has_prefix;  // the slot's previous request's hashes
  r = Request{};
  r.serial = next_serial_++;
  r.arrival = now_;  // (and dispatched, until enqueue says otherwise: dispatched_of)
  r.model = a.model;
  r.input_tokens = a.input_tokens;
  r.output_tokens = std::max<std::uint32_t>(1, a.output_tokens);
  r.adapter = a.adapter;
  r.live = true;
  if (!a.prefix_hashes.empty() || stale_prefix) {  // (before the source's next row)
    if (request_hashes_.size() <= id) request_hashes_.resize(requests_.size());
    request_hashes_[id].assign(a.prefix_hashes.begin(), a.prefix_hashes.end());
  }
  r.has_prefix = !a.prefix_hashes.empty();
  ++live_requests_;
  ModelState& m = models_[a.model];
  if (m.wake_on_arrival) {
    m.wake_on_arrival = false;
    request_evaluation(a.model, now_);
  }
  if (setup_.sees_future[a.model]) {
    if (m.arrivals_read_ahead > m.arrivals_seen) m.future.pop_front();
    ++m.arrivals_seen;
  }
  change_concurrency(a.model, +1);
  const int max_len = serving_[a.model].max_model_len;
  if (max_len > 0 && static_cast<double>(r.input_tokens) + r.output_tokens > max_len) {
    // Longer than the model's context (vLLM refuses it at the API): ends here, wakes no replica.
    for (auto* o : observers_) o->on_request_arrived(now_, a.model, false);
    finish_request(id, RequestOutcome::TooLong);
  } else {
    dispatch_or_buffer(id);
  }

  Arrival next;
  source_pending_[source] = false;
  if (setup_.sources[source]->next(next, errors_)) {
    source_pending_[source] = true;
    if (next.time < a.time) {
      errors_.add(Diagnostic{"", 0, 0, "workloads",
                             "request source went back in time (" + std::to_string(next.time) +
                                 "ns after " + std::to_string(a.time) + "ns)"});
      return;
    }
    pending_arrivals_[source] = next;
    schedule(next.time, EventKind::Arrival, source);
  }
}

// A source's pending arrival lies at or after `duration`: it and everything after it are
// dropped. A trace's remaining rows are read (not simulated) and counted, so a trace longer
// than the run is reported rather than cut silently; a generated workload never ends and is
// not counted.
void Simulation::count_after_duration(std::uint32_t source) {
  source_pending_[source] = false;
  RequestSource& src = *setup_.sources[source];
  if (!src.finite()) return;
  ++requests_after_duration_;
  Arrival rest;
  while (src.next(rest, errors_)) ++requests_after_duration_;
}

// The oracle's knowledge: read the lookahead copy of the sources until the model's next
// arrival is known (or the sources end). Arrivals the run has already consumed are skipped.
SimTime Simulation::next_arrival_of(std::uint32_t model) {
  ModelState& m = models_[model];
  Diagnostics ignored;
  while (m.future.empty()) {
    std::size_t best = lookahead_pending_.size();
    for (std::size_t s = 0; s < lookahead_pending_.size(); ++s)
      if (lookahead_live_[s] && (best == lookahead_pending_.size() ||
                                 lookahead_pending_[s].time < lookahead_pending_[best].time))
        best = s;
    if (best == lookahead_pending_.size()) return kNever;
    const Arrival a = lookahead_pending_[best];
    lookahead_live_[best] = setup_.lookahead[best]->next(lookahead_pending_[best], ignored);
    if (a.time >= setup_.scenario.duration) {
      lookahead_live_[best] = false;
      continue;
    }
    if (!setup_.sees_future[a.model]) continue;  // only oracle models keep their future
    ModelState& owner = models_[a.model];
    if (owner.arrivals_read_ahead++ >= owner.arrivals_seen) owner.future.push_back(a.time);
  }
  return m.future.front();
}

}  // namespace fleetsim
