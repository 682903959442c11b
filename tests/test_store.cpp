// The real-mode model store (real/store): what it serves and refuses, its bandwidth limits, the
// client's retries and its no-partial-file rule, and `fleetsim store` as a process (Ctrl-C, a
// kill mid-transfer, bad input). Times are wall-clock on shared machines: only lower bounds are
// asserted, never an upper one.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "real/store/bandwidth_limiter.hpp"
#include "real/store/fetch_model.hpp"
#include "real/store/store_files.hpp"
#include "real/store/store_server.hpp"
#include "tests/support.hpp"

namespace {

namespace fs = std::filesystem;
using Catch::Matchers::Contains;
using fleetsim::fetch_model;
using fleetsim::FetchOptions;
using fleetsim::FetchResult;
using fleetsim::StoreOptions;
using fleetsim::StoreServer;
using fleetsim::test::read_file;
using fleetsim::test::TempDir;
using Clock = std::chrono::steady_clock;

constexpr double kMB = 1e6;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// `size` bytes that are not all alike (a byte-exact comparison means something), from a seed.
std::string bytes_of(std::size_t size, std::uint32_t seed) {
  std::string out(size, '\0');
  std::uint32_t x = seed * 2654435761u + 1;
  for (char& c : out) {
    x = x * 1664525u + 1013904223u;
    c = static_cast<char>(x >> 24);
  }
  return out;
}

// The names of everything in a folder (hidden ones too), sorted.
std::vector<std::string> entries(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

// A port nothing listens on (bound, read back, released).
int free_port() { return fleetsim::test::LoopbackPort(false).port(); }

// One HTTP/1.1 exchange over a plain socket, the request line sent exactly as given (no client
// library cleaning up "..").
struct RawResponse {
  int status = 0;
  std::string head, body;
};
RawResponse http(int port, const std::string& method, const std::string& target) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  timeval timeout{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  const std::string request = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  REQUIRE(::send(fd, request.data(), request.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(request.size()));
  std::string all;
  char buf[65536];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) all.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  RawResponse r;
  const auto split = all.find("\r\n\r\n");
  REQUIRE(split != std::string::npos);
  r.head = all.substr(0, split);
  r.body = all.substr(split + 4);
  r.status = std::atoi(r.head.c_str() + r.head.find(' ') + 1);
  return r;
}

// The store's counters once no transfer is in progress (a client has its last byte a moment
// before the server's thread has counted it).
fleetsim::StoreCounters settled(const StoreServer& server) {
  const auto until = Clock::now() + std::chrono::seconds(10);
  while (server.counters().transfers_active > 0 && Clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  return server.counters();
}

// A store folder with a few models, and a store serving it.
struct Fixture {
  explicit Fixture(double total = 0, double per_connection = 0) {
    store_dir = models.dir / "store";
    fs::create_directories(store_dir);
    fleetsim::test::write_file(store_dir / "small.bin", bytes_of(100'000, 1));
    fleetsim::test::write_file(store_dir / "big.bin", bytes_of(2'000'000, 2));
    StoreOptions o;
    o.directory = store_dir.string();
    o.total_bandwidth = total;
    o.connection_bandwidth = per_connection;
    server = std::make_unique<StoreServer>(o);
    const std::string error = server->start();
    INFO(error);
    REQUIRE(error.empty());
    REQUIRE(server->port() > 0);
    node_dir = models.dir / "node";
    fs::create_directories(node_dir);
  }
  FetchResult fetch(const std::string& name, const FetchOptions& options = {}) {
    return fetch_model("127.0.0.1", server->port(), name, node_dir / name, options);
  }
  TempDir models{"store"};
  fs::path store_dir, node_dir;
  std::unique_ptr<StoreServer> server;
};

// `fleetsim store ...` in the background: stdout read through a pipe (the listening line),
// stderr into a file. The destructor kills and reaps what is still running.
class StoreProcess {
 public:
  explicit StoreProcess(const std::vector<std::string>& args) : err_path_(scratch_.path("stderr")) {
    // Everything the child needs is built before fork: the test process has threads (an
    // in-process store), and the child may only make async-signal-safe calls until exec.
    std::vector<std::string> all{FLEETSIM_BINARY, "store"};
    all.insert(all.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (std::string& a : all) argv.push_back(a.data());
    argv.push_back(nullptr);
    const int err = ::open(err_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    REQUIRE(err >= 0);
    int out[2];
    REQUIRE(::pipe2(out, O_CLOEXEC) == 0);
    pid_ = ::fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      ::dup2(out[1], 1);  // dup2 clears close-on-exec on the copy
      ::dup2(err, 2);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    ::close(err);
    ::close(out[1]);
    out_ = out[0];
  }
  ~StoreProcess() {
    if (pid_ > 0 && !reaped_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (out_ >= 0) ::close(out_);
  }
  StoreProcess(const StoreProcess&) = delete;
  StoreProcess& operator=(const StoreProcess&) = delete;

  // The port of "store listening on 127.0.0.1:PORT" (0 if the line does not come in 20 s).
  int port() {
    const std::string marker = "store listening on 127.0.0.1:";
    const auto until = Clock::now() + std::chrono::seconds(20);
    while (stdout_.find('\n') == std::string::npos && Clock::now() < until) {
      pollfd p{out_, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      char buf[256];
      const ssize_t n = ::read(out_, buf, sizeof buf);
      if (n <= 0) break;
      stdout_.append(buf, static_cast<std::size_t>(n));
    }
    const auto at = stdout_.find(marker);
    return at == std::string::npos ? 0 : std::atoi(stdout_.c_str() + at + marker.size());
  }
  void send(int sig) const { ::kill(pid_, sig); }
  // The exit code (128 + signal when killed), waiting at most 20 s (then -1).
  int wait() {
    const auto until = Clock::now() + std::chrono::seconds(20);
    int status = 0;
    while (Clock::now() < until) {
      const pid_t r = ::waitpid(pid_, &status, WNOHANG);
      if (r == pid_) {
        reaped_ = true;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return -1;
  }
  std::string err() const { return read_file(err_path_); }

 private:
  TempDir scratch_{"store-process"};
  std::string err_path_;
  pid_t pid_ = -1;
  int out_ = -1;
  bool reaped_ = false;
  std::string stdout_;
};

}  // namespace

TEST_CASE("Pacer books chunks at its rate after a burst of its depth", "[store]") {
  using fleetsim::Pacer;
  const Clock::time_point t0{};
  const auto at = [&](double s) {
    return t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
  };
  const auto seconds = [&](Clock::time_point t) { return std::chrono::duration<double>(t - t0).count(); };
  // 1000 B/s, a bucket of 200 B: 200 B go at once, then 100 B every 0.1 s.
  Pacer p(1000, 200);
  CHECK(seconds(p.reserve(at(0), 100)) == Approx(0));
  CHECK(seconds(p.reserve(at(0), 100)) == Approx(0));
  CHECK(seconds(p.reserve(at(0), 100)) == Approx(0.1));
  CHECK(seconds(p.reserve(at(0.1), 100)) == Approx(0.2));
  // Idle for 5 s: the bucket is empty again, but holds no more than its depth.
  CHECK(seconds(p.reserve(at(5), 300)) == Approx(5.1));
  // No limit: always now.
  Pacer none;
  CHECK(seconds(none.reserve(at(3), 1'000'000'000)) == Approx(3));
  // Two senders taking turns on one pacer get alternate slots: a fair share each.
  Pacer shared(1000, 100);
  std::vector<double> a, b;
  for (int i = 0; i < 3; ++i) {
    a.push_back(seconds(shared.reserve(at(0), 100)));
    b.push_back(seconds(shared.reserve(at(0), 100)));
  }
  CHECK(a == std::vector<double>{0, 0.2, 0.4});
  CHECK(b[0] == Approx(0.1));
  CHECK(b[2] == Approx(0.5));
  // Chunks: ~10 ms of the rate, within [4 KiB, 1 MiB].
  CHECK(fleetsim::pace_chunk_bytes(4e6) == 40'000);
  CHECK(fleetsim::pace_chunk_bytes(1e3) == 4096);
  CHECK(fleetsim::pace_chunk_bytes(1e12) == 1024 * 1024);
  CHECK(fleetsim::pace_chunk_bytes(0) == 1024 * 1024);
}

TEST_CASE("Model names: plain file names directly in the folder, links only within it", "[store]") {
  using fleetsim::model_name_problem;
  CHECK(model_name_problem("llama-8b.safetensors").empty());
  CHECK(model_name_problem("a b+c").empty());
  for (const char* bad : {"", ".", "..", "../x", "a/b", "/etc/passwd", ".hidden", "a\\b", "x\ny"})
    CHECK_FALSE(model_name_problem(bad).empty());

  TempDir dir("store-names");
  const fs::path store = dir.dir / "store";
  fs::create_directories(store / "sub");
  fleetsim::test::write_file(store / "m.bin", "weights");
  fleetsim::test::write_file(store / "sub" / "deep.bin", "x");
  fleetsim::test::write_file(dir.dir / "secret", "outside");
  fleetsim::test::write_file(store / ".hidden", "h");
  fs::create_symlink(dir.dir / "secret", store / "outside-link");
  fs::create_symlink("m.bin", store / "alias");
  fs::create_symlink("sub/deep.bin", store / "into-sub");
  const fs::path folder = fs::canonical(store);
  CHECK(fleetsim::resolve_model(folder, "m.bin").status == 200);
  CHECK(fleetsim::resolve_model(folder, "m.bin").file.bytes == 7);
  CHECK(fleetsim::resolve_model(folder, "alias").status == 200);
  CHECK(fleetsim::resolve_model(folder, "outside-link").status == 404);
  CHECK(fleetsim::resolve_model(folder, "into-sub").status == 404);
  CHECK(fleetsim::resolve_model(folder, "sub").status == 404);
  CHECK(fleetsim::resolve_model(folder, "missing").status == 404);
  CHECK(fleetsim::resolve_model(folder, "../secret").status == 400);
  CHECK(fleetsim::resolve_model(folder, ".hidden").status == 400);
  std::vector<std::string> listed;
  for (const auto& m : fleetsim::list_models(folder)) listed.push_back(m.name);
  CHECK(listed == std::vector<std::string>{"alias", "m.bin"});
}

TEST_CASE("fetch_model returns the exact bytes and the store counts them", "[store]") {
  Fixture f;
  fleetsim::test::write_file(f.store_dir / "empty.bin", "");
  for (const std::string name : {"small.bin", "big.bin", "empty.bin"}) {
    const FetchResult r = f.fetch(name);
    INFO(r.error);
    REQUIRE(r.ok());
    CHECK(r.status == 200);
    CHECK(r.attempts == 1);
    CHECK(r.bytes == fs::file_size(f.store_dir / name));
    CHECK(read_file(f.node_dir / name) == read_file(f.store_dir / name));
  }
  // Nothing but the files themselves in the node's folder (no temporaries left over).
  CHECK(entries(f.node_dir) == std::vector<std::string>{"big.bin", "empty.bin", "small.bin"});
  // A second fetch replaces the file.
  fleetsim::test::write_file(f.node_dir / "small.bin", "stale");
  REQUIRE(f.fetch("small.bin").ok());
  CHECK(read_file(f.node_dir / "small.bin") == read_file(f.store_dir / "small.bin"));
  const fleetsim::StoreCounters c = settled(*f.server);
  CHECK(c.bytes_served == 2'200'000);
  CHECK(c.transfers_complete == 4);
  CHECK(c.transfers_incomplete == 0);
  CHECK(c.transfers_active == 0);
  // Names the URL must carry encoded.
  fleetsim::test::write_file(f.store_dir / "a b%+?#.bin", "odd");
  const FetchResult odd = fetch_model("127.0.0.1", f.server->port(), "a b%+?#.bin", f.node_dir / "odd", {});
  INFO(odd.error);
  CHECK(odd.ok());
  CHECK(read_file(f.node_dir / "odd") == "odd");
}

TEST_CASE("GET and HEAD /models list the names and sizes as JSON", "[store]") {
  Fixture f;
  fleetsim::test::write_file(f.store_dir / ".partial", "hidden");
  fs::create_directories(f.store_dir / "folder");
  const RawResponse get = http(f.server->port(), "GET", "/models");
  CHECK(get.status == 200);
  CHECK_THAT(get.head, Contains("application/json"));
  CHECK(get.body == R"({"models":[{"name":"big.bin","bytes":2000000},{"name":"small.bin","bytes":100000}]})" "\n");
  const RawResponse head = http(f.server->port(), "HEAD", "/models");
  CHECK(head.status == 200);
  CHECK_THAT(head.head, Contains("Content-Length: " + std::to_string(get.body.size())));
  CHECK(head.body.empty());
  // HEAD of a model gives its size without sending it.
  const RawResponse model_head = http(f.server->port(), "HEAD", "/models/big.bin");
  CHECK(model_head.status == 200);
  CHECK_THAT(model_head.head, Contains("Content-Length: 2000000"));
  CHECK(model_head.body.empty());
  CHECK(f.server->counters().bytes_served == 0);
}

TEST_CASE("The store refuses traversal, hidden, unknown names and links that leave its folder", "[store]") {
  Fixture f;
  fleetsim::test::write_file(f.models.dir / "secret", "SECRET-BYTES");
  fleetsim::test::write_file(f.store_dir / ".hidden", "not served");
  fs::create_symlink(f.models.dir / "secret", f.store_dir / "outside-link");
  fs::create_symlink("/etc/passwd", f.store_dir / "passwd");
  fs::create_directories(f.store_dir / "sub");
  const int port = f.server->port();
  const std::vector<std::pair<std::string, int>> cases = {
      {"/models/../secret", 400},          {"/models/..%2Fsecret", 400},   {"/models/%2e%2e%2fsecret", 400},
      {"/models/..", 400},                 {"/models/sub/../small.bin", 400}, {"/models/.hidden", 400},
      {"/models/", 200},  // the list
      {"/models/outside-link", 404},       {"/models/passwd", 404},        {"/models/sub", 404},
      {"/models/nothing-here", 404},       {"/secret", 404},               {"/models/%2Fetc%2Fpasswd", 400},
  };
  for (const auto& [target, status] : cases) {
    const RawResponse r = http(port, "GET", target);
    INFO(target << " -> " << r.status << " " << r.body);
    CHECK(r.status == status);
    CHECK_THAT(r.body, !Contains("SECRET-BYTES") && !Contains("root:"));
    if (status != 200) CHECK_FALSE(r.body.empty());  // a message says why
  }
  CHECK(f.server->counters().requests_refused == 12);
  // The client says what the store said and leaves nothing behind.
  const FetchResult r = f.fetch("nothing-here");
  CHECK_FALSE(r.ok());
  CHECK(r.status == 404);
  CHECK_THAT(r.error, Contains("404") && Contains("no model 'nothing-here'"));
  const FetchResult up = fetch_model("127.0.0.1", port, "../secret", f.node_dir / "x", {});
  CHECK(up.status == 400);
  CHECK(entries(f.node_dir).empty());
}

TEST_CASE("The store binds loopback only and refuses any other address", "[store]") {
  TempDir dir("store-host");
  for (const char* host : {"0.0.0.0", "192.168.1.10", "::", "::1", "127.0.0.2", "example.com", ""}) {
    StoreOptions o;
    o.directory = dir.dir.string();
    o.host = host;
    StoreServer s(o);
    const std::string error = s.start();
    INFO(host);
    CHECK_THAT(error, Contains("loopback only"));
    CHECK_FALSE(s.running());
  }
  StoreOptions ok;
  ok.directory = dir.dir.string();
  ok.host = "localhost";
  StoreServer s(ok);
  CHECK(s.start().empty());
  CHECK(s.running());
  CHECK(s.address() == "127.0.0.1:" + std::to_string(s.port()));
  s.stop();
  CHECK_FALSE(s.running());
  s.stop();  // idempotent

  const auto cli = fleetsim::test::run_fleetsim("store " + fleetsim::test::shell_quote(dir.dir.string()) +
                                                " --port 0 --host 0.0.0.0");
  CHECK(cli.code == 2);
  CHECK_THAT(cli.err, Contains("loopback only"));
}

TEST_CASE("A 2 MB model under a 4MB/s limit takes at least half a second", "[store][slow]") {
  Fixture f(4 * kMB);
  const auto t0 = Clock::now();
  const FetchResult r = f.fetch("big.bin");
  const double wall = seconds_since(t0);
  INFO(r.error);
  REQUIRE(r.ok());
  WARN("2 MB at 4MB/s: " << r.seconds << " s (0.5 s at the rate, less the 80 KB burst)");
  CHECK(r.seconds >= 0.45);
  CHECK(wall >= 0.45);
  CHECK(read_file(f.node_dir / "big.bin") == read_file(f.store_dir / "big.bin"));
}

TEST_CASE("Two concurrent loads share a 4MB/s total fairly", "[store][slow]") {
  Fixture f(4 * kMB);
  fs::copy_file(f.store_dir / "big.bin", f.store_dir / "big2.bin");
  std::promise<void> go;
  std::shared_future<void> ready = go.get_future().share();
  auto load = [&](std::string name) {
    ready.wait();
    return f.fetch(name);
  };
  auto a = std::async(std::launch::async, load, "big.bin");
  auto b = std::async(std::launch::async, load, "big2.bin");
  const auto t0 = Clock::now();
  go.set_value();
  const FetchResult ra = a.get(), rb = b.get();
  const double together = seconds_since(t0);
  INFO(ra.error << rb.error);
  REQUIRE(ra.ok());
  REQUIRE(rb.ok());
  WARN("two 2 MB loads under 4MB/s total: " << ra.seconds << " s and " << rb.seconds << " s, " << together
                                            << " s together (1 s at the rate)");
  CHECK(together >= 0.9);
  // Fair: neither got the whole total first (that one would be done in 0.5 s).
  CHECK(ra.seconds >= 0.6);
  CHECK(rb.seconds >= 0.6);
  CHECK(settled(*f.server).bytes_served == 4'000'000);
}

TEST_CASE("The per-connection limit holds each of two concurrent loads", "[store][slow]") {
  Fixture f(0, 4 * kMB);
  fs::copy_file(f.store_dir / "big.bin", f.store_dir / "big2.bin");
  const auto t0 = Clock::now();
  auto a = std::async(std::launch::async, [&] { return f.fetch("big.bin"); });
  auto b = std::async(std::launch::async, [&] { return f.fetch("big2.bin"); });
  const FetchResult ra = a.get(), rb = b.get();
  INFO(ra.error << rb.error);
  REQUIRE(ra.ok());
  REQUIRE(rb.ok());
  WARN("two 2 MB loads at 4MB/s per connection: " << ra.seconds << " s and " << rb.seconds << " s, "
                                                  << seconds_since(t0) << " s together");
  CHECK(ra.seconds >= 0.45);
  CHECK(rb.seconds >= 0.45);
}

TEST_CASE("fetch_model retries a refused connection until the store comes up", "[store][slow]") {
  TempDir dir("store-retry");
  fs::create_directories(dir.dir / "store");
  fs::create_directories(dir.dir / "node");
  fleetsim::test::write_file(dir.dir / "store" / "m.bin", bytes_of(300'000, 3));
  const int port = free_port();
  FetchOptions options;
  options.retry_for_s = 20;
  auto fetch = std::async(std::launch::async,
                          [&] { return fetch_model("127.0.0.1", port, "m.bin", dir.dir / "node" / "m.bin", options); });
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  StoreOptions o;
  o.directory = (dir.dir / "store").string();
  o.port = port;
  StoreServer store(o);
  const std::string error = store.start();
  INFO(error);
  REQUIRE(error.empty());
  const FetchResult r = fetch.get();
  INFO(r.error);
  REQUIRE(r.ok());
  CHECK(r.attempts > 1);
  CHECK(r.waited_seconds >= 0.3);
  CHECK(r.seconds >= 0.35);
  CHECK(read_file(dir.dir / "node" / "m.bin") == read_file(dir.dir / "store" / "m.bin"));

  // No store at all: it gives up after retry_for_s, says so, and leaves nothing.
  FetchOptions brief;
  brief.retry_for_s = 0.3;
  const FetchResult none = fetch_model("127.0.0.1", free_port(), "m.bin", dir.dir / "node" / "other.bin", brief);
  CHECK_FALSE(none.ok());
  CHECK_THAT(none.error, Contains("connection refused"));
  CHECK(none.seconds >= 0.29);
  CHECK(entries(dir.dir / "node") == std::vector<std::string>{"m.bin"});
}

TEST_CASE("fetch_model retries a store that answers 503 (an outage) until it is back", "[store][slow][faults]") {
  TempDir dir("store-outage");
  fs::create_directories(dir.dir / "store");
  fs::create_directories(dir.dir / "node");
  fleetsim::test::write_file(dir.dir / "store" / "m.bin", bytes_of(300'000, 5));
  StoreOptions o;
  o.directory = (dir.dir / "store").string();
  StoreServer store(o);
  REQUIRE(store.start().empty());
  store.set_unavailable(true);
  FetchOptions options;
  options.retry_for_s = 20;
  auto fetch = std::async(std::launch::async, [&] {
    return fetch_model("127.0.0.1", store.port(), "m.bin", dir.dir / "node" / "m.bin", options);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  store.set_unavailable(false);
  const FetchResult r = fetch.get();
  INFO(r.error);
  REQUIRE(r.ok());
  CHECK(r.attempts > 1);
  CHECK(r.waited_seconds >= 0.3);
  CHECK(read_file(dir.dir / "node" / "m.bin") == read_file(dir.dir / "store" / "m.bin"));
  CHECK(store.counters().requests_refused >= 2);
  // Down past retry_for_s: it gives up, says why, and leaves nothing.
  store.set_unavailable(true);
  FetchOptions brief;
  brief.retry_for_s = 0.3;
  const FetchResult none = fetch_model("127.0.0.1", store.port(), "m.bin", dir.dir / "node" / "other.bin", brief);
  CHECK_FALSE(none.ok());
  CHECK_THAT(none.error, Contains("503 unavailable"));
  CHECK(entries(dir.dir / "node") == std::vector<std::string>{"m.bin"});
}

TEST_CASE("No partial file when the store stops mid-transfer or the load is cancelled", "[store][slow]") {
  Fixture f(4 * kMB);
  fleetsim::test::write_file(f.node_dir / "big.bin", "the previous copy");
  SECTION("the store stops") {
    auto fetch = std::async(std::launch::async, [&] { return f.fetch("big.bin"); });
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    CHECK(f.server->counters().transfers_active == 1);
    f.server->stop();
    const FetchResult r = fetch.get();
    CHECK_FALSE(r.ok());
    CHECK(r.bytes == 0);
    CHECK_THAT(r.error, Contains("of 2000000 bytes"));
    CHECK(settled(*f.server).transfers_incomplete == 1);
  }
  SECTION("the caller cancels") {
    std::atomic<bool> cancel{false};
    FetchOptions o;
    o.cancel = &cancel;
    auto fetch = std::async(std::launch::async, [&] { return f.fetch("big.bin", o); });
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    cancel = true;
    const FetchResult r = fetch.get();
    CHECK_FALSE(r.ok());
    CHECK_THAT(r.error, Contains("cancelled"));
  }
  // The destination is as it was, and no temporary is left beside it.
  CHECK(entries(f.node_dir) == std::vector<std::string>{"big.bin"});
  CHECK(read_file(f.node_dir / "big.bin") == "the previous copy");
}

TEST_CASE("fleetsim store serves until Ctrl-C and stops cleanly, also mid-transfer", "[store][slow]") {
  Fixture f;  // only for its folders; the process serves the same one
  StoreProcess store({f.store_dir.string(), "--port", "0", "--bandwidth", "4MB/s"});
  const int port = store.port();
  REQUIRE(port > 0);
  const FetchResult r = fetch_model("127.0.0.1", port, "small.bin", f.node_dir / "small.bin", {});
  INFO(r.error);
  REQUIRE(r.ok());
  CHECK(read_file(f.node_dir / "small.bin") == read_file(f.store_dir / "small.bin"));
  SECTION("idle") {
    store.send(SIGINT);
    CHECK(store.wait() == 0);
    CHECK_THAT(store.err(), Contains("store stopped (SIGINT); transfers: 1 complete, 0 incomplete, 100KB served"));
  }
  SECTION("a transfer in progress") {
    auto fetch = std::async(std::launch::async,
                            [&] { return fetch_model("127.0.0.1", port, "big.bin", f.node_dir / "big.bin", {}); });
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    store.send(SIGTERM);
    CHECK(store.wait() == 0);
    CHECK_FALSE(fetch.get().ok());
    CHECK_THAT(store.err(), Contains("incomplete big.bin") && Contains("store stopped (SIGTERM)"));
    CHECK(entries(f.node_dir) == std::vector<std::string>{"small.bin"});
  }
}

TEST_CASE("fleetsim store killed mid-transfer leaves no partial file", "[store][slow]") {
  Fixture f;
  StoreProcess store({f.store_dir.string(), "--port", "0", "--bandwidth", "4MB/s", "--quiet"});
  const int port = store.port();
  REQUIRE(port > 0);
  auto fetch = std::async(std::launch::async,
                          [&] { return fetch_model("127.0.0.1", port, "big.bin", f.node_dir / "big.bin", {}); });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  store.send(SIGKILL);
  CHECK(store.wait() == 128 + SIGKILL);
  const FetchResult r = fetch.get();
  CHECK_FALSE(r.ok());
  CHECK(entries(f.node_dir).empty());
}

TEST_CASE("fleetsim store: bad input exits 2 with a reason", "[store]") {
  TempDir dir("store-cli");
  const std::string d = fleetsim::test::shell_quote(dir.dir.string());
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"store " + d + "/missing --port 0", "not a folder"},
      {"store " + d + " --port 0 --bandwidth fast", "--bandwidth: expected a bandwidth"},
      {"store " + d + " --port 0 --bandwidth 0MB/s", "--bandwidth: expected a bandwidth above zero"},
      {"store " + d + " --port 0 --connection-bandwidth 200", "--connection-bandwidth: expected a bandwidth"},
      {"store " + d + " --port 70000", "--port"},
      {"store " + d, "--port"},
  };
  for (const auto& [args, says] : cases) {
    const auto r = fleetsim::test::run_fleetsim(args);
    INFO(args << "\n" << r.err);
    CHECK(r.code == 2);
    CHECK_THAT(r.err, Contains(says));
  }
  // A port in use.
  fleetsim::test::LoopbackPort in_use;
  const int port = in_use.port();
  const auto busy = fleetsim::test::run_fleetsim("store " + d + " --port " + std::to_string(port));
  in_use.close();
  CHECK(busy.code == 2);
  CHECK_THAT(busy.err, Contains("cannot listen on 127.0.0.1:" + std::to_string(port) + ": the port is already in use"));
}
