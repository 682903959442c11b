// The engine's real-mode seam (sim/replica_backend.hpp) against an in-process fake backend on a
// virtual clock: cold starts and requests go through the backend instead of the simulator's
// models, the decisions (scale changes, placements, cache) stay the engine's and come out in
// the same sequence as in simulation, every request ends exactly once, and a backend that
// stops the run gets a partial result. (That simulation itself is unchanged is what every
// other test, and the golden results, check.)
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>

#include "sim/decision_log.hpp"
#include "tests/support.hpp"

using namespace fleetsim;
using namespace fleetsim::test;

namespace {

// Does what it is told on a virtual clock: a spawn takes 2 s, a load 3 s and a start-up 1 s;
// a replica serves one request at a time, 100 ms of prefill then 20 ms per further token.
class FakeBackend final : public ReplicaBackend {
 public:
  SimTime stop_at = kNever;  // reports Stop when the clock reaches it
  int spawns = 0, loads = 0, deploys = 0, stops = 0, submits = 0, kills = 0;
  std::vector<bool> outages;
  std::map<WeightSource, int> sources;
  std::vector<std::string> cache;  // "+m@n" inserted on disk, "-m@n" evicted

  void start_clock() override { clock_ = 0; }
  SimTime wait(SimTime deadline, std::vector<BackendEvent>& out) override {
    CHECK(deadline >= 0);
    SimTime first = stop_at;
    for (const BackendEvent& e : pending_) first = std::min(first, e.time);
    if (first > deadline) {
      clock_ = std::max(clock_, deadline);
      return clock_;
    }
    clock_ = std::max(clock_, first);
    if (first == stop_at) {
      stop_at = kNever;
      out.push_back(BackendEvent{BackendEvent::Kind::Stop, clock_, 0, 0, "stopped by the test"});
      return clock_;
    }
    // Every report due now, in the order they were made.
    for (auto it = pending_.begin(); it != pending_.end();) {
      if (it->time == first) {
        out.push_back(*it);
        it = pending_.erase(it);
      } else {
        ++it;
      }
    }
    return clock_;
  }
  bool busy() const override { return !pending_.empty(); }
  void spawn(const ReplicaInfo& r) override {
    ++spawns;
    report(BackendEvent::Kind::Spawned, clock_ + 2 * kSecond, r.id);
  }
  void load(const ReplicaInfo& r, WeightSource source, double kv) override {
    CHECK(kv > 0);
    ++loads;
    ++sources[source];
    report(BackendEvent::Kind::WeightsLoaded, clock_ + 3 * kSecond, r.id);
    report(BackendEvent::Kind::EngineStarted, clock_ + 4 * kSecond, r.id);
  }
  void deploy(const ReplicaInfo&, double kv) override {
    CHECK(kv > 0);
    ++deploys;
  }
  void submit(const ReplicaInfo& r, const BackendRequest& q) override {
    ++submits;
    SimTime& free = free_at_[r.id];
    const SimTime first = std::max(free, clock_) + 100 * kMillisecond;
    const SimTime last = first + (q.output_tokens - 1) * 20 * kMillisecond;
    free = last;
    report(BackendEvent::Kind::FirstToken, first, r.id, q.id);
    report(BackendEvent::Kind::LastToken, last, r.id, q.id);
  }
  void stop(const ReplicaInfo& r) override {
    ++stops;
    std::erase_if(pending_, [&](const BackendEvent& e) { return e.replica == r.id; });
  }
  // A kill: the replica's pending reports vanish with it; its death is reported 50 ms later.
  void kill(const ReplicaInfo& r) override {
    ++kills;
    std::erase_if(pending_, [&](const BackendEvent& e) { return e.replica == r.id; });
    free_at_.erase(r.id);
    pending_.push_back(BackendEvent{BackendEvent::Kind::ReplicaFailed, clock_ + 50 * kMillisecond, r.id, 0, "killed"});
  }
  void store_outage(bool down) override { outages.push_back(down); }
  void cache_changed(std::uint32_t node, std::uint32_t model, CacheTier tier, CacheEvent event) override {
    if (tier == CacheTier::Disk)
      cache.push_back((event == CacheEvent::Insert ? "+" : "-") + std::to_string(model) + "@" + std::to_string(node));
  }

