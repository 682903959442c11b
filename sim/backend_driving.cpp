// Real mode's side of the engine: the run on a ReplicaBackend's clock (sim/replica_backend.hpp).
// The event loop (simulation.cpp) asks wait_for_next_event() before each event; it sleeps on
// the backend's clock until that event is due, and acts on what the backend reports meanwhile —
// a phase of a cold start ended, a request's first or last token — each at the time it
// happened, through the same handlers the simulated phases and batch steps use. Nothing here
// runs in simulation (no backend).
#include "sim/simulation.hpp"

#include <algorithm>

namespace fleetsim {

// True when the queue's next event is due; false when the run is over: nothing is queued or
// under way, the time is past the run's end (duration with nothing in flight, else
// duration + drain_limit), or the backend stopped the run.
bool Simulation::wait_for_next_event(SimTime hard_end, std::uint64_t events) {
  ReplicaBackend& backend = *setup_.backend;
  const SimTime duration = setup_.scenario.duration;
  for (;;) {
    if (!errors_.empty() || !stop_reason_.empty()) return false;
    const bool queued = !queue_.empty();
    const SimTime next = queued ? queue_.top().time : kNever;
    if (backend_next_ < backend_events_.size()) {
      const BackendEvent& event = backend_events_[backend_next_];
      // A queued event no later than the report goes first (it was known first).
      if (queued && next <= event.time) return true;
      if (event.time > hard_end || (event.time >= duration && live_requests_ == 0)) return false;
      ++backend_next_;
      now_ = std::max(now_, event.time);
      on_backend_event(event);
      continue;
    }
    backend_events_.clear();
    backend_next_ = 0;
    if (!queued && !backend.busy()) return false;
    // Past `end` the loop ends whatever comes (its own checks on the queued event say so).
    const SimTime end = live_requests_ > 0 ? hard_end + 1 : duration;
    if (now_ >= end) return queued;
    const SimTime deadline = std::min(next, end);
    // A real run has few events, far fewer than the 65,536 between the event loop's progress
    // calls: it tells its progress (live metrics, the progress line) each time it sleeps.
    for (SimObserver* o : observers_) o->on_progress(now_, events, next_serial_);
    const SimTime clock = backend.wait(deadline, backend_events_);
    if (backend_events_.empty() && clock >= deadline) return queued;
  }
}

void Simulation::on_backend_event(const BackendEvent& event) {
  using Kind = BackendEvent::Kind;
  if (event.kind == Kind::Stop) {
    stop_reason_ = event.message.empty() ? "stopped by the backend" : event.message;
    return;
  }
  // event.replica is the public id; a stopped replica's reports change nothing.
  const std::uint32_t slot = slot_of(event.replica);
  if (slot == kNoReplica) return;
  Replica& rep = replicas_[slot];
  switch (event.kind) {
    case Kind::Spawned:
      if (rep.phase == ReplicaPhase::PullingImage) end_phase(slot);
      break;
    case Kind::WeightsLoaded:
      if (rep.phase == ReplicaPhase::LoadingWeights) end_phase(slot);
      break;
    case Kind::EngineStarted:
      if (rep.phase == ReplicaPhase::StartingEngine) end_phase(slot);
      break;
    case Kind::FirstToken:
    case Kind::LastToken: {
      if (event.request >= requests_.size()) break;
      Request& r = requests_[event.request];
      if (!r.live || r.replica != slot) break;  // ended already (cut off)
      // Outstanding tokens (the worker batches unseen): the prompt and the first token come off
      // at the first token (r.generated marks it), the rest at the last; complete() takes a
      // service-time request's 1.
      const bool llm = setup_.scenario.models[r.model].kind == ModelSpec::Kind::Llm;
      const std::int64_t first = std::int64_t{r.input_tokens} + std::min(r.output_tokens, 1u);
      if (event.kind == Kind::FirstToken) {
        r.first_token = now_;
        if (llm && r.generated == 0) {
          r.generated = 1;
          rep.queued_tokens -= first;
        }
        break;
      }
      if (llm) rep.queued_tokens -= std::int64_t{r.input_tokens} + r.output_tokens - (r.generated > 0 ? first : 0);
      complete(event.request, slot);
      after_request_left(rep, slot);
      break;
    }
    case Kind::ReplicaFailed:
      if (rep.phase != ReplicaPhase::Stopped) fail_replica(slot);
      break;
    case Kind::Stop: break;
  }
  route_load_changed(slot);  // (a token report changed its counts; a failed replica is no longer indexed)
}

// The request joins the replica's worker, which queues and batches it itself; the engine keeps
// the counts its policies read (outstanding, running, KV reserved) until the last token.
void Simulation::submit_to_backend(std::uint32_t id, Replica& rep) {
  const Request& r = requests_[id];
  rep.queued_tokens += request_tokens(serving_[r.model], r);
  if (rep.outstanding++ == 0) set_busy(rep, true);
  ++rep.running;
  rep.kv_final_blocks += rep.blocks(std::uint64_t{r.input_tokens} + r.output_tokens);
  BackendRequest request;
  request.id = id;
  request.serial = r.serial;
  request.input_tokens = r.input_tokens;
  request.output_tokens = r.output_tokens;
  request.arrival = r.arrival;
  request.adapter = r.adapter != kNoAdapter;
  setup_.backend->submit(rep.info, request);
}

}  // namespace fleetsim
