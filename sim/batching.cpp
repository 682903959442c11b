// Serving on a replica: LLM continuous batching — prefill steps (with chunked prefill, mixed
// steps of prompt chunks and decodes) whose requests the batching policy chooses, and decode
// stretches between two changes of the batch — and service-time models (a drawn duration per
// request, up to max_concurrency). The KV cache's blocks, admission and preemption are in
// sim/kv_blocks.cpp.
#include "sim/simulation.hpp"

#include <algorithm>
#include <cmath>

#include "sim/simulation_internal.hpp"

namespace fleetsim {

using namespace simulation_internal;

namespace {

constexpr double kProgressEpsilon = 1e-6;  // decode steps; absorbs float rounding

}  // namespace

// Prompt tokens the server computes for a request admitted now: its prompt (for a readmitted
// one, with the tokens it had generated) less what the prefix cache held — at least one token,
// which puts out the next token.
static double tokens_to_prefill(std::uint32_t input, std::uint32_t generated, std::uint32_t cached) {
  return std::max(1.0, static_cast<double>(input) + generated - cached);
}

// ---------------------------------------------------------------- LLM batching
//
// A request's prompt, as the server computes it: its input, plus for a request preempted and
// readmitted the tokens it had generated (recomputation). One prefill (or its last chunk) puts
// out one token; the rest are decode steps.

// The batching policy's answer about the request at the head of rep's queue, `step_requests`
// of them (with `step_tokens` tokens; chunked prefill: the step's decodes and prompt chunks)
// already in the step being formed.
BatchAdmission Simulation::ask_batching(const Replica& rep, const Request& r, std::uint32_t step_requests,
                                        double step_tokens) const {
  const ServingSpec& spec = serving_[rep.info.model];
  BatchState batch;
  batch.now = now_;
  batch.model = rep.info.model;
  batch.running = static_cast<std::uint32_t>(rep.running);
  batch.max_batch = static_cast<std::uint32_t>(spec.max_batch);
  batch.waiting = static_cast<std::uint32_t>(rep.waiting.size());
  batch.decoding = static_cast<std::uint32_t>(rep.decoding.size());
  batch.kv_reserved_tokens = static_cast<double>(rep.kv_final_blocks) * rep.kv_block_size;
  batch.kv_capacity_tokens = rep.kv_capacity();
  batch.step_requests = step_requests;
  batch.step_tokens = step_tokens;
  batch.max_prefill_tokens = spec.max_prefill_tokens;
  batch.chunked_prefill = spec.chunked_prefill;
  batch.kv_block_size = rep.kv_block_size;
  const WaitingRequest request{r.arrival, r.input_tokens + r.generated, r.output_tokens - r.generated,
                               r.adapter != kNoAdapter};
  return setup_.batching->admit(batch, request);
}

// Whether the request may join the batch now: a free batch slot, and room in the KV cache —
// at once when it fits beside what every admitted request holds at its longest (nothing can run
// out then); else, paged, when its prompt's blocks are free (sim/kv_blocks.cpp); reserve, not.
bool Simulation::admissible(const Replica& rep, const Request& r) const {
  const ServingSpec& spec = serving_[r.model];
  if (rep.running >= spec.max_batch) return false;
  if (rep.kv_final_blocks + rep.blocks(std::uint64_t{r.input_tokens} + r.output_tokens) <= rep.kv_blocks) return true;
  return spec.paged && kv_admits_prompt(rep, r);
}

// Whether the request at the head of rep's queue joins the step being formed: the server's
// hard limits (batch slots, KV blocks), then the batching policy, then its adapter resident
// (an adapter not yet resident starts loading, and the step ends there).
bool Simulation::head_joins(Replica& rep, std::uint32_t rep_id, std::uint32_t step_requests, double step_tokens) {
  const Request& r = requests_[rep.waiting.front()];
  if (extras_of(r).kv_arrived) return false;  // its KV is here: it joins without a prefill (disaggregation.cpp)
  if (!admissible(rep, r)) return false;
  if (ask_batching(rep, r, step_requests, step_tokens) == BatchAdmission::Stop) return false;
  return r.adapter == kNoAdapter || adapter_ready(rep, rep_id, r.adapter);
}

// The head of the queue joins the batch: it holds its prompt's blocks from now on. One that must
// wait for its offloaded blocks to load from the disk or the store first (loads_pending: kv_offload.cpp)
// waits in rep.loading instead of the prefill batch.
void Simulation::admit_head(Replica& rep) {
  const std::uint32_t id = rep.waiting.pop();
  Request& r = requests_[id];
  if (r.adapter != kNoAdapter)
    for (AdapterSlot& slot : holdings(rep).adapters)
      if (slot.adapter == r.adapter) ++slot.in_use, slot.last_used = now_;
  r.admitted = static_cast<std::uint32_t>(++rep.admissions);
  if (rep.sends_kv) kv_times(id).admitted = now_;  // (disaggregation.cpp's TTFT split)
  if (r.has_extras) extras(r).prefilled = extras(r).cached = 0;
  rep.prefill_batch.push_back(id);
  if (r.swapped) {
    swap_in(rep, r);
  } else if (const std::span<const std::uint64_t> full = cacheable_prefix(id); !full.empty()) {
    const ServingSpec& spec = serving_[r.model];
    std::size_t hit = holdings(rep).prefix.match(full);
    if (spec.kv_offload) {  // from the offload tiers (kv_offload.cpp)
      hit += load_offloaded(rep, id, full, hit);
      if (extras_of(r).loads_pending > 0) {  // it waits for them
        rep.prefill_batch.pop_back();
        rep.loading.push_back(id);
      }
    }
    holdings(rep).prefix.insert(full.first(hit));  // used now
    rep.prefix_used = true;
    const std::uint64_t prompt = std::uint64_t{r.input_tokens} + r.generated;
    const auto cached = static_cast<std::uint32_t>(std::min<std::uint64_t>(hit * spec.prefix_block_tokens, prompt - 1));
    if (cached > 0) extras(r).cached = cached;
    KvCounts& counts = kv_counts_[r.model];
    counts.prompt_tokens += prompt;
    counts.prefix_hit_tokens += cached;
  }
  ++rep.running;
  rep.kv_final_blocks += rep.blocks(std::uint64_t{r.input_tokens} + r.output_tokens);
  rep.prefill_blocks += rep.blocks(std::uint64_t{r.input_tokens} + r.generated);
}

// A request reached rep's queue (or its adapter became resident): start a step for it now if
// the replica is not in one that must end first. Without chunked prefill a prefill cuts into a
// decode stretch and pauses decoding (vLLM's scheduler without chunking); with it, a mixed
// step starts while there is token budget left beside the decodes.
void Simulation::llm_try_schedule(Replica& rep, std::uint32_t rep_id) {
  if (rep.step == BatchStepKind::Prefill || rep.step == BatchStepKind::Mixed || rep.step == BatchStepKind::Swap ||
      rep.step == BatchStepKind::Prefilled || rep.waiting.empty())
    return;
  if (rep.step_started > now_) {  // a prefill step ended ahead of its time is still running
    // Its end is an event again, as a prefill step's: the next step starts there (the decode
    // stretch scheduled from it is cancelled).
    rep.step = BatchStepKind::Prefilled;
    ++epoch_of(rep);
    schedule(rep.step_started, EventKind::BatchStep, rep_id, epoch_of(rep), prefetch_hint(rep.waiting.front()));
    return;
  }
  if (rep.takes_kv && take_transferred(rep, rep_id)) return;  // a KV cache arrived (disaggregation.cpp)
  const ServingSpec& spec = serving_[rep.info.model];
  if (spec.chunked_prefill) {
    const auto decodes = static_cast<std::uint32_t>(rep.decoding.size());
    if (decodes >= static_cast<std::uint32_t>(spec.max_prefill_tokens) || !head_joins(rep, rep_id, 0, decodes))
      return;
    if (rep.step == BatchStepKind::Decode) cut_decode(rep, rep_id);
    rep.step = BatchStepKind::Idle;
    next_step(rep, rep_id);
    return;
  }
  if (!head_joins(rep, rep_id, 0, 0)) return;
  if (rep.step == BatchStepKind::Decode) cut_decode(rep, rep_id);
  start_prefill(rep, rep_id);
}

// At a step boundary (rep.step is Idle): make room in the KV cache for the running requests'
// next tokens, then a prefill or mixed step if a request joins, else a decode stretch.
void Simulation::next_step(Replica& rep, std::uint32_t rep_id) {
  bool landed = false;  // requests whose offloaded blocks landed joined the prefill batch (kv_offload.cpp)
  if (rep.joins_at_step) {
    if (rep.takes_kv) join_transferred(rep);  // requests whose KV cache arrived (disaggregation.cpp)
    if (!rep.loading.empty()) landed = join_loaded(rep);
  }
  if (rep.kv_final_blocks > rep.kv_blocks) make_kv_room(rep, rep_id);  // (else nothing can run out)
  if (rep.swap_out_seconds > 0) {  // preempted requests' blocks go to host memory first
    rep.step = BatchStepKind::Swap;
    rep.step_started = now_;
    ++epoch_of(rep);
    schedule(now_ + ceil_ns(rep.swap_out_seconds), EventKind::BatchStep, rep_id, epoch_of(rep));
    rep.swap_out_seconds = 0;
    return;
  }
  if (rep.prefix_used && holdings(rep).prefix.size() > 0) trim_prefix_cache(rep);
  if (serving_[rep.info.model].chunked_prefill) {
    if (start_mixed_step(rep, rep_id)) return;
  } else if (landed || (!rep.waiting.empty() && head_joins(rep, rep_id, 0, 0))) {
    start_prefill(rep, rep_id);
    return;
  }
  if (!rep.decoding.empty()) schedule_decode(rep, rep_id);
}

// The decode stretch under way ends now, early: a prefill cuts in.
void Simulation::cut_decode(Replica& rep, std::uint32_t rep_id) {
  advance_decode(rep);
  if (!batch_observers_.empty())
    report_batch_step(rep, static_cast<std::uint32_t>(rep.decoding.size()), rep.progress - rep.decode_started_at);
  // Sequences whose last token is due this very instant finish before the prefill starts.
  complete_finished(rep, rep_id);
}

// Prefill runs as its own step and pauses decoding, as vLLM's default scheduler does when new
// requests are waiting (no chunking). The batching policy chooses which requests join the step;
// the head of the queue was admitted by the caller. Requests whose offloaded blocks landed
// (join_loaded) are in the step already; one admitted now that must wait for such loads is not
// (admit_head): with none left, decoding goes on.
void Simulation::start_prefill(Replica& rep, std::uint32_t rep_id) {
  double tokens = 0;
  if (rep.joins_at_step)  // (a replica whose requests may wait for offloaded blocks: kv_offload.cpp)
    for (std::uint32_t id : rep.prefill_batch) {
      const Request& r = requests_[id];
      tokens += tokens_to_prefill(r.input_tokens, r.generated, extras_of(r).cached);
    }
  while (!rep.waiting.empty()) {
    if (!rep.prefill_batch.empty() &&
        !head_joins(rep, rep_id, static_cast<std::uint32_t>(rep.prefill_batch.size()), tokens))
      break;
    const Request& r = requests_[rep.waiting.front()];
    admit_head(rep);
    if (const RequestExtras& x = extras_of(r); x.loads_pending == 0)
      tokens += tokens_to_prefill(r.input_tokens, r.generated, x.cached);
  }
  if (rep.joins_at_step && tokens == 0) {  // every request admitted waits for its loads (one computes >= 1 token)
    rep.step = BatchStepKind::Idle;
    if (!rep.decoding.empty()) schedule_decode(rep, rep_id);
    return;
  }
  rep.step = BatchStepKind::Prefill;
  rep.step_started = now_;
  rep.step_tokens = tokens;
  ++epoch_of(rep);
  // Time added to the step: blocks of swapped-out requests admitted, copied back (swap_in_seconds),
  // and the admitted requests' loads from the KV offload tiers (step_load_seconds).
  const SimTime end = now_ + ceil_ns(rep.perf->prefill_seconds(tokens) + rep.swap_in_seconds + rep.step_load_seconds);
  rep.swap_in_seconds = rep.step_load_seconds = 0;
  if (prefill_end_fuses(rep, end)) {
    fuse_prefill_end(rep, rep_id, end);
    return;
  }
  note_step_reads(rep, rep_id);
  schedule(end, EventKind::BatchStep, rep_id, epoch_of(rep), prefetch_hint(rep.prefill_batch.front()));
}

// Whether the prefill step just started, ending at `end`, may end now (fuse_prefill_end): what
// its end does then depends on nothing that can change before `end` but a request queued
// meanwhile (llm_try_schedule brings the end back as an event), and nothing reads the replica
// mid-step in a way it would change. Each of its requests goes on decoding after it, no cached
// prefix is involved, and the next step can only be the decode stretch (no request left waiting,
// no KV room to make, nothing to swap out or join).
bool Simulation::prefill_end_fuses(const Replica& rep, SimTime end) const {
  if (end > fuse_prefill_until_ || !rep.waiting.empty() || rep.sends_kv ||
      rep.joins_at_step || rep.prefix_used || rep.kv_final_blocks > rep.kv_blocks || rep.swap_out_seconds > 0)
    return false;
  for (const std::uint32_t id : rep.prefill_batch) {
    const Request& r = requests_[id];
    if (r.generated + 1 >= r.output_tokens || r.has_prefix) return false;
  }
  return true;
}

// A prefill step ended as it starts: its end (on_batch_step) done now, as of `end`, which
// schedules the decode stretch from there. Until `end` the replica is in that stretch with
// step_started later than now: decode progress stays where it is (progress_time is `end`), a
// request queued brings the step's end back as an event (llm_try_schedule), and routers and KV
// usage samples see its tokens and blocks as they were (routed_tokens, sample_kv_usage). It
// saves an event a request, and the replica's and the requests' lines read again at the step's
// end, a cache miss each at a fleet's scale.
void Simulation::fuse_prefill_end(Replica& rep, std::uint32_t rep_id, SimTime end) {
  BeforeFusedEnd& before = fused_before_[rep_id];
  const std::int64_t queued = rep.queued_tokens;
  before.decoding_tokens = rep.decoding_tokens;
  before.prefill_blocks = rep.prefill_blocks;
  before.context = rep.decoding.empty() ? 0 : rep.context;
  const SimTime now = now_;
  now_ = end;
  for (const std::uint32_t id : rep.prefill_batch) prefill_done(rep, rep_id, id);
  rep.prefill_batch.clear();
  rep.progress_time = now_;
  rep.step = BatchStepKind::Idle;
  next_step(rep, rep_id);
  now_ = now;
  before.queued_tokens_taken = queued - rep.queued_tokens;
}

// Chunked prefill (vLLM's scheduler with enable_chunked_prefill; Sarathi-Serve): one step
// carries every decoding sequence (a token each) and prompt chunks filling the rest of the
// token budget (max_prefill_tokens) — first the prompts already being prefilled, in admission
// order, then new requests the policy admits; the last may be cut into a chunk. False when the
// step would carry no prompt token (then decoding goes on in a stretch).
bool Simulation::start_mixed_step(Replica& rep, std::uint32_t rep_id) {
  const auto decodes = static_cast<std::uint32_t>(rep.decoding.size());
  double left = static_cast<double>(serving_[rep.info.model].max_prefill_tokens) - decodes;
  if (left <= 0) return false;
  double prompt = 0;
  std::uint32_t step_requests = 0;
  auto take_chunk = [&](Request& r) {
    RequestExtras& x = extras(r);
    const double remaining = tokens_to_prefill(r.input_tokens, r.generated, x.cached) - x.prefilled;
    x.chunk = static_cast<std::uint32_t>(std::min(remaining, left));
    prompt += x.chunk;
    left -= x.chunk;
    if (x.chunk > 0) ++step_requests;
  };
  for (std::uint32_t id : rep.prefill_batch) take_chunk(requests_[id]);
  while (left > 0 && !rep.waiting.empty() && head_joins(rep, rep_id, step_requests, decodes + prompt)) {
    const std::uint32_t id = rep.waiting.front();
    admit_head(rep);
    if (extras_of(requests_[id]).loads_pending == 0) take_chunk(requests_[id]);  // (else it waits in `loading`)
  }
  if (prompt == 0) return false;
  rep.step = BatchStepKind::Mixed;
  rep.step_started = now_;
  rep.step_tokens = prompt;
  rep.step_decodes = decodes;
  ++epoch_of(rep);
  note_step_reads(rep, rep_id);
  schedule(now_ + ceil_ns(rep.perf->mixed_step_seconds(prompt, decodes, rep.context) + rep.swap_in_seconds +
                          rep.step_load_seconds),
           EventKind::BatchStep, rep_id, epoch_of(rep),
           rep.prefill_batch.empty() ? 0 : prefetch_hint(rep.prefill_batch.front()));
  rep.swap_in_seconds = rep.step_load_seconds = 0;
  return true;
}

// A request's prompt is computed: its next token is out (the first one: its TTFT), and it
// decodes the rest, or ends.
void Simulation::prefill_done(Replica& rep, std::uint32_t rep_id, std::uint32_t id) {
  Request& r = requests_[id];
  rep.prefill_blocks -= rep.blocks(std::uint64_t{r.input_tokens} + r.generated);
  if (const std::span<const std::uint64_t> full = cacheable_prefix(id); !full.empty()) {
    holdings(rep).prefix.insert(full);  // its prompt's whole blocks stay cached
    rep.prefix_used = true;
  }
  // It leaves the queued tokens (its prompt, less the chunks taken off already, and its output);
  // decoding, it counts the output tokens still to come.
  const std::int64_t prompt = std::int64_t{r.input_tokens} + r.generated;
  rep.queued_tokens -=
      prompt - std::min<std::int64_t>(extras_of(r).prefilled, prompt) + (std::int64_t{r.output_tokens} - r.generated);
  if (r.generated == 0) r.first_token = now_;
  ++r.generated;
  if (r.generated >= r.output_tokens) {
    complete(id, rep_id);
    return;
  }
  if (rep.sends_kv) {  // a prefill pool's replica: it decodes elsewhere (disaggregation.cpp)
    send_kv(rep, rep_id, id);
    return;
  }
  rep.decoding.push_back(Sequence{rep.progress + (r.output_tokens - r.generated), id});
  std::push_heap(rep.decoding.begin(), rep.decoding.end(),
                 Sequence::After{});
  rep.decoding_tokens += r.output_tokens - r.generated;
  const double context = static_cast<double>(r.input_tokens) + r.generated;
  r.kv_base = context - rep.progress;
  add_kv_base(rep, r.kv_base);
  rep.context += context;
}

void Simulation::advance_decode(Replica& rep) {
  if (rep.decoding.empty()) return;
  const double batch = static_cast<double>(rep.decoding.size());
  double steps = rep.perf->decode_steps_in(to_seconds(now_ - rep.progress_time), batch, rep.context);
  steps = std::min(steps, rep.decode_target - rep.progress);
  rep.progress += steps;
  rep.context += batch * steps;
  rep.decoding_tokens -= batch * steps;
  rep.progress_time = now_;
}

void Simulation::complete_finished(Replica& rep, std::uint32_t rep_id) {
  while (!rep.decoding.empty() && rep.decoding.front().finish <= rep.progress + kProgressEpsilon) {
    std::pop_heap(rep.decoding.begin(), rep.decoding.end(),
                  Sequence::After{});
    std::uint32_t id = rep.decoding.back().request;
    rep.decoding_tokens -= rep.decoding.back().finish - rep.progress;  // ~0, or below (a step ran past)
    rep.decoding.pop_back();
    const Request& r = requests_[id];
    rep.context -= static_cast<double>(r.input_tokens) + r.output_tokens;
    add_kv_base(rep, -r.kv_base);
    complete(id, rep_id);
  }
  if (rep.decoding.empty())  // drop accumulated rounding
    rep.context = rep.decoding_tokens = rep.kv_base_sum = rep.kv_base_error = 0;
}

// Decoding until the next sequence finishes — or, in a paged KV cache that could fill, until
// the step that would need a block none is left for (then the newest request is preempted).
void Simulation::schedule_decode(Replica& rep, std::uint32_t rep_id) {
  const double batch = static_cast<double>(rep.decoding.size());
  rep.decode_target = rep.decoding.front().finish;
  if (rep.kv_final_blocks > rep.kv_blocks)  // (else nothing can run out)
    rep.decode_target = std::min(rep.decode_target, rep.progress + decode_steps_before_kv_full(rep));
  const double steps = rep.decode_target - rep.progress;
  rep.step = BatchStepKind::Decode;
  rep.step_started = now_;
  rep.decode_started_at = rep.progress;
  note_step_reads(rep, rep_id);
  ++epoch_of(rep);
  schedule(now_ + ceil_ns(rep.perf->decode_seconds(steps, batch, rep.context)), EventKind::BatchStep, rep_id,
           epoch_of(rep), prefetch_hint(rep.decoding.front().request));
}

void Simulation::on_batch_step(std::uint32_t rep_id) {
  Replica& rep = replicas_[rep_id];
  // The requests a prefill or mixed step ends, the queue's head the next step looks at and the
  // performance model that times it: each is read below, one after the other; ask for them all
  // at once (at a fleet's scale each is a cache miss; a null perf, service-time, is harmless).
  if (tables_out_of_cache()) {
    __builtin_prefetch(rep.perf);
    if (rep.step == BatchStepKind::Prefill || rep.step == BatchStepKind::Mixed)
      for (std::uint32_t id : rep.prefill_batch) prefetch_request(&requests_[id]);
    if (!rep.waiting.empty()) prefetch_request(&requests_[rep.waiting.front()]);
  }
  switch (rep.step) {
    case BatchStepKind::Prefill:
      if (!batch_observers_.empty())
        report_batch_step(rep, static_cast<std::uint32_t>(rep.prefill_batch.size()), rep.step_tokens);
      for (std::uint32_t id : rep.prefill_batch) prefill_done(rep, rep_id, id);
      rep.prefill_batch.clear();
      break;
    case BatchStepKind::Decode: {
      if (!batch_observers_.empty())
        report_batch_step(rep, static_cast<std::uint32_t>(rep.decoding.size()), rep.decode_target - rep.decode_started_at);
      const double batch = static_cast<double>(rep.decoding.size());
      rep.context += batch * (rep.decode_target - rep.progress);
      rep.decoding_tokens -= batch * (rep.decode_target - rep.progress);
      rep.progress = rep.decode_target;
      complete_finished(rep, rep_id);
      break;
    }
    case BatchStepKind::Mixed: {
      if (!batch_observers_.empty())
        report_batch_step(rep, static_cast<std::uint32_t>(rep.prefill_batch.size()) + rep.step_decodes, rep.step_tokens);
      ++kv_counts_[rep.info.model].chunked_steps;
      if (rep.step_decodes > 0) {  // every decoding sequence put out one token
        rep.context += rep.step_decodes;
        rep.decoding_tokens -= rep.step_decodes;
        rep.progress += 1;
        complete_finished(rep, rep_id);
      }
      std::size_t kept = 0;
      for (std::size_t i = 0; i < rep.prefill_batch.size(); ++i) {
        const std::uint32_t id = rep.prefill_batch[i];
        Request& r = requests_[id];
        RequestExtras& x = extras(r);
        const std::int64_t prompt = std::int64_t{r.input_tokens} + r.generated;  // the chunk's share of it
        rep.queued_tokens -=
            std::min<std::int64_t>(std::int64_t{x.prefilled} + x.chunk, prompt) - std::min<std::int64_t>(x.prefilled, prompt);
        x.prefilled += x.chunk;
        x.chunk = 0;
        if (x.prefilled >= tokens_to_prefill(r.input_tokens, r.generated, x.cached))
          prefill_done(rep, rep_id, id);
        else
          rep.prefill_batch[kept++] = id;
      }
      rep.prefill_batch.resize(kept);
      break;
    }
    case BatchStepKind::Swap:  // the copy is done: the blocks are free
    case BatchStepKind::Prefilled:  // (its requests were done with when it started)
    case BatchStepKind::Idle: break;
  }
  rep.progress_time = now_;
  rep.step = BatchStepKind::Idle;
  next_step(rep, rep_id);
  after_request_left(rep, rep_id);
}

// Only called with batch observers attached (the callers check), so a run without them
// builds no record.
void Simulation::report_batch_step(const Replica& rep, std::uint32_t sequences, double tokens) {
  BatchStepRecord step;
  step.replica = rep.info;
  step.start = rep.step_started;
  step.end = now_;
  step.prefill = rep.step != BatchStepKind::Decode;
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
    schedule(now_ + ceil_ns(seconds), EventKind::ServiceDone, rep_id, epoch_of(rep), id);
  }
}

void Simulation::on_service_done(std::uint32_t rep_id, std::uint32_t id) {
  Replica& rep = replicas_[rep_id];
  complete(id, rep_id);
  service_try_start(rep, rep_id);
  after_request_left(rep, rep_id);
}

}  // namespace fleetsim
