// Test helpers: build scenarios from YAML text, run them with the metrics collector and an
// invariant checker attached, and look at the results.
#pragma once
#include <sys/types.h>
#include <filesystem>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "policies/registry.hpp"
#include "scenarios/loader/build.hpp"
#include "scenarios/loader/scenario_loader.hpp"
#include "sim/invariants.hpp"
#include "sim/metrics.hpp"
#include "sim/simulation.hpp"

namespace fleetsim::test {

// A scratch directory, unique per process and instance, removed with everything in it.
class TempDir {
 public:
  explicit TempDir(const std::string& tag = "files");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  // Writes `text` (bytes as given) to `name` below the directory; returns its path.
  std::string write(const std::string& name, const std::string& text) const;
  std::string path(const std::string& name) const { return (dir / name).string(); }
  std::filesystem::path dir;
};

// The file's bytes ("" when it cannot be read).
std::string read_file(const std::filesystem::path& path);
// Writes `text` (bytes as given) to `path`, replacing it.
void write_file(const std::filesystem::path& path, const std::string& text);
// `text` in single quotes for /bin/sh.
std::string shell_quote(const std::string& text);

// `fleetsim <args>` (the built binary; args go to the shell as given), run from the repository
// root: its exit code (128 + signal if it crashed), stdout and stderr.
struct CliRun {
  int code = -1;
  std::string out, err;
};
CliRun run_fleetsim(const std::string& args);
// The path of a test plugin built beside the tests (tests/CMakeLists.txt): lib<name>.so.
std::string test_plugin(const std::string& name);

// Starts the fleetsim binary with `args` (after the program's name) in the background, its
// environment only `tag` (NAME=VALUE) and a PATH, so that its processes — and its workers', which
// inherit it — can be counted in /proc by the tag. Returns the pid, or -1.
pid_t spawn_fleetsim_tagged(std::vector<std::string> args, const std::string& tag);
// How many processes have `tag` in their environment (those spawn_fleetsim_tagged started,
// workers included), read from /proc.
int processes_tagged(const std::string& tag);

// A TCP socket bound to a free port on 127.0.0.1, listening when `listen` (a port in use), closed
// with the object or by close() (a port nothing listens on, for a while).
class LoopbackPort {
 public:
  explicit LoopbackPort(bool listen = true);
  ~LoopbackPort() { close(); }
  LoopbackPort(const LoopbackPort&) = delete;
  LoopbackPort& operator=(const LoopbackPort&) = delete;
  int port() const { return port_; }
  void close();

 private:
  int fd_ = -1;
  int port_ = 0;
};

// Jobs from a list, in order (a JobSource for job-scheduler tests).
class ListJobs final : public JobSource {
 public:
  explicit ListJobs(std::vector<JobSpec> jobs) : jobs_(std::move(jobs)) {}
  bool next(JobSpec& out, Diagnostics&) override {
    if (i_ >= jobs_.size()) return false;
    out = jobs_[i_++];
    return true;
  }

 private:
  std::vector<JobSpec> jobs_;
  std::size_t i_ = 0;
};

// Loads YAML text; fails the test (with the diagnostics) if it does not validate.
Scenario scenario_from(const std::string& yaml, const LoadOptions& options = {});
// Diagnostics of YAML text that must not validate (fails the test if it does).
std::string errors_of(const std::string& yaml, const LoadOptions& options = {});

// The invariant checker lives in the library (sim/invariants.hpp), where check-policy uses it too.
using fleetsim::InvariantChecker;

struct PhaseEvent {
  SimTime time;
  ReplicaInfo replica;
  ReplicaPhase phase;
};

struct RunOutput {
  RunStatus status;
  RunMetrics metrics;
  std::vector<std::string> violations;
  std::uint64_t ended = 0;
  std::vector<RequestResult> requests;  // every request's end record, in end order
  std::vector<ColdStartRecord> cold_starts;
  std::vector<PhaseEvent> phases;
  std::vector<std::string> decisions;  // the run's decision sequence (sim/decision_log.hpp)
};

// The end record of the request with that serial (arrival order); throws when there is none.
const RequestResult& by_serial(const RunOutput& out, std::uint64_t serial);

// Runs `scenario` with the built-in policies and the checkers attached.
RunOutput run_scenario(const Scenario& scenario);
// The same for a setup a test has changed (a policy of its own in place of the scenario's),
// with observers of the test's own attached too.
RunOutput run_setup(SimulationSetup setup, std::initializer_list<SimObserver*> extra = {});

const PolicyRegistry& registry();

}  // namespace fleetsim::test
