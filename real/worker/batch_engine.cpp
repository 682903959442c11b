#include "real/worker/batch_engine.hpp"

#include <algorithm>
#include <utility>

namespace fleetsim::real {

namespace {

// The prompt's token ids: a fixed function of the request id and the position.
std::vector<int> prompt_tokens(std::uint64_t id, std::uint32_t length, int vocab) {
  std::vector<int> tokens(length);
  for (std::uint32_t i = 0; i < length; ++i)
    tokens[i] = static_cast<int>((id * 2654435761u + i * 40503u) % static_cast<std::uint64_t>(vocab));
  return tokens;
}

}  // namespace

struct BatchEngine::Sequence {
  EngineRequest request;
  std::unique_ptr<SequenceState> cache;
  int next_token = 0;           // the token the next decode step feeds
  std::uint32_t remaining = 0;  // decode steps still to run
};

BatchEngine::BatchEngine(const ModelBackend& model, EngineLimits limits, BatchingPolicy& policy)
    : model_(model), limits_(limits), policy_(policy) {}

BatchEngine::~BatchEngine() = default;

bool BatchEngine::submit(const EngineRequest& request) {
  const double need = static_cast<double>(request.input_tokens) + request.output_tokens;
  if (request.input_tokens == 0 || request.output_tokens == 0 || need > limits_.kv_capacity_tokens) return false;
  waiting_.push_back(request);
  return true;
}

// The server's hard limits (a batch slot, the whole KV need), then the batching policy.
bool BatchEngine::head_joins(SimTime now, std::uint32_t step_requests, double step_tokens) {
  const EngineRequest& r = waiting_.front();
  const double need = static_cast<double>(r.input_tokens) + r.output_tokens;
  if (decoding_.size() + step_requests >= limits_.max_batch || kv_reserved_ + need > limits_.kv_capacity_tokens)
    return false;
  BatchState batch;
  batch.now = now;
  batch.model = limits_.model;
  batch.running = static_cast<std::uint32_t>(decoding_.size()) + step_requests;
  batch.max_batch = limits_.max_batch;
  batch.waiting = static_cast<std::uint32_t>(waiting_.size());
  batch.decoding = static_cast<std::uint32_t>(decoding_.size());
  batch.kv_reserved_tokens = kv_reserved_;
  batch.kv_capacity_tokens = limits_.kv_capacity_tokens;
  batch.step_requests = step_requests;
  batch.step_tokens = step_tokens;
  batch.max_prefill_tokens = limits_.max_prefill_tokens;
  const WaitingRequest request{r.arrival, r.input_tokens, r.output_tokens, r.lora};
  return policy_.admit(batch, request) == BatchAdmission::Admit;
}

void BatchEngine::finish(std::size_t i) {
  const EngineRequest& r = decoding_[i]->request;
  kv_reserved_ -= static_cast<double>(r.input_tokens) + r.output_tokens;
  decoding_[i] = std::move(decoding_.back());
  decoding_.pop_back();
}

StepSummary BatchEngine::step(SimTime now, std::vector<TokenEvent>& events) {
  StepSummary summary;
  const int vocab = model_.shape().vocab;
  if (!waiting_.empty() && head_joins(now, 0, 0)) {
    // A prefill step: the admitted requests' prompts, one after another (the cost is the sum).
    summary.prefill = true;
    std::vector<std::unique_ptr<Sequence>> admitted;
    double step_tokens = 0;
    while (!waiting_.empty() && (admitted.empty() || head_joins(now, static_cast<std::uint32_t>(admitted.size()), step_tokens))) {
      auto s = std::make_unique<Sequence>();
      s->request = waiting_.front();
      waiting_.pop_front();
      step_tokens += s->request.input_tokens;
      kv_reserved_ += static_cast<double>(s->request.input_tokens) + s->request.output_tokens;
      admitted.push_back(std::move(s));
    }
    logits_.resize(vocab);
    for (auto& s : admitted) {
      const EngineRequest& r = s->request;
      s->cache = model_.new_sequence(static_cast<int>(r.input_tokens + r.output_tokens));
      model_.prefill(*s->cache, prompt_tokens(r.id, r.input_tokens, vocab), logits_);
      s->next_token = CpuModel::argmax(logits_);
      s->remaining = r.output_tokens - 1;
      events.push_back(TokenEvent{r.id, true, s->remaining == 0});
      ++summary.sequences;
      summary.tokens += r.input_tokens;
      if (s->remaining == 0)
        kv_reserved_ -= static_cast<double>(r.input_tokens) + r.output_tokens;
      else
        decoding_.push_back(std::move(s));
    }
    return summary;
  }
  if (decoding_.empty()) return summary;
  // A decode step: one token for every decoding sequence.
  std::vector<SequenceState*> caches;
  std::vector<int> tokens;
  caches.reserve(decoding_.size());
  tokens.reserve(decoding_.size());
  for (auto& s : decoding_) {
    caches.push_back(s->cache.get());
    tokens.push_back(s->next_token);
  }
  logits_.resize(decoding_.size() * static_cast<std::size_t>(vocab));
  model_.decode(caches, tokens, logits_);
  summary.sequences = static_cast<std::uint32_t>(decoding_.size());
  summary.tokens = summary.sequences;
  for (std::size_t i = 0; i < decoding_.size(); ++i) {
    Sequence& s = *decoding_[i];
    s.next_token = CpuModel::argmax(std::span<const float>(logits_).subspan(i * vocab, vocab));
    --s.remaining;
  }
  // Finished sequences leave in id order of their position; report them in request-id order so
  // the events of one step do not depend on the batch's internal order.
  std::vector<std::uint64_t> done;
  for (std::size_t i = decoding_.size(); i-- > 0;)
    if (decoding_[i]->remaining == 0) {
      done.push_back(decoding_[i]->request.id);
      finish(i);
    }
  std::sort(done.begin(), done.end());
  for (std::uint64_t id : done) events.push_back(TokenEvent{id, false, true});
  return summary;
}

}  // namespace fleetsim::real
