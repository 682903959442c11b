// Queueing oracles: with batching out of the way (a service-time model: each request holds one of
// a replica's `max_concurrency` slots for a drawn service time) and one warm replica, the
// simulator is an M/G/k queue, and its mean time in system must match the textbook formulas:
//   M/D/1   W = D + λD² / (2(1 − ρ))                          (Pollaczek–Khinchine)
//   M/M/1   W = 1 / (μ − λ)
//   M/M/k   W = 1/μ + C(k, a) / (kμ − λ),  a = λ/μ             (Erlang C)
// "Within sampling error" is measured, not guessed: the run's requests are cut into 20
// consecutive batches, and the batch means give the standard error of the mean (the batch-means
// method, which accounts for the correlation between successive waits). The mean must lie within
// four standard errors of the formula — a simulator that is 28% optimistic at 80% load (as one in
// this field was found to be against M/M/k) fails by far more.
#include <catch2/catch.hpp>

#include <cmath>
#include <string>

#include "tests/support.hpp"

using namespace fleetsim;
using namespace fleetsim::test;

namespace {

struct Estimate {
  double mean = 0;            // seconds in system
  double standard_error = 0;  // of the mean, by batch means
  std::size_t requests = 0;
};

// One warm replica with `slots` concurrent slots, Poisson arrivals at `rate` per second, and
// `service` (a scenario distribution) for ten thousand-odd service times' worth of time.
Estimate time_in_system(double rate, int slots, const std::string& service, double duration_s, std::uint64_t seed) {
  const std::string yaml =
      "duration: " + std::to_string(static_cast<long long>(duration_s)) + "s\nseed: " + std::to_string(seed) +
      "\nrequest_timeout: 10h\n"
      "cluster:\n  pools:\n    - {name: a, nodes: 1, gpu: L4, gpus_per_node: 1}\n"
      "policies: {autoscaler: {impl: fixed, replicas: 1}}\n"
      "models:\n"
      "  - {name: q, kind: service-time, memory_per_gpu: 1GiB, max_concurrency: " + std::to_string(slots) +
      ", service_time: " + service + "}\n"
      "workloads:\n  - {model: q, arrivals: {process: poisson, rate: " + std::to_string(rate) + "/s}}\n";
  const RunOutput out = run_scenario(scenario_from(yaml));
  REQUIRE(out.violations.empty());
  REQUIRE(out.status.ok);
  // Requests in arrival order (serial), all completed.
  std::vector<double> sojourn(out.requests.size());
  std::size_t completed = 0;
  for (const RequestResult& r : out.requests) {
    completed += r.outcome == RequestOutcome::Completed;
    sojourn.at(r.serial) = to_seconds(r.end - r.arrival);
  }
  REQUIRE(completed == out.requests.size());
  // Leave out the first 5% (the queue starts empty) and batch the rest.
  const std::size_t skip = sojourn.size() / 20, batches = 20;
  const std::size_t per_batch = (sojourn.size() - skip) / batches;
  std::vector<double> means(batches, 0.0);
  for (std::size_t b = 0; b < batches; ++b) {
    for (std::size_t i = 0; i < per_batch; ++i) means[b] += sojourn[skip + b * per_batch + i];
    means[b] /= static_cast<double>(per_batch);
  }
  Estimate e;
  for (double m : means) e.mean += m / batches;
  double variance = 0;
  for (double m : means) variance += (m - e.mean) * (m - e.mean) / (batches - 1);
  e.standard_error = std::sqrt(variance / batches);
  e.requests = sojourn.size();
  return e;
}

// Erlang C: the probability that an arrival waits in an M/M/k queue with offered load a = λ/μ.
double erlang_c(int k, double a) {
  double term = 1, sum = 1;  // Σ_{n<k} a^n / n!
  for (int n = 1; n < k; ++n) {
    term *= a / n;
    sum += term;
  }
  const double top = term * a / k / (1 - a / k);  // a^k / k! · 1/(1 − ρ)
  return top / (sum + top);
}

void check_close(const Estimate& e, double expected) {
  INFO("simulated " << e.mean << " s ± " << e.standard_error << " (" << e.requests << " requests), formula " << expected
                    << " s, off by " << 100 * (e.mean / expected - 1) << "%");
  CHECK(e.requests > 20000);
  CHECK(e.standard_error < 0.05 * expected);  // the run is long enough to say something
  CHECK(std::abs(e.mean - expected) < 4 * e.standard_error);
}

}  // namespace

TEST_CASE("M/D/1: the mean time in system matches Pollaczek-Khinchine", "[queueing][oracle]") {
  const double lambda = 0.7, d = 1.0, rho = lambda * d;  // 70% load
  const Estimate e = time_in_system(lambda, 1, "{dist: fixed, value: 1s}", 60000, 3);
  check_close(e, d + lambda * d * d / (2 * (1 - rho)));
}

TEST_CASE("M/M/1: the mean time in system is 1/(mu - lambda)", "[queueing][oracle]") {
  const double lambda = 0.6, mu = 1.0;  // 60% load
  const Estimate e = time_in_system(lambda, 1, "{dist: exponential, mean: 1s}", 80000, 5);
  check_close(e, 1 / (mu - lambda));
}

TEST_CASE("M/M/k: the mean time in system matches Erlang C above 50% load", "[queueing][oracle]") {
  const int k = 4;
  const double mu = 1.0;
  for (double rho : {0.6, 0.8}) {
    DYNAMIC_SECTION("load " << rho) {
      const double lambda = rho * k * mu;
      const Estimate e = time_in_system(lambda, k, "{dist: exponential, mean: 1s}", 30000, 7);
      check_close(e, 1 / mu + erlang_c(k, lambda / mu) / (k * mu - lambda));
    }
  }
}
