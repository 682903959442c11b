// Disaggregated prefill and decode (Splitwise, Patel et al., ISCA 2024; DistServe, Zhong et al.,
// OSDI 2024): a model served by a prefill pool and a decode pool. A request is prefilled on a
// prefill replica, which puts out its first token; its KV cache (prompt tokens × the model's
// KV bytes per token) then moves to a decode replica, where it joins the decode batch without a
// prefill and decodes the rest. The two pools are two models to the engine (the loader makes
// "<name>/decode", ModelSpec::Role), each placed, autoscaled and routed to as any model is, so
// scale to zero and cold starts work for each: a request whose prefill ends while the decode
// pool has no ready replica waits in the decode pool's buffer, as an arrival would.
//
// The move is a transfer on the shared links (sim/transfers.hpp): over the node's NVLink link
// when both replicas share a node, else over both nodes' network links (the ones image pulls
// and weight loads use), capped per transfer at the model's network bandwidth for KV. It starts
// when the decode pool's router has picked the replica; the replica counts it as outstanding
// from then on (the router sees it, and a draining replica waits for it).
//
// Where we differ from the systems: the prefill replica's KV blocks are freed at the first
// token (a real prefill instance holds them until the transfer ends, Splitwise §4.2); the
// transfer is one block of bytes after the prefill, not layer by layer overlapped with it
// (Splitwise's optimisation); and the decode pool's weights are a model of their own to the
// node caches.
#include "sim/simulation.hpp"

#include <algorithm>

#include "sim/simulation_internal.hpp"

