// Live progress and live metrics: the progress display driven by a fake clock (quiet for 2 s,
// terminal redraws with '\r' at most 10 times a second, plain lines at most every 5 s), the live
// metrics text (exact values, passes `promtool check metrics`), the /metrics server
// (prometheus-cpp's Exposer: port 0, raw-socket fetch, clean stop, a busy port is a clear error)
// and `fleetsim run --metrics-port`.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "reports/metrics_server.hpp"
#include "reports/progress.hpp"
#include "sim/simulation.hpp"
#include "tests/support.hpp"

using Catch::Contains;
using Catch::EndsWith;
using Catch::StartsWith;
using fleetsim::kHour;
using fleetsim::kMinute;
using fleetsim::kSecond;
namespace fs = std::filesystem;

namespace {

bool on_path(const std::string& tool) { return std::system(("command -v " + tool + " >/dev/null 2>&1").c_str()) == 0; }

using ScratchDir = fleetsim::test::TempDir;

// A wall clock the test sets; counts its reads.
struct FakeClock {
  double now = 100;
  int reads = 0;
  std::function<double()> fn() {
    return [this] {
      ++reads;
      return now;
    };
  }
};

// GET `path` from 127.0.0.1:port over a plain socket; the whole response, or "" if it cannot connect.
std::string http_get(int port, const std::string& path) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return "";
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return "";
  }
  const std::string request = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  std::size_t sent = 0;
  while (sent < request.size()) {
    const ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, 0);
    if (n <= 0) break;
    sent += static_cast<std::size_t>(n);
  }
  std::string response;
  char buf[4096];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) response.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  return response;
}

std::string body_of(const std::string& response) {
  const auto at = response.find("\r\n\r\n");
  return at == std::string::npos ? "" : response.substr(at + 4);
}

fleetsim::Scenario two_models() {
  fleetsim::Scenario sc;
  sc.name = "live";
  sc.duration = kHour;
  sc.models.resize(2);
  sc.models[0].name = "llama";
  sc.models[1].name = "odd \"name\"";
  return sc;
}

fleetsim::RequestResult ended(std::uint32_t model, fleetsim::RequestOutcome outcome) {
  fleetsim::RequestResult r;
  r.model = model;
  r.outcome = outcome;
  return r;
}

}  // namespace

