// The order-based queue policies:
//   fifo  by submit time (non-preemptive).
//   sjf   shortest job first by total run time, known in advance — an oracle, for bounds
//         (non-preemptive).
//   srtf  shortest remaining time first, preemptive (oracle remaining times).
//   priority  strict classes: higher `priority` first, FIFO within a class; preemptive (a
//         higher class takes GPUs from preemptible lower-class jobs).
#include "policies/builtin.hpp"
#include "policies/queueing/queue_policy.hpp"

namespace fleetsim {

namespace {
class Fifo final : public QueuePolicy {
 public:
  bool preemptive() const override { return false; }
  void order(const QueueContext&, std::span<const JobView> jobs, std::vector<std::uint32_t>& out) override {
    order_by(jobs, out, [](const JobView& j) { return j.submit; });
  }
};

class Sjf final : public QueuePolicy {
 public:
  bool preemptive() const override { return false; }
  void order(const QueueContext&, std::span<const JobView> jobs, std::vector<std::uint32_t>& out) override {
    order_by(jobs, out, [](const JobView& j) { return j.total_seconds; });
  }
};

class Srtf final : public QueuePolicy {
 public:
  bool preemptive() const override { return true; }
  void order(const QueueContext&, std::span<const JobView> jobs, std::vector<std::uint32_t>& out) override {
    order_by(jobs, out, [](const JobView& j) { return j.remaining_seconds; });
  }
};

class Priority final : public QueuePolicy {
 public:
  bool preemptive() const override { return true; }
  void order(const QueueContext&, std::span<const JobView> jobs, std::vector<std::uint32_t>& out) override {
    order_by(jobs, out, [](const JobView& j) { return -j.priority; });
  }
};

template <class T>
PolicyInfo queue_info(const char* name) {
  PolicyInfo info;
  info.family = PolicyFamily::Queue;
  info.name = name;
  info.make_queue = [](const PolicyContext&) { return std::make_unique<T>(); };
  return info;
}
}  // namespace

PolicyInfo fifo_queue_policy() { return queue_info<Fifo>("fifo"); }
PolicyInfo sjf_queue_policy() { return queue_info<Sjf>("sjf"); }
PolicyInfo srtf_queue_policy() { return queue_info<Srtf>("srtf"); }
PolicyInfo priority_queue_policy() { return queue_info<Priority>("priority"); }

}  // namespace fleetsim