namespace fleetsim {

using namespace simulation_internal;

// Only a scenario with a disaggregated model gets NVLink links (so every other scenario's links,
// and with them its results, stay as they were).
void Simulation::set_up_disaggregation() {
  const Scenario& sc = setup_.scenario;
  double nvlink = 0;
  bool any = false;
  for (const ModelSpec& m : sc.models)
    if (m.role != ModelSpec::Role::Colocated) any = true, nvlink = std::max(nvlink, m.kv_nvlink_bandwidth);
  if (!any) return;
  kv_transfer_counts_.resize(sc.models.size());
  // One NVLink domain per node, as fast as the fastest model asks (each transfer is also capped
  // at its own model's figure).
  for (std::size_t n = 0; n < cluster_.size(); ++n) node_nvlink_link_.push_back(network_.add_link(nvlink));
}

// A prefill replica's request put out its first token and has more to come: it leaves the
// replica (as complete() would take it off, without ending) for the decode pool.
void Simulation::send_kv(Replica& rep, std::uint32_t, std::uint32_t id) {
  Request& r = requests_[id];
  rep.kv_final_blocks -= rep.blocks(std::uint64_t{r.input_tokens} + r.output_tokens);
  --rep.running;
  --rep.outstanding;  // (the batch step's end calls after_request_left)
  --models_[r.model].in_flight;
  extras(r).kv_node = rep.info.node;
  r.replica = kNoReplica;
  const std::uint32_t decode = setup_.scenario.models[r.model].partner;
  change_concurrency(r.model, -1);
  r.model = decode;
  change_concurrency(decode, +1);
  ModelState& m = models_[decode];
  if (m.wake_on_arrival) {
    m.wake_on_arrival = false;
    request_evaluation(decode, now_);
  }
  hand_to_decode(id);
}

// The decode pool's router picks a replica for the KV (route() starts the transfer), or with
// none ready the request waits in the pool's buffer and a replica is asked for.
void Simulation::hand_to_decode(std::uint32_t id) {
  Request& r = requests_[id];
  ModelState& m = models_[r.model];
  if (!m.ready.empty()) {
    route(id);
    return;
  }
  if (m.buffer.size() >= setup_.scenario.buffer_limit) {
    finish_request(id, RequestOutcome::Rejected);
    return;
  }
  // The buffer's time series count it in (and out again through on_request_dispatched).
  for (auto* o : observers_) o->on_request_requeued(now_, r.model, true);
  r.waited = true;
  m.buffer.push(id);
  if (m.buffer.size() == 1) arm_buffer_timer(r.model);
  if (starting_.empty(r.model)) request_evaluation(r.model, now_);
}

// The router chose decode replica `rep_id` for a request whose KV waits on its prefill node.
void Simulation::start_kv_transfer(std::uint32_t id, std::uint32_t rep_id) {
  Request& r = requests_[id];
  Replica& rep = replicas_[rep_id];
  const ModelSpec& spec = setup_.scenario.models[r.model];
  if (rep.blocks(std::uint64_t{r.input_tokens} + r.output_tokens) > rep.kv_blocks) {  // as enqueue()
    finish_request(id, RequestOutcome::TooLong);
    return;
  }
  if (rep.waiting.size() >= setup_.scenario.queue_limit) {
    finish_request(id, RequestOutcome::Rejected);
    return;
  }
  ++models_[r.model].in_flight;
  if (rep.outstanding++ == 0) set_busy(rep, true);
  extras(r).kv_to = rep_id;
  extras(r).kv_to_id = rep.info.id;
  kv_times(id).sent = now_;
  const double bytes = static_cast<double>(r.input_tokens) * spec.kv_bytes_per_token;
  KvTransferCounts& counts = kv_transfer_counts_[spec.partner];
  ++counts.transfers;
  counts.bytes += bytes;
  const std::uint32_t from = extras_of(r).kv_node, to = rep.info.node;
  if (from == to) ++counts.same_node;
  route_load_changed(rep_id);  // it counts as outstanding there from now on
  if (bytes <= 0) {
    on_kv_transfer_done(id);
    return;
  }
  if (from == to)
    start_transfer(kKvOwner + id, bytes, spec.kv_nvlink_bandwidth, {node_nvlink_link_[to]}, TransferNetwork::kNone);
  else
    start_transfer(kKvOwner + id, bytes, spec.kv_network_bandwidth, {node_network_link_[from], node_network_link_[to]},
                   TransferNetwork::kNone);
}

// The KV cache is on the decode replica: the request queues there, marked to join the decode
// batch without a prefill. Its replica counts it as outstanding already (since the transfer
// began). If that replica failed meanwhile, the decode pool is asked again.
void Simulation::on_kv_transfer_done(std::uint32_t id) {
  Request& r = requests_[id];
  const ModelSpec& spec = setup_.scenario.models[r.model];
  kv_transfer_counts_[spec.partner].transfer_seconds.add(to_seconds(now_ - kv_times(id).sent));
  if (slot_of(extras_of(r).kv_to_id) != extras_of(r).kv_to) {
    --models_[r.model].in_flight;
    extras(r).kv_to = extras(r).kv_to_id = kNoReplica;
    hand_to_decode(id);
    return;
  }
  RequestExtras& x = extras(r);
  const std::uint32_t rep_id = x.kv_to;
  Replica& rep = replicas_[rep_id];
  x.kv_node = 0xFFFFFFFFu;
  x.kv_to = x.kv_to_id = kNoReplica;
  x.kv_arrived = true;
  kv_times(id).landed = now_;
  r.replica = rep_id;
  rep.waiting.push(id);
  rep.queued_tokens += request_tokens(serving_[r.model], r);
  llm_try_schedule(rep, rep_id);
  route_load_changed(rep_id);
}

// From llm_try_schedule (no prefill or mixed step under way, a request waiting): a request at
// the head whose KV has arrived joins the batch now, cutting the decode stretch under way.
// False when the head is not such a request or does not fit (the caller goes on as usual).
bool Simulation::take_transferred(Replica& rep, std::uint32_t rep_id) {
  const Request& head = requests_[rep.waiting.front()];
  if (!extras_of(head).kv_arrived || !admissible(rep, head)) return false;
  if (rep.step == BatchStepKind::Decode) cut_decode(rep, rep_id);
  rep.step = BatchStepKind::Idle;
  rep.progress_time = now_;
  next_step(rep, rep_id);  // joins it (join_transferred), then decodes
  return true;
}

// At a step boundary of a decode replica: the requests at the head of its queue whose KV has
// arrived join the decode batch while they fit, each as a prefill's end adds a request
// (prefill_done: its blocks, outstanding tokens and decode sequence), without the prefill. Its
// first token is out already: it is admitted as the request it was before that token, and
// prefill_done counts the token again (the time it came out is kept).
void Simulation::join_transferred(Replica& rep) {
  const std::uint32_t rep_id = rep.info.slot;
  while (!rep.waiting.empty()) {
    const std::uint32_t id = rep.waiting.front();
    Request& r = requests_[id];
    if (!extras_of(r).kv_arrived || !admissible(rep, r)) return;
    const SimTime first_token = r.first_token;
    extras(r).kv_arrived = false;
    --r.generated;
    admit_head(rep);  // a batch slot, its blocks (prompt now, prompt + output at its longest)
    rep.prefill_batch.pop_back();
    prefill_done(rep, rep_id, id);
    r.first_token = first_token;
    kv_times(id).joined = now_;
    extras(r).kv_moved = true;
  }
}

// A completed request of a disaggregated model: where its time to decode went.
void Simulation::count_kv_components(std::uint32_t id) {
  const Request& r = requests_[id];
  const KvTimes& t = kv_times(id);
  KvTransferCounts& counts = kv_transfer_counts_[reported_model(r.model)];
  counts.queue.add(to_seconds(t.admitted - r.arrival));
  counts.prefill.add(to_seconds(r.first_token - t.admitted));
  counts.transfer.add(to_seconds(t.landed - r.first_token));
  counts.decode_wait.add(to_seconds(t.joined - t.landed));
}

}  // namespace fleetsim
