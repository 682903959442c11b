#include "tests/support.hpp"

#include "sim/decision_log.hpp"

#include <catch2/catch.hpp>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <iterator>
#include <stdexcept>

#include <filesystem>

#include <cstdlib>

#include <atomic>
#include <fstream>
#include <sstream>

namespace fleetsim::test {

const PolicyRegistry& registry() {
  static const PolicyRegistry r = builtin_policies();
  return r;
}

Scenario scenario_from(const std::string& yaml, const LoadOptions& options) {
  LoadResult loaded = load_scenario_text(yaml, "test.yaml", FLEETSIM_SOURCE_DIR, registry(), options);
  INFO(loaded.errors.to_string());
  REQUIRE(loaded.scenario.has_value());
  return *loaded.scenario;
}

std::string errors_of(const std::string& yaml, const LoadOptions& options) {
  LoadResult loaded = load_scenario_text(yaml, "test.yaml", FLEETSIM_SOURCE_DIR, registry(), options);
  REQUIRE_FALSE(loaded.scenario.has_value());
  REQUIRE_FALSE(loaded.errors.empty());
  return loaded.errors.to_string();
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_file(const std::filesystem::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

std::string shell_quote(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

LoopbackPort::LoopbackPort(bool listen) {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd_ >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  if (listen) REQUIRE(::listen(fd_, 1) == 0);
  socklen_t len = sizeof addr;
  REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  port_ = ntohs(addr.sin_port);
}

void LoopbackPort::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

std::string test_plugin(const std::string& name) {
  return std::string(FLEETSIM_TEST_PLUGINS) + "/lib" + name + ".so";
}

CliRun run_fleetsim(const std::string& args) {
  TempDir dir("cli-run");
  const std::string command = "cd " + shell_quote(FLEETSIM_SOURCE_DIR) + " && " + shell_quote(FLEETSIM_BINARY) + " " +
                              args + " > " + shell_quote(dir.path("out")) + " 2> " + shell_quote(dir.path("err"));
  const int status = std::system(command.c_str());
  CliRun r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = read_file(dir.path("out"));
  r.err = read_file(dir.path("err"));
  return r;
}

TempDir::TempDir(const std::string& tag) {
  static std::atomic<int> counter{0};
  dir = std::filesystem::temp_directory_path() /
        ("fleetsim_test_" + tag + "_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

std::string TempDir::write(const std::string& name, const std::string& text) const {
  const std::filesystem::path p = dir / name;
  std::filesystem::create_directories(p.parent_path());
  write_file(p, text);
  return p.string();
}

namespace {
struct Recorder : SimObserver {
  std::vector<RequestResult> requests;
  std::vector<ColdStartRecord> cold_starts;
  void on_request_end(const RequestResult& r) override { requests.push_back(r); }
  std::vector<PhaseEvent> phases;
  void on_cold_start(const ColdStartRecord& c) override { cold_starts.push_back(c); }
  void on_replica_phase(SimTime now, const ReplicaInfo& r, ReplicaPhase p) override {
    phases.push_back(PhaseEvent{now, r, p});
  }
};
}  // namespace

const RequestResult& by_serial(const RunOutput& out, std::uint64_t serial) {
  for (const RequestResult& r : out.requests)
    if (r.serial == serial) return r;
  throw std::runtime_error("no request with serial " + std::to_string(serial));
}

RunOutput run_scenario(const Scenario& scenario) { return run_setup(build_setup(scenario, registry())); }

RunOutput run_setup(SimulationSetup setup, std::initializer_list<SimObserver*> extra) {
  Simulation sim(std::move(setup));
  MetricsCollector metrics(sim.scenario());
  InvariantChecker checker(sim);
  Recorder recorder;
  DecisionLog log(sim.scenario());
  sim.add_observer(&metrics);
  sim.add_observer(&checker);
  sim.add_observer(&recorder);
  sim.add_observer(&log);
  for (SimObserver* o : extra) sim.add_observer(o);
  RunOutput out;
  out.status = sim.run();
  out.metrics = metrics.result();
  out.violations = checker.violations;
  out.ended = checker.ended;
  out.requests = std::move(recorder.requests);
  out.cold_starts = std::move(recorder.cold_starts);
  out.phases = std::move(recorder.phases);
  out.decisions = log.sequence();
  if (out.status.requests != out.ended)
    out.violations.push_back(std::to_string(out.status.requests) + " requests arrived, " +
                             std::to_string(out.ended) + " ended");
  return out;
}

pid_t spawn_fleetsim_tagged(std::vector<std::string> args, const std::string& tag) {
  args.insert(args.begin(), FLEETSIM_BINARY);
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_strings = {tag, "PATH=/usr/bin:/bin"};
  std::vector<char*> envp;
  for (std::string& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::execve(FLEETSIM_BINARY, argv.data(), envp.data());
    ::_exit(127);
  }
  return pid;
}

int processes_tagged(const std::string& tag) {
  int n = 0;
  for (const auto& e : std::filesystem::directory_iterator("/proc")) {
    const std::string pid = e.path().filename().string();
    if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(e.path() / "environ", std::ios::binary);
    const std::string env((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (env.find(tag) != std::string::npos) ++n;
  }
  return n;
}

}  // namespace fleetsim::test