 private:
  void report(BackendEvent::Kind kind, SimTime at, std::uint32_t replica, std::uint32_t request = 0) {
    pending_.push_back(BackendEvent{kind, at, replica, request, ""});
  }
  SimTime clock_ = 0;
  std::vector<BackendEvent> pending_;
  std::map<std::uint32_t, SimTime> free_at_;
};

struct Outcome {
  RunOutput out;
  std::vector<std::string> decisions;
};

Outcome run_with(const Scenario& scenario, ReplicaBackend* backend) {
  SimulationSetup setup = build_setup(scenario, registry());
  setup.backend = backend;
  Outcome o;
  o.out = run_setup(std::move(setup));
  o.decisions = o.out.decisions;
  return o;
}

// Model a: one replica from t = 0 (a cold start, warm_start off). Model b: scale to zero, a
// burst at 30 s (cold start from the model store) and one at 90 s (from the node's disk
// cache), far enough apart that no latency can change what the autoscaler decides.
std::string two_models(const TempDir& dir, bool warm) {
  std::string trace = "timestamp,model,input_tokens,output_tokens\n";
  for (int i = 1; i <= 20; ++i) trace += std::to_string(i) + ".0,a,64,8\n";
  for (int t : {30, 90})
    for (int i = 0; i < 3; ++i) trace += std::to_string(t) + "." + std::to_string(i) + ",b,32,4\n";
  const std::string path = dir.write("trace.csv", trace);
  return "name: backend-seam\nseed: 3\nduration: 150s\nwarm_start: " + std::string(warm ? "true" : "false") +
         "\n"
         "cluster: {pools: [{name: p, nodes: 1, gpu: H100-80GB, gpus_per_node: 2, disk_cache: 100GB}]}\n"
         "policies: {cache: {impl: lru}}\n"
         "models:\n"
         "  - {name: a, parameters: 1e9, kv_cache_per_token: 1KiB, autoscaler: {impl: fixed, replicas: 1}}\n"
         "  - {name: b, parameters: 2e9, kv_cache_per_token: 1KiB,\n"
         "     autoscaler: {impl: kpa, initial_scale: 0, target_concurrency: 100, stable_window: 10s,\n"
         "                  scale_to_zero_grace_period: 5s}}\n"
         "workloads: [{trace: " + path + "}]\n";
}

}  // namespace

TEST_CASE("a backend performs cold starts and requests, and the decisions stay the engine's", "[engine][backend]") {
  TempDir dir("backend");
  const Scenario scenario = scenario_from(two_models(dir, false));
  const Outcome simulated = run_with(scenario, nullptr);
  FakeBackend fake;
  const Outcome real = run_with(scenario, &fake);
  INFO(real.out.status.errors.to_string());
  REQUIRE(real.out.status.ok);
  CHECK(real.out.violations.empty());
  CHECK_FALSE(real.out.status.partial);
  // Every request ended once, all completed, each through the backend.
  CHECK(real.out.status.requests == 26);
  CHECK(real.out.ended == 26);
  CHECK(real.out.metrics.overall.completed() == 26);
  CHECK(fake.submits == 26);
  // Three cold starts (a at 0; b at 30 s from the store, at 90 s from the disk cache), each a
  // spawn and a load; the replicas that stopped were stopped in the backend too.
  CHECK(real.out.metrics.overall.cold_starts == 3);
  CHECK(fake.spawns == 3);
  CHECK(fake.loads == 3);
  CHECK(fake.sources[WeightSource::ModelStore] == 2);
  CHECK(fake.sources[WeightSource::DiskCache] == 1);
  CHECK(fake.stops == 2);  // b's two replicas, each scaled to zero after its burst; a's lives to the end
  CHECK(fake.cache == std::vector<std::string>{"+0@0", "+1@0"});
  // The same decisions as the simulator's, in the same order.
  CHECK(real.decisions == simulated.decisions);
  CHECK(simulated.out.metrics.overall.cold_starts == 3);
  // The phases took the backend's times: 2 s spawn (the image pull), 3 s load, 1 s start-up.
  CHECK(real.out.metrics.overall.image_pull_seconds == Approx(3 * 2.0));
  CHECK(real.out.metrics.overall.weight_load_seconds == Approx(3 * 3.0));
  CHECK(real.out.metrics.overall.engine_startup_seconds == Approx(3 * 1.0));
}

