// The time-series recorder against a hand-made trace: levels, counters and the interval rule.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "reports/run_files.hpp"
#include "sim/timeseries.hpp"
#include "tests/support.hpp"

using namespace fleetsim;
using namespace fleetsim::test;

TEST_CASE("time series sample levels and per-interval counts", "[timeseries]") {
  // A cold start at t = 0 (pull 2 s + load 1.6 s + start-up 5 s = 8.6 s) and three requests at
  // 1 s, 3 s and 12 s: the first two wait in the buffer until 8.6 s.
  auto path = std::filesystem::temp_directory_path() / "fleetsim_test_timeseries.csv";
  std::ofstream(path) << "timestamp,model,input_tokens,output_tokens\n1.0,m,100,2\n3.0,m,100,2\n12.0,m,100,2\n";
  Scenario sc = scenario_from(
      "duration: 20s\nwarm_start: false\nsample_interval: 5s\n"
      "cluster: {pools: [{name: a, nodes: 1, gpu: H100-80GB, network_bandwidth: 10GB/s}]}\n"
      "policies: {autoscaler: {impl: fixed, replicas: 1}}\n"
      "models: [{name: m, parameters: 8e9, kv_cache_per_token: 128KiB, image_size: 20GB,"
      " startup_time: 5s, gpus_per_replica: 2}]\n"
      "workloads: [{trace: " + path.string() + "}]\n");
  Simulation sim(build_setup(sc, registry()));
  TimeSeriesRecorder rec(sim.scenario(), sc.sample_interval);
  sim.add_observer(&rec);
  REQUIRE(sim.run().ok);
  const auto& s = rec.samples();
  REQUIRE(s.size() == 4);  // 5, 10, 15, 20 s
  auto at = [&](std::size_t i, Series series) { return s[i].models[0][static_cast<std::size_t>(series)]; };
  // t = 5 s: starting, 2 GPUs, two requests buffered, two arrivals in [0, 5).
  CHECK(at(0, Series::ReplicasStarting) == 1);
  CHECK(at(0, Series::ReplicasReady) == 0);
  CHECK(at(0, Series::GpusAllocated) == 2);
  CHECK(at(0, Series::RequestsBuffered) == 2);
  CHECK(at(0, Series::RequestsInSystem) == 2);
  CHECK(at(0, Series::Arrivals) == 2);
  // t = 10 s: ready since 8.6 s, one cold start and two completions in [5, 10).
  CHECK(at(1, Series::ReplicasReady) == 1);
  CHECK(at(1, Series::ReplicasStarting) == 0);
  CHECK(at(1, Series::RequestsBuffered) == 0);
  CHECK(at(1, Series::ColdStarts) == 1);
  CHECK(at(1, Series::Completions) == 2);
  CHECK(at(1, Series::Arrivals) == 0);
  // t = 15 s: the third request came and went.
  CHECK(at(2, Series::Arrivals) == 1);
  CHECK(at(2, Series::Completions) == 1);
  CHECK(at(2, Series::RequestsInSystem) == 0);
  // The "all" row adds the models up.
  CHECK(s[1].models[1][static_cast<std::size_t>(Series::GpusAllocated)] == 2);

  const std::string csv = timeseries_csv(sc, rec);
  REQUIRE_THAT(csv, Catch::StartsWith("time_s,model,series,value\n5,m,replicas_ready,0\n"));
  REQUIRE_THAT(csv, Catch::Contains("10,all,cold_starts,1\n"));
  REQUIRE_THAT(cold_starts_csv(sc, rec), Catch::Contains("m,0,0,0,8.6,0,2,1.6,5,model-store,0\n"));
}
