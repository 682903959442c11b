// Replica storage: a stopped replica's slot is reused by a later replica (sim/simulation.hpp),
// while the public id policies and observers see stays unique and in placement order.
#include <catch2/catch.hpp>

#include <algorithm>
#include <memory>
#include <set>

#include "sim/timeseries.hpp"
#include "tests/support.hpp"

using namespace fleetsim;
using namespace fleetsim::test;

namespace {

// Watches the replicas placed and stopped: their ids, their slots, the most alive at once.
struct ReplicaWatch : SimObserver {
  std::vector<std::uint32_t> placed_ids;
  std::set<std::uint32_t> alive;  // public ids
  std::set<std::uint32_t> slots_alive;
  std::size_t most_alive = 0;
  std::uint32_t max_slot = 0;
  std::vector<std::string> problems;
  void on_replica_placed(SimTime, const ReplicaInfo& info) override {
    placed_ids.push_back(info.id);
    alive.insert(info.id);
    if (!slots_alive.insert(info.slot).second)
      problems.push_back("slot " + std::to_string(info.slot) + " given to replica " + std::to_string(info.id) +
                         " while another alive replica holds it");
    most_alive = std::max(most_alive, alive.size());
    max_slot = std::max(max_slot, info.slot);
  }
  void on_replica_phase(SimTime, const ReplicaInfo& info, ReplicaPhase phase) override {
    if (phase != ReplicaPhase::Stopped) return;
    alive.erase(info.id);
    slots_alive.erase(info.slot);
  }
};

// Passes every decision on to the scenario's router, after checking what it was given: the
// model's ready replicas by public id, ascending, each of them alive.
struct CheckingRouter : Router {
  std::unique_ptr<Router> inner;
  const ReplicaWatch* watch = nullptr;
  std::uint64_t calls = 0;
  std::vector<std::string> problems;
  std::size_t route(std::span<const RouteCandidate> candidates, const RouteRequest& request) override {
    ++calls;
    for (std::size_t i = 0; i < candidates.size(); ++i) {
      if (i > 0 && candidates[i - 1].replica >= candidates[i].replica && problems.size() < 5)
        problems.push_back("candidates not in ascending replica id");
      if (!watch->alive.count(candidates[i].replica) && problems.size() < 5)
        problems.push_back("candidate " + std::to_string(candidates[i].replica) + " is no alive replica's id");
    }
    return inner->route(candidates, request);
  }
};

Scenario default_scenario(const std::string& duration) {
  LoadOptions options;
  options.overrides = {"duration=" + duration};
  LoadResult loaded = load_scenario_file(std::string(FLEETSIM_SOURCE_DIR) + "/scenarios/default.yaml", registry(), options);
  REQUIRE(loaded.scenario);
  return *loaded.scenario;
}

}  // namespace

TEST_CASE("a long run's replica storage is bounded by the replicas alive at once, not by those placed",
          "[engine][memory]") {
  const Scenario scenario = default_scenario("2d");
  Simulation sim(build_setup(scenario, registry()));
  ReplicaWatch watch;
  InvariantChecker checker(sim);
  sim.add_observer(&watch);
  sim.add_observer(&checker);
  REQUIRE(sim.run().ok);
  REQUIRE(checker.violations.empty());
  REQUIRE(watch.problems.empty());
  // The default scenario scales up and down all day: thousands placed, tens alive at once.
  INFO("placed " << watch.placed_ids.size() << ", most alive " << watch.most_alive << ", slots "
                 << sim.replica_slots());
  REQUIRE(watch.placed_ids.size() > 1000);
  // A slot stopped waits for the next autoscaler evaluation before reuse, hence the slack.
  REQUIRE(sim.replica_slots() <= 2 * watch.most_alive);
  REQUIRE(watch.max_slot < sim.replica_slots());
  // Ids stay unique and in placement order: 0, 1, 2, ...
  for (std::size_t i = 0; i < watch.placed_ids.size(); ++i) REQUIRE(watch.placed_ids[i] == i);
}

TEST_CASE("with slots reused, the router still sees ready replicas by public id, ascending",
          "[engine][memory]") {
  const Scenario scenario = default_scenario("6h");
  SimulationSetup setup = build_setup(scenario, registry());
  auto router = std::make_unique<CheckingRouter>();
  CheckingRouter* checking = router.get();
  ReplicaWatch watch;
  checking->watch = &watch;
  router->inner = std::move(setup.router);
  setup.router = std::move(router);
  Simulation sim(std::move(setup));
  sim.add_observer(&watch);
  REQUIRE(sim.run().ok);
  REQUIRE(checking->calls > 1000);
  REQUIRE(watch.placed_ids.size() > 2 * sim.replica_slots());  // slots were reused
  REQUIRE(checking->problems.empty());
}

TEST_CASE("the cold-start sink receives every record the recorder would have kept, in order", "[timeseries]") {
  const Scenario scenario = default_scenario("2h");
  std::vector<ColdStartRecord> kept, streamed;
  for (bool sink : {false, true}) {
    Simulation sim(build_setup(scenario, registry()));
    TimeSeriesRecorder recorder(sim.scenario(), scenario.sample_interval);
    if (sink) recorder.set_cold_start_sink([&](const ColdStartRecord& c) { streamed.push_back(c); });
    sim.add_observer(&recorder);
    REQUIRE(sim.run().ok);
    if (!sink) kept = recorder.cold_starts();
    if (sink) REQUIRE(recorder.cold_starts().empty());
  }
  REQUIRE(!kept.empty());
  REQUIRE(kept.size() == streamed.size());
  for (std::size_t i = 0; i < kept.size(); ++i) {
    REQUIRE(kept[i].replica.id == streamed[i].replica.id);
    REQUIRE(kept[i].ready == streamed[i].ready);
  }
}
