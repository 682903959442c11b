#include "real/store/store_server.hpp"

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <thread>
#include <vector>

#include "real/store/bandwidth_limiter.hpp"
#include "real/store/store_files.hpp"

namespace fleetsim {

namespace fs = std::filesystem;

std::string store_host_problem(const std::string& host) {
  if (host == "127.0.0.1" || host == "localhost") return "";
  return "the model store listens on loopback only (127.0.0.1), not on '" + host +
         "': it serves files without authentication";
}

struct StoreServer::Impl {
  explicit Impl(StoreOptions o)
      : options(std::move(o)), total(options.total_bandwidth, pace_depth_bytes(options.total_bandwidth)) {}

  StoreOptions options;
  fs::path folder;  // canonical
  httplib::Server server;
  std::thread listener;
  std::atomic<bool> listener_done{false};
  bool started = false;
  int port = 0;

  SharedPacer total;
  std::size_t chunk = pace_chunk_bytes(0);

  std::mutex stop_mutex;
  std::condition_variable stop_cv;
  std::atomic<bool> stopping{false};
  std::atomic<bool> unavailable{false};  // set_unavailable(): a store outage (fault injection)

  std::atomic<std::uint64_t> bytes_served{0}, complete{0}, incomplete{0}, active{0}, refused{0};

  // Sleeps until `when`; false when the server is stopping (the transfer must end).
  bool sleep_until(PaceClock::time_point when) {
    if (stopping.load()) return false;
    if (when <= PaceClock::now()) return true;
    std::unique_lock lock(stop_mutex);
    return !stop_cv.wait_until(lock, when, [this] { return stopping.load(); });
  }

  // One GET of a model file: owned by the response's content provider, so it ends (and is
  // counted, and logged) when cpp-httplib is done with the response, complete or not.
  struct Transfer {
    Impl* store = nullptr;
    std::string name;
    int fd = -1;
    Pacer own;
    std::vector<char> buffer;
    bool started = false;
    bool finished = false;
    std::uint64_t requested = 0;
    std::uint64_t sent = 0;
    PaceClock::time_point began{};

    ~Transfer();
  };

  void serve_model(const httplib::Request& req, httplib::Response& res);
  void serve_listing(httplib::Response& res);
  void refuse(httplib::Response& res, int status, const std::string& message) {
    ++refused;
    res.status = status;
    res.set_content(message + "\n", "text/plain");
  }
};

void StoreServer::Impl::serve_listing(httplib::Response& res) {
  nlohmann::ordered_json models = nlohmann::ordered_json::array();
  for (const ModelFile& m : list_models(folder)) models.push_back({{"name", m.name}, {"bytes", m.bytes}});
  res.set_content(nlohmann::ordered_json{{"models", std::move(models)}}.dump() + "\n", "application/json");
}

void StoreServer::Impl::serve_model(const httplib::Request& req, httplib::Response& res) {
  const std::string name = req.matches.size() > 1 ? req.matches[1].str() : "";
  if (unavailable.load()) {
    res.set_header("Retry-After", "1");
    return refuse(res, 503, "the store is down (an injected outage)");
  }
  ResolvedModel m = resolve_model(folder, name);
  if (m.status != 200) return refuse(res, m.status, m.error);
  const int fd = ::open(m.file.path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return refuse(res, 404, "no model '" + name + "' in the store (" + std::strerror(errno) + ")");
  auto t = std::make_shared<Transfer>();
  t->store = this;
  t->name = name;
  t->fd = fd;
  t->own = Pacer(options.connection_bandwidth, pace_depth_bytes(options.connection_bandwidth));
  if (m.file.bytes == 0) {
    // No body: cpp-httplib takes a provider of length 0 for one without a length and would
    // call it until it says done. A GET of it is still a (complete) transfer.
    res.set_content("", "application/octet-stream");
    if (req.method != "HEAD") {
      t->started = t->finished = true;
      t->began = PaceClock::now();
      ++active;
    }
    return;
  }
  t->buffer.resize(chunk);
  res.set_content_provider(
      static_cast<std::size_t>(m.file.bytes), "application/octet-stream",
      [t](std::size_t offset, std::size_t length, httplib::DataSink& sink) {
        Impl& s = *t->store;
        if (!t->started) {
          t->started = true;
          t->requested = length;
          t->began = PaceClock::now();
          ++s.active;
        }
        const std::size_t want = std::min(length, t->buffer.size());
        const ssize_t got = ::pread(t->fd, t->buffer.data(), want, static_cast<off_t>(offset));
        if (got <= 0) return false;  // the file shrank or cannot be read: the client sees a short body
        const auto n = static_cast<std::size_t>(got);
        // Its own limit first, then a turn on the shared one: a transfer held back by its own
        // limit does not hold a share of the total it cannot use.
        if (!s.sleep_until(t->own.reserve(PaceClock::now(), n))) return false;
        if (!s.sleep_until(s.total.reserve(PaceClock::now(), n))) return false;
        if (!sink.write(t->buffer.data(), n)) return false;
        t->sent += n;
        s.bytes_served += n;
        if (n == length) t->finished = true;
        return true;
      });
}

StoreServer::Impl::Transfer::~Transfer() {
  if (fd >= 0) ::close(fd);
  if (!started) return;  // HEAD, or a response that never got to its body
  Impl& s = *store;
  --s.active;
  ++(finished ? s.complete : s.incomplete);
  if (!s.options.on_transfer_end) return;
  StoreTransfer record;
  record.name = name;
  record.bytes = sent;
  record.requested = requested;
  record.seconds = std::chrono::duration<double>(PaceClock::now() - began).count();
  record.complete = finished;
  try {
    s.options.on_transfer_end(record);
  } catch (...) {
    // A log line that cannot be written must not take the server down.
  }
}

StoreServer::StoreServer(StoreOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

StoreServer::~StoreServer() { stop(); }

std::string StoreServer::start() {
  Impl& s = *impl_;
  if (s.started) return "the store was already started";
  const StoreOptions& o = s.options;
  if (std::string why = store_host_problem(o.host); !why.empty()) return why;
  if (o.port < 0 || o.port > 65535) return "port " + std::to_string(o.port) + " is not a TCP port (0 to 65535)";
  if (!(o.total_bandwidth >= 0) || !(o.connection_bandwidth >= 0))
    return "a bandwidth limit must be a positive rate (or 0 for none)";
  std::error_code ec;
  s.folder = fs::canonical(o.directory, ec);
  if (ec || !fs::is_directory(s.folder, ec)) return o.directory + ": not a folder";
  s.chunk = std::min(pace_chunk_bytes(o.total_bandwidth), pace_chunk_bytes(o.connection_bandwidth));

  // SO_REUSEADDR only: cpp-httplib's default also sets SO_REUSEPORT, with which a second store
  // on a port in use would bind and share the connections instead of being refused.
  s.server.set_socket_options([](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  const int threads = std::max(1, o.threads);
  s.server.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<std::size_t>(threads)); };
  s.server.Get(R"(/models/?)", [&s](const httplib::Request&, httplib::Response& res) { s.serve_listing(res); });
  s.server.Get(R"(/models/(.*))",
               [&s](const httplib::Request& req, httplib::Response& res) { s.serve_model(req, res); });
  s.server.set_error_handler(httplib::Server::HandlerWithResponse([&s](const httplib::Request&, httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    ++s.refused;
    res.set_content("not found: the store answers GET /models (the list) and GET /models/NAME\n", "text/plain");
    return httplib::Server::HandlerResponse::Handled;
  }));
  s.server.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr e) {
    std::string what = "unknown exception";
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& x) {
      what = x.what();
    } catch (...) {
    }
    res.status = 500;
    res.set_content("store error: " + what + "\n", "text/plain");
  });

