// Autoscaler: decides how many replicas a model should have. One instance per model.
//
// Contract
//   input   a ScalingView: the time, the model's replica counts by state, the requests in
//           flight and buffered, and the running integral of concurrency, from which any
//           window average is exact: avg(t0, t1) = (I(t1) - I(t0)) / (t1 - t0).
//           Also: the idle periods that ended since the last evaluation (exact, from the
//           engine's own bookkeeping), when the current idle period began, the duration of the
//           model's last cold start, and — only for policies registered with `needs_future` —
//           the time of the model's next arrival (the oracle's knowledge).
//   output  desired replicas (>= 0), the absolute time of the next periodic evaluation
//           (> now, or kNever), and optionally a wake-up time (> now, or kNever).
//           With wake_on_arrival the model is evaluated again when its next request arrives,
//           so a policy with nothing to do until then need not poll.
//           The engine starts replicas when desired > ready + starting and drains the surplus
//           when desired < ready + starting: a replica still starting first (the newest),
//           else the ready replica that choose_drain() picks — by default the one with the
//           fewest outstanding requests (ties: the newest, i.e. the highest replica id), so
//           the fewest requests wait on a draining replica. A policy may override it.
//   state   may keep state between evaluations (windows, panic mode, histograms).
//   idle    a model with no replica and no request in flight or buffered is not evaluated
//           periodically: `next_evaluation` is ignored for it until a request arrives, so idle
//           models cost nothing. `wakeup` is honoured even then (one evaluation, e.g. to
//           pre-warm a replica ahead of expected traffic).
//   invalid a negative desired count or a next evaluation not after `now` stops the run with an
//           error naming the policy.
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>

#include "policies/api/time.hpp"
#include "policies/api/policy.hpp"

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
  SimTime idle_since = kNever;       // when concurrency last fell to 0; kNever while requests are in
  std::span<const SimTime> idle_periods;  // lengths of idle periods ended since the last evaluation
  SimTime last_cold_start = 0;       // placement-to-ready time of the model's latest cold start
  SimTime next_arrival = kNever;     // only for policies with needs_future; kNever if none
};

struct ScalingDecision {
  int desired = 0;
  SimTime next_evaluation = kNever;  // periodic: ignored while the model is idle at zero
  SimTime wakeup = kNever;           // honoured even while idle at zero
  bool wake_on_arrival = false;      // also evaluate when the model's next request arrives
};

// A ready replica the autoscaler may choose to drain.
struct DrainCandidate {
  std::uint32_t replica = 0;  // ids grow with start order: a higher id is a newer replica
  int outstanding = 0;        // requests queued on it or running
  SimTime ready_since = 0;
};

class Autoscaler : public Policy {
 public:
  virtual ~Autoscaler() = default;
  virtual ScalingDecision evaluate(const ScalingView& view) = 0;
  // Which of `ready` (never empty, ascending replica id) drains when the model has one ready
  // replica too many; returns an index into `ready`. Out of range stops the run.
  virtual std::size_t choose_drain(std::span<const DrainCandidate> ready) {
    std::size_t victim = ready.size() - 1;
    for (std::size_t i = 0; i < ready.size(); ++i)
      if (ready[i].outstanding < ready[victim].outstanding ||
          (ready[i].outstanding == ready[victim].outstanding && ready[i].replica > ready[victim].replica))
        victim = i;
    return victim;
  }
};

}  // namespace fleetsim
