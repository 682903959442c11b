// Faults the scenario injects (Scenario::faults, README "Faults") and what a replica's failure
// does, in both modes:
// - kill_replica: in simulation the replica fails at once; in real mode the backend kills its
//   worker (SIGKILL) and the failure happens when the backend reports the death
//   (BackendEvent::ReplicaFailed, which a worker that dies on its own also produces).
// - A failed replica frees its GPUs (through stop(), as a drained one does) and leaves its
//   model's lists, so the autoscaler, asked at once, counts one replica fewer and replaces it
//   by its own rules. Its requests — queued, in a prefill, decoding — go back to the model in
//   arrival order: to a ready replica through the router, else into the buffer. Work done on
//   them is lost (a re-queued request starts over: prefill and every token); their arrival is
//   kept, so their latency counts the time already spent. A request re-queued more than
//   request_retries times ends with outcome `failed` instead.
// - store_down: model-store loads wait for the store. In simulation a replica's load from the
//   store that is under way when the outage starts is paused (the bytes it has left are kept),
//   and one that would start during it does not start; both (re)start when it ends, so the
//   wait is in the replica's weight-load phase. Simplifications: prefetches and LoRA adapter
//   loads from the store are not paused, and the store's link carries nothing else meanwhile.
//   In real mode the backend's store refuses connections and the workers' fetches retry.
// A run without faults schedules no fault event and none of this runs.
#include <algorithm>
#include <string>

#include "sim/simulation.hpp"
#include "sim/units.hpp"