TEST_CASE("progress on a terminal: quiet for 2 s, then one line redrawn with \\r, cleared at the end",
          "[progress]") {
  FakeClock clock;
  std::ostringstream out;
  fleetsim::ProgressReporter progress(24 * kHour, clock.fn(), out, /*is_terminal=*/true);
  auto at = [&](double elapsed, fleetsim::SimTime now, std::uint64_t events, std::uint64_t requests) {
    clock.now = 100 + elapsed;
    progress.on_progress(now, events, requests);
  };

  at(1.0, 5 * kMinute, 500'000, 5'000);
  at(1.99, 50 * kSecond, 1'990'000, 19'900);
  CHECK(out.str().empty());

  // 1 min of 24 h after 2 s: 0.07%; 1.00M events/s, 10.0k requests/s; the remaining 1,439 min
  // at 1 simulated min per 2 s take 2,878 s = 47:58.
  at(2.0, kMinute, 2'000'000, 20'000);
  const std::string line0 = "[....................]   0.1%  sim 0:01:00/24:00:00  1.00M ev/s  10.0k req/s  ETA 47:58";
  CHECK(out.str() == "\r" + line0);

  // 6 h after 3 s: 25%, the remaining 18 h at 2 h/s take 9 s; padded over the longer line.
  at(3.0, 6 * kHour, 3'000'000, 30'000);
  const std::string line1 = "[#####...............]  25.0%  sim 6:00:00/24:00:00  1.00M ev/s  10.0k req/s  ETA 0:09";
  REQUIRE(line1.size() < line0.size());
  CHECK(out.str() == "\r" + line0 + "\r" + line1 + std::string(line0.size() - line1.size(), ' '));

  // At most 10 redraws a second.
  at(3.05, 6 * kHour + kMinute, 3'050'000, 30'500);
  CHECK(out.str() == "\r" + line0 + "\r" + line1 + std::string(line0.size() - line1.size(), ' '));

  // 8 h after 3.2 s: 33.3% (6 of 20 cells), the remaining 16 h take 6.4 s.
  at(3.2, 8 * kHour, 3'200'000, 32'000);
  const std::string line2 = "[######..............]  33.3%  sim 8:00:00/24:00:00  1.00M ev/s  10.0k req/s  ETA 0:06";
  const std::string so_far =
      "\r" + line0 + "\r" + line1 + std::string(line0.size() - line1.size(), ' ') + "\r" + line2;
  CHECK(out.str() == so_far);

  // Past the duration, requests drain: no ETA.
  CHECK(fleetsim::ProgressReporter::terminal_line({24 * kHour + 5 * kMinute, 24 * kHour, 4'000'000, 40'000, 4.0}) ==
        "[####################] 100.0%  sim 24:05:00/24:00:00  1.00M ev/s  10.0k req/s  draining");

  progress.on_run_end(24 * kHour);
  CHECK(out.str() == so_far + "\r" + std::string(line2.size(), ' ') + "\r");
  progress.finish();  // idempotent
  CHECK(out.str() == so_far + "\r" + std::string(line2.size(), ' ') + "\r");

  // One clock read at construction and at most one per on_progress.
  CHECK(clock.reads == 1 + 6);
}

TEST_CASE("progress on a terminal never wraps: the line is cut to the terminal's width", "[progress]") {
  FakeClock clock;
  std::ostringstream out;
  fleetsim::ProgressReporter progress(24 * kHour, clock.fn(), out, true, /*columns=*/40);
  clock.now += 3;
  progress.on_progress(6 * kHour, 3'000'000, 30'000);
  CHECK(out.str() == "\r[#####...............]  25.0%  sim 6:00");
}

TEST_CASE("progress without a terminal: a plain line at most every 5 s, nothing at the end", "[progress]") {
  FakeClock clock;
  std::ostringstream out;
  fleetsim::ProgressReporter progress(24 * kHour, clock.fn(), out, /*is_terminal=*/false);
  auto at = [&](double elapsed, fleetsim::SimTime now, std::uint64_t events, std::uint64_t requests) {
    clock.now = 100 + elapsed;
    progress.on_progress(now, events, requests);
  };
  at(1.5, kHour, 1'500'000, 15'000);
  CHECK(out.str().empty());
  // 4 h after 2.25 s: the remaining 20 h take 11.25 s.
  at(2.25, 4 * kHour, 2'250'000, 22'500);
  const std::string first =
      "progress: sim 4:00:00 of 24:00:00 (16.7%), 1.00M events/s, 10.0k requests/s, ETA 0:11, wall 0:02\n";
  CHECK(out.str() == first);
  at(2.5, 5 * kHour, 2'500'000, 25'000);
  at(7.0, 11 * kHour, 7'000'000, 70'000);
  CHECK(out.str() == first);
  at(7.25, 12 * kHour, 7'250'000, 72'500);
  const std::string second =
      "progress: sim 12:00:00 of 24:00:00 (50.0%), 1.00M events/s, 10.0k requests/s, ETA 0:07, wall 0:07\n";
  CHECK(out.str() == first + second);
  at(12.0, 20 * kHour, 12'000'000, 120'000);
  progress.on_run_end(24 * kHour);
  progress.finish();
  CHECK(out.str() == first + second);
  CHECK(out.str().find('\r') == std::string::npos);
  CHECK(clock.reads == 1 + 6);
}

TEST_CASE("live metrics: exact exposition text for a fed sequence, and promtool accepts it", "[progress]") {
  using fleetsim::RequestOutcome;
  FakeClock clock;
  const fleetsim::Scenario scenario = two_models();
  fleetsim::LiveMetrics live(scenario, clock.fn());
  for (int i = 0; i < 3; ++i) live.on_request_arrived(0, 0, false);
  for (int i = 0; i < 2; ++i) live.on_request_arrived(0, 1, true);
  live.on_request_end(ended(0, RequestOutcome::Completed));
  live.on_request_end(ended(0, RequestOutcome::Completed));
  live.on_request_end(ended(1, RequestOutcome::TimedOut));

  // Nothing is published until on_progress.
  CHECK(live.snapshot().models[0].arrived == 0);

  clock.now += 2;
  live.on_progress(30 * kMinute, 65'536, 5);
  const std::string text = live.text();
  const std::string expected =
      "# HELP fleetsim_live_simulated_seconds Simulated time the run has reached.\n"
      "# TYPE fleetsim_live_simulated_seconds gauge\n"
      "fleetsim_live_simulated_seconds 1800\n"
      "# HELP fleetsim_live_duration_seconds The scenario's duration (arrivals stop there; requests in flight may "
      "run past it).\n"
      "# TYPE fleetsim_live_duration_seconds gauge\n"
      "fleetsim_live_duration_seconds 3600\n"
      "# HELP fleetsim_live_events_total Discrete events the simulation has processed.\n"
      "# TYPE fleetsim_live_events_total counter\n"
      "fleetsim_live_events_total 65536\n"
      "# HELP fleetsim_live_wall_seconds Wall-clock time since the run started.\n"
      "# TYPE fleetsim_live_wall_seconds gauge\n"
      "fleetsim_live_wall_seconds 2\n"
      "# HELP fleetsim_live_events_per_second Events processed per wall-clock second, since the start.\n"
      "# TYPE fleetsim_live_events_per_second gauge\n"
      "fleetsim_live_events_per_second 32768\n"
      "# HELP fleetsim_live_run_finished 1 once the run has ended, else 0.\n"
      "# TYPE fleetsim_live_run_finished gauge\n"
      "fleetsim_live_run_finished 0\n"
      "# HELP fleetsim_live_requests_arrived_total Requests that have arrived.\n"
      "# TYPE fleetsim_live_requests_arrived_total counter\n"
      "fleetsim_live_requests_arrived_total{model=\"llama\"} 3\n"
      "fleetsim_live_requests_arrived_total{model=\"odd \\\"name\\\"\"} 2\n"
      "fleetsim_live_requests_arrived_total{model=\"all\"} 5\n"
      "# HELP fleetsim_live_requests_ended_total Requests that have ended, by outcome.\n"
      "# TYPE fleetsim_live_requests_ended_total counter\n"
      "fleetsim_live_requests_ended_total{model=\"llama\",outcome=\"completed\"} 2\n"
      "fleetsim_live_requests_ended_total{model=\"llama\",outcome=\"timeout\"} 0\n"
      "fleetsim_live_requests_ended_total{model=\"llama\",outcome=\"too-long\"} 0\n"
      "fleetsim_live_requests_ended_total{model=\"llama\",outcome=\"cut-off\"} 0\n"
      "fleetsim_live_requests_ended_total{model=\"llama\",outcome=\"rejected\"} 0\n"
      "fleetsim_live_requests_ended_total{model=\"llama\",outcome=\"failed\"} 0\n"
      "fleetsim_live_requests_ended_total{model=\"odd \\\"name\\\"\",outcome=\"completed\"} 0\n"
      "fleetsim_live_requests_ended_total{model=\"odd \\\"name\\\"\",outcome=\"timeout\"} 1\n"
      "fleetsim_live_requests_ended_total{model=\"odd \\\"name\\\"\",outcome=\"too-long\"} 0\n"
      "fleetsim_live_requests_ended_total{model=\"odd \\\"name\\\"\",outcome=\"cut-off\"} 0\n"
      "fleetsim_live_requests_ended_total{model=\"odd \\\"name\\\"\",outcome=\"rejected\"} 0\n"
      "fleetsim_live_requests_ended_total{model=\"odd \\\"name\\\"\",outcome=\"failed\"} 0\n"
      "fleetsim_live_requests_ended_total{model=\"all\",outcome=\"completed\"} 2\n"
      "fleetsim_live_requests_ended_total{model=\"all\",outcome=\"timeout\"} 1\n"
      "fleetsim_live_requests_ended_total{model=\"all\",outcome=\"too-long\"} 0\n"
      "fleetsim_live_requests_ended_total{model=\"all\",outcome=\"cut-off\"} 0\n"
      "fleetsim_live_requests_ended_total{model=\"all\",outcome=\"rejected\"} 0\n"
      "fleetsim_live_requests_ended_total{model=\"all\",outcome=\"failed\"} 0\n"
      "# HELP fleetsim_live_requests_in_flight Requests arrived and not ended (waiting for a replica, queued or "
      "running).\n"
      "# TYPE fleetsim_live_requests_in_flight gauge\n"
      "fleetsim_live_requests_in_flight{model=\"llama\"} 1\n"
      "fleetsim_live_requests_in_flight{model=\"odd \\\"name\\\"\"} 1\n"
      "fleetsim_live_requests_in_flight{model=\"all\"} 2\n";
  CHECK(text == expected);

  // The end of the run: finished, then the exact event count from the run's status.
  live.on_request_end(ended(0, RequestOutcome::CutOff));
  clock.now += 2;
  live.on_run_end(kHour + 500 * fleetsim::kMillisecond);
  std::string done = live.text();
  CHECK_THAT(done, Contains("\nfleetsim_live_run_finished 1\n"));
  CHECK_THAT(done, Contains("\nfleetsim_live_simulated_seconds 3600.5\n"));
  CHECK_THAT(done, Contains("\nfleetsim_live_events_total 65536\n"));
  CHECK_THAT(done, Contains("\nfleetsim_live_wall_seconds 4\n"));
  CHECK_THAT(done, Contains("\nfleetsim_live_requests_ended_total{model=\"llama\",outcome=\"cut-off\"} 1\n"));
  CHECK_THAT(done, Contains("\nfleetsim_live_requests_in_flight{model=\"all\"} 1\n"));
  fleetsim::RunStatus status;
  status.events = 100'000;
  status.end_time = kHour + 500 * fleetsim::kMillisecond;
  clock.now += 1;
  live.complete(status);
  done = live.text();
  CHECK_THAT(done, Contains("\nfleetsim_live_events_total 100000\n"));
  CHECK_THAT(done, Contains("\nfleetsim_live_events_per_second 20000\n"));
  CHECK_THAT(done, Contains("\nfleetsim_live_run_finished 1\n"));

  if (!on_path("promtool")) {
    WARN("promtool is not installed (Debian package prometheus): skipping `promtool check metrics`");
    return;
  }
  ScratchDir scratch;
  for (const std::string& doc : {text, done}) {
    const fs::path file = scratch.dir / "live.prom";
    std::ofstream(file) << doc;
    const fs::path out = scratch.dir / "promtool.txt";
    const int rc = std::system(
        ("promtool check metrics < " + fleetsim::test::shell_quote(file.string()) + " > " + fleetsim::test::shell_quote(out.string()) + " 2>&1").c_str());
    INFO("promtool check metrics:\n" << fleetsim::test::read_file(out));
    CHECK(rc == 0);
    CHECK(fleetsim::test::read_file(out).empty());
  }
}

TEST_CASE("metrics server: GET /metrics on a free loopback port, clean stop, a busy port is a clear error",
          "[progress]") {
  FakeClock clock;
  const fleetsim::Scenario scenario = two_models();
  fleetsim::LiveMetrics live(scenario, clock.fn());
  live.on_request_arrived(0, 0, false);
  clock.now += 1;
  live.on_progress(kMinute, 65'536, 1);

  fleetsim::MetricsServer server(live, 0);
  const int port = server.port();
  REQUIRE(port > 0);
  CHECK(server.url() == "http://127.0.0.1:" + std::to_string(port) + "/metrics");
  server.start();

  const std::string response = http_get(port, "/metrics");
  CHECK_THAT(response, StartsWith("HTTP/1.1 200 OK\r\n"));
  CHECK_THAT(response, Contains("Content-Type: text/plain; charset=utf-8\r\n"));
  // prometheus-cpp's Exposer puts its own exposer_* families first.
  CHECK_THAT(body_of(response), StartsWith("# HELP exposer_"));
  CHECK_THAT(body_of(response), EndsWith(live.text()));
  CHECK_THAT(body_of(response), Contains("\nfleetsim_live_events_total 65536\n"));
  CHECK_THAT(body_of(response), Contains("\nfleetsim_live_requests_arrived_total{model=\"llama\"} 1\n"));

  // Figures published later are served by the next scrape.
  clock.now += 1;
  live.on_progress(2 * kMinute, 131'072, 1);
  CHECK_THAT(body_of(http_get(port, "/metrics")), Contains("\nfleetsim_live_events_total 131072\n"));
  CHECK_THAT(http_get(port, "/nothing"), StartsWith("HTTP/1.1 404"));

  // The same port again: an exception that names the address, not a crash or a silent second server.
  try {
    fleetsim::MetricsServer second(live, port);
    FAIL("a second server bound a port that is in use");
  } catch (const std::runtime_error& e) {
    CHECK(std::string(e.what()) ==
          "cannot serve metrics on 127.0.0.1:" + std::to_string(port) + ": the port is already in use");
  }
  CHECK_THAT(body_of(http_get(port, "/metrics")), Contains("fleetsim_live_events_total 131072"));

  CHECK_THROWS_WITH(fleetsim::MetricsServer(live, 70000), Contains("out of range"));

  server.stop();
  server.stop();  // idempotent
  CHECK(http_get(port, "/metrics").empty());

  // A server bound and never started, and one started and never stopped, end cleanly.
  { fleetsim::MetricsServer idle(live, 0); }
  {
    fleetsim::MetricsServer running(live, 0);
    running.start();
    CHECK_THAT(body_of(http_get(running.port(), "/metrics")), EndsWith(live.text()));
  }
}

TEST_CASE("fleetsim run --metrics-port: serves during the run and the hold, a busy port fails with exit 2",
          "[progress]") {
  ScratchDir scratch;
  const std::string binary = fleetsim::test::shell_quote(FLEETSIM_BINARY);
  const std::string cd = "cd " + fleetsim::test::shell_quote(FLEETSIM_SOURCE_DIR) + " && ";
  const std::string err = (scratch.dir / "stderr.txt").string();
  const std::string out = (scratch.dir / "stdout.txt").string();

  SECTION("a busy port") {
    fleetsim::test::LoopbackPort in_use;
    const int port = in_use.port();
    const fs::path run_dir = scratch.dir / "busy";
    const int status = std::system((cd + binary + " run scenarios/default.yaml --set duration=10min --out " +
                                    fleetsim::test::shell_quote(run_dir.string()) + " --metrics-port " + std::to_string(port) + " > " +
                                    fleetsim::test::shell_quote(out) + " 2> " + fleetsim::test::shell_quote(err))
                                       .c_str());
    in_use.close();
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 2);
    CHECK_THAT(fleetsim::test::read_file(err), Contains("--metrics-port: cannot serve metrics on 127.0.0.1:" + std::to_string(port) +
                                    ": the port is already in use\n"));
    CHECK_FALSE(fs::exists(run_dir / "result.json"));
  }

  SECTION("bad --metrics-hold and --metrics-port values") {
    int status = std::system((cd + binary + " run --metrics-port 0 --metrics-hold soon --out " +
                              fleetsim::test::shell_quote((scratch.dir / "x").string()) + " > " + fleetsim::test::shell_quote(out) + " 2> " + fleetsim::test::shell_quote(err))
                                 .c_str());
    CHECK(WEXITSTATUS(status) == 2);
    CHECK_THAT(fleetsim::test::read_file(err), Contains("--metrics-hold"));
    status = std::system((cd + binary + " run --metrics-port 70000 > " + fleetsim::test::shell_quote(out) + " 2> " + fleetsim::test::shell_quote(err)).c_str());
    CHECK(WEXITSTATUS(status) == 2);
  }

  SECTION("--quiet still says which port 0 chose; --metrics-hold needs --metrics-port") {
    // Bug (issue 10): with -q the chosen port was never printed, so port 0 could not be
    // scraped; and --metrics-hold without --metrics-port was silently ignored.
    const fs::path run_dir = scratch.dir / "quiet";
    int status = std::system((cd + binary + " run scenarios/default.yaml -q --set duration=10min --out " +
                              fleetsim::test::shell_quote(run_dir.string()) + " --metrics-port 0 > " +
                              fleetsim::test::shell_quote(out) + " 2> " + fleetsim::test::shell_quote(err))
                                 .c_str());
    CHECK(WEXITSTATUS(status) == 0);
    const std::string said = fleetsim::test::read_file(err);
    const std::string marker = "serving live metrics on http://127.0.0.1:";
    const auto at = said.find(marker);
    REQUIRE(at != std::string::npos);
    CHECK(std::atoi(said.c_str() + at + marker.size()) > 0);
    CHECK(fleetsim::test::read_file(out).empty());
    status = std::system((cd + binary + " run scenarios/default.yaml --metrics-hold 5s --out " +
                          fleetsim::test::shell_quote((scratch.dir / "hold").string()) + " > " +
                          fleetsim::test::shell_quote(out) + " 2> " + fleetsim::test::shell_quote(err))
                             .c_str());
    CHECK(WEXITSTATUS(status) == 2);
    CHECK_THAT(fleetsim::test::read_file(err), Contains("--metrics-hold requires --metrics-port"));
    CHECK_FALSE(fs::exists(scratch.dir / "hold"));
  }

  SECTION("scraped while the run holds its final figures") {
    const fs::path run_dir = scratch.dir / "run";
    std::atomic<int> status{-1};
    std::thread run([&] {
      status = std::system((cd + binary + " run scenarios/default.yaml --set duration=10min --out " +
                            fleetsim::test::shell_quote(run_dir.string()) + " --progress --metrics-port 0 --metrics-hold 2 > " +
                            fleetsim::test::shell_quote(out) + " 2> " + fleetsim::test::shell_quote(err))
                               .c_str());
    });
    // The port is announced on stderr; scrape until the run reports itself finished.
    int port = 0;
    std::string body;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline && status == -1) {
      const std::string text = fleetsim::test::read_file(err);
      const std::string marker = "serving live metrics on http://127.0.0.1:";
      if (const auto at = text.find(marker); port == 0 && at != std::string::npos)
        port = std::atoi(text.c_str() + at + marker.size());
      if (port > 0) {
        body = body_of(http_get(port, "/metrics"));
        if (body.find("\nfleetsim_live_run_finished 1\n") != std::string::npos) break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    run.join();
    CHECK(WIFEXITED(status.load()));
    CHECK(WEXITSTATUS(status.load()) == 0);
    REQUIRE(port > 0);
    CHECK_THAT(body, Contains("\nfleetsim_live_run_finished 1\n"));
    CHECK_THAT(body, Contains("\nfleetsim_live_duration_seconds 600\n"));
    CHECK(fs::exists(run_dir / "result.json"));
    // A short run shows no progress (under 2 s), and stderr is no terminal here: no '\r'.
    CHECK(fleetsim::test::read_file(err).find("progress:") == std::string::npos);
    CHECK(fleetsim::test::read_file(err).find('\r') == std::string::npos);
    // The final event count is the run's own.
    const std::string summary = fleetsim::test::read_file(out);
    const auto events_at = summary.find(" events");
    REQUIRE(events_at != std::string::npos);
    const auto number_at = summary.rfind(' ', events_at - 1) + 1;
    CHECK_THAT(body, Contains("\nfleetsim_live_events_total " + summary.substr(number_at, events_at - number_at) + "\n"));
  }
}

TEST_CASE("fleetsim real --metrics-port: live figures while the workers run", "[progress][real]") {
  // A real run has a few hundred events, never the 65,536 between the event loop's progress
  // calls: the live figures must move anyway (the run tells its progress each time it sleeps).
  ScratchDir scratch;
  const std::string binary = fleetsim::test::shell_quote(FLEETSIM_BINARY);
  const std::string err = (scratch.dir / "stderr.txt").string();
  std::atomic<int> status{-1};
  std::thread run([&] {
    status = std::system((binary + " real " + fleetsim::test::shell_quote(std::string(FLEETSIM_SOURCE_DIR) +
                                                                         "/scenarios/real/smoke.yaml") +
                          " --set duration=12s --speedup 2 -q --metrics-port 0 --out " +
                          fleetsim::test::shell_quote((scratch.dir / "run").string()) + " > /dev/null 2> " +
                          fleetsim::test::shell_quote(err))
                             .c_str());
  });
  int port = 0;
  std::string during;  // a scrape with chat requests arrived and the run not finished
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline && status == -1 && during.empty()) {
    const std::string text = fleetsim::test::read_file(err);
    const std::string marker = "serving live metrics on http://127.0.0.1:";
    if (const auto at = text.find(marker); port == 0 && at != std::string::npos)
      port = std::atoi(text.c_str() + at + marker.size());
    if (port > 0) {
      const std::string body = body_of(http_get(port, "/metrics"));
      if (body.find("\nfleetsim_live_run_finished 0\n") != std::string::npos &&
          body.find("fleetsim_live_requests_arrived_total{model=\"chat\"} 3\n") != std::string::npos)
        during = body;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  run.join();
  CHECK(WEXITSTATUS(status.load()) == 0);
  REQUIRE(port > 0);
  CHECK_THAT(during, Contains("fleetsim_live_simulated_seconds"));
}
