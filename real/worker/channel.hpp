// Channel: the controller and a worker talk over one stream socket, one JSON object per line
// (the messages are listed in real/worker/worker.hpp). Small and blocking on purpose: a worker
// polls it between batch steps, the controller polls all its workers' channels at once.
#pragma once
#include <nlohmann/json.hpp>

#include <optional>
#include <string>

namespace fleetsim::real {

class Channel {
 public:
  explicit Channel(int fd) : fd_(fd) {}
  int fd() const { return fd_; }
  // Writes one message; false when the other side has gone.
  bool send(const nlohmann::json& message);
  // The next message, waiting up to `timeout_ms` (-1: for ever, 0: not at all); nullopt on a
  // timeout or when the other side has gone (then closed() is true). A line that is not JSON
  // is an error message in `bad_line`.
  std::optional<nlohmann::json> receive(int timeout_ms);
  bool closed() const { return closed_; }
  const std::string& bad_line() const { return bad_line_; }

 private:
  std::optional<nlohmann::json> take_line();
  int fd_;
  bool closed_ = false;
  std::string buffer_;
  std::string bad_line_;
};

// CLOCK_MONOTONIC in nanoseconds: one clock for every process of a real-mode run.
std::int64_t monotonic_ns();

}  // namespace fleetsim::real