namespace fleetsim {

void Simulation::on_fault(std::uint32_t index, bool outage_end) {
  const FaultSpec& fault = setup_.scenario.faults[index];
  if (fault.kind == FaultSpec::Kind::StoreDown) {
    if (!outage_end) {
      ++fault_counts_.applied;
      schedule(now_ + fault.length, EventKind::Fault, index, 0, 1);
    }
    set_store_down(!outage_end);
    return;
  }
  const std::uint32_t slot = slot_of(fault.replica);  // fault.replica: the public id
  if (slot == kNoReplica) {
    ++fault_counts_.skipped;
    fault_counts_.warnings.push_back(
        "faults[" + std::to_string(index) + "]: kill_replica " + std::to_string(fault.replica) + " at " +
        format_duration(now_) + " not applied: " +
        (fault.replica >= replicas_placed_ ? "no such replica (" + std::to_string(replicas_placed_) + " placed so far)"
                                           : std::string("the replica has stopped already")));
    for (auto* o : observers_) o->on_fault_skipped(now_, index);
    return;
  }
  ++fault_counts_.applied;
  if (setup_.backend) {  // the death comes back as ReplicaFailed, and fails the replica then
    setup_.backend->kill(replicas_[slot].info);
    return;
  }
  fail_replica(slot);
}

void Simulation::fail_replica(std::uint32_t rep_id) {
  Replica& rep = replicas_[rep_id];
  if (rep.phase == ReplicaPhase::Stopped) return;
  const std::uint32_t model = rep.info.model;
  ModelState& m = models_[model];
  ++fault_counts_.replicas_failed;
  for (auto* o : observers_) o->on_replica_failed(now_, rep.info);

  // Its requests, in arrival order. (Failures are rare: a scan of the request slots is fine.)
  std::vector<std::uint32_t> lost;
  for (std::uint32_t id = 0; id < requests_.size(); ++id)
    if (requests_[id].live && requests_[id].replica == rep_id) lost.push_back(id);
  std::sort(lost.begin(), lost.end(),
            [&](std::uint32_t a, std::uint32_t b) { return requests_[a].serial < requests_[b].serial; });
  const bool was_busy = rep.outstanding > 0;
  m.in_flight -= static_cast<int>(lost.size());
  // The batch is gone with the process: nothing of it survives.
  rep.waiting = Fifo<std::uint32_t>{};
  rep.prefill_batch.clear();
  rep.decoding.clear();
  rep.kv_base_sum = rep.kv_base_error = 0;
  for (std::uint32_t id : rep.loading) cancel_offload_loads(id);  // (KV offload loads stop: kv_offload.cpp)
  rep.loading.clear();
  rep.outstanding = rep.running = 0;
  rep.queued_tokens = rep.decoding_tokens = 0;
  rep.context = 0;
  if (was_busy) set_busy(rep, false);  // (observers see it idle: no request, no token left)
  rep.kv_final_blocks = rep.prefill_blocks = 0;
  rep.step = BatchStepKind::Idle;
  holdings(rep).swapped_blocks = 0;
  rep.swap_out_seconds = rep.swap_in_seconds = 0;
  ++epoch_of(rep);  // cancels its batch step, service completions and cold-start phase

  switch (rep.phase) {
    case ReplicaPhase::Ready:
      remove_ready(rep_id);
      ++m.draining;  // stop() counts it down
      break;
    case ReplicaPhase::Draining: break;
    default:  // still starting: its cold start ends here, abandoned
      abandon_cold_start(rep_id);
      break;
  }
  stop(rep_id);
  for (std::uint32_t id : lost) requeue(id);
  request_evaluation(model, now_);
}

void Simulation::requeue(std::uint32_t id) {
  Request& r = requests_[id];
  ModelState& m = models_[r.model];
  RequestExtras& x = extras(r);
  if (++x.retries > static_cast<std::uint32_t>(setup_.scenario.request_retries)) {
    ++fault_counts_.requests_failed;
    finish_request(id, RequestOutcome::Failed);  // r.replica: the replica it failed on
    return;
  }
  ++fault_counts_.requests_requeued;
  r.replica = kNoReplica;
  r.first_token = 0;
  r.generated = x.prefilled = x.chunk = 0;
  x.kv_arrived = false;  // (disaggregation: the KV cache went with the replica)
  r.swapped = false;     // (and a swapped-out one's, with its host memory)
  if (!m.ready.empty()) {
    for (auto* o : observers_) o->on_request_requeued(now_, r.model, false);
    route(id);
    return;
  }
  for (auto* o : observers_) o->on_request_requeued(now_, r.model, true);
  r.waited = true;
  m.buffer.push(id);
  if (m.buffer.size() == 1) arm_buffer_timer(r.model);
}

void Simulation::set_store_down(bool down) {
  if (store_down_ == down) return;  // overlapping windows: the first end ends the outage
  store_down_ = down;
  if (setup_.backend) {
    setup_.backend->store_outage(down);
    return;
  }
  if (down) {
    bool cancelled = false;
    // In ascending public id: the order the waiters resume in.
    std::vector<std::uint32_t> loading;
    for (std::uint32_t id = 0; id < replicas_.size(); ++id)
      if (replicas_[id].phase == ReplicaPhase::LoadingWeights) loading.push_back(id);
    std::sort(loading.begin(), loading.end(),
              [&](std::uint32_t a, std::uint32_t b) { return replicas_[a].info.id < replicas_[b].info.id; });
    for (std::uint32_t id : loading) {
      ReplicaHoldings& held = holdings_[id];
      if (replicas_[id].phase != ReplicaPhase::LoadingWeights || held.cold.source != WeightSource::ModelStore ||
          held.transfer == TransferNetwork::kNone)
        continue;
      const double left = network_.cancel(now_, held.transfer);
      held.transfer = TransferNetwork::kNone;
      cancelled = true;
      wait_for_store(id, left);
    }
    if (cancelled) reschedule_transfers();
    return;
  }
  std::vector<StoreWaiter> waiters;
  waiters.swap(store_waiters_);
  for (const StoreWaiter& w : waiters) {
    Replica& rep = replicas_[w.replica];
    if (replica_epochs_[w.replica] != w.epoch || rep.phase != ReplicaPhase::LoadingWeights) continue;  // gone meanwhile
    const ModelSpec& spec = setup_.scenario.models[rep.info.model];
    const double cap = spec.gpus_per_replica * cluster_.node(rep.info.node).gpu_type->host_to_device_bandwidth;
    start_transfer(w.replica, holdings(rep).store_bytes_left, cap, {node_network_link_[rep.info.node], store_link_}, w.replica);
  }
}

// A model-store load of the replica, with `bytes` left, must wait for the store: true when it
// does (the store is down).
bool Simulation::wait_for_store(std::uint32_t rep_id, double bytes) {
  if (!store_down_) return false;
  holdings_[rep_id].store_bytes_left = bytes;
  store_waiters_.push_back(StoreWaiter{rep_id, replica_epochs_[rep_id]});
  return true;
}

}  // namespace fleetsim
