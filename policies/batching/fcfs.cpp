// fcfs: continuous batching, first come first served (vLLM's default scheduler without chunked
// prefill). Waiting requests join the next prefill step in arrival order while the step's
// prompt tokens stay within the model's max_prefill_tokens; the first request of a step is
// always admitted, however long its prompt. The first request that does not fit ends the step
// (no request overtakes another). With chunked prefill, requests join while the step has
// token budget left (the engine cuts the last one's prompt into a chunk).
#include "policies/builtin.hpp"

namespace fleetsim {

namespace {
class Fcfs final : public BatchingPolicy {
 public:
  BatchAdmission admit(const BatchState& batch, const WaitingRequest& request) override {
    if (batch.step_requests == 0) return BatchAdmission::Admit;
    if (batch.chunked_prefill)
      return batch.step_tokens < batch.max_prefill_tokens ? BatchAdmission::Admit : BatchAdmission::Stop;
    if (batch.step_tokens + request.input_tokens <= batch.max_prefill_tokens) return BatchAdmission::Admit;
    return BatchAdmission::Stop;
  }
};
}  // namespace

PolicyInfo fcfs_batching_policy() {
  PolicyInfo info;
  info.family = PolicyFamily::Batching;
  info.name = "fcfs";
  info.make_batching = [](const PolicyContext&) { return std::make_unique<Fcfs>(); };
  return info;
}

}  // namespace fleetsim
