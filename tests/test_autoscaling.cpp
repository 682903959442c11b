// Knative's KPA as the issue states it: panic scale-up within the panic window, scale to zero
// after the stable window plus the grace period, and back from zero on the next request.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "tests/support.hpp"

using namespace fleetsim;
using namespace fleetsim::test;

namespace {

std::unique_ptr<Autoscaler> make_kpa(std::map<std::string, std::string> overrides = {}) {
  const PolicyInfo* info = registry().find(PolicyFamily::Autoscaler, "kpa");
  REQUIRE(info);
  // Resolve defaults through the scenario loader so the test uses the declared defaults.
  std::string params;
  for (const auto& [k, v] : overrides) params += ", " + k + ": " + v;
  Scenario sc = scenario_from(
      "duration: 1h\ncluster: {pools: [{name: a, nodes: 1, gpu: H100-80GB}]}\n"
      "policies: {autoscaler: {impl: kpa" + params + "}}\n"
      "models: [{name: m, parameters: 1e9, kv_cache_per_token: 1KiB}]\n"
      "workloads: [{model: m, arrivals: {process: poisson, rate: 1/s},"
      " input_tokens: {dist: fixed, value: 1}, output_tokens: {dist: fixed, value: 1}}]\n");
  return registry().make_autoscaler(sc.models[0].autoscaler);
}

// Feeds the KPA constant concurrency between ticks, tracking the integral as the engine does.
struct Driver {
  std::unique_ptr<Autoscaler> kpa;
  SimTime now = 0;
  double integral = 0;
  int ready = 1;
  ScalingDecision tick(int concurrency, SimTime step = 2 * kSecond) {
    integral += concurrency * to_seconds(step);
    now += step;
    ScalingView v;
    v.now = now;
    v.ready = ready;
    v.in_flight = concurrency;
    v.concurrency_integral = integral;
    ScalingDecision d = kpa->evaluate(v);
    REQUIRE(d.next_evaluation == now + 2 * kSecond);
    return d;
  }
};

}  // namespace

TEST_CASE("kpa starts at initial_scale", "[autoscaling][kpa]") {
  auto kpa = make_kpa();
  ScalingView v;
  REQUIRE(kpa->evaluate(v).desired == 1);
  auto none = make_kpa({{"initial_scale", "0"}});
  REQUIRE(none->evaluate(v).desired == 0);
}

TEST_CASE("kpa scales up within the panic window under a step burst", "[autoscaling][kpa]") {
  // target = 10 · 0.7 = 7 per replica. A step from 0 to 100 concurrent requests:
  // the 6 s panic window sees 100 after 6 s -> ceil(100 / 7) = 15 replicas; the 60 s stable
  // window alone would only reach ceil(100·6/60 / 7) = 2 by then.
  Driver d{make_kpa({{"target_concurrency", "10"}})};
  d.kpa->evaluate(ScalingView{});  // initial evaluation at t = 0
  for (int i = 0; i < 30; ++i) d.tick(0);  // a quiet minute at one replica
  ScalingDecision first = d.tick(100);
  REQUIRE(first.desired > 1);  // panic already after one tick
  d.tick(100);
  ScalingDecision third = d.tick(100);  // 6 s into the burst
  REQUIRE(third.desired == 15);
  // While in panic it never scales down, even if the burst stops.
  d.ready = 15;
  REQUIRE(d.tick(0).desired == 15);
}

TEST_CASE("kpa scales to zero after the stable window plus the grace period", "[autoscaling][kpa]") {
  Driver d{make_kpa({{"target_concurrency", "10"}})};
  d.kpa->evaluate(ScalingView{});
  for (int i = 0; i < 30; ++i) REQUIRE(d.tick(3).desired == 1);  // steady traffic
  // Traffic stops at t = 60 s. The stable average reaches 0 at 120 s; the grace period keeps one
  // replica until 150 s.
  SimTime zero_at = 0;
  for (int i = 0; i < 60 && zero_at == 0; ++i)
    if (d.tick(0).desired == 0) zero_at = d.now;
  REQUIRE(zero_at == 150 * kSecond);
}

TEST_CASE("kpa scale_down_delay holds the highest decision of the last delay, scale-up at once", "[autoscaling][kpa]") {
  // 20 replicas at t = 0, no traffic: max_scale_down_rate 2 lets each tick halve to 10.
  // Without a delay that happens at the first tick; with 10 s the t = 0 decision (20) stays in
  // the window through t = 8 s and leaves it at t = 10 s.
  Driver plain{make_kpa({{"target_concurrency", "10"}, {"initial_scale", "20"}})};
  REQUIRE(plain.kpa->evaluate(ScalingView{}).desired == 20);
  plain.ready = 20;
  REQUIRE(plain.tick(0).desired == 10);
  Driver held{make_kpa({{"target_concurrency", "10"}, {"initial_scale", "20"}, {"scale_down_delay", "10s"}})};
  REQUIRE(held.kpa->evaluate(ScalingView{}).desired == 20);
  held.ready = 20;
  for (int i = 0; i < 4; ++i) REQUIRE(held.tick(0).desired == 20);  // t = 2 .. 8 s
  REQUIRE(held.tick(0).desired == 10);                                // t = 10 s
  // Scale-up is not delayed: 1,000 in flight from t = 10 s, at t = 12 s the 6 s panic window
  // averages 2,000 / 6 = 333.3, ceil(333.3 / 7) = 48 replicas at once.
  held.ready = 10;
  REQUIRE(held.tick(1000).desired == 48);
}

