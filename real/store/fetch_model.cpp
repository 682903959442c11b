#include "real/store/fetch_model.hpp"

#include <httplib.h>

#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <chrono>
#include <csignal>
#include <cstring>
#include <ctime>
#include <thread>

namespace fleetsim {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

std::string seconds_text(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f s", s);
  return buf;
}

// Every byte outside RFC 3986's unreserved set as %XX, so any name reaches the store as it was
// given (the store decides what it refuses).
std::string url_path_segment(const std::string& name) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : name) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

// A store that closes the connection while the request is being written would raise SIGPIPE,
// whose default kills the process: block it on this thread for the call and swallow one raised
// meanwhile. (A process that runs a store in-process ignores SIGPIPE anyway: cpp-httplib's
// Server sets that.)
class BlockSigpipe {
 public:
  BlockSigpipe() {
    sigset_t pipe;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe, &previous_);
    sigset_t pending;
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
  }
  ~BlockSigpipe() {
    sigset_t pending;
    sigpending(&pending);
    if (!was_pending_ && sigismember(&pending, SIGPIPE) == 1) {
      sigset_t pipe;
      sigemptyset(&pipe);
      sigaddset(&pipe, SIGPIPE);
      const timespec zero{};
      sigtimedwait(&pipe, nullptr, &zero);
    }
    pthread_sigmask(SIG_SETMASK, &previous_, nullptr);
  }
  BlockSigpipe(const BlockSigpipe&) = delete;
  BlockSigpipe& operator=(const BlockSigpipe&) = delete;

 private:
  sigset_t previous_{};
  bool was_pending_ = false;
};

// The hidden temporary beside the destination; unique per process and call.
fs::path temporary_beside(const fs::path& destination) {
  static std::atomic<unsigned> counter{0};
  return destination.parent_path() / ("." + destination.filename().string() + ".part-" + std::to_string(::getpid()) +
                                      "-" + std::to_string(counter++));
}

bool cancelled(const FetchOptions& o) { return o.cancel != nullptr && o.cancel->load(); }

// One attempt, written into `temporary` (created, truncated). Returns the httplib error.
struct Attempt {
  httplib::Error error = httplib::Error::Unknown;
  int status = 0;
  std::int64_t announced = -1;  // Content-Length
  std::uint64_t bytes = 0;
  std::string body;        // of a refusal (status != 200), cut short
  std::string write_error; // writing the temporary failed
};

Attempt attempt(const std::string& host, int port, const std::string& path, int fd, const FetchOptions& o) {
  Attempt a;
  httplib::Client client(host, port);
  client.set_url_encode(false);  // the path is encoded already
  client.set_keep_alive(false);
  client.set_decompress(false);
  client.set_connection_timeout(std::chrono::seconds(5));
  client.set_read_timeout(std::chrono::duration<double>(o.read_timeout_s));
  client.set_write_timeout(std::chrono::seconds(5));
  // Model bytes as they are on the store's disk: no content coding.
  const httplib::Headers headers{{"Accept-Encoding", "identity"}};
  auto result = client.Get(
      path, headers,
      [&a](const httplib::Response& response) {
        a.status = response.status;
        const std::string length = response.get_header_value("Content-Length");
        std::uint64_t n = 0;
        const auto [end, ec] = std::from_chars(length.data(), length.data() + length.size(), n);
        if (!length.empty() && ec == std::errc() && end == length.data() + length.size())
          a.announced = static_cast<std::int64_t>(n);
        return true;
      },
      [&a, fd, &o](const char* data, std::size_t size) {
        if (a.status != 200) {
          a.body.append(data, std::min<std::size_t>(size, 1000 - std::min<std::size_t>(a.body.size(), 1000)));
          return true;
        }
        if (cancelled(o)) return false;
        for (std::size_t done = 0; done < size;) {
          const ssize_t n = ::write(fd, data + done, size - done);
          if (n < 0 && errno == EINTR) continue;
          if (n <= 0) {
            a.write_error = std::strerror(n < 0 ? errno : EIO);
            return false;
          }
          done += static_cast<std::size_t>(n);
        }
        a.bytes += size;
        return true;
      });
  a.error = result.error();
  if (result && a.status == 0) a.status = result->status;
  return a;
}

}  // namespace

