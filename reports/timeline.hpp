// TimelineWriter: the run as a Chrome trace-event file (`fleetsim run --timeline FILE`), for
// ui.perfetto.dev and chrome://tracing. An observer: it subscribes to the engine's signals and
// writes each slice as soon as it is known, so the file is streamed, never held in memory.
//
// Layout (README, "Output files", has the user's version):
//   - one process per node (pid = node id + 1, named "node N · POOL (G× GPU)"), one thread per
//     replica placed on it (tid = replica id + 1, named "replica R · MODEL (G GPUs)"); on that
//     thread, the replica's lifetime [placed, stopped] holds its cold start [placed, ready],
//     which holds the phases (image pull, weight load, engine start-up), then the batch steps
//     (prefill steps and decode stretches). Nodes of elastic pools also get a thread "node"
//     (tid 0) with a slice "up" from provisioned to released.
//   - one process per model for its sampled requests (pid = nodes + model + 1, named
//     "requests · MODEL"), one thread per lane: a request goes on the lowest lane free at its
//     arrival, so a lane's requests never overlap. A request [arrival, end] holds "waiting for a
//     replica" (the buffer), "to first token" (queue + prefill) and "decode".
//
// Timing: ts and dur in microseconds, written exactly from the integer nanoseconds (3 decimals),
// so a child never pokes out of its parent by rounding. Long-lived slices (replica lifetime,
// cold start, node up) are "B"/"E" pairs written when they begin and end; leaves (phases, batch
// steps, requests) are "X" events written when they end. On every thread events come in time
// order, and slices nest: children within parents, never a partial overlap. A draining replica
// keeps serving, so the drain is not a slice (its batch steps would cross it): the time it began
// is an argument of the lifetime's end, `drained_s`.
//
// Size: replicas, cold starts and node slices are always written (a few hundred bytes per replica
// start). Requests are sampled: every `request_sample`-th by arrival order (serial % N == 0;
// deterministic, the same for every run of the same scenario and seed); a request that finds all
// kMaxLanes lanes of its model busy is counted, not drawn. Batch steps and requests together stop
// once the file reaches `detail_limit_bytes`; the time they stopped is in the file's "otherData".
#pragma once
#include <cstdint>
#include <iosfwd>
#include <span>
#include <string>
#include <vector>

#include "policies/api/cluster_view.hpp"
#include "sim/observer.hpp"
#include "sim/scenario.hpp"

namespace fleetsim {

struct TimelineOptions {
  std::uint64_t request_sample = 100;            // every Nth request is drawn; 0: none
  std::uint64_t detail_limit_bytes = 100000000;  // batch steps and requests stop at this file size
};

class TimelineWriter final : public SimObserver {
 public:
  static constexpr std::size_t kMaxLanes = 64;  // request lanes per model

  // `nodes`: the cluster's nodes (every slot of every pool) as the Simulation built them; only
  // their names are taken. Writes the file's head at once.
  TimelineWriter(const Scenario& scenario, std::span<const NodeView> nodes, std::ostream& out,
                 TimelineOptions options = {});
  ~TimelineWriter() override;
  TimelineWriter(const TimelineWriter&) = delete;
  TimelineWriter& operator=(const TimelineWriter&) = delete;

  bool wants_batch_steps() const override { return true; }
  void on_replica_placed(SimTime now, const ReplicaInfo& replica) override;
  void on_replica_phase(SimTime now, const ReplicaInfo& replica, ReplicaPhase phase) override;
  void on_cold_start(const ColdStartRecord& record) override;
  void on_batch_step(const BatchStepRecord& step) override;
  void on_request_end(const RequestResult& request) override;
  void on_node(SimTime now, std::uint32_t node, bool up) override;
  // Closes every slice still open at `end` and writes the file's tail.
  void on_run_end(SimTime end) override;

  // After on_run_end: the file is whole and every write reached the stream.
  bool ok() const;

  struct Counts {
    std::uint64_t requests_drawn = 0;
    std::uint64_t requests_without_lane = 0;  // sampled, but every lane of the model was busy
    std::uint64_t requests_after_limit = 0;   // sampled, but ended after the detail limit
    std::uint64_t batch_steps = 0;
    SimTime detail_stopped = kNever;  // when the detail limit was reached (kNever: it was not)
  };
  const Counts& counts() const { return counts_; }

 private:
  struct ReplicaTrack {
    std::uint32_t pid = 0;
    ReplicaPhase phase = ReplicaPhase::Ready;
    SimTime phase_start = 0;
    SimTime drained = kNever;
    bool cold_open = false;  // the cold-start slice is open
    bool alive = false;      // the lifetime slice is open
  };

  void event(char ph, std::uint32_t pid, std::uint32_t tid, SimTime ts);
  void name_field(const std::string& quoted, const char* cat);
  void dur_field(SimTime dur);
  void close();
  void slice(std::uint32_t pid, std::uint32_t tid, const std::string& quoted_name, const char* cat,
             SimTime start, SimTime end);
  void metadata(const char* what, std::uint32_t pid, std::uint32_t tid, const std::string& name,
                std::int64_t sort_index);
  void name_node(std::uint32_t node);
  void close_phase(std::uint32_t replica, SimTime now);
  bool detail_allowed(SimTime now);
  std::uint32_t request_pid(std::uint32_t model) const;
  void flush_if_full();
  void flush();

  std::ostream& out_;
  TimelineOptions options_;
  std::string buf_;
  std::uint64_t flushed_bytes_ = 0;
  bool first_event_ = true;
  bool finished_ = false;
  std::string scenario_name_;
  std::uint64_t seed_ = 0;
  std::vector<std::string> model_names_;   // JSON-quoted
  std::vector<std::string> model_plain_names_;
  std::vector<std::string> node_names_;    // plain
  std::vector<bool> node_named_;           // its process_name was written
  std::vector<bool> node_thread_named_;    // its "node" thread's name was written
  std::vector<SimTime> node_up_since_;     // kNever: no "up" slice open
  std::vector<ReplicaTrack> replicas_;     // by replica id
  std::vector<std::vector<SimTime>> lanes_;  // per model: when each lane is free again
  Counts counts_;
};

}  // namespace fleetsim
