#include "real/worker/channel.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>

namespace fleetsim::real {

std::int64_t monotonic_ns() {
  timespec t{};
  clock_gettime(CLOCK_MONOTONIC, &t);
  return static_cast<std::int64_t>(t.tv_sec) * 1'000'000'000 + t.tv_nsec;
}

bool Channel::send(const nlohmann::json& message) {
  if (closed_) return false;
  const std::string line = message.dump() + "\n";
  std::size_t sent = 0;
  while (sent < line.size()) {
    const ssize_t n = ::send(fd_, line.data() + sent, line.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      closed_ = true;
      return false;
    }
    sent += static_cast<std::size_t>(n);
  }
  return true;
}

std::optional<nlohmann::json> Channel::take_line() {
  const std::size_t end = buffer_.find('\n');
  if (end == std::string::npos) return std::nullopt;
  std::string line = buffer_.substr(0, end);
  buffer_.erase(0, end + 1);
  auto parsed = nlohmann::json::parse(line, nullptr, false);
  if (parsed.is_discarded() || !parsed.is_object()) {
    bad_line_ = line.substr(0, 200);
    return nlohmann::json{{"ev", "error"}, {"message", "not a JSON object: " + bad_line_}};
  }
  return parsed;
}

std::optional<nlohmann::json> Channel::receive(int timeout_ms) {
  if (auto line = take_line()) return line;
  while (!closed_) {
    pollfd p{fd_, POLLIN, 0};
    const int ready = ::poll(&p, 1, timeout_ms);
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return std::nullopt;
    char chunk[65536];
    const ssize_t n = ::read(fd_, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      closed_ = true;
      return std::nullopt;
    }
    buffer_.append(chunk, static_cast<std::size_t>(n));
    if (buffer_.size() > (64u << 20)) {  // a line of 64 MB is no message of ours
      closed_ = true;
      return std::nullopt;
    }
    if (auto line = take_line()) return line;
    timeout_ms = timeout_ms < 0 ? -1 : 0;  // a partial line: finish reading what is there
  }
  return std::nullopt;
}

}  // namespace fleetsim::real
