// Router: picks which ready replica of a model receives a request.
//
// Contract
//   input   the model's ready replicas (never empty), in ascending replica id, and the request.
//   output  an index into `candidates`.
//   state   may keep state (e.g. a round-robin cursor); one router serves every model, so
//           per-model state is keyed by `request.model`.
//   invalid an index out of range stops the run with an error naming the policy.
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
