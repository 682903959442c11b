// Requests between arrival and end: the buffer that holds them while a model has no ready
// replica (Knative's activator) and its timeout, the router's pick among ready replicas, the
// replica queue, completion, and each model's concurrency (what autoscalers read).
#include "sim/simulation.hpp"

#include <algorithm>
#include <cmath>
#include <string>

namespace fleetsim {

namespace {

constexpr std::size_t kMaxIdlePeriods = 4096;  // idle periods kept between two evaluations

}  // namespace

void Simulation::change_concurrency(std::uint32_t model, int delta) {
  ModelState& m = models_[model];
  m.concurrency_integral += m.concurrency * to_seconds(now_ - m.integral_time);
  m.integral_time = now_;
  const bool was_idle = m.concurrency == 0;
  m.concurrency += delta;
  if (was_idle && m.concurrency > 0) {
    // Bounded: an autoscaler evaluated rarely (fixed) must not make this grow with the run.
    if (m.had_request && m.idle_periods.size() < kMaxIdlePeriods) m.idle_periods.push_back(now_ - m.idle_since);
    m.had_request = true;
    m.idle_since = kNever;
  } else if (!was_idle && m.concurrency == 0) {
    m.idle_since = now_;
  }
}

void Simulation::dispatch_or_buffer(std::uint32_t id) {
  Request& r = requests_[id];
  ModelState& m = models_[r.model];
  if (!m.ready.empty()) {
    for (auto* o : observers_) o->on_request_arrived(now_, r.model, false);
    route(id);
    return;
  }
  if (m.buffer.size() >= setup_.scenario.buffer_limit) {
    // The buffer is full (the model is far behind its load): refuse rather than grow without
    // bound. A replica is already coming: the first buffered request asked for one.
    for (auto* o : observers_) o->on_request_arrived(now_, r.model, false);
    finish_request(id, RequestOutcome::Rejected);
    return;
  }
  for (auto* o : observers_) o->on_request_arrived(now_, r.model, true);
  // No ready replica: wait in the buffer (Knative's activator) and make sure one is coming.
  r.waited = true;
  m.buffer.push(id);
  if (m.buffer.size() == 1) arm_buffer_timer(r.model);
  if (starting_.empty(r.model)) request_evaluation(r.model, now_);
}

// One ready replica as the router sees it for this request.
RouteCandidate Simulation::route_candidate(const Replica& rep, const Request& r,
                                           std::span<const std::uint64_t> prefix) const {
  RouteCandidate c{rep.info.id, rep.outstanding, rep.running, r.adapter != kNoAdapter && holds_adapter(rep, r.adapter),
                   routed_tokens(rep)};
  if (!prefix.empty()) {
    const ServingSpec& spec = serving_[r.model];
    const std::size_t hit = holdings(rep).prefix.match(prefix);
    c.prefix_hit_tokens = static_cast<std::uint32_t>(hit) * static_cast<std::uint32_t>(spec.prefix_block_tokens);
    if (spec.kv_offload)  // the blocks after those, in the offload tiers (kv_offload.cpp)
      c.offload_hit_tokens = static_cast<std::uint32_t>(offload_match(rep, prefix, hit)) *
                             static_cast<std::uint32_t>(spec.prefix_block_tokens);
  }
  return c;
}

// A replica joins / leaves its model's ready list, and the route index while the model is in it:
// a model enters the index at setup_.route_index_from ready replicas (all of them join) and
// leaves it under half as many (all leave), so that a model hovering at the threshold does not
// rebuild its trees at each change. The index's ranks are the ready list's positions (ready_at_).
void Simulation::add_ready(std::uint32_t slot) {
  const Replica& rep = replicas_[slot];
  const std::uint32_t model = rep.info.model;
  ModelState& m = models_[model];
  const auto at = std::lower_bound(m.ready.begin(), m.ready.end(), rep.info.id,
                                   [&](std::uint32_t s, std::uint32_t id) { return replicas_[s].info.id < id; }) -
                  m.ready.begin();
  m.ready.insert(m.ready.begin() + at, slot);
  routed_outstanding_[slot] = rep.outstanding;
  // The replicas after it moved one down. (A join or a leave is rare beside the requests
  // routed, each of which would otherwise search the list: a mispredicted branch a step.)
  for (auto i = static_cast<std::size_t>(at); i < m.ready.size(); ++i) ready_at_[m.ready[i]] = static_cast<std::uint32_t>(i);
  auto index = [&](std::uint32_t s) {
    const Replica& r = replicas_[s];
    route_index_.insert(model, ready_at_[s], s, r.outstanding, r.outstanding_tokens());
  };
  if (m.indexed) {
    index(slot);
  } else if (m.ready.size() >= setup_.route_index_from && (route_index_.keeps_outstanding() || route_index_.keeps_tokens())) {
    m.indexed = true;
    for (std::uint32_t s : m.ready) index(s);
  }
}

void Simulation::remove_ready(std::uint32_t slot) {
  const std::uint32_t model = replicas_[slot].info.model;
  ModelState& m = models_[model];
  const std::uint32_t at = ready_at_[slot];
  m.ready.erase(m.ready.begin() + at);
  for (std::size_t i = at; i < m.ready.size(); ++i) ready_at_[m.ready[i]] = static_cast<std::uint32_t>(i);
  ready_at_[slot] = kNotReady;
  if (!m.indexed) return;
  route_index_.erase(model, at);
  if (m.ready.size() < setup_.route_index_from / 2) {
    m.indexed = false;
    route_index_.clear(model);
    for (std::uint32_t s : m.ready) routed_outstanding_[s] = replicas_[s].outstanding;  // scanned from now on
  }
}

// What a route_ready() router reads: the ready list by position, built on demand, and the route
// index's least loaded (a scan when the router did not ask for that order).
class Simulation::ReadyView final : public ReadyReplicas {
 public:
  ReadyView(const Simulation& sim, std::uint32_t request)
      : sim_(sim), r_(sim.requests_[request]), ready_(sim.models_[r_.model].ready),
        indexed_(sim.models_[r_.model].indexed), prefix_(sim.cacheable_prefix(request)) {}
  std::size_t size() const override { return ready_.size(); }
  RouteCandidate candidate(std::size_t i) const override {
    return sim_.route_candidate(sim_.replicas_[ready_[i]], r_, prefix_);
  }
  std::size_t fewest_outstanding() const override {
    if (indexed_ && sim_.route_index_.keeps_outstanding()) return position(sim_.route_index_.fewest_outstanding(r_.model));
    return scan([this](std::uint32_t slot) { return sim_.routed_outstanding_[slot]; });
  }
  std::size_t fewest_tokens() const override {
    if (indexed_ && sim_.route_index_.keeps_tokens()) return position(sim_.route_index_.fewest_tokens(r_.model));
    return scan([this](std::uint32_t slot) { return sim_.routed_tokens(sim_.replicas_[slot]); });
  }

