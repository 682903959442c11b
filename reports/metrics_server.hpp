// Live metrics of a run in progress, served over HTTP for Prometheus (`fleetsim run
// --metrics-port N`).
//
// LiveMetrics is an observer: per event it only bumps a per-model counter (on_request_arrived,
// on_request_end; no allocation, no lock); every on_progress (65,536 events) and at on_run_end it
// publishes a snapshot under a mutex. text() renders the latest snapshot from any thread, in the
// Prometheus text format as prometheus-cpp writes it, with the `fleetsim_live_` prefix and the
// conventions of reports/prometheus.hpp (base units, counters named with `_total` on their
// # HELP / # TYPE lines so that `promtool check metrics` passes, model="all" for the whole run):
//   fleetsim_live_simulated_seconds            gauge    simulated time reached
//   fleetsim_live_duration_seconds             gauge    the scenario's duration (arrivals stop)
//   fleetsim_live_events_total                 counter  events processed
//   fleetsim_live_wall_seconds                 gauge    wall time since the run started
//   fleetsim_live_events_per_second            gauge    events / wall time
//   fleetsim_live_run_finished                 gauge    1 once the run has ended
//   fleetsim_live_requests_arrived_total       counter  {model}
//   fleetsim_live_requests_ended_total         counter  {model, outcome}
//   fleetsim_live_requests_in_flight           gauge    {model}: arrived and not ended
//
// MetricsServer serves them at GET /metrics on 127.0.0.1 (loopback only) with prometheus-cpp's
// Exposer (civetweb threads of its own).
#pragma once
#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "sim/observer.hpp"
#include "sim/scenario.hpp"

namespace fleetsim {

struct RunStatus;

struct LiveSnapshot {
  struct Model {
    std::string name;
    std::uint64_t arrived = 0;
    std::array<std::uint64_t, kRequestOutcomes> ended{};  // by RequestOutcome
  };
  double simulated_seconds = 0;
  double duration_seconds = 0;
  std::uint64_t events = 0;
  double wall_seconds = 0;
  double events_per_second = 0;
  bool finished = false;
  std::vector<Model> models;
};

class LiveMetrics : public SimObserver {
 public:
  // `wall_clock`: seconds, monotonic, read once here (the start) and once per update.
  LiveMetrics(const Scenario& scenario, std::function<double()> wall_clock);
  explicit LiveMetrics(const Scenario& scenario);  // steady clock

  void on_request_arrived(SimTime, std::uint32_t model, bool) override {
    if (model < arrived_.size()) ++arrived_[model];
  }
  void on_request_end(const RequestResult& r) override {
    if (r.model < ended_.size()) ++ended_[r.model][static_cast<std::size_t>(r.outcome)];
  }
  void on_progress(SimTime now, std::uint64_t events, std::uint64_t requests) override;
  // Publishes the final figures and marks the run finished; the events counter keeps the value
  // of the last on_progress until complete() sets the exact total.
  void on_run_end(SimTime end) override;
  // After Simulation::run(): the exact event count (and finished, also for a failed run).
  void complete(const RunStatus& status);

  LiveSnapshot snapshot() const;
  std::string text() const { return render(snapshot()); }
  static std::string render(const LiveSnapshot& snapshot);

 private:
  void publish(SimTime now, std::uint64_t events, bool finished);

  std::function<double()> clock_;
  double start_;
  // Written by the simulation's thread only; copied into the snapshot at each update.
  std::vector<std::uint64_t> arrived_;
  std::vector<std::array<std::uint64_t, kRequestOutcomes>> ended_;
  mutable std::mutex mutex_;
  LiveSnapshot snapshot_;  // guarded by mutex_
};

// Serves GET /metrics on 127.0.0.1:port with prometheus-cpp's Exposer: the latest snapshot of
// `live` (what LiveMetrics::text() renders), after the Exposer's own exposer_* families (bytes
// sent, scrapes, scrape latencies), as text/plain. The constructor binds the port (0: any free
// one, see port()) and throws std::runtime_error naming the address when it cannot (in use, not
// permitted); /metrics answers 404 until start(). stop() (and the destructor) closes the port and
// joins the server's threads. `live` must outlive the server.
class MetricsServer {
 public:
  MetricsServer(const LiveMetrics& live, int port);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  void start();  // serves /metrics from now on
  void stop();   // idempotent
  int port() const;
  std::string url() const;  // http://127.0.0.1:PORT/metrics

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace fleetsim