TEST_CASE("warm replicas are deployed through the backend before the clock runs", "[engine][backend]") {
  TempDir dir("backend-warm");
  const Scenario scenario = scenario_from(two_models(dir, true));
  FakeBackend fake;
  const Outcome real = run_with(scenario, &fake);
  REQUIRE(real.out.status.ok);
  CHECK(real.out.violations.empty());
  CHECK(fake.deploys == 1);  // a, at t = 0
  CHECK(fake.spawns == 2);   // b's two cold starts
  CHECK(real.out.metrics.overall.cold_starts == 2);
  CHECK(real.out.ended == 26);
  CHECK(real.decisions == run_with(scenario, nullptr).decisions);
}

TEST_CASE("a backend that stops the run gets a partial result, every request ended once", "[engine][backend]") {
  TempDir dir("backend-stop");
  const Scenario scenario = scenario_from(two_models(dir, false));
  FakeBackend fake;
  fake.stop_at = 30 * kSecond + 500 * kMillisecond;  // b's replica is starting, its requests buffered
  const Outcome real = run_with(scenario, &fake);
  REQUIRE(real.out.status.ok);
  CHECK(real.out.violations.empty());
  CHECK(real.out.status.partial);
  CHECK(real.out.status.stop_reason == "stopped by the test");
  CHECK(real.out.status.end_time == 30 * kSecond + 500 * kMillisecond);
  // 20 of a's and b's first burst arrived; b's 3 were cut off waiting for their replica.
  CHECK(real.out.status.requests == 23);
  CHECK(real.out.ended == 23);
  CHECK(real.out.metrics.overall.completed() == 20);
  CHECK(real.out.metrics.overall.outcomes[static_cast<int>(RequestOutcome::CutOff)] == 3);
}

TEST_CASE("a replica the backend reports failed: its request is re-queued, a replacement serves it", "[engine][backend][faults]") {
  TempDir dir("backend-fail");
  Scenario scenario = scenario_from(two_models(dir, true));
  // a's replica 0 (deployed at t = 0) is killed at 10.05 s, in the middle of the request of
  // 10 s (100 ms of prefill + 7 × 20 ms: until 10.24 s). The fake reports the death 50 ms later.
  FaultSpec kill;
  kill.replica = 0;
  kill.at = 10 * kSecond + 50 * kMillisecond;
  scenario.faults.push_back(kill);
  FakeBackend fake;
  const Outcome real = run_with(scenario, &fake);
  INFO(real.out.status.errors.to_string());
  REQUIRE(real.out.status.ok);
  for (const std::string& v : real.out.violations) FAIL(v);
  CHECK_FALSE(real.out.status.partial);
  CHECK(fake.kills == 1);
  CHECK(real.out.ended == 26);
  CHECK(real.out.metrics.overall.completed() == 26);
  CHECK(real.out.status.faults.replicas_failed == 1);
  CHECK(real.out.status.faults.requests_requeued == 1);
  CHECK(std::find(real.decisions.begin(), real.decisions.end(), "fail a r0") != real.decisions.end());
  // The failure at 10.1 s places replica 1: spawned at 12.1 s, loaded at 15.1 s, started at
  // 16.1 s. The re-queued request is first in the buffer: 16.2 s first token, 16.34 s end.
  bool found = false;
  for (const RequestResult& r : real.out.requests)
    if (r.arrival == 10 * kSecond) {
      found = true;
      CHECK(r.outcome == RequestOutcome::Completed);
      CHECK(r.replica == 1);
      CHECK(r.first_token == 16 * kSecond + 200 * kMillisecond);
      CHECK(r.end == 16 * kSecond + 340 * kMillisecond);
    }
  CHECK(found);
  CHECK(fake.spawns == 3);  // a's replacement, b's two cold starts
}

TEST_CASE("the decision log writes an unmet scale-up once, not at every evaluation", "[real][decisions]") {
  Scenario scenario;
  scenario.models.push_back(ModelSpec{});
  scenario.models.back().name = "m";
  DecisionLog log(scenario);
  log.on_scale(1 * kSecond, 0, 0, 2);  // wants 2, has 0
  log.on_scale(3 * kSecond, 0, 0, 2);  // still 0: the same wish, not logged again
  log.on_scale(5 * kSecond, 0, 1, 2);  // one started: a new line
  log.on_scale(7 * kSecond, 0, 2, 2);  // met: nothing
  log.on_scale(9 * kSecond, 0, 2, 0);  // scale down
  CHECK(log.sequence() == std::vector<std::string>{"scale m 0->2", "scale m 1->2", "scale m 2->0"});
  CHECK(log.entries()[1].time == 5 * kSecond);
}
