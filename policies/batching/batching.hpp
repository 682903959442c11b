// BatchingPolicy: an LLM replica's batch scheduler — at each step boundary, which waiting
// requests join the running batch as the next prefill step.
//
// Contract
//   input   the replica's batch at this instant (BatchState) and the request at the head of its
//           waiting queue (WaitingRequest). Requests are offered in the order they reached the
//           replica; the engine offers the next one only after the previous was admitted.
//   output  Admit: it joins this prefill step. Stop: the step starts with the requests already
//           admitted — and when none was, no prefill starts now and decoding goes on (the
//           policy is asked again at the next step boundary or arrival).
//   engine  checks the hard limits before asking: the model's max_batch sequences and the
//           request's whole KV need (prompt + output) within the replica's free KV cache. The
//           policy only sees requests that pass them, so it can be stricter than the server,
//           never looser. After an Admit, a request served through a LoRA adapter that is not
//           resident yet ends the step instead (the adapter starts loading), and is offered
//           again later. A prefill pauses decoding while it runs (vLLM's default scheduler
//           without chunked prefill).
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
  double kv_reserved_tokens = 0;      // KV cache held by admitted requests (prompt + output)
  double kv_capacity_tokens = 0;      // the replica's KV cache
  std::uint32_t step_requests = 0;    // requests already admitted to this prefill step
  double step_tokens = 0;             // their prompt tokens
  double max_prefill_tokens = 0;      // the model's prompt-token budget per prefill step
};

struct WaitingRequest {
  SimTime arrival = 0;                // when it reached the cluster
  std::uint32_t input_tokens = 0;     // prompt
  std::uint32_t output_tokens = 0;    // tokens it will generate
  bool lora = false;                  // served through a LoRA adapter
};

enum class BatchAdmission { Admit, Stop };

class BatchingPolicy : public Policy {
 public:
  virtual BatchAdmission admit(const BatchState& batch, const WaitingRequest& request) = 0;
};

}  // namespace fleetsim
