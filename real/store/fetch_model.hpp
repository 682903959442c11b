// The model store's client: downloads one model file from a store (store_server.hpp) into a
// node's folder. Used by the tests now and by the real-mode controller's cold starts later.
//
// Contract:
//   - The file is written to a hidden temporary beside `destination`
//     (".NAME.part-PID-N", in the same folder, so the rename cannot cross file systems) and
//     renamed onto `destination` only once every byte the store announced has arrived; on any
//     error the temporary is removed and `destination` is left as it was. Never a partial file.
//   - A refused connection (no store listening yet, or a store restarting) or an answer 503 (a
//     store that says it is down: an injected outage) is retried with exponential backoff —
//     first_backoff_s, doubling after each try, capped at max_backoff_s — until `retry_for_s`
//     after the call began: a store that is briefly down only delays the load, and the delay is
//     in `seconds`. Anything else — another answer than 200, a connection that breaks
//     mid-transfer, a file that cannot be written — ends the call at once with the reason (the
//     caller decides whether to try again).
//   - `seconds` is the wall time of the whole call, retries included; `waited_seconds` the part
//     spent waiting for a refused (or unavailable) store.
// Thread-safe: each call has its own connection.
#pragma once
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <string>

namespace fleetsim {

struct FetchOptions {
  double retry_for_s = 30;       // keep retrying a refused connection this long (0: one attempt)
  double first_backoff_s = 0.05; // the first wait after a refusal; doubles each time ...
  double max_backoff_s = 1.0;    // ... up to this
  double read_timeout_s = 30;    // a store silent this long mid-transfer is an error
  // Set from another thread to give up early (Ctrl-C): checked between attempts and per chunk.
  const std::atomic<bool>* cancel = nullptr;
};

struct FetchResult {
  std::uint64_t bytes = 0;  // written to `destination` (0 on error)
  double seconds = 0;       // the whole call
  double waited_seconds = 0;  // of which waiting for a refused store to come up
  int attempts = 0;         // connections tried
  int status = 0;           // the store's HTTP status (0: no answer)
  std::string error;        // "" on success
  bool ok() const { return error.empty(); }
};

FetchResult fetch_model(const std::string& host, int port, const std::string& name,
                        const std::filesystem::path& destination, const FetchOptions& options = {});

}  // namespace fleetsim
