// The model store of real mode: an HTTP server on loopback that serves the model weight files
// of one folder under bandwidth limits shared as on a cluster network (README, "Real mode: the
// model store"). `fleetsim store DIR --port N` runs one; the real-mode controller will run one
// in-process. Workers load weights from it with fetch_model (real/store/fetch_model.hpp).
//
//   GET  /models/NAME   the file NAME of the folder (store_files.hpp: which names are served;
//                       400 for a bad name, 404 for an unknown one, with a one-line message).
//                       Range requests are answered (cpp-httplib), under the same limits.
//   GET  /models        {"models": [{"name": ..., "bytes": ...}, ...]}, sorted by name; HEAD too.
//
// Bandwidth: `total_bandwidth` is shared by every transfer in progress, `connection_bandwidth`
// caps each one; 0 means no limit. Each transfer sends a chunk at a time (bandwidth_limiter.hpp:
// ~10 ms worth), first waiting for its own limit, then booking the chunk on the total, so
// transfers under the total take turns chunk by chunk and share it equally.
//
// Lifetime: start() binds 127.0.0.1 (the only address it accepts: anything else is refused with
// a reason, as is a port in use) and serves on threads of its own until stop(); stop() (and the
// destructor) ends transfers in progress after at most one chunk — their clients see a short
// body, never a complete-looking one — and joins every thread. Errors are values: start()
// returns a message, never exits.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace fleetsim {

// One transfer, when it ends (complete or not): for the store's log.
struct StoreTransfer {
  std::string name;
  std::uint64_t bytes = 0;      // sent
  std::uint64_t requested = 0;  // asked for (the file, or the range)
  double seconds = 0;
  bool complete = false;
};

struct StoreOptions {
  std::string directory;             // the folder whose files are served
  std::string host = "127.0.0.1";    // "127.0.0.1" or "localhost": loopback only
  int port = 0;                      // 0: any free port (see StoreServer::port())
  double total_bandwidth = 0;        // bytes/s across all transfers; 0: no limit
  double connection_bandwidth = 0;   // bytes/s per transfer; 0: no limit
  int threads = 32;                  // connections served at once (more wait their turn)
  // Called from the server's threads as each transfer ends; must be thread-safe.
  std::function<void(const StoreTransfer&)> on_transfer_end;
};

// Updated by the server's threads as chunks go out: a client can hold its last byte a moment
// before the transfer is counted as complete (and no longer active).
struct StoreCounters {
  std::uint64_t bytes_served = 0;        // model bytes sent, complete transfers or not
  std::uint64_t transfers_complete = 0;
  std::uint64_t transfers_incomplete = 0;  // the client went away or the server stopped
  std::uint64_t transfers_active = 0;
  std::uint64_t requests_refused = 0;    // 400, 404 and (during an outage) 503 answers
};

class StoreServer {
 public:
  explicit StoreServer(StoreOptions options);
  ~StoreServer();
  StoreServer(const StoreServer&) = delete;
  StoreServer& operator=(const StoreServer&) = delete;

  // Binds and starts serving; "" on success, else why not (not a folder, not loopback, port in
  // use). Once only.
  std::string start();
  void stop();  // idempotent; also before start()
  bool running() const;
  // An outage (a scenario's `store_down` fault): while set, every GET of a model file is
  // answered 503 (counted as refused); fetch_model retries it as it retries a refused connection.
  void set_unavailable(bool down);
  int port() const;  // the bound port (the chosen one for port 0); 0 before start()
  std::string address() const;  // "127.0.0.1:PORT"
  StoreCounters counters() const;
  const StoreOptions& options() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Why `host` may not be a store's address ("" when it may): the store binds loopback only.
std::string store_host_problem(const std::string& host);

}  // namespace fleetsim
