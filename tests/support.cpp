#include "tests/support.hpp"

#include <catch2/catch.hpp>
#include <unistd.h>

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

void InvariantChecker::tick(SimTime now) {
  if (now < last_) violations.push_back("time went back from " + std::to_string(last_) + " to " + std::to_string(now));
  last_ = now;
}

void InvariantChecker::check_gpus() {
  for (const NodeView& node : sim_.nodes()) {
    int free = 0;
    for (const GpuSlot& g : node.gpus) {
      // Shares (co-located jobs' fractional workers) may stack up to a whole GPU; a replica or a
      // whole-GPU job counts 1000 alone.
      if (g.milli_used > 1000) violations.push_back("GPU over-committed: " + std::to_string(g.milli_used) + " milli");
      if (g.holders > 1 && g.milli_used == 0) violations.push_back("GPU shared with nothing allocated");
      if (g.memory_used > node.gpu_type->memory_bytes + 1) violations.push_back("GPU memory over-committed");
      if (g.holders == 0) ++free;
    }
    if (free != node.free_gpus) violations.push_back("free GPU count out of step");
  }
}

void InvariantChecker::on_request_end(const RequestResult& r) {
  tick(r.end);
  if (r.end < r.arrival) violations.push_back("request ended before it arrived");
  if (seen_.size() <= r.serial) seen_.resize(r.serial + 1, 0);
  if (seen_[r.serial]++) violations.push_back("request " + std::to_string(r.serial) + " ended twice");
  ++ended;
}

void InvariantChecker::on_replica_placed(SimTime now, const ReplicaInfo&) {
  tick(now);
  check_gpus();
}

void InvariantChecker::on_replica_phase(SimTime now, const ReplicaInfo&, ReplicaPhase) {
  tick(now);
  check_gpus();
}

void InvariantChecker::on_run_end(SimTime end) {
  tick(end);
  for (std::size_t i = 0; i < seen_.size(); ++i)
    if (seen_[i] != 1) violations.push_back("request " + std::to_string(i) + " never ended");
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

RunOutput run_scenario(const Scenario& scenario) { return run_setup(build_setup(scenario, registry())); }

RunOutput run_setup(SimulationSetup setup) {
  Simulation sim(std::move(setup));
  MetricsCollector metrics(sim.scenario());
  InvariantChecker checker(sim);
  Recorder recorder;
  sim.add_observer(&metrics);
  sim.add_observer(&checker);
  sim.add_observer(&recorder);
  RunOutput out;
  out.status = sim.run();
  out.metrics = metrics.result();
  out.violations = checker.violations;
  out.ended = checker.ended;
  out.requests = std::move(recorder.requests);
  out.cold_starts = std::move(recorder.cold_starts);
  out.phases = std::move(recorder.phases);
  if (out.status.requests != out.ended)
    out.violations.push_back(std::to_string(out.status.requests) + " requests arrived, " +
                             std::to_string(out.ended) + " ended");
  return out;
}

}  // namespace fleetsim::test