  const std::string ip = "127.0.0.1";
  errno = 0;
  int port = o.port;
  if (o.port == 0) port = s.server.bind_to_any_port(ip);
  else if (!s.server.bind_to_port(ip, o.port)) port = -1;
  if (port <= 0) {
    const int error = errno;
    std::string why = error == EADDRINUSE ? "the port is already in use"
                      : error == EACCES   ? "not permitted (a port below 1024 needs privileges)"
                      : error != 0        ? std::strerror(error)
                                          : "bind failed";
    return "cannot listen on " + ip + ":" + std::to_string(o.port) + ": " + why;
  }
  s.port = port;
  s.started = true;
  s.listener = std::thread([&s] {
    // The pool threads are created by this one and inherit its mask: a client that goes away
    // mid-transfer gives EPIPE on these threads, never a process-wide SIGPIPE. (cpp-httplib's
    // Server also sets SIGPIPE to SIG_IGN for the whole process.)
    sigset_t pipe;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
    s.server.listen_after_bind();
    s.listener_done = true;
  });
  // stop() is only safe once the server runs (cpp-httplib ignores a stop before that).
  while (!s.server.is_running() && !s.listener_done.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  if (s.listener_done.load()) {
    s.listener.join();
    s.started = false;
    return "cannot listen on " + address();
  }
  return "";
}

void StoreServer::stop() {
  Impl& s = *impl_;
  {
    std::lock_guard lock(s.stop_mutex);
    s.stopping = true;
  }
  s.stop_cv.notify_all();
  if (s.listener.joinable()) {
    s.server.stop();
    s.listener.join();
  }
}

bool StoreServer::running() const { return impl_->listener.joinable() && !impl_->listener_done.load() && !impl_->stopping.load(); }

void StoreServer::set_unavailable(bool down) { impl_->unavailable = down; }

int StoreServer::port() const { return impl_->port; }

std::string StoreServer::address() const { return "127.0.0.1:" + std::to_string(impl_->port); }

StoreCounters StoreServer::counters() const {
  const Impl& s = *impl_;
  StoreCounters c;
  c.bytes_served = s.bytes_served.load();
  c.transfers_complete = s.complete.load();
  c.transfers_incomplete = s.incomplete.load();
  c.transfers_active = s.active.load();
  c.requests_refused = s.refused.load();
  return c;
}

const StoreOptions& StoreServer::options() const { return impl_->options; }

}  // namespace fleetsim