TEST_CASE("kpa respects min and max scale", "[autoscaling][kpa]") {
  Driver d{make_kpa({{"target_concurrency", "1"}, {"min_scale", "2"}, {"max_scale", "5"}})};
  REQUIRE(d.kpa->evaluate(ScalingView{}).desired == 2);
  for (int i = 0; i < 10; ++i) REQUIRE(d.tick(1000).desired <= 5);
  REQUIRE(d.tick(1000).desired == 5);
  for (int i = 0; i < 100; ++i) REQUIRE(d.tick(0).desired >= 2);
}

TEST_CASE("end to end: scale to zero when idle, back from zero on the next request", "[autoscaling][kpa]") {
  // Requests at 10 s and at 1000 s. The warm replica serves the first, scales to zero about
  // 60 s (stable window) + 30 s (grace) after it, and the second request waits for a cold start.
  auto path = std::filesystem::temp_directory_path() / "fleetsim_test_kpa_e2e.csv";
  std::ofstream(path) << "timestamp,model,input_tokens,output_tokens\n10.0,m,100,5\n1000.0,m,100,5\n";
  Scenario sc = scenario_from(
      "duration: 30min\ncluster: {pools: [{name: a, nodes: 1, gpu: H100-80GB, network_bandwidth: 10GB/s,"
      " disk_cache: 1TB, disk_read_bandwidth: 5GB/s}]}\n"
      "policies: {autoscaler: {impl: kpa}}\n"
      "models: [{name: m, parameters: 8e9, kv_cache_per_token: 128KiB, image_size: 20GB, startup_time: 5s}]\n"
      "workloads: [{trace: " + path.string() + "}]\n");
  RunOutput out = run_scenario(sc);
  REQUIRE(out.violations.empty());
  REQUIRE(out.requests.size() == 2);
  // The first replica (warm at t = 0) stops 90-94 s after the first request ended (ticks are
  // every 2 s).
  SimTime stopped = -1;
  for (const auto& p : out.phases)
    if (p.replica.id == 0 && p.phase == ReplicaPhase::Stopped) stopped = p.time;
  const SimTime first_end = out.requests[0].end;
  REQUIRE(stopped >= first_end + 90 * kSecond);
  REQUIRE(stopped <= first_end + 94 * kSecond);
  // Back from zero: one cold start (image on the node already, weights from the disk cache:
  // 16 GB / 5 GB/s = 3.2 s, + 5 s start-up), and the second request counted as having waited.
  REQUIRE(out.cold_starts.size() == 1);
  REQUIRE(out.cold_starts[0].placed == 1000 * kSecond);
  REQUIRE(out.cold_starts[0].image_pull == 0);
  REQUIRE(out.cold_starts[0].source == WeightSource::DiskCache);
  const RequestResult& second = out.requests[1];
  REQUIRE(second.waited_for_replica);
  REQUIRE(second.dispatched - second.arrival == 8200 * kMillisecond);
  REQUIRE(out.metrics.models[0].cold_starts == 1);
  REQUIRE(out.metrics.models[0].requests_waited == 1);
}

TEST_CASE("an idle model at zero replicas costs no autoscaler evaluations", "[autoscaling]") {
  // 200 models, none with traffic after t = 0, all scaled to zero: the event count must not
  // grow with the run's length.
  auto events_for = [](const std::string& duration) {
    std::string models, workloads;
    for (int i = 0; i < 200; ++i)
      models += "  - {name: m" + std::to_string(i) + ", parameters: 1e9, kv_cache_per_token: 1KiB}\n";
    Scenario sc = scenario_from(
        "duration: " + duration + "\ncluster: {pools: [{name: a, nodes: 10, gpu: H100-80GB}]}\n"
        "policies: {autoscaler: {impl: kpa, initial_scale: 0}}\nmodels:\n" + models +
        "workloads: [{model: m0, arrivals: {process: poisson, rate: 0/s},"
        " input_tokens: {dist: fixed, value: 1}, output_tokens: {dist: fixed, value: 1}}]\n");
    return run_scenario(sc).status.events;
  };
  const auto day = events_for("1d");
  REQUIRE(day == events_for("30d"));
  REQUIRE(day < 1000);
}
