// SyntheticPrefixes: the prompts of a generated workload as prefix blocks (README "Prefixes in
// generated workloads"), so that prefix caching and prefix-aware routing have something to
// reuse without a trace. Three patterns (issue 13's), which the `prefixes:` key of a workload
// names:
//   system prompts   `tenants` system prompts, each of a length drawn once; a request picks a
//                    tenant (Zipf) and its prompt is that system prompt + `input_tokens` of its own
//   conversations    an arrival starts a conversation of `turns` requests, `think_time` apart
//                    (arrival to arrival: the generator runs ahead of the engine and cannot wait
//                    for a reply); turn n+1's prompt = turn n's prompt + its output + new
//                    `input_tokens`, so its blocks extend turn n's (with system prompts, a
//                    conversation keeps its tenant)
//   prompts          `prompts` distinct prompts, each of a length drawn once from input_tokens; a
//                    request repeats one of them (Zipf)
// Hashes mean what the trace column and the Mooncake importer mean: one per whole block of the
// model's `prefix_block_tokens` prompt tokens, hash i naming the whole prefix up to block i, so
// it is chained: h_i = mix(h_{i-1}, what block i holds). A block is shared only when it lies
// wholly inside the shared part (a block that straddles a system prompt's end is the request's
// own). Hashes are salted with the workload's name: two workloads never share a block.
//
// Random streams (named as the generator's, so adding one changes no other draw):
// system_prompts/<name> (lengths), tenants/<name>, conversations/<name> (turns, think times),
// prompt_lengths/<name>, prompts/<name>. The hashes of a request go into one buffer that is
// reused, and follow-up turns wait in a heap that is reused: no allocation per request once the
// buffers have grown to the longest prompt and the most conversations open at once.
#pragma once
#include <cstdint>
#include <vector>

#include "sim/request_source.hpp"
#include "sim/rng.hpp"
#include "traces/token_lengths.hpp"
#include "sim/scenario.hpp"

namespace fleetsim {

class SyntheticPrefixes {
 public:
  // `block_tokens`: the workload's model's prefix_block_tokens (>= 1). `duration`: turns due at
  // or after it are dropped.
  SyntheticPrefixes(const WorkloadSpec& spec, std::uint64_t seed, std::uint32_t block_tokens, SimTime duration);

  // When the earliest pending follow-up turn arrives; kNever when none is pending.
  SimTime next_turn() const { return turns_.empty() ? kNever : turns_.front().time; }
  // A new arrival at out.time (out.output_tokens and out.adapter already drawn): sets its
  // input tokens and prefix hashes; with conversations, queues its follow-up turn.
  void start(Arrival& out, RngStream& input_tokens);
  // Pops the earliest follow-up turn into `out` (time, input, output, adapter, hashes); call
  // only when next_turn() is not kNever. out.model is left as it is.
  void follow_up(Arrival& out, RngStream& input_tokens, RngStream& output_tokens);

  // Longest prompt that gets hashes for all its blocks; a longer one (absurd for any model)
  // carries its first kMaxBlocks blocks, so that one request cannot take unbounded memory.
  static constexpr std::uint32_t kMaxBlocks = 1u << 20;

 private:
  struct Turn {  // a conversation's next turn, waiting for its time
    SimTime time = 0;
    std::uint64_t order = 0;         // ties at one time go in the order they were queued
    std::uint64_t conversation = 0;  // its blocks' content key
    std::uint64_t context = 0;       // tokens so far: the last prompt + its output
    std::uint32_t turns_left = 0;    // turns after this one
    std::uint32_t tenant = 0;
    std::uint32_t adapter = kNoAdapter;
  };
  static bool later(const Turn& a, const Turn& b) {
    return a.time != b.time ? a.time > b.time : a.order > b.order;
  }
  std::uint32_t pick(const std::vector<double>& cdf, RngStream& rng) const;
  // Hashes for a prompt of `tokens` tokens whose first `shared` tokens are tenant `tenant`'s
  // system prompt (shared = 0: none) and whose other blocks hold `content`.
  void hash_prompt(std::uint64_t tokens, std::uint64_t shared, std::uint32_t tenant, std::uint64_t content);
  // Queues the turn after one that arrived at `now` with `context` tokens, if any is left.
  void queue_next(SimTime now, std::uint64_t conversation, std::uint64_t context, std::uint32_t turns_left,
                  std::uint32_t tenant, std::uint32_t adapter);

  PrefixWorkloadSpec spec_;
  TokenLengths input_dist_, output_dist_;  // the workload's: a request's (or a turn's) own tokens
  std::uint32_t block_tokens_;
  SimTime duration_;
  std::uint64_t salt_;
  RngStream tenants_rng_, conversations_rng_, prompts_rng_;
  std::vector<double> tenant_cdf_, prompt_cdf_;  // cumulative Zipf weights
  std::vector<std::uint32_t> system_tokens_;     // per tenant
  std::vector<std::uint32_t> prompt_tokens_;     // per distinct prompt
  std::vector<Turn> turns_;                      // a min-heap by (time, order)
  std::uint64_t requests_ = 0, conversations_ = 0, queued_ = 0;
  std::vector<std::uint64_t> hashes_;            // the last request's; Arrival::prefix_hashes points here
};

}  // namespace fleetsim
