#include "traces/prefix_workload.hpp"

#include <algorithm>
#include <cmath>

#include "traces/generators.hpp"

namespace fleetsim {

namespace {

// splitmix64's finaliser: a bijection on 64 bits that spreads every input bit over the output.
std::uint64_t mix(std::uint64_t x) {
  x ^= x >> 30;
  x *= 0xBF58476D1CE4E5B9ull;
  x ^= x >> 27;
  x *= 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// What a block holds, as the chain's input: the top bits say whose it is, so a tenant's blocks,
// a conversation's, one request's own and a distinct prompt's never stand for one another.
constexpr std::uint64_t kPromptTag = 1ull << 61;
constexpr std::uint64_t kTenantTag = 1ull << 62;
constexpr std::uint64_t kConversationTag = 2ull << 62;
constexpr std::uint64_t kRequestTag = 3ull << 62;

constexpr std::uint64_t kMaxTokens = 2'000'000'000;  // as draw_tokens clamps a draw

std::vector<double> zipf_cdf(std::uint32_t n, double s) {
  std::vector<double> cdf;
  cdf.reserve(n);
  double total = 0;
  for (std::uint32_t k = 1; k <= n; ++k) {
    total += 1.0 / std::pow(static_cast<double>(k), s);
    cdf.push_back(total);
  }
  for (double& c : cdf) c /= total;
  return cdf;
}

double draw_seconds(const Distribution& d, RngStream& rng) {
  double seconds = d.a;
  if (d.kind == Distribution::Kind::Uniform) seconds = rng.uniform(d.a, d.b);
  if (d.kind == Distribution::Kind::Lognormal) seconds = rng.lognormal(std::log(d.a), d.b);
  if (d.kind == Distribution::Kind::Exponential) seconds = rng.exponential(d.a);
  if (d.max > 0) seconds = std::min(seconds, d.max);
  return std::max(seconds, 0.0);
}

}  // namespace

SyntheticPrefixes::SyntheticPrefixes(const WorkloadSpec& spec, std::uint64_t seed, std::uint32_t block_tokens,
                                     SimTime duration)
    : spec_(spec.prefixes),
      input_dist_(spec.input_tokens),
      output_dist_(spec.output_tokens),
      block_tokens_(std::max<std::uint32_t>(1, block_tokens)),
      duration_(duration),
      salt_(mix(stable_hash("prefixes/" + spec.name))),
      tenants_rng_(seed, "tenants/" + spec.name),
      conversations_rng_(seed, "conversations/" + spec.name),
      prompts_rng_(seed, "prompts/" + spec.name) {
  if (spec_.tenants > 0) {
    tenant_cdf_ = zipf_cdf(spec_.tenants, spec_.tenant_zipf);
    RngStream lengths(seed, "system_prompts/" + spec.name);
    system_tokens_.reserve(spec_.tenants);
    for (std::uint32_t t = 0; t < spec_.tenants; ++t)
      system_tokens_.push_back(draw_tokens(spec_.system_prompt_tokens, lengths));
  }
  if (spec_.prompts > 0) {
    prompt_cdf_ = zipf_cdf(spec_.prompts, spec_.prompt_zipf);
    RngStream lengths(seed, "prompt_lengths/" + spec.name);
    prompt_tokens_.reserve(spec_.prompts);
    for (std::uint32_t k = 0; k < spec_.prompts; ++k) prompt_tokens_.push_back(input_dist_.draw(lengths));
  }
}

std::uint32_t SyntheticPrefixes::pick(const std::vector<double>& cdf, RngStream& rng) const {
  const double u = rng.uniform();
  const auto k = static_cast<std::size_t>(std::upper_bound(cdf.begin(), cdf.end(), u) - cdf.begin());
  return static_cast<std::uint32_t>(std::min(k, cdf.size() - 1));
}

void SyntheticPrefixes::hash_prompt(std::uint64_t tokens, std::uint64_t shared, std::uint32_t tenant,
                                    std::uint64_t content) {
  const std::uint64_t blocks = std::min<std::uint64_t>(tokens / block_tokens_, kMaxBlocks);
  const std::uint64_t shared_blocks = shared / block_tokens_;  // wholly inside the system prompt
  hashes_.clear();
  std::uint64_t h = salt_;
  for (std::uint64_t i = 0; i < blocks; ++i) {
    h = mix(h * 0x9E3779B97F4A7C15ull + (i < shared_blocks ? (kTenantTag | tenant) : content));
    hashes_.push_back(h);
  }
}

void SyntheticPrefixes::queue_next(SimTime now, std::uint64_t conversation, std::uint64_t context,
                                   std::uint32_t turns_left, std::uint32_t tenant, std::uint32_t adapter) {
  if (turns_left == 0) return;
  const double think = draw_seconds(spec_.think_time, conversations_rng_);
  // Compare before converting: a huge think time ends the conversation, not the int64 clock.
  if (think >= to_seconds(duration_ - now)) return;
  Turn t;
  t.time = now + from_seconds(think);
  if (t.time >= duration_) return;
  t.order = queued_++;
  t.conversation = conversation;
  t.context = context;
  t.turns_left = turns_left - 1;
  t.tenant = tenant;
  t.adapter = adapter;
  turns_.push_back(t);
  std::push_heap(turns_.begin(), turns_.end(), later);
}

void SyntheticPrefixes::start(Arrival& out, RngStream& input_tokens) {
  const std::uint64_t request = requests_++;
  if (spec_.prompts > 0) {
    const std::uint32_t k = pick(prompt_cdf_, prompts_rng_);
    out.input_tokens = prompt_tokens_[k];
    hash_prompt(out.input_tokens, 0, 0, kPromptTag | k);
    out.prefix_hashes = hashes_;
    return;
  }
  std::uint32_t tenant = 0;
  std::uint64_t shared = 0;
  if (spec_.tenants > 0) {
    tenant = pick(tenant_cdf_, tenants_rng_);
    shared = system_tokens_[tenant];
  }
  const std::uint64_t prompt = std::min(shared + input_dist_.draw(input_tokens), kMaxTokens);
  out.input_tokens = static_cast<std::uint32_t>(prompt);
  if (spec_.conversations) {
    const std::uint64_t conversation = conversations_++;
    hash_prompt(prompt, shared, tenant, kConversationTag | conversation);
    const std::uint32_t turns = draw_tokens(spec_.turns, conversations_rng_);
    queue_next(out.time, conversation, prompt + out.output_tokens, turns - 1, tenant, out.adapter);
  } else {
    hash_prompt(prompt, shared, tenant, kRequestTag | request);
  }
  out.prefix_hashes = hashes_;
}

void SyntheticPrefixes::follow_up(Arrival& out, RngStream& input_tokens, RngStream& output_tokens) {
  std::pop_heap(turns_.begin(), turns_.end(), later);
  const Turn t = turns_.back();
  turns_.pop_back();
  const std::uint64_t shared = spec_.tenants > 0 ? system_tokens_[t.tenant] : 0;
  const std::uint64_t prompt = std::min(t.context + input_dist_.draw(input_tokens), kMaxTokens);
  out.time = t.time;
  out.input_tokens = static_cast<std::uint32_t>(prompt);
  out.output_tokens = output_dist_.draw(output_tokens);
  out.adapter = t.adapter;
  hash_prompt(prompt, shared, t.tenant, kConversationTag | t.conversation);
  queue_next(t.time, t.conversation, prompt + out.output_tokens, t.turns_left, t.tenant, t.adapter);
  out.prefix_hashes = hashes_;
}

}  // namespace fleetsim