FetchResult fetch_model(const std::string& host, int port, const std::string& name, const fs::path& destination,
                        const FetchOptions& options) {
  const Clock::time_point began = Clock::now();
  const auto deadline = began + std::chrono::duration_cast<Clock::duration>(
                                    std::chrono::duration<double>(std::max(0.0, options.retry_for_s)));
  const std::string where = "http://" + host + ":" + std::to_string(port) + "/models/" + name;
  FetchResult r;
  const auto fail = [&](std::string why) {
    r.bytes = 0;
    r.error = "fetching " + where + ": " + std::move(why);
    r.seconds = seconds_since(began);
    return r;
  };
  if (destination.filename().empty()) return fail("the destination '" + destination.string() + "' names no file");
  const fs::path temporary = temporary_beside(destination);
  const std::string path = "/models/" + url_path_segment(name);
  BlockSigpipe no_sigpipe;

  double backoff = std::max(0.001, options.first_backoff_s);
  for (;;) {
    if (cancelled(options)) return fail("cancelled");
    const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return fail("cannot write " + temporary.string() + ": " + std::strerror(errno));
    ++r.attempts;
    Attempt a = attempt(host, port, path, fd, options);
    r.status = a.status;
    const int close_error = ::close(fd) == 0 ? 0 : errno;
    const auto discard = [&] {
      std::error_code ec;
      fs::remove(temporary, ec);
    };
    // A refused connection, or a store that answers 503 (down for a while): wait and try again.
    const bool unavailable = a.error == httplib::Error::Success && a.status == 503;
    if ((a.error == httplib::Error::Connection || unavailable) && !cancelled(options)) {
      discard();
      const auto now = Clock::now();
      if (now >= deadline)
        return fail(std::string("no store answers (") + (unavailable ? "503 unavailable" : "connection refused") +
                    "; tried " + std::to_string(r.attempts) + " times in " + seconds_text(seconds_since(began)) + ")");
      const auto pause = std::min(std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(backoff)),
                                  deadline - now);
      std::this_thread::sleep_for(pause);
      r.waited_seconds += std::chrono::duration<double>(pause).count();
      backoff = std::min(backoff * 2, std::max(backoff, options.max_backoff_s));
      continue;
    }
    if (a.error != httplib::Error::Success) {
      discard();
      if (!a.write_error.empty()) return fail("cannot write " + temporary.string() + ": " + a.write_error);
      if (cancelled(options)) return fail("cancelled");
      return fail(httplib::to_string(a.error) + " error after " + std::to_string(a.bytes) + " of " +
                  (a.announced >= 0 ? std::to_string(a.announced) : std::string("?")) + " bytes");
    }
    if (a.status != 200) {
      discard();
      std::string said = a.body;
      while (!said.empty() && (said.back() == '\n' || said.back() == '\r')) said.pop_back();
      return fail("the store answered " + std::to_string(a.status) + (said.empty() ? "" : ": " + said));
    }
    if (a.announced >= 0 && a.bytes != static_cast<std::uint64_t>(a.announced)) {
      discard();
      return fail("short transfer: " + std::to_string(a.bytes) + " of " + std::to_string(a.announced) + " bytes");
    }
    if (close_error != 0) {
      discard();
      return fail("cannot write " + temporary.string() + ": " + std::strerror(close_error));
    }
    std::error_code ec;
    fs::rename(temporary, destination, ec);
    if (ec) {
      discard();
      return fail("cannot rename the download onto " + destination.string() + ": " + ec.message());
    }
    r.bytes = a.bytes;
    r.seconds = seconds_since(began);
    return r;
  }
}

}  // namespace fleetsim
