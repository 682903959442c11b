#include "reports/metrics_server.hpp"

// The only file that includes cpp-httplib (a heavy header).
#include <httplib.h>
#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <thread>

#include "reports/prometheus.hpp"
#include "sim/simulation.hpp"

namespace fleetsim {

namespace {

double steady_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

class Writer {
 public:
  void family(const char* name, const char* type, const char* unit, const char* help) {
    out_ += std::string("# HELP ") + name + " " + help + "\n";
    out_ += std::string("# TYPE ") + name + " " + type + "\n";
    if (*unit) out_ += std::string("# UNIT ") + name + " " + unit + "\n";
  }
  template <class V>
  void sample(const char* name, V v) {
    out_ += std::string(name) + ' ' + prometheus_value(v) + '\n';
  }
  template <class V>
  void sample(const char* name, const std::string& model, V v, const char* outcome = nullptr) {
    out_ += std::string(name) + "{model=\"" + prometheus_label_escape(model) + '"';
    if (outcome) out_ += std::string(",outcome=\"") + outcome + '"';
    out_ += "} " + prometheus_value(v) + '\n';
  }
  std::string finish() { return out_ + "# EOF\n"; }

 private:
  std::string out_;
};

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

std::string LiveMetrics::render(const LiveSnapshot& s) {
  Writer w;
  w.family("fleetsim_live_simulated_seconds", "gauge", "seconds", "Simulated time the run has reached.");
  w.sample("fleetsim_live_simulated_seconds", s.simulated_seconds);
  w.family("fleetsim_live_duration_seconds", "gauge", "seconds",
           "The scenario's duration (arrivals stop there; requests in flight may run past it).");
  w.sample("fleetsim_live_duration_seconds", s.duration_seconds);
  w.family("fleetsim_live_events_total", "counter", "", "Discrete events the simulation has processed.");
  w.sample("fleetsim_live_events_total", s.events);
  w.family("fleetsim_live_wall_seconds", "gauge", "seconds", "Wall-clock time since the run started.");
  w.sample("fleetsim_live_wall_seconds", s.wall_seconds);
  w.family("fleetsim_live_events_per_second", "gauge", "", "Events processed per wall-clock second, since the start.");
  w.sample("fleetsim_live_events_per_second", s.events_per_second);
  w.family("fleetsim_live_run_finished", "gauge", "", "1 once the run has ended, else 0.");
  w.sample("fleetsim_live_run_finished", std::uint64_t{s.finished ? 1u : 0u});

  LiveSnapshot::Model all{"all", 0, {}};
  for (const auto& m : s.models) {
    all.arrived += m.arrived;
    for (int o = 0; o < kRequestOutcomes; ++o) all.ended[o] += m.ended[o];
  }
  auto each = [&](auto&& f) {
    for (const auto& m : s.models) f(m);
    f(all);
  };
  w.family("fleetsim_live_requests_arrived_total", "counter", "", "Requests that have arrived.");
  each([&](const LiveSnapshot::Model& m) { w.sample("fleetsim_live_requests_arrived_total", m.name, m.arrived); });
  w.family("fleetsim_live_requests_ended_total", "counter", "", "Requests that have ended, by outcome.");
  each([&](const LiveSnapshot::Model& m) {
    for (int o = 0; o < kRequestOutcomes; ++o)
      w.sample("fleetsim_live_requests_ended_total", m.name, m.ended[o], outcome_name(static_cast<RequestOutcome>(o)));
  });
  w.family("fleetsim_live_requests_in_flight", "gauge", "",
           "Requests arrived and not ended (waiting for a replica, queued or running).");
  each([&](const LiveSnapshot::Model& m) {
    std::uint64_t ended = 0;
    for (auto n : m.ended) ended += n;
    w.sample("fleetsim_live_requests_in_flight", m.name, m.arrived >= ended ? m.arrived - ended : 0);
  });
  return w.finish();
}

// ---------------------------------------------------------------- MetricsServer

struct MetricsServer::Impl {
  httplib::Server server;
  std::thread thread;
  std::atomic<bool> listening_done{false};
  bool started = false;
  bool stopped = false;
  int port = 0;
};

MetricsServer::MetricsServer(std::function<std::string()> render, int port) : impl_(std::make_unique<Impl>()) {
  if (port < 0 || port > 65535) throw std::runtime_error("metrics port " + std::to_string(port) + " is out of range (0-65535)");
  httplib::Server& server = impl_->server;
  // Two workers are plenty for a scraper; httplib's default is one per core.
  server.new_task_queue = [] { return new httplib::ThreadPool(2); };
  // SO_REUSEADDR only: httplib's default also sets SO_REUSEPORT, which would let a second server
  // bind the same port silently.
  server.set_socket_options([](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  // One request per connection and short timeouts, so that stop() never waits on a client.
  server.set_keep_alive_max_count(1);
  server.set_read_timeout(2, 0);
  server.set_write_timeout(2, 0);
  server.Get("/metrics", [render = std::move(render)](const httplib::Request&, httplib::Response& res) {
    res.set_content(render(), "application/openmetrics-text; version=1.0.0; charset=utf-8");
  });
  errno = 0;
  bool ok;
  if (port == 0) {
    const int chosen = server.bind_to_any_port("127.0.0.1");
    ok = chosen > 0;
    impl_->port = chosen;
  } else {
    ok = server.bind_to_port("127.0.0.1", port);
    impl_->port = port;
  }
  if (!ok) {
    const int error = errno;
    std::string why = error == EADDRINUSE ? "the port is already in use"
                      : error != 0        ? std::strerror(error)
                                          : "cannot bind";
    throw std::runtime_error("cannot serve metrics on 127.0.0.1:" + std::to_string(port) + ": " + why);
  }
}

MetricsServer::~MetricsServer() { stop(); }

void MetricsServer::start() {
  Impl& impl = *impl_;
  if (impl.started) return;
  impl.started = true;
  impl.thread = std::thread([&impl] {
    impl.server.listen_after_bind();
    impl.listening_done = true;
  });
  // stop() only works once the server runs; the socket already queues connections meanwhile.
  while (!impl.server.is_running() && !impl.listening_done)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

void MetricsServer::stop() {
  Impl& impl = *impl_;
  if (impl.stopped) return;
  if (!impl.started) start();  // the bound socket is closed by the server's own shutdown
  impl.stopped = true;
  impl.server.stop();
  if (impl.thread.joinable()) impl.thread.join();
}

int MetricsServer::port() const { return impl_->port; }

std::string MetricsServer::url() const { return "http://127.0.0.1:" + std::to_string(impl_->port) + "/metrics"; }

}  // namespace fleetsim
