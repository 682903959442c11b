// Router: picks which ready replica of a model receives a request.
//
// Contract
//   input   the model's ready replicas (never empty), in ascending replica id, and the request.
//   output  an index into `candidates`.
//   state   may keep state (e.g. a round-robin cursor); one router serves every model, so
//           per-model state is keyed by `request.model`.
//   invalid an index out of range stops the run with an error naming the policy.
//
// outstanding_tokens: the work left on the replica, in tokens — prompt tokens not yet computed
// plus output tokens not yet generated, summed over its requests queued or running (a preempted
// request counts the prompt it must recompute again). The engine keeps it as a running sum,
// exact at the replica's batch changes (a step's end, an admission, a preemption, a completion);
// the tokens a decode stretch under way has produced since it began are not yet taken off.
// Service-time models count 1 per request (they have no tokens); real mode counts a request's
// prompt and first token off at its first token, the rest at its last.
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>
#include "policies/api/policy.hpp"

namespace fleetsim {

struct RouteCandidate {
  std::uint32_t replica = 0;
  int outstanding = 0;  // requests on the replica: queued + running
  int running = 0;      // requests admitted to the batch
  bool has_adapter = false;  // holds the request's LoRA adapter already
  double outstanding_tokens = 0;  // tokens of work left on the replica (above)
  // Prompt tokens of the request found in the replica's prefix cache now: its leading whole
  // prefix blocks the replica holds (README "Prefix caching"); 0 when the request carries no
  // prefix hashes or the model does not cache prefixes.
  std::uint32_t prefix_hit_tokens = 0;
};

struct RouteRequest {
  std::uint32_t model = 0;
  std::uint32_t input_tokens = 0;
  std::uint32_t output_tokens = 0;
  std::uint32_t adapter = 0xFFFFFFFFu;  // index into the model's adapters; all ones = none
};

class Router : public Policy {
 public:
  virtual ~Router() = default;
  virtual std::size_t route(std::span<const RouteCandidate> candidates,
                            const RouteRequest& request) = 0;
};

}  // namespace fleetsim
