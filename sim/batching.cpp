// Serving on a replica: LLM continuous batching (prefill steps, chosen by the batching policy,
// and decode progress, KV admission) and service-time models (a drawn duration per request, up to max_concurrency).
#include "sim/simulation.hpp"

#include <algorithm>
#include <cmath>

#include "sim/simulation_internal.hpp"

namespace fleetsim {

using namespace simulation_internal;

namespace {

bool sequence_after(const auto& a, const auto& b) {  // min-heap order for std::push_heap
  return a.finish > b.finish || (a.finish == b.finish && a.request > b.request);
}

constexpr double kProgressEpsilon = 1e-6;  // decode steps; absorbs float rounding

}  // namespace

// ---------------------------------------------------------------- LLM batching

bool Simulation::admissible(const Replica& rep, const Request& r) const {
  const ModelSpec& spec = setup_.scenario.models[r.model];
  return rep.running < spec.max_batch &&
         rep.kv_reserved + r.input_tokens + r.output_tokens <= rep.kv_capacity;
}

// The batching policy's answer about the request at the head of rep's queue, `step_requests`
// of them (with `step_tokens` prompt tokens) already admitted to the prefill step being formed.
BatchAdmission Simulation::ask_batching(const Replica& rep, const Request& r, std::uint32_t step_requests,
                                        double step_tokens) const {
  const ModelSpec& spec = setup_.scenario.models[rep.info.model];
  BatchState batch;
  batch.now = now_;
  batch.model = rep.info.model;
  batch.running = static_cast<std::uint32_t>(rep.running);
  batch.max_batch = static_cast<std::uint32_t>(spec.max_batch);
  batch.waiting = static_cast<std::uint32_t>(rep.waiting.size());
  batch.decoding = static_cast<std::uint32_t>(rep.decoding.size());
  batch.kv_reserved_tokens = rep.kv_reserved;
  batch.kv_capacity_tokens = rep.kv_capacity;
  batch.step_requests = step_requests;
  batch.step_tokens = step_tokens;
  batch.max_prefill_tokens = spec.max_prefill_tokens;
  const WaitingRequest request{r.arrival, r.input_tokens, r.output_tokens, r.adapter != kNoAdapter};
  return setup_.batching->admit(batch, request);
}

// Whether the request at the head of rep's queue joins the prefill step being formed: the
// server's hard limits (batch slots, its whole KV need), then the batching policy, then its
// adapter resident (an adapter not yet resident starts loading, and the step ends there).
bool Simulation::head_joins(Replica& rep, std::uint32_t rep_id, double step_tokens) {
  const Request& r = requests_[rep.waiting.front()];
  if (!admissible(rep, r)) return false;
  if (ask_batching(rep, r, static_cast<std::uint32_t>(rep.prefill_batch.size()), step_tokens) ==
      BatchAdmission::Stop)
    return false;
  return r.adapter == kNoAdapter || adapter_ready(rep, rep_id, r.adapter);
}

void Simulation::llm_try_schedule(Replica& rep, std::uint32_t rep_id) {
  if (rep.step == BatchStepKind::Prefill || rep.waiting.empty()) return;
  rep.prefill_batch.clear();
  if (!head_joins(rep, rep_id, 0)) return;
  if (rep.step == BatchStepKind::Decode) {
    advance_decode(rep);
    if (!batch_observers_.empty())  // the decode stretch ends here: a prefill cuts in
      report_batch_step(rep, static_cast<std::uint32_t>(rep.decoding.size()),
                        rep.progress - rep.decode_started_at);
    // Sequences whose last token is due this very instant finish before the prefill starts.
    complete_finished(rep, rep_id);
  }
  start_prefill(rep, rep_id);
}

// Prefill runs as its own step and pauses decoding, as vLLM's default scheduler does when new
// requests are waiting (no chunking). The batching policy chooses which requests join the step;
// the head of the queue was admitted by llm_try_schedule. A request is admitted only if its
// whole KV need (prompt + output) fits, so a running sequence is never preempted.
void Simulation::start_prefill(Replica& rep, std::uint32_t rep_id) {
  rep.prefill_batch.clear();
  double tokens = 0;
  while (!rep.waiting.empty()) {
    const Request& r = requests_[rep.waiting.front()];
    if (!rep.prefill_batch.empty() && !head_joins(rep, rep_id, tokens)) break;
    if (r.adapter != kNoAdapter)
      for (AdapterSlot& slot : rep.adapters)
        if (slot.adapter == r.adapter) ++slot.in_use, slot.last_used = now_;
    tokens += r.input_tokens;
    rep.kv_reserved += static_cast<double>(r.input_tokens) + r.output_tokens;
    ++rep.running;
    rep.prefill_batch.push_back(rep.waiting.pop());
  }
  rep.step = BatchStepKind::Prefill;
  rep.step_started = now_;
  rep.step_tokens = tokens;
  ++rep.epoch;
  schedule(now_ + ceil_ns(rep.perf->prefill_seconds(tokens)), EventKind::BatchStep, rep_id,
           rep.epoch);
}

void Simulation::advance_decode(Replica& rep) {
  if (rep.decoding.empty()) return;
  const double batch = static_cast<double>(rep.decoding.size());
  double steps = rep.perf->decode_steps_in(to_seconds(now_ - rep.progress_time), batch, rep.context);
  steps = std::min(steps, rep.decoding.front().finish - rep.progress);
  rep.progress += steps;
  rep.context += batch * steps;
  rep.progress_time = now_;
}

void Simulation::complete_finished(Replica& rep, std::uint32_t rep_id) {
  while (!rep.decoding.empty() && rep.decoding.front().finish <= rep.progress + kProgressEpsilon) {
    std::pop_heap(rep.decoding.begin(), rep.decoding.end(),
                  [](const Sequence& a, const Sequence& b) { return sequence_after(a, b); });
    std::uint32_t id = rep.decoding.back().request;
    rep.decoding.pop_back();
    const Request& r = requests_[id];
    rep.context -= static_cast<double>(r.input_tokens) + r.output_tokens;
    complete(id, rep_id);
  }
  if (rep.decoding.empty()) rep.context = 0;  // drop accumulated rounding
}

void Simulation::schedule_decode(Replica& rep, std::uint32_t rep_id) {
  const double batch = static_cast<double>(rep.decoding.size());
  const double steps = rep.decoding.front().finish - rep.progress;
  rep.step = BatchStepKind::Decode;
  rep.step_started = now_;
  rep.decode_started_at = rep.progress;
  ++rep.epoch;
  schedule(now_ + ceil_ns(rep.perf->decode_seconds(steps, batch, rep.context)),
           EventKind::BatchStep, rep_id, rep.epoch);
}

void Simulation::on_batch_step(std::uint32_t rep_id) {
  Replica& rep = replicas_[rep_id];
  if (!batch_observers_.empty()) {
    if (rep.step == BatchStepKind::Prefill)
      report_batch_step(rep, static_cast<std::uint32_t>(rep.prefill_batch.size()), rep.step_tokens);
    else if (rep.step == BatchStepKind::Decode)
      report_batch_step(rep, static_cast<std::uint32_t>(rep.decoding.size()),
                        rep.decoding.front().finish - rep.decode_started_at);
  }
  if (rep.step == BatchStepKind::Prefill) {
    // First tokens come out of the prefill; the rest are decode steps.
    for (std::uint32_t id : rep.prefill_batch) {
      Request& r = requests_[id];
      r.first_token = now_;
      if (r.output_tokens <= 1) {
        complete(id, rep_id);
        continue;
      }
      rep.decoding.push_back(Sequence{rep.progress + (r.output_tokens - 1), id});
      std::push_heap(rep.decoding.begin(), rep.decoding.end(),
                     [](const Sequence& a, const Sequence& b) { return sequence_after(a, b); });
      rep.context += static_cast<double>(r.input_tokens) + 1;
    }
    rep.prefill_batch.clear();
  } else if (rep.step == BatchStepKind::Decode) {
    const double batch = static_cast<double>(rep.decoding.size());
    const double target = rep.decoding.front().finish;
    rep.context += batch * (target - rep.progress);
    rep.progress = target;
    complete_finished(rep, rep_id);
  }
  rep.progress_time = now_;
  rep.step = BatchStepKind::Idle;
  llm_try_schedule(rep, rep_id);
  if (rep.step == BatchStepKind::Idle && !rep.decoding.empty()) schedule_decode(rep, rep_id);
  after_request_left(rep, rep_id);
}

// Only called with batch observers attached (the callers check), so a run without them
// builds no record.
void Simulation::report_batch_step(const Replica& rep, std::uint32_t sequences, double tokens) {
  BatchStepRecord step;
  step.replica = rep.info;
  step.start = rep.step_started;
  step.end = now_;
  step.prefill = rep.step == BatchStepKind::Prefill;
  step.sequences = sequences;
  step.tokens = tokens;
  for (auto* o : batch_observers_) o->on_batch_step(step);
}

// ---------------------------------------------------------------- service-time models

void Simulation::service_try_start(Replica& rep, std::uint32_t rep_id) {
  const ModelSpec& spec = setup_.scenario.models[rep.info.model];
  ModelState& m = models_[rep.info.model];
  while (rep.running < spec.max_concurrency && !rep.waiting.empty()) {
    std::uint32_t id = rep.waiting.pop();
    ++rep.running;
    const Distribution& d = spec.service_time;
    double seconds = 0;
    switch (d.kind) {
      case Distribution::Kind::Fixed: seconds = d.a; break;
      case Distribution::Kind::Uniform: seconds = m.service_rng.uniform(d.a, d.b); break;
      case Distribution::Kind::Lognormal:
        seconds = m.service_rng.lognormal(std::log(d.a), d.b);
        break;
      case Distribution::Kind::Exponential: seconds = m.service_rng.exponential(d.a); break;
    }
    if (d.max > 0) seconds = std::min(seconds, d.max);
    schedule(now_ + ceil_ns(seconds), EventKind::ServiceDone, rep_id, rep.epoch, id);
  }
}

void Simulation::on_service_done(std::uint32_t rep_id, std::uint32_t id) {
  Replica& rep = replicas_[rep_id];
  complete(id, rep_id);
  service_try_start(rep, rep_id);
  after_request_left(rep, rep_id);
}

}  // namespace fleetsim
