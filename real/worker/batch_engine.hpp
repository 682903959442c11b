// BatchEngine: continuous batching inside a real-mode worker, step by step on a CpuModel, with
// the simulator's rules (sim/batching.cpp) so that the two modes schedule the same way:
//   - a step is either a prefill or a decode step; a prefill pauses decoding (no chunking);
//   - a prefill step admits requests from the head of the queue, first come first served,
//     while the batch has a free slot (`max_batch`), the request's whole KV need (prompt +
//     output) fits beside what is reserved (so nothing is ever preempted), and the batching
//     policy — the same BatchingPolicy object the simulator asks — admits it;
//   - the first token of a request comes out of its prefill, each decode step gives one more
//     token to every decoding sequence, and a request ends with its last output token;
//   - a request whose prompt + output exceeds the whole KV capacity can never run (too long).
// Prompts are synthetic token ids derived from the request id: their content changes no cost.
#pragma once
#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

#include "policies/batching/batching.hpp"
#include "real/worker/model_backend.hpp"

namespace fleetsim::real {

struct EngineLimits {
  std::uint32_t model = 0;              // the scenario's model id, for the batching policy
  std::uint32_t max_batch = 256;        // sequences in the batch (vLLM max_num_seqs)
  double kv_capacity_tokens = 0;        // the worker's KV budget, in tokens
  double max_prefill_tokens = 8192;     // prompt tokens per prefill step (the batching policy's budget)
};

struct EngineRequest {
  std::uint64_t id = 0;
  std::uint32_t input_tokens = 1;   // prompt, at least 1
  std::uint32_t output_tokens = 1;  // tokens generated, at least 1
  SimTime arrival = 0;
  bool lora = false;
};

// A token that matters to the results: a request's first, its last, or both (one output token).
struct TokenEvent {
  std::uint64_t id = 0;
  bool first = false;
  bool last = false;
};

struct StepSummary {
  bool prefill = false;
  std::uint32_t sequences = 0;  // 0: nothing could run
  std::uint32_t tokens = 0;     // prompt tokens (prefill) or tokens generated (decode)
};

class BatchEngine {
 public:
  BatchEngine(const ModelBackend& model, EngineLimits limits, BatchingPolicy& policy);
  ~BatchEngine();

  // Queues a request; false (nothing queued) when it could never fit the KV capacity.
  bool submit(const EngineRequest& request);
  // Runs one step, appending its first and last tokens to `events`. `now` is handed to the
  // batching policy (real mode: wall-clock time since the run began).
  StepSummary step(SimTime now, std::vector<TokenEvent>& events);

  bool busy() const { return !waiting_.empty() || !decoding_.empty(); }
  std::size_t waiting() const { return waiting_.size(); }
  std::size_t running() const { return decoding_.size(); }
  double kv_reserved_tokens() const { return kv_reserved_; }

 private:
  struct Sequence;
  bool head_joins(SimTime now, std::uint32_t step_requests, double step_tokens);
  void finish(std::size_t decoding_index);

  const ModelBackend& model_;
  EngineLimits limits_;
  BatchingPolicy& policy_;
  std::deque<EngineRequest> waiting_;
  std::vector<std::unique_ptr<Sequence>> decoding_;
  double kv_reserved_ = 0;
  std::vector<float> logits_;
};

}  // namespace fleetsim::real
