// las: Tiresias's discretized two-dimensional least-attained-service (Gu et al., NSDI'19,
// section 4.2). A job's attained service is GPUs × time run; queues are split by thresholds
// on it (default: one threshold at 3,200 GPU-seconds... Tiresias evaluates thresholds around
// an hour of GPU time, we take 1 GPU-hour, as a parameter); a job starts in the highest queue
// and moves down as it crosses thresholds. Queues are served in order, FIFO (by submit time)
// within a queue. Starvation guard: a job that has waited longer than `starvation_factor` ×
// its last run time (and at least `min_starvation`) goes back to the highest queue (Tiresias's
// PROMOTEKNOB). Preemptive: a job in a higher queue takes GPUs from lower-queue ones.
// Differences: one threshold by default (Tiresias's evaluation uses 2 queues); the guard
// uses the time since the job last ran.
#include <algorithm>
#include <cmath>
#include <map>

#include "policies/builtin.hpp"
#include "policies/queueing/queue_policy.hpp"

namespace fleetsim {

namespace {
class Las final : public QueuePolicy {
 public:
  explicit Las(const ParamValues& p)
      : threshold_(p.number("threshold_gpu_hours") * 3600.0),
        queues_(static_cast<int>(p.integer("queues"))),
        starvation_factor_(p.number("starvation_factor")) {}

  bool preemptive() const override { return true; }

  void order(const QueueContext& context, std::span<const JobView> jobs, std::vector<std::uint32_t>& out) override {
    const SimTime now = context.now;
    std::vector<int> level(jobs.size());
    for (std::size_t i = 0; i < jobs.size(); ++i) {
      const JobView& j = jobs[i];
      State& s = state_[j.index];
      if (j.running) {
        s.last_ran = now;
        s.ran_for = to_seconds(now - s.since_start) ;
      } else if (s.was_running) {
        s.since_wait = now;
      }
      if (j.running && !s.was_running) s.since_start = now;
      s.was_running = j.running;
      int q = static_cast<int>(std::floor(j.attained_gpu_seconds / threshold_));
      q = std::min(q, queues_ - 1);
      // Starvation guard: waited long relative to how long it last ran -> top queue.
      if (!j.running && s.last_ran >= 0 && starvation_factor_ > 0) {
        const double waited = to_seconds(now - s.last_ran);
        if (waited > starvation_factor_ * std::max(s.ran_for, 1.0)) q = 0;
      }
      level[i] = q;
    }
    order_by(jobs, out, [&](const JobView& j) {
      const auto i = static_cast<std::size_t>(&j - jobs.data());
      return level[i];
    });
  }

 private:
  struct State {
    bool was_running = false;
    SimTime since_start = 0;
    SimTime since_wait = 0;
    SimTime last_ran = -1;
    double ran_for = 0;
  };
  double threshold_;
  int queues_;
  double starvation_factor_;
  std::map<std::uint32_t, State> state_;
};
}  // namespace

PolicyInfo las_queue_policy() {
  PolicyInfo info;
  info.family = PolicyFamily::Queue;
  info.name = "las";
  info.params = {
      {"threshold_gpu_hours", ParamType::Number, "1", 0.001, 1e9,
       "attained GPU-hours between one queue and the next"},
      {"queues", ParamType::Integer, "2", 1, 100, "number of priority queues (Tiresias evaluates 2)"},
      {"starvation_factor", ParamType::Number, "10", 0, 1e9,
       "a waiting job returns to the top queue after waiting this many times its last run (0: off)"},
  };
  info.make_queue = [](const PolicyContext& context) { return std::make_unique<Las>(context.params); };
  return info;
}

}  // namespace fleetsim
