#include "reports/metrics_server.hpp"

#include <netinet/in.h>
#include <prometheus/collectable.h>
#include <prometheus/exposer.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>

#include "reports/exposition.hpp"
#include "sim/simulation.hpp"

namespace fleetsim {

namespace {

double steady_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

// ---------------------------------------------------------------- LiveMetrics

LiveMetrics::LiveMetrics(const Scenario& scenario, std::function<double()> wall_clock)
    : clock_(std::move(wall_clock)),
      start_(clock_()),
      arrived_(scenario.models.size(), 0),
      ended_(scenario.models.size()) {
  for (auto& e : ended_) e.fill(0);
  snapshot_.duration_seconds = to_seconds(scenario.duration);
  for (const ModelSpec& m : scenario.models) snapshot_.models.push_back(LiveSnapshot::Model{m.name, 0, {}});
}

LiveMetrics::LiveMetrics(const Scenario& scenario) : LiveMetrics(scenario, steady_seconds) {}

void LiveMetrics::publish(SimTime now, std::uint64_t events, bool finished) {
  const double wall = clock_() - start_;
  std::lock_guard lock(mutex_);
  snapshot_.simulated_seconds = to_seconds(now);
  snapshot_.events = events;
  snapshot_.wall_seconds = wall;
  snapshot_.events_per_second = wall > 0 ? static_cast<double>(events) / wall : 0;
  snapshot_.finished = snapshot_.finished || finished;
  for (std::size_t m = 0; m < snapshot_.models.size(); ++m) {
    snapshot_.models[m].arrived = arrived_[m];
    snapshot_.models[m].ended = ended_[m];
  }
}

void LiveMetrics::on_progress(SimTime now, std::uint64_t events, std::uint64_t) { publish(now, events, false); }

void LiveMetrics::on_run_end(SimTime end) {
  std::uint64_t events;
  {
    std::lock_guard lock(mutex_);
    events = snapshot_.events;
  }
  publish(end, events, true);
}

void LiveMetrics::complete(const RunStatus& status) { publish(status.end_time, status.events, true); }

LiveSnapshot LiveMetrics::snapshot() const {
  std::lock_guard lock(mutex_);
  return snapshot_;
}

namespace {

std::vector<prometheus::MetricFamily> live_families(const LiveSnapshot& s) {
  exposition::Families w;
  w.gauge("fleetsim_live_simulated_seconds", "Simulated time the run has reached.");
  w.add("fleetsim_live_simulated_seconds", {}, s.simulated_seconds);
  w.gauge("fleetsim_live_duration_seconds",
          "The scenario's duration (arrivals stop there; requests in flight may run past it).");
  w.add("fleetsim_live_duration_seconds", {}, s.duration_seconds);
  w.counter("fleetsim_live_events_total", "Discrete events the simulation has processed.");
  w.add("fleetsim_live_events_total", {}, static_cast<double>(s.events));
  w.gauge("fleetsim_live_wall_seconds", "Wall-clock time since the run started.");
  w.add("fleetsim_live_wall_seconds", {}, s.wall_seconds);
  w.gauge("fleetsim_live_events_per_second", "Events processed per wall-clock second, since the start.");
  w.add("fleetsim_live_events_per_second", {}, s.events_per_second);
  w.gauge("fleetsim_live_run_finished", "1 once the run has ended, else 0.");
  w.add("fleetsim_live_run_finished", {}, s.finished ? 1 : 0);

  LiveSnapshot::Model all{"all", 0, {}};
  for (const auto& m : s.models) {
    all.arrived += m.arrived;
    for (int o = 0; o < kRequestOutcomes; ++o) all.ended[o] += m.ended[o];
  }
  auto each = [&](auto&& f) {
    for (const auto& m : s.models) f(m);
    f(all);
  };
  w.counter("fleetsim_live_requests_arrived_total", "Requests that have arrived.");
  each([&](const LiveSnapshot::Model& m) {
    w.add("fleetsim_live_requests_arrived_total", {{"model", m.name}}, static_cast<double>(m.arrived));
  });
  w.counter("fleetsim_live_requests_ended_total", "Requests that have ended, by outcome.");
  each([&](const LiveSnapshot::Model& m) {
    for (int o = 0; o < kRequestOutcomes; ++o)
      w.add("fleetsim_live_requests_ended_total",
            {{"model", m.name}, {"outcome", outcome_name(static_cast<RequestOutcome>(o))}},
            static_cast<double>(m.ended[o]));
  });
  w.gauge("fleetsim_live_requests_in_flight",
          "Requests arrived and not ended (waiting for a replica, queued or running).");
  each([&](const LiveSnapshot::Model& m) {
    std::uint64_t ended = 0;
    for (auto n : m.ended) ended += n;
    w.add("fleetsim_live_requests_in_flight", {{"model", m.name}},
          static_cast<double>(m.arrived >= ended ? m.arrived - ended : 0));
  });
  return w.collect();
}

// What the Exposer scrapes: the latest published snapshot.
class LiveCollectable : public prometheus::Collectable {
 public:
  explicit LiveCollectable(const LiveMetrics& live) : live_(live) {}
  std::vector<prometheus::MetricFamily> Collect() const override { return live_families(live_.snapshot()); }

 private:
  const LiveMetrics& live_;
};

// Why 127.0.0.1:port cannot be bound: the Exposer (civetweb) only says that it could not start,
// so bind a socket of our own to learn the reason.
std::string bind_failure(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return std::strerror(errno);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  errno = 0;
  const bool bound = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  const int error = errno;
  ::close(fd);
  if (bound) return "cannot bind";
  return error == EADDRINUSE ? "the port is already in use" : std::strerror(error);
}

}  // namespace

std::string LiveMetrics::render(const LiveSnapshot& s) { return exposition::serialize(live_families(s)); }

// ---------------------------------------------------------------- MetricsServer

struct MetricsServer::Impl {
  // Declared before the Exposer, so destroyed after it: no scrape can reach a dead collectable.
  std::shared_ptr<LiveCollectable> collectable;
  std::unique_ptr<prometheus::Exposer> exposer;
  bool started = false;
  int port = 0;
};

MetricsServer::MetricsServer(const LiveMetrics& live, int port) : impl_(std::make_unique<Impl>()) {
  if (port < 0 || port > 65535) throw std::runtime_error("metrics port " + std::to_string(port) + " is out of range (0-65535)");
  impl_->collectable = std::make_shared<LiveCollectable>(live);
  const std::string address = "127.0.0.1:" + std::to_string(port);
  try {
    // Two worker threads are plenty for a scraper.
    impl_->exposer = std::make_unique<prometheus::Exposer>(address, 2);
  } catch (const std::exception&) {
    throw std::runtime_error("cannot serve metrics on " + address + ": " + bind_failure(port));
  }
  const std::vector<int> ports = impl_->exposer->GetListeningPorts();
  if (ports.empty()) throw std::runtime_error("cannot serve metrics on " + address + ": no listening port");
  impl_->port = ports.front();
}

MetricsServer::~MetricsServer() { stop(); }

void MetricsServer::start() {
  Impl& impl = *impl_;
  if (impl.started || !impl.exposer) return;
  impl.started = true;
  impl.exposer->RegisterCollectable(impl.collectable);
}

void MetricsServer::stop() { impl_->exposer.reset(); }

int MetricsServer::port() const { return impl_->port; }

std::string MetricsServer::url() const { return "http://127.0.0.1:" + std::to_string(impl_->port) + "/metrics"; }

}  // namespace fleetsim
