// Autoscaler: decides how many replicas a model should have. One instance per model.
//
// Contract
//   input   a ScalingView: the time, the model's replica counts by state, the requests in
//           flight and buffered, and the running integral of concurrency, from which any
//           window average is exact: avg(t0, t1) = (I(t1) - I(t0)) / (t1 - t0).
//   output  desired replicas (>= 0) and the absolute time of the next evaluation (> now).
//           The engine starts replicas when desired > ready + starting and drains the surplus
//           when desired < ready + starting.
//   state   may keep state between evaluations (windows, panic mode).
//   idle    whatever the policy asks, a model with no replica and no request in flight or
//           buffered is not evaluated again until a request arrives: idle models cost nothing.
//   invalid a negative desired count or a next evaluation not after `now` stops the run with an
//           error naming the policy.
#pragma once
#include <cstdint>

#include "sim/time.hpp"

namespace fleetsim {

struct ScalingView {
  SimTime now = 0;
  std::uint32_t model = 0;
  int ready = 0;      // replicas serving
  int starting = 0;   // replicas placed and not yet ready (pulling, loading, starting up)
  int draining = 0;   // replicas finishing their requests before stopping
  int in_flight = 0;  // requests on replicas (queued there or running)
  int buffered = 0;   // requests waiting for a replica (the activator's buffer)
  double concurrency_integral = 0;  // ∫ (in_flight + buffered) dt since t = 0, request-seconds
};

struct ScalingDecision {
  int desired = 0;
  SimTime next_evaluation = kNever;
};

class Autoscaler {
 public:
  virtual ~Autoscaler() = default;
  virtual ScalingDecision evaluate(const ScalingView& view) = 0;
};

}  // namespace fleetsim
