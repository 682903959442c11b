#include "real/worker/weight_store.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

#include "real/store/fetch_model.hpp"

namespace fleetsim::real {

namespace {

class FolderStore final : public WeightStore {
 public:
  explicit FolderStore(std::string folder) : folder_(std::move(folder)) {}

  FetchResult fetch(const std::string& name, const std::string& dest) override {
    FetchResult r;
    if (name.empty() || name.find('/') != std::string::npos || name == "." || name == "..") {
      r.error = "bad model file name \"" + name + "\"";
      return r;
    }
    const std::string source = folder_ + "/" + name;
    const int in = ::open(source.c_str(), O_RDONLY | O_CLOEXEC);
    if (in < 0) {
      r.error = "store: cannot open " + source + ": " + std::strerror(errno);
      return r;
    }
    ::posix_fadvise(in, 0, 0, POSIX_FADV_DONTNEED);  // a fetch reads the store's disk, not its page cache
    const std::string part = dest + ".part";
    const int out = ::open(part.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out < 0) {
      r.error = "cannot write " + part + ": " + std::strerror(errno);
      ::close(in);
      return r;
    }
    std::vector<char> buffer(4 << 20);
    for (;;) {
      const ssize_t got = ::read(in, buffer.data(), buffer.size());
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) {
        r.error = "store: read " + source + ": " + std::strerror(errno);
        break;
      }
      if (got == 0) break;
      ssize_t done = 0;
      while (done < got) {
        const ssize_t n = ::write(out, buffer.data() + done, static_cast<std::size_t>(got - done));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
          r.error = "write " + part + ": " + std::strerror(errno);
          break;
        }
        done += n;
      }
      if (!r.error.empty()) break;
      r.bytes += static_cast<std::uint64_t>(got);
    }
    // On the node's disk before it counts as fetched (a download is written, not just cached).
    if (r.error.empty() && ::fdatasync(out) != 0) r.error = "sync " + part + ": " + std::strerror(errno);
    ::close(in);
    ::close(out);
    std::error_code ec;
    if (r.error.empty()) {
      std::filesystem::rename(part, dest, ec);
      if (ec) r.error = "cannot rename " + part + " to " + dest + ": " + ec.message();
    }
    if (!r.error.empty()) {
      std::filesystem::remove(part, ec);
      r.bytes = 0;
    }
    return r;
  }

 private:
  std::string folder_;
};

// The HTTP model store (`fleetsim store`, real/store/): a download under its bandwidth limits,
// into a temporary renamed when complete, retried while the store refuses connections.
class HttpStore final : public WeightStore {
 public:
  HttpStore(std::string host, int port) : host_(std::move(host)), port_(port) {}
  FetchResult fetch(const std::string& name, const std::string& dest) override {
    const fleetsim::FetchResult got = fetch_model(host_, port_, name, dest);
    FetchResult r;
    r.bytes = got.ok() ? got.bytes : 0;
    if (!got.ok()) r.error = "store http://" + host_ + ":" + std::to_string(port_) + ": " + got.error;
    return r;
  }

 private:
  std::string host_;
  int port_;
};

}  // namespace

std::unique_ptr<WeightStore> open_weight_store(const std::string& location, std::string& error) {
  if (location.rfind("dir:", 0) == 0 && location.size() > 4) return std::make_unique<FolderStore>(location.substr(4));
  const std::string http = "http://127.0.0.1:";
  if (location.rfind(http, 0) == 0) {
    const std::string digits = location.substr(http.size());
    if (!digits.empty() && digits.size() <= 5 && digits.find_first_not_of("0123456789") == std::string::npos) {
      const int port = std::stoi(digits);
      if (port > 0 && port < 65536) return std::make_unique<HttpStore>("127.0.0.1", port);
    }
  }
  error = "unknown model store location \"" + location + "\" (expected dir:PATH or http://127.0.0.1:PORT)";
  return nullptr;
}

}  // namespace fleetsim::real
