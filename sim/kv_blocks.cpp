// The paged KV cache of an LLM replica (vLLM's PagedAttention block manager, at the level of
// block counts): capacity in blocks of the model's kv_block_size tokens; a running request
// holds the blocks of the tokens it has so far (its prompt from admission, one token more per
// decode step); when the next step needs a block none is left for, the newest running request
// is preempted and recomputed later (vLLM's default, and V1's only, preemption mode).
//
// Cost: a decode stretch stays one event. While every admitted request's blocks at its longest
// (prompt + output) fit — kv_final_blocks ≤ kv_blocks, kept as a running sum — nothing can run
// out and nothing here walks the batch. Only past that do admission and the stretch's end
// (the step at which the blocks run out, found by bisection) sum over the decoding sequences.
#include "sim/simulation.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

namespace fleetsim {

// The decode progress at `t` (not before the replica's last batch change): a stretch under way
// has run part of its steps.
double Simulation::progress_at(const Replica& rep, SimTime t) const {
  if (rep.step != BatchStepKind::Decode || rep.decoding.empty()) return rep.progress;
  const double steps = rep.perf->decode_steps_in(to_seconds(t - rep.progress_time),
                                                 static_cast<double>(rep.decoding.size()), rep.context);
  return rep.progress + std::min(steps, rep.decode_target - rep.progress);
}

// Blocks held at decode progress `progress` by the running requests, each decoding sequence
// counted with `extra_tokens` more (1: what the step starting there needs).
std::int64_t Simulation::kv_blocks_needed(const Replica& rep, double progress, double extra_tokens) const {
  std::int64_t blocks = rep.prefill_blocks;
  // Each sequence's record is a cache miss at a fleet's scale: ask for them all first, so that
  // the misses overlap instead of following one another.
  if (tables_out_of_cache())
    for (const Sequence& s : rep.decoding) __builtin_prefetch(&requests_[s.request].kv_base);
  for (const Sequence& s : rep.decoding) blocks += rep.blocks_at(requests_[s.request].kv_base + progress + extra_tokens);
  return blocks;
}

namespace {
// The decoding sequences' kv_base recounted, and the sum of their magnitudes (for its rounding).
struct KvBaseRecount {
  double sum = 0, magnitude = 0;
};
template <class Requests, class Sequences>
KvBaseRecount recount_kv_base(const Requests& requests, const Sequences& decoding) {
  KvBaseRecount out;
  for (const auto& s : decoding) {
    out.sum += requests[s.request].kv_base;
    out.magnitude += std::abs(requests[s.request].kv_base);
  }
  return out;
}
}  // namespace

// Whether kv_blocks_needed(rep, progress, extra_tokens) <= limit. Each decoding sequence holds
// ceil(t/B - 1e-9) blocks of B tokens for its t = kv_base + progress + extra_tokens tokens, a
// value in [t/B - 1e-9, t/B + 1): so the n sequences together hold at least Σt/B - n·1e-9 and
// fewer than Σt/B + n, and Σt = kv_base_sum + n·(progress + extra_tokens). Only when the limit
// falls in that band, n blocks wide, is the sum taken sequence by sequence. The answer is the
// pass's own: the slack covers every rounding (the running sum's, bounded by kv_base_error;
// this expression's and each term's, under 1e-12 of the magnitudes involved against a few
// units in the last place).
bool Simulation::kv_fits(const Replica& rep, double progress, double extra_tokens, std::int64_t limit) const {
  if (setup_.kv_bounds && !rep.decoding.empty()) {
    const double n = static_cast<double>(rep.decoding.size());
    const double block = rep.kv_block_size;
    // A batch that never empties (a saturated replica over weeks) piles up rounding bounds that
    // would widen the band; past a thousandth of a block the sum is taken afresh (rare: once in
    // ~10^6 changes at a day's progress). Only the bound reads it, so no answer changes.
    if (rep.kv_base_error > setup_.kv_base_refresh * block) {
      const KvBaseRecount fresh = recount_kv_base(requests_, rep.decoding);
      rep.kv_base_sum = fresh.sum;
      rep.kv_base_error = n * fresh.magnitude * 0x1p-52;  // (n - 1 roundings, each within 2^-53 of a partial sum)
    }
    const double shift = progress + extra_tokens;
    const double held = static_cast<double>(rep.prefill_blocks) + (rep.kv_base_sum + n * shift) / block;
    const double magnitude = static_cast<double>(rep.prefill_blocks) +
                             (std::abs(rep.kv_base_sum) + n * (std::abs(shift) + 1)) / block;
    const double slack = rep.kv_base_error / block + 1e-12 * magnitude + 1e-6;
    if (held + n + slack <= static_cast<double>(limit)) return true;
    if (held - n * 1e-9 - slack > static_cast<double>(limit)) return false;
  }
  return kv_blocks_needed(rep, progress, extra_tokens) <= limit;
}

// Paged admission when the cache could fill (admissible() in batching.cpp checked the rest):
// the request's prompt blocks must be free beyond a watermark of 1% of the cache (vLLM's
// block manager keeps one, so that an admission does not at once force a preemption).
bool Simulation::kv_admits_prompt(const Replica& rep, const Request& r) const {
  const std::int64_t watermark = (rep.kv_blocks + 99) / 100;
  return kv_fits(rep, progress_now(rep), 0,
                 rep.kv_blocks - watermark - rep.blocks(std::uint64_t{r.input_tokens} + r.generated));
}

// How many decode steps can run from rep.progress before one needs a block none is left for
// (infinity when the stretch to the next finish fits). Needs are monotone in the steps run, so
// the first step that does not fit is found by bisection.
double Simulation::decode_steps_before_kv_full(const Replica& rep) const {
  constexpr double kUnbounded = std::numeric_limits<double>::infinity();
  if (rep.kv_final_blocks <= rep.kv_blocks) return kUnbounded;
  auto fits = [&](std::int64_t k) { return kv_fits(rep, rep.progress + static_cast<double>(k), 1, rep.kv_blocks); };
  // Steps in the stretch start at progress + k, k = 0 .. last.
  const auto last = static_cast<std::int64_t>(std::ceil(rep.decoding.front().finish - rep.progress - 1e-6)) - 1;
  if (last < 1 || fits(last)) return kUnbounded;
  std::int64_t good = 0, bad = last;  // fits(0): make_kv_room ran before
  while (bad - good > 1) {
    const std::int64_t mid = good + (bad - good) / 2;
    (fits(mid) ? good : bad) = mid;
  }
  return static_cast<double>(bad);
}

// Before a step: preempt the newest running requests until the step's blocks fit.
void Simulation::make_kv_room(Replica& rep, std::uint32_t) {
  if (rep.kv_final_blocks <= rep.kv_blocks) return;
  while (rep.running > 1 && !kv_fits(rep, rep.progress, 1, rep.kv_blocks)) preempt_newest(rep);
}

// vLLM's recompute preemption: the request admitted last gives up its blocks and goes back to
// the head of the queue; readmitted, it prefills its prompt and the tokens it had generated.
// With kv_preemption: swap a decoding request's blocks go to host memory instead (swap_out),
// while the swap space has room, and come back on readmission (swap_in). A request still waiting
// for its offloaded blocks (KV offload's `loading`) may be the newest: its loads stop.
void Simulation::preempt_newest(Replica& rep) {
  std::size_t newest = 0;
  bool found = false, decoding = false, loading = false;
  std::uint32_t admitted = 0;
  auto newer = [&](std::uint32_t id) {
    if (found && !newer_admission(requests_[id].admitted, admitted)) return false;
    found = true, admitted = requests_[id].admitted;
    return true;
  };
  for (std::size_t i = 0; i < rep.decoding.size(); ++i)
    if (newer(rep.decoding[i].request)) newest = i, decoding = true;
  for (std::size_t i = 0; i < rep.prefill_batch.size(); ++i)
    if (newer(rep.prefill_batch[i])) newest = i, decoding = false;
  for (std::size_t i = 0; i < rep.loading.size(); ++i)
    if (newer(rep.loading[i])) newest = i, decoding = false, loading = true;

  std::uint32_t id = 0;
  double dropped = 0;  // KV tokens computed and now thrown away
  if (decoding) {
    id = rep.decoding[newest].request;
    Request& r = requests_[id];
    const double context = r.kv_base + rep.progress;
    dropped = context;
    r.generated = static_cast<std::uint32_t>(
        std::clamp<double>(std::llround(context - r.input_tokens), 1, r.output_tokens - 1));
    rep.context -= context;
    if (swap_out(rep, id, context)) dropped = 0;
    // Outstanding tokens: from the output still to come (finish - progress) back to a prompt to
    // recompute (input + generated) and the output after it (output - generated).
    rep.decoding_tokens -= rep.decoding[newest].finish - rep.progress;
    rep.queued_tokens += std::int64_t{r.input_tokens} + r.output_tokens;
    add_kv_base(rep, -r.kv_base);
    rep.decoding[newest] = rep.decoding.back();
    rep.decoding.pop_back();
    std::make_heap(rep.decoding.begin(), rep.decoding.end(), Sequence::After{});
    if (rep.decoding.empty()) rep.context = rep.decoding_tokens = rep.kv_base_sum = rep.kv_base_error = 0;
  } else if (loading) {  // nothing computed yet: its blocks go, and its loads stop
    id = rep.loading[newest];
    Request& r = requests_[id];
    rep.prefill_blocks -= rep.blocks(std::uint64_t{r.input_tokens} + r.generated);
    cancel_offload_loads(id);
    rep.loading.erase(rep.loading.begin() + static_cast<std::ptrdiff_t>(newest));
  } else {
    id = rep.prefill_batch[newest];
    Request& r = requests_[id];
    rep.prefill_blocks -= rep.blocks(std::uint64_t{r.input_tokens} + r.generated);
    const RequestExtras& x = extras_of(r);
    dropped = x.prefilled;
    // The prompt chunks taken off the outstanding tokens are to compute again.
    rep.queued_tokens += std::min<std::int64_t>(x.prefilled, std::int64_t{r.input_tokens} + r.generated);
    if (r.has_extras) extras(r).prefilled = extras(r).chunk = 0;
    rep.prefill_batch.erase(rep.prefill_batch.begin() + static_cast<std::ptrdiff_t>(newest));
  }
  const Request& r = requests_[id];
  rep.kv_final_blocks -= rep.blocks(std::uint64_t{r.input_tokens} + r.output_tokens);
  --rep.running;
  if (r.adapter != kNoAdapter)
    for (AdapterSlot& slot : holdings(rep).adapters)
      if (slot.adapter == r.adapter) --slot.in_use;
  rep.waiting.push_front(id);
  KvCounts& counts = kv_counts_[rep.info.model];
  ++counts.preemptions;
  counts.recomputed_tokens += static_cast<std::uint64_t>(std::llround(dropped));
}

// Swap preemption's copy of a decoding request's blocks to host memory, over each GPU's PCIe
// link (its share of every block): false when the replica's swap space is full (or the model
// recomputes). The copy time is owed before the replica's next step (next_step).
bool Simulation::swap_out(Replica& rep, std::uint32_t id, double context) {
  ReplicaHoldings& held = holdings(rep);
  const ModelSpec& spec = setup_.scenario.models[rep.info.model];
  if (spec.kv_preemption != ModelSpec::KvPreemption::Swap) return false;
  const std::int64_t blocks = rep.blocks_at(context);
  if (held.swapped_blocks + blocks > held.swap_blocks || held.swap_bandwidth <= 0) return false;
  held.swapped_blocks += blocks;
  const double seconds = static_cast<double>(blocks) * rep.kv_block_size * spec.kv_bytes_per_token / held.swap_bandwidth;
  rep.swap_out_seconds += seconds;
  Request& r = requests_[id];
  r.swapped = true;
  KvCounts& counts = kv_counts_[rep.info.model];
  ++counts.swaps;
  counts.swapped_blocks += static_cast<std::uint64_t>(blocks);
  counts.swap_seconds += seconds;
  return true;
}

// A swapped-out request readmitted (admit_head): its blocks come back, the copy adding to the
// step it joins; it computes only its next token (as a prefix hit covering all but one token).
void Simulation::swap_in(Replica& rep, Request& r) {
  ReplicaHoldings& held = holdings(rep);
  const ModelSpec& spec = setup_.scenario.models[rep.info.model];
  const std::int64_t blocks = rep.blocks(std::uint64_t{r.input_tokens} + r.generated);
  held.swapped_blocks -= std::min(blocks, held.swapped_blocks);
  const double seconds = static_cast<double>(blocks) * rep.kv_block_size * spec.kv_bytes_per_token / held.swap_bandwidth;
  rep.swap_in_seconds += seconds;
  kv_counts_[rep.info.model].swap_seconds += seconds;
  r.swapped = false;
  extras(r).cached = r.input_tokens + r.generated - 1;
}

// The prefix blocks of a request that a replica can cache and match: the whole blocks of its
// input (vLLM caches full blocks only); none when it carries no hashes or its model does not
// cache prefixes.
// (cacheable_prefix asks the flag first, not the hashes' vector: a cache miss at a fleet's scale.)
std::span<const std::uint64_t> Simulation::prefix_hashes_to_cache(std::uint32_t id) const {
  const Request& r = requests_[id];
  const std::vector<std::uint64_t>& hashes = request_hashes_[id];
  const ServingSpec& spec = serving_[r.model];
  if (!spec.prefix_caching) return {};
  return {hashes.data(), std::min<std::size_t>(hashes.size(), r.input_tokens / spec.prefix_block_tokens)};
}

// Prefix blocks live in the KV space the running requests leave free: as the batch grows into
// it, the least recently used go (checked at each step boundary, O(1) when nothing must go).
void Simulation::trim_prefix_cache(Replica& rep) {
  const ServingSpec& spec = serving_[rep.info.model];
  const std::int64_t per_block = rep.blocks(static_cast<std::uint64_t>(spec.prefix_block_tokens));
  // Blocks the running requests hold, at most: the decoding sequences' rounding adds one each.
  const std::int64_t used =
      rep.prefill_blocks + rep.blocks_at(rep.context) + static_cast<std::int64_t>(rep.decoding.size());
  const std::int64_t free_blocks = std::max<std::int64_t>(0, rep.kv_blocks - used);
  const auto limit = static_cast<std::size_t>(free_blocks / std::max<std::int64_t>(1, per_block));
  if (spec.kv_offload) {  // the evicted blocks go down to the offload tiers (kv_offload.cpp)
    offload_evicted_.clear();
    kv_counts_[rep.info.model].prefix_evicted_blocks += holdings(rep).prefix.shrink_to(limit, &offload_evicted_);
    offload_evicted(rep);
    return;
  }
  kv_counts_[rep.info.model].prefix_evicted_blocks += holdings(rep).prefix.shrink_to(limit);
}

// KV usage per model at each sample time up to `until` (the state before the events there: the
// caller has not run them yet), for the observers that asked (the time series' kv_cache_*).
void Simulation::sample_kv_usage(SimTime until) {
  while (next_kv_sample_ <= until) {
    const SimTime t = next_kv_sample_;
    kv_usage_.assign(models_.size(), KvUsage{});
    for (const Replica& rep : replicas_) {
      if (!rep.perf || (rep.phase != ReplicaPhase::Ready && rep.phase != ReplicaPhase::Draining)) continue;
      const ModelSpec& spec = setup_.scenario.models[rep.info.model];
      const double block_bytes = static_cast<double>(rep.kv_block_size) * spec.kv_bytes_per_token;
      KvUsage& usage = kv_usage_[rep.info.model];
      usage.capacity_bytes += static_cast<double>(rep.kv_blocks) * block_bytes;
      // Paged: the prefilling requests' blocks, and the decoding sequences' context at `t` in
      // whole blocks — counted together, so below the per-sequence count by less than one block
      // a sequence (exact for one; summing each sequence's blocks cost 5% of a run). Reserve:
      // what admission reserved.
      std::int64_t held = rep.kv_final_blocks;
      if (spec.kv_allocation == ModelSpec::KvAllocation::Paged && rep.step_started >= t) {
        // A prefill step ended ahead of its time (fuse_prefill_end) that had not ended at `t`
        // (every other step started before `t`: at the last event's time or earlier).
        const BeforeFusedEnd& before = fused_before_[rep.info.slot];
        held = before.prefill_blocks + (before.context == 0 ? 0 : rep.blocks_at(before.context));
      } else if (spec.kv_allocation == ModelSpec::KvAllocation::Paged) {
        held = rep.prefill_blocks;
        if (!rep.decoding.empty())
          held += rep.blocks_at(rep.context + static_cast<double>(rep.decoding.size()) * (progress_at(rep, t) - rep.progress));
      }
      usage.used_bytes += static_cast<double>(held) * block_bytes;
    }
    for (SimObserver* o : kv_observers_) o->on_kv_usage(t, kv_usage_);
    next_kv_sample_ += kv_sample_interval_;
  }
}

std::string Simulation::kv_cache_violation() const {
  for (const Replica& rep : replicas_) {
    if (!rep.perf || rep.phase == ReplicaPhase::Stopped) continue;
    if (rep.kv_final_blocks < 0 || rep.prefill_blocks < 0 || rep.prefill_blocks > rep.kv_final_blocks)
      return "replica " + std::to_string(rep.info.id) + ": KV block counts out of step";
    const KvBaseRecount recount = recount_kv_base(requests_, rep.decoding);
    if (std::abs(recount.sum - rep.kv_base_sum) > rep.kv_base_error + 1e-12 * recount.magnitude + 1e-9)
      return "replica " + std::to_string(rep.info.id) + ": decoding sequences' kv_base sum out of step";
    if (rep.kv_final_blocks <= rep.kv_blocks) continue;  // cannot hold more than that
    const std::int64_t held = kv_blocks_needed(rep, progress_now(rep), 0);
    if (held > rep.kv_blocks)
      return "replica " + std::to_string(rep.info.id) + " holds " + std::to_string(held) + " KV blocks of " +
             std::to_string(rep.kv_blocks);
  }
  return "";
}

}  // namespace fleetsim
