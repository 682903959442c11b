// BatchingPolicy: an LLM replica's batch scheduler — at each step boundary, which waiting
// requests join the running batch in the next step (a prefill step, or with chunked prefill a
// mixed step of decodes and prompt chunks).
//
// Contract
//   input   the replica's batch at this instant (BatchState) and the request at the head of its
//           waiting queue (WaitingRequest). Requests are offered in the order they reached the
//           replica (a preempted request goes back to the head); the engine offers the next
//           one only after the previous was admitted.
//   output  Admit: it joins this step. Stop: the step starts with the requests already
//           admitted — and when none was, no prefill starts now and decoding goes on (the
//           policy is asked again at the next step boundary or arrival).
//   engine  checks the hard limits before asking: the model's max_batch sequences and the KV
//           cache (paged: the prompt's blocks free beyond a 1% watermark; reserve: the whole
//           prompt + output). The policy only sees requests that pass them, so it can be
//           stricter than the server, never looser. After an Admit, a request served through a
//           LoRA adapter that is not resident yet ends the step instead (the adapter starts
//           loading), and is offered again later. Without chunked prefill a prefill pauses
//           decoding while it runs (vLLM's scheduler without chunking); with it the engine
//           cuts the last admitted prompt to the step's token budget, and prefills the rest in
//           the following steps.
//   state   may keep state, but must expect to be offered the same request more than once
//           (after a Stop, or after an Admit its adapter could not honour).
#pragma once
#include <cstdint>

#include "policies/api/policy.hpp"
#include "policies/api/time.hpp"

namespace fleetsim {

struct BatchState {
  SimTime now = 0;
  std::uint32_t model = 0;            // index into PolicyRunInfo::models
  std::uint32_t running = 0;          // sequences in the batch: decoding or admitted to this step
  std::uint32_t max_batch = 0;        // the model's max_batch (vLLM max_num_seqs)
  std::uint32_t waiting = 0;          // requests queued at the replica, the offered one included
  std::uint32_t decoding = 0;         // sequences decoding (a prefill step pauses them)
  double kv_reserved_tokens = 0;      // KV the admitted requests hold at their longest
                                      // (prompt + output, in whole blocks)
  double kv_capacity_tokens = 0;      // the replica's KV cache
  std::uint32_t step_requests = 0;    // requests already admitted to this prefill step
  double step_tokens = 0;             // their prompt tokens
  double max_prefill_tokens = 0;      // the model's token budget per step (max_num_batched_tokens)
  bool chunked_prefill = false;       // steps mix decodes and prompt chunks; step_tokens then
                                      // counts the step's decodes (one token each) too
  std::uint32_t kv_block_size = 16;   // tokens per KV block
};

struct WaitingRequest {
  SimTime arrival = 0;                // when it reached the cluster
  std::uint32_t input_tokens = 0;     // prompt (preempted: with the tokens it had generated)
  std::uint32_t output_tokens = 0;    // tokens it has still to generate
  bool lora = false;                  // served through a LoRA adapter
};

enum class BatchAdmission { Admit, Stop };

class BatchingPolicy : public Policy {
 public:
  virtual BatchAdmission admit(const BatchState& batch, const WaitingRequest& request) = 0;
};

}  // namespace fleetsim
