// Replicas from the autoscaler's decision to their stop: evaluating a model's autoscaler,
// placing a replica, its cold-start phases (image pull, weight load, engine start), ready,
// draining and stopping.
#include "sim/simulation.hpp"

#include <algorithm>
#include <optional>
#include <string>

#include "sim/simulation_internal.hpp"

namespace fleetsim {

using namespace simulation_internal;

// ---------------------------------------------------------------- autoscaling

void Simulation::request_evaluation(std::uint32_t model, SimTime at) {
  ModelState& m = models_[model];
  if (m.next_evaluation <= at) return;
  m.next_evaluation = at;
  schedule(at, EventKind::Autoscale, model, ++m.evaluation_epoch);
}

void Simulation::on_autoscale(std::uint32_t model) {
  models_[model].next_evaluation = kNever;
  // Only an evaluation starts replicas, and it runs from its own event: no handler holds a
  // slot stopped earlier, so they may be reused now.
  if (!stopped_slots_.empty()) {
    free_slots_.insert(free_slots_.end(), stopped_slots_.begin(), stopped_slots_.end());
    stopped_slots_.clear();
  }
  evaluate(model);
}

void Simulation::evaluate(std::uint32_t model) {
  ModelState& m = models_[model];
  change_concurrency(model, 0);  // bring the integral up to now
  ScalingView view;
  view.now = now_;
  view.model = model;
  view.ready = static_cast<int>(m.ready.size());
  view.starting = static_cast<int>(starting_.size(model));
  view.draining = m.draining;
  view.in_flight = m.in_flight;
  view.buffered = static_cast<int>(m.buffer.size());
  view.concurrency_integral = m.concurrency_integral;
  view.idle_since = m.idle_since;
  view.idle_periods = m.idle_periods;
  view.last_cold_start = m.last_cold_start;
  if (setup_.sees_future[model]) view.next_arrival = next_arrival_of(model);
  ScalingDecision decision = setup_.autoscalers[model]->evaluate(view);
  m.idle_periods.clear();
  const std::string& policy = setup_.scenario.models[model].autoscaler.impl;
  if (decision.desired < 0)
    throw PolicyError{"autoscaler policy '" + policy + "' asked for " +
                      std::to_string(decision.desired) + " replicas of model '" +
                      setup_.scenario.models[model].name + "'"};
  const int current = view.ready + view.starting;
  for (auto* o : observers_) o->on_scale(now_, model, current, decision.desired);
  const bool warm = now_ == 0 && setup_.scenario.warm_start;
  for (int i = current; i < decision.desired; ++i)
    if (!start_replica(model, warm)) break;
  for (int i = decision.desired; i < current; ++i) {
    // Surplus: drop the newest replica still starting, else the ready replica the autoscaler
    // chooses (by default the one with the fewest outstanding requests; ties: the newest).
    if (!starting_.empty(model)) {
      drain(starting_.back(model));
      continue;
    }
    drain_candidates_.clear();
    for (std::uint32_t rep : m.ready)
      drain_candidates_.push_back(
          DrainCandidate{replicas_[rep].info.id, replicas_[rep].outstanding, holdings_[rep].cold.ready});
    const std::size_t pick = setup_.autoscalers[model]->choose_drain(drain_candidates_);
    if (pick >= drain_candidates_.size())
      throw PolicyError{"autoscaler policy '" + policy + "' chose ready replica " + std::to_string(pick) + " of " +
                        std::to_string(drain_candidates_.size()) + " to drain"};
    drain(m.ready[pick]);
  }
  for (SimTime t : {decision.next_evaluation, decision.wakeup})
    if (t != kNever && t <= now_)
      throw PolicyError{"autoscaler policy '" + policy + "' asked for its next evaluation at " +
                        std::to_string(t) + "ns, not after now (" + std::to_string(now_) + "ns)"};
  // Idle at zero: only an explicit wake-up brings the model back before its next request.
  const bool idle = m.ready.empty() && starting_.empty(model) && m.in_flight == 0 && m.buffer.empty();
  const SimTime next = std::min(idle ? kNever : decision.next_evaluation, decision.wakeup);
  if (next != kNever) request_evaluation(model, next);
  m.wake_on_arrival = decision.wake_on_arrival;
}

// ---------------------------------------------------------------- replicas

const LlmPerfModel* Simulation::perf_for(std::uint32_t model, std::uint32_t gpu_type) {
  const LlmPerfModel*& slot = perf_models_[model * gpu_types_.size() + gpu_type];
  if (!slot) {
    const ModelSpec& spec = setup_.scenario.models[model];
    const PerfTable* table = gpu_type < spec.perf_tables.size() ? spec.perf_tables[gpu_type].get() : nullptr;
    const LlmPerfModel made(spec, gpu_types_[gpu_type], setup_.scenario.perf, table);
    auto same = std::find_if(distinct_perf_models_.begin(), distinct_perf_models_.end(),
                             [&](const auto& distinct) { return distinct->same_as(made); });
    if (same == distinct_perf_models_.end())
      same = distinct_perf_models_.insert(same, std::make_unique<LlmPerfModel>(made));
    slot = same->get();
  }
  return slot;
}

// An LLM engine (vLLM-style) claims gpu_memory_utilization of every GPU it runs on, and its
// GPUs must be big enough for the weights; a service-time model claims a fixed amount.
PlacementRequest Simulation::placement_request(std::uint32_t model) const {
  const ModelSpec& spec = setup_.scenario.models[model];
  PlacementRequest request;
  request.model = model;
  request.gpus = spec.gpus_per_replica;
  request.pools = spec.pools;
  request.weight_bytes = spec.weight_bytes();
  request.image_bytes = spec.image_bytes;
  if (spec.kind == ModelSpec::Kind::Llm) {
    request.memory_fraction = spec.gpu_memory_utilization;
    request.min_gpu_memory =
        spec.weight_bytes() / spec.gpus_per_replica / spec.gpu_memory_utilization;
  } else {
    request.memory_per_gpu = spec.memory_per_gpu;
    request.min_gpu_memory = spec.memory_per_gpu;
  }
  return request;
}

bool Simulation::start_replica(std::uint32_t model, bool warm) {
  const ModelSpec& spec = setup_.scenario.models[model];
  const PlacementRequest request = placement_request(model);
  PlacementAnswer placement = setup_.placement->place(request, cluster_view());
  if (placement.never()) {  // no node, grown or not, could host it: no room to make, no node to ask for
    for (auto* o : observers_) o->on_unschedulable(now_, model);
    return false;
  }
  bool preempted = false;
  if (!placement && make_room_for(model)) {
    preempted = true;
    placement = setup_.placement->place(request, cluster_view());
  }
  if (!placement) {
    if (preempted) jobs_->resources_changed(now_);  // the room went unused: jobs may take it back
    for (auto* o : observers_) o->on_unschedulable(now_, model);
    request_node(model);
    return false;
  }
  if (const Status status = cluster_.check(request, *placement, "model '" + spec.name + "'"); !status.ok)
    throw PolicyError{"placement policy '" + setup_.scenario.placement.impl + "' " + status.message};
  NodeView& node = node_at(placement->node);
  const double claim = memory_claim(node, request);

  std::uint32_t id;  // the slot
  if (free_slots_.empty()) {
    id = static_cast<std::uint32_t>(replicas_.size());
    replicas_.emplace_back();
    holdings_.emplace_back();
    replica_epochs_.push_back(0);
    ready_at_.push_back(kNotReady);
    routed_outstanding_.push_back(0);
    step_reads_.emplace_back();
    fused_before_.emplace_back();
  } else {
    // The LIFO end: the most recently stopped slot. Its epoch (replica_epochs_) carries on, so
    // that events still queued for the replica that held it stay stale.
    id = free_slots_.back();
    free_slots_.pop_back();
    replicas_[id] = Replica{};
    holdings_[id] = ReplicaHoldings{};
  }
  Replica& rep = replicas_[id];
  rep.info = ReplicaInfo{replicas_placed_++, model, node.id, spec.gpus_per_replica, claim * spec.gpus_per_replica, id};
  live_slots_.emplace(rep.info.id, id);
  ReplicaHoldings& held = holdings_[id];
  held.gpus = placement->gpus;
  held.memory_per_gpu = claim;
  held.allocation = cluster_.allocation_for(request, *placement);
  held.allocation.counts_as_replica = true;
  cluster_.reserve(held.allocation);
  const std::uint32_t gpu_type = static_cast<std::uint32_t>(cluster_.type_index(node));
  if (spec.kind == ModelSpec::Kind::Llm) {
    rep.perf = perf_for(model, gpu_type);
    rep.kv_block_size = static_cast<std::uint32_t>(spec.kv_block_size);
    rep.kv_blocks = static_cast<std::int64_t>(std::floor(rep.kv_capacity() / spec.kv_block_size));
    held.swap_blocks = spec.kv_preemption == ModelSpec::KvPreemption::Swap
                           ? static_cast<std::int64_t>(std::floor(spec.swap_space * spec.gpus_per_replica /
                                                                  (spec.kv_block_size * spec.kv_bytes_per_token)))
                           : 0;
    held.swap_bandwidth = spec.gpus_per_replica * (spec.swap_bandwidth > 0 ? spec.swap_bandwidth
                                                                           : node.gpu_type->host_to_device_bandwidth);
    rep.sends_kv = spec.role == ModelSpec::Role::Prefill;
    rep.takes_kv = spec.role == ModelSpec::Role::Decode;
    // (a decode pool's replica loads from host memory only: sim/kv_offload.cpp)
    rep.joins_at_step = rep.takes_kv || spec.kv_offload_disk_bytes > 0 || spec.kv_offload_store_bytes > 0;
  }
  held.cold.replica = rep.info;
  held.cold.placed = now_;
  ++node_epoch_[node.id];  // cancels a pending idle release
  ModelState& ms = models_[model];
  if (ms.awaited_node == node.id) {
    held.cold.node_provision = now_ - ms.node_requested;
    ms.awaited_node = kNoNode;
  }
  for (auto* o : observers_) o->on_replica_placed(now_, rep.info);
  starting_.push_back(model, id);
  if (preempted) jobs_->resources_changed(now_);  // what the preemptions freed beyond this replica
  if (warm) {
    // A deployed system at t = 0: the image is on the node and weights are where the cache
    // policy would have kept them.
    if (!node.has_image(model)) node.images.push_back(model);
    if (!node.has_cached(model)) cache_admit(node, CacheTier::Disk, model);
    if (!node.has_in_memory(model)) cache_admit(node, CacheTier::HostMemory, model);
    if (setup_.backend) setup_.backend->deploy(replicas_[id].info, replicas_[id].kv_capacity());
    make_ready(id);
  } else {
    begin_phase(id, ReplicaPhase::PullingImage);
    prefetch(model);
  }
  return true;
}

// The nodes' transfer counts are brought up to date here, for the nodes whose links changed
// since the last view (the others already hold their links' counts): a view costs what changed,
// not a pass over every node.
ClusterView Simulation::cluster_view() {
  for (TransferNetwork::LinkId l : network_.touched()) {
    const std::uint32_t n = l < link_node_.size() ? link_node_[l] : kNoNode;
    if (n == kNoNode) continue;
    node_at(n).network_transfers = network_.transfers_on(node_network_link_[n]);
    node_at(n).disk_transfers = network_.transfers_on(node_disk_link_[n]);
  }
  network_.clear_touched();
  ClusterView view = cluster_.view(now_);
  view.model_store_bandwidth = network_.bandwidth(store_link_);
  view.model_store_transfers = network_.transfers_on(store_link_);
  view.registry_bandwidth = network_.bandwidth(registry_link_);
  view.registry_transfers = network_.transfers_on(registry_link_);
  return view;
}

// Cold start: pull the image (skipped when the node has it), load the weights from the fastest
// tier that holds them — the node's host-memory cache, its disk cache, else the model store
// over the node's network link — into the GPUs, then start the engine. Pulls and loads are
// transfers on shared links (max-min fair, see sim/transfers.hpp); a load also never goes
// faster than the replica's combined host-to-device links. Each phase's duration is measured.
void Simulation::begin_phase(std::uint32_t rep_id, ReplicaPhase phase) {
  Replica& rep = replicas_[rep_id];
  ReplicaHoldings& held = holdings_[rep_id];
  const ModelSpec& spec = setup_.scenario.models[rep.info.model];
  NodeView& node = node_at(rep.info.node);
  const std::uint32_t n = node.id;
  rep.phase = phase;
  held.phase_started = now_;
  for (auto* o : observers_) o->on_replica_phase(now_, rep.info, phase);
  if (phase == ReplicaPhase::PullingImage) {
    if (setup_.backend) {  // real mode: the worker's process start is the "image"; Spawned ends it
      setup_.backend->spawn(rep.info);
      return;
    }
    if (node.has_image(rep.info.model) || spec.image_bytes <= 0) {
      end_phase(rep_id);
      return;
    }
    start_transfer(rep_id, spec.image_bytes, TransferNetwork::kUnlimited,
                   {node_network_link_[n], registry_link_}, rep_id);
  } else if (phase == ReplicaPhase::LoadingWeights) {
    if (spec.weight_bytes() <= 0) {  // nothing to load (service-time models state no weights)
      held.cold.source = WeightSource::None;
      end_phase(rep_id);
      return;
    }
    const double cap = spec.gpus_per_replica * node.gpu_type->host_to_device_bandwidth;
    held.cold.source = WeightSource::ModelStore;
    auto hit = [&](CacheTier tier, std::vector<CacheEntry>& entries) {
      for (auto& entry : entries) {
        if (entry.model != rep.info.model) continue;
        entry.last_used = now_;
        ++entry.hits;
        setup_.cache->on_hit(tier, entry, node);
        for (auto* o : observers_) o->on_cache(now_, node.id, rep.info.model, CacheEvent::Hit);
        return true;
      }
      return false;
    };
    if (hit(CacheTier::HostMemory, node.host_cache))
      held.cold.source = WeightSource::HostMemory;
    else if (hit(CacheTier::Disk, node.disk_cache))
      held.cold.source = WeightSource::DiskCache;
    if (setup_.backend) {  // real mode: the worker loads from the tier chosen; WeightsLoaded ends it
      setup_.backend->load(rep.info, held.cold.source, rep.kv_capacity());
      return;
    }
    switch (held.cold.source) {
      case WeightSource::HostMemory: start_transfer(rep_id, spec.weight_bytes(), cap, {}, rep_id); break;
      case WeightSource::DiskCache:
        start_transfer(rep_id, spec.weight_bytes(), cap, {node_disk_link_[n]}, rep_id);
        break;
      default:
        if (store_down_ && wait_for_store(rep_id, spec.weight_bytes())) break;  // a store outage (faults.cpp)
        start_transfer(rep_id, spec.weight_bytes(), cap, {node_network_link_[n], store_link_}, rep_id);
    }
  } else if (phase == ReplicaPhase::StartingEngine) {
    if (setup_.backend) return;  // real mode: EngineStarted ends it
    schedule(now_ + spec.startup_time, EventKind::ReplicaPhase, rep_id, epoch_of(rep));
  }
}

void Simulation::on_replica_phase(std::uint32_t rep_id) { end_phase(rep_id); }

void Simulation::end_phase(std::uint32_t rep_id) {
  Replica& rep = replicas_[rep_id];
  ReplicaHoldings& held = holdings_[rep_id];
  NodeView& node = node_at(rep.info.node);
  const SimTime took = now_ - held.phase_started;
  switch (rep.phase) {
    case ReplicaPhase::PullingImage:
      held.cold.image_pull = took;
      if (!node.has_image(rep.info.model)) node.images.push_back(rep.info.model);
      begin_phase(rep_id, ReplicaPhase::LoadingWeights);
      break;
    case ReplicaPhase::LoadingWeights:
      held.cold.weight_load = took;
      // Fill the tiers the weights passed through.
      if (held.cold.source == WeightSource::ModelStore && !node.has_cached(rep.info.model))
        cache_admit(node, CacheTier::Disk, rep.info.model);
      if (held.cold.source != WeightSource::HostMemory && held.cold.source != WeightSource::None &&
          !node.has_in_memory(rep.info.model))
        cache_admit(node, CacheTier::HostMemory, rep.info.model);
      begin_phase(rep_id, ReplicaPhase::StartingEngine);
      break;
    case ReplicaPhase::StartingEngine:
      held.cold.engine_startup = took;
      held.cold.ready = now_;
      models_[rep.info.model].last_cold_start = now_ - held.cold.placed;
      for (auto* o : observers_) o->on_cold_start(held.cold);
      make_ready(rep_id);
      break;
    default: break;
  }
}

void Simulation::make_ready(std::uint32_t rep_id) {
  Replica& rep = replicas_[rep_id];
  ModelState& m = models_[rep.info.model];
  starting_.erase(rep.info.model, rep_id);
  add_ready(rep_id);  // ascending public id (slots are reused in no particular order)
  rep.phase = ReplicaPhase::Ready;
  rep.progress_time = now_;
  for (auto* o : observers_) o->on_replica_phase(now_, rep.info, ReplicaPhase::Ready);
  if (m.buffer.empty()) return;
  while (!m.buffer.empty()) {
    for (auto* o : observers_) o->on_request_dispatched(now_, rep.info.model);
    route(m.buffer.pop());
  }
  arm_buffer_timer(rep.info.model);
}

void Simulation::drain(std::uint32_t rep_id) {
  Replica& rep = replicas_[rep_id];
  ModelState& m = models_[rep.info.model];
  if (rep.phase == ReplicaPhase::Ready) {
    remove_ready(rep_id);
    rep.phase = ReplicaPhase::Draining;
    ++m.draining;
    for (auto* o : observers_) o->on_replica_phase(now_, rep.info, ReplicaPhase::Draining);
    if (rep.outstanding == 0) stop(rep_id);
    return;
  }
  ++epoch_of(rep);  // cancels its cold-start phase
  abandon_cold_start(rep_id);
  stop(rep_id);
}

void Simulation::abandon_cold_start(std::uint32_t rep_id) {
  Replica& rep = replicas_[rep_id];
  ReplicaHoldings& held = holdings_[rep_id];
  ModelState& m = models_[rep.info.model];
  starting_.erase(rep.info.model, rep_id);
  if (held.transfer != TransferNetwork::kNone) {
    network_.cancel(now_, held.transfer);
    held.transfer = TransferNetwork::kNone;
    reschedule_transfers();
  }
  held.cold.aborted = true;
  held.cold.ready = now_;
  for (auto* o : observers_) o->on_cold_start(held.cold);
  ++m.draining;  // stop() counts it down
}

void Simulation::stop(std::uint32_t rep_id) {
  Replica& rep = replicas_[rep_id];
  ReplicaHoldings& held = holdings_[rep_id];
  cluster_.release(held.allocation);
  held.allocation.clear();
  const NodeView& node = cluster_.node(rep.info.node);
  --models_[rep.info.model].draining;
  // A node the pool grew by goes back after standing empty for the pool's idle timeout.
  const PoolSpec& pool = setup_.scenario.pools[node.pool];
  if (node.replicas == 0 && node.id - pool_first_node(node.pool) >= static_cast<std::uint32_t>(pool.nodes))
    schedule(now_ + pool.node_idle_timeout, EventKind::NodeIdle, node.id, node_epoch_[node.id]);
  rep.phase = ReplicaPhase::Stopped;
  ++epoch_of(rep);
  held.gpus.clear();
  if (setup_.backend) setup_.backend->stop(rep.info);
  if (jobs_) jobs_->resources_changed(now_);  // jobs may use the freed GPUs
  bool cancelled = false;
  for (const AdapterSlot& slot : held.adapters)
    if (slot.loading && slot.transfer != TransferNetwork::kNone) {
      network_.cancel(now_, slot.transfer);
      cancelled = true;
    }
  held.adapters.clear();
  if (cancelled) reschedule_transfers();
  for (auto* o : observers_) o->on_replica_phase(now_, rep.info, ReplicaPhase::Stopped);
  live_slots_.erase(rep.info.id);
  stopped_slots_.push_back(rep_id);
}

}  // namespace fleetsim