 private:
  // The index's pick by its position in the ready list. The request is most likely queued
  // there next: at a fleet's scale its replica starts loading while the position is read.
  std::size_t position(RouteIndex::Pick pick) const {
    if (sim_.tables_out_of_cache()) __builtin_prefetch(&sim_.replicas_[pick.slot]);
    return pick.rank;
  }
  template <class Load>
  std::size_t scan(Load load) const {
    std::size_t best = 0;
    for (std::size_t i = 1; i < ready_.size(); ++i)
      if (load(ready_[i]) < load(ready_[best])) best = i;
    return best;
  }
  const Simulation& sim_;
  const Request& r_;
  const std::vector<std::uint32_t>& ready_;
  bool indexed_;  // the model is in the route index (else: a scan)
  std::span<const std::uint64_t> prefix_;
};

void Simulation::route(std::uint32_t id) {
  Request& r = requests_[id];
  ModelState& m = models_[r.model];
  const RouteRequest request{r.model, r.input_tokens, r.output_tokens, r.adapter};
  std::size_t pick = 0;
  if (router_reads_ != kReadsCandidates) {  // the router reads the indexed view
    pick = setup_.router->route_ready(ReadyView(*this, id), request);
  } else {  // every ready replica, built
    const std::span<const std::uint64_t> prefix = cacheable_prefix(id);
    candidates_.clear();
    for (std::uint32_t rep : m.ready) candidates_.push_back(route_candidate(replicas_[rep], r, prefix));
    pick = setup_.router->route(candidates_, request);
  }
  if (pick >= m.ready.size())
    throw PolicyError{"router policy '" + setup_.scenario.router.impl + "' returned index " +
                      std::to_string(pick) + " for " + std::to_string(m.ready.size()) +
                      " candidates"};
  if (extras_of(r).kv_node != 0xFFFFFFFFu) {  // a decode pool's request: its KV moves there first
    start_kv_transfer(id, m.ready[pick]);
    return;
  }
  enqueue(id, m.ready[pick]);
}

void Simulation::enqueue(std::uint32_t id, std::uint32_t rep_id) {
  Request& r = requests_[id];
  Replica& rep = replicas_[rep_id];
  set_dispatched(r, now_);
  const ServingSpec& spec = serving_[r.model];
  if (spec.llm &&
      rep.blocks(std::uint64_t{r.input_tokens} + r.output_tokens) > rep.kv_blocks) {
    finish_request(id, RequestOutcome::TooLong);
    return;
  }
  if (rep.waiting.size() >= setup_.scenario.queue_limit) {  // overloaded: refuse, stay bounded
    finish_request(id, RequestOutcome::Rejected);
    return;
  }
  ++models_[r.model].in_flight;
  r.replica = rep_id;
  if (setup_.backend) {  // real mode: the replica's worker queues and batches it
    submit_to_backend(id, rep);
  } else {
    rep.waiting.push(id);
    rep.queued_tokens += request_tokens(spec, r);
    if (rep.outstanding++ == 0) set_busy(rep, true);
    if (spec.llm)
      llm_try_schedule(rep, rep_id);
    else
      service_try_start(rep, rep_id);
  }
  route_load_changed(rep_id);
}

void Simulation::finish_request(std::uint32_t id, RequestOutcome outcome) {
  Request& r = requests_[id];
  // A request that ends while still in the buffer (timeout, cut-off) waited until its end.
  if (r.waited && dispatched_of(r) == r.arrival && outcome != RequestOutcome::Completed) set_dispatched(r, now_);
  change_concurrency(r.model, -1);
  const SimTime dispatched = dispatched_of(r);
  RequestResult result;
  result.serial = r.serial;
  result.model = reported_model(r.model);  // a disaggregated model's requests: under its name
  if (extras_of(r).kv_moved && outcome == RequestOutcome::Completed) count_kv_components(id);
  result.input_tokens = r.input_tokens;
  result.output_tokens = r.output_tokens;
  result.outcome = outcome;
  result.arrival = r.arrival;
  result.dispatched = dispatched;
  result.first_token = r.first_token;
  result.end = now_;
  result.waited_for_replica = r.waited && dispatched > r.arrival;
  result.replica = public_id(r.replica);
  for (auto* o : observers_) o->on_request_end(result);
  r.live = false;
  --live_requests_;
  last_request_end_ = now_;
  free_requests_.push_back(id);
}

// What a request adds to its replica's outstanding tokens when it joins: its prompt and its
// output (LLM), or 1 (a service-time model's request has no tokens).
std::int64_t Simulation::request_tokens(const ServingSpec& spec, const Request& r) {
  return spec.llm ? std::int64_t{r.input_tokens} + r.output_tokens : 1;
}

// An LLM request's tokens have left the count by now (at its prefill's end and its last decode
// step, sim/batching.cpp; in real mode at its reported tokens); a service-time request's 1 goes
// here.
void Simulation::complete(std::uint32_t id, std::uint32_t rep_id) {
  Replica& rep = replicas_[rep_id];
  Request& r = requests_[id];
  if (!serving_[r.model].llm) {
    r.first_token = now_;
    rep.queued_tokens -= 1;
  }
  if (rep.perf) rep.kv_final_blocks -= rep.blocks(std::uint64_t{r.input_tokens} + r.output_tokens);
  if (r.adapter != kNoAdapter)  // (the adapters' vector lies past the replica's hot lines)
    for (AdapterSlot& slot : holdings(rep).adapters)
      if (slot.adapter == r.adapter) --slot.in_use;
  --rep.running;
  --rep.outstanding;
  --models_[r.model].in_flight;
  finish_request(id, RequestOutcome::Completed);
}

void Simulation::after_request_left(Replica& rep, std::uint32_t rep_id) {
  if (rep.outstanding > 0) return;
  set_busy(rep, false);
  if (rep.phase == ReplicaPhase::Draining) stop(rep_id);
}

void Simulation::set_busy(Replica& rep, bool busy) {
  for (auto* o : observers_) o->on_replica_busy(now_, rep.info, busy);
}

std::string Simulation::routing_tokens_violation(bool recount) const {
  constexpr int kRecountUpTo = 64;  // requests on a replica: bounds the checker's cost per call
  for (const Replica& rep : replicas_) {
    if (rep.phase == ReplicaPhase::Stopped) continue;
    const double tokens = rep.outstanding_tokens();
    const double slack = 1e-6 * (1 + std::abs(rep.decoding_tokens));  // (queued_tokens is exact)
    auto violation = [&](const std::string& what) {
      return "replica " + std::to_string(rep.info.id) + " counts " + std::to_string(tokens) +
             " outstanding tokens with " + std::to_string(rep.outstanding) + " requests" + what;
    };
    if (tokens < -slack || (rep.outstanding == 0 && std::abs(tokens) > slack)) return violation("");
    // Real mode's worker holds its requests; a service-time model's running ones are events.
    if (!recount || setup_.backend || rep.outstanding > kRecountUpTo) continue;
    double expected = 0;
    if (setup_.scenario.models[rep.info.model].kind == ModelSpec::Kind::ServiceTime) {
      expected = static_cast<double>(rep.waiting.size()) + rep.running;
    } else {
      // Waiting: its prompt (input + generated: recomputed after a preemption) and the output
      // after it. Prefilling: less the prompt chunks computed so far.
      rep.waiting.for_each([&](std::uint32_t id) {
        expected += static_cast<double>(requests_[id].input_tokens) + requests_[id].output_tokens;
      });
      for (std::uint32_t id : rep.prefill_batch) {
        const Request& r = requests_[id];
        const double prompt = static_cast<double>(r.input_tokens) + r.generated;
        expected += prompt - std::min<double>(extras_of(r).prefilled, prompt) + (r.output_tokens - r.generated);
      }
      for (std::uint32_t id : rep.loading)  // (KV offload: admitted, nothing computed yet)
        expected += static_cast<double>(requests_[id].input_tokens) + requests_[id].output_tokens;
      for (const Sequence& s : rep.decoding) expected += s.finish - rep.progress;
    }
    if (std::abs(expected - tokens) > slack) return violation(", its requests have " + std::to_string(expected));
  }
  return recount ? route_index_violation() : "";
}

// The ready and starting lists' order (and the ready positions) and the route index against the replicas (between
// events, when every handler has updated them): every ready replica indexed with its counts as they are, and each
// model's least loaded the one a scan of its ready list finds.
std::string Simulation::route_index_violation() const {
  std::vector<std::size_t> starting_count(models_.size(), 0);  // per model: its replicas in a starting phase
  for (const Replica& rep : replicas_)
    if (rep.phase < ReplicaPhase::Ready) ++starting_count[rep.info.model];
  for (std::uint32_t model = 0; model < models_.size(); ++model) {
    const ModelState& m = models_[model];
    for (std::size_t i = 0; i < m.ready.size(); ++i)
      if ((i > 0 && replicas_[m.ready[i - 1]].info.id >= replicas_[m.ready[i]].info.id) || ready_at_[m.ready[i]] != i)
        return "model " + std::to_string(model) + "'s ready list is out of order or its positions out of step";
    const std::vector<std::uint32_t> start_order = starting_.list(model);
    bool in_order = start_order.size() == starting_count[model] && starting_.size(model) == starting_count[model] &&
                    (start_order.empty() || starting_.back(model) == start_order.back());
    for (std::size_t i = 0; in_order && i < start_order.size(); ++i) {
      const Replica& rep = replicas_[start_order[i]];
      in_order = rep.info.model == model && rep.phase < ReplicaPhase::Ready &&
                 (i == 0 || replicas_[start_order[i - 1]].info.id < rep.info.id);
    }
    if (!in_order) return "model " + std::to_string(model) + "'s starting list is not its starting replicas by id";
  }
  std::size_t ready_total = 0, positioned = 0;
  for (const ModelState& m : models_) ready_total += m.ready.size();
  for (std::uint32_t at : ready_at_) positioned += at != kNotReady;
  if (positioned != ready_total) return "a replica not ready has a ready position";
  for (const ModelState& m : models_)
    for (std::uint32_t slot : m.ready)
      if (!m.indexed && routed_outstanding_[slot] != replicas_[slot].outstanding)
        return "replica " + std::to_string(replicas_[slot].info.id) + "'s outstanding requests as routers read them are " +
               std::to_string(routed_outstanding_[slot]) + ", it has " + std::to_string(replicas_[slot].outstanding);
  if (!route_index_.keeps_outstanding() && !route_index_.keeps_tokens()) return "";
  for (std::uint32_t model = 0; model < models_.size(); ++model) {
    const std::vector<std::uint32_t>& ready = models_[model].ready;
    if (!models_[model].indexed) {  // scanned: none of its replicas in the index
      if (route_index_.size(model) != 0) return "route index: model " + std::to_string(model) + " indexed, it should not be";
      continue;
    }
    if (route_index_.size(model) != ready.size())
      return "route index: model " + std::to_string(model) + " has " + std::to_string(route_index_.size(model)) +
             " replicas, " + std::to_string(ready.size()) + " ready";
    std::size_t fewest = 0, least = 0;
    for (std::uint32_t i = 0; i < ready.size(); ++i) {
      const Replica& rep = replicas_[ready[i]];
      const std::string who = "route index: replica " + std::to_string(rep.info.id);
      if (route_index_.slot(model, i) != ready[i]) return who + " is not at its ready position";
      if (route_index_.keeps_outstanding() && route_index_.outstanding_key(model, i) != rep.outstanding)
        return who + " indexed with " + std::to_string(route_index_.outstanding_key(model, i)) +
               " outstanding requests, has " + std::to_string(rep.outstanding);
      if (route_index_.keeps_tokens() && !(route_index_.tokens_key(model, i) == rep.outstanding_tokens()))
        return who + " indexed with " + std::to_string(route_index_.tokens_key(model, i)) +
               " outstanding tokens, has " + std::to_string(rep.outstanding_tokens());
      if (rep.outstanding < replicas_[ready[fewest]].outstanding) fewest = i;
      if (rep.outstanding_tokens() < replicas_[ready[least]].outstanding_tokens()) least = i;
    }
    if (ready.empty()) continue;
    auto is = [&](RouteIndex::Pick pick, std::size_t at) { return pick.rank == at && pick.slot == ready[at]; };
    if (route_index_.keeps_outstanding() && !is(route_index_.fewest_outstanding(model), fewest))
      return "route index: model " + std::to_string(model) + "'s fewest outstanding is not a scan's";
    if (route_index_.keeps_tokens() && !is(route_index_.fewest_tokens(model), least))
      return "route index: model " + std::to_string(model) + "'s fewest tokens is not a scan's";
  }
  return "";
}

void Simulation::arm_buffer_timer(std::uint32_t model) {
  ModelState& m = models_[model];
  ++m.buffer_epoch;
  if (m.buffer.empty()) return;
  SimTime deadline = requests_[m.buffer.front()].arrival + setup_.scenario.request_timeout;
  schedule(std::max(deadline, now_), EventKind::BufferTimeout, model, m.buffer_epoch);
}

void Simulation::on_buffer_timeout(std::uint32_t model) {
  ModelState& m = models_[model];
  const SimTime timeout = setup_.scenario.request_timeout;
  while (!m.buffer.empty() && requests_[m.buffer.front()].arrival + timeout <= now_) {
    for (auto* o : observers_) o->on_request_dispatched(now_, model);
    finish_request(m.buffer.pop(), RequestOutcome::TimedOut);
  }
  arm_buffer_timer(model);
}

}  // namespace fleetsim
