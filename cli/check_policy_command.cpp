#include "cli/check_policy_command.hpp"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "policies/plugins.hpp"
#include "policies/registry.hpp"
#include "scenarios/loader/build.hpp"
#include "scenarios/loader/scenario_loader.hpp"
#include "sim/invariants.hpp"
#include "sim/metrics.hpp"
#include "sim/simulation.hpp"

namespace fleetsim {

namespace {

constexpr int kExitPassed = 0;
constexpr int kExitFailed = 1;
constexpr int kExitBadInput = 2;

// ---- Timing decisions: a proxy of each family interface ---------------------------------------
// The check wraps the policy the registry makes in a proxy that forwards every call and times the
// decisions. Only the check uses it (a normal run calls the policy directly), and the times are
// reported as figures, never judged: they depend on the machine.

struct DecisionClock {
  std::vector<double> nanoseconds;
};

class Stopwatch {
 public:
  explicit Stopwatch(DecisionClock& clock) : clock_(clock), start_(std::chrono::steady_clock::now()) {}
  ~Stopwatch() {
    clock_.nanoseconds.push_back(
        std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start_).count());
  }

 private:
  DecisionClock& clock_;
  std::chrono::steady_clock::time_point start_;
};

class TimedPlacement final : public PlacementPolicy {
 public:
  TimedPlacement(std::unique_ptr<PlacementPolicy> inner, std::shared_ptr<DecisionClock> clock)
      : inner_(std::move(inner)), clock_(std::move(clock)) {}
  std::optional<std::uint32_t> choose_pool(const PlacementRequest& request, std::span<const PoolView> pools) override {
    Stopwatch s(*clock_);
    return inner_->choose_pool(request, pools);
  }
  PlacementAnswer place(const PlacementRequest& request, const ClusterView& cluster) override {
    Stopwatch s(*clock_);
    return inner_->place(request, cluster);
  }

 private:
  std::unique_ptr<PlacementPolicy> inner_;
  std::shared_ptr<DecisionClock> clock_;
};

class TimedAutoscaler final : public Autoscaler {
 public:
  TimedAutoscaler(std::unique_ptr<Autoscaler> inner, std::shared_ptr<DecisionClock> clock)
      : inner_(std::move(inner)), clock_(std::move(clock)) {}
  ScalingDecision evaluate(const ScalingView& view) override {
    Stopwatch s(*clock_);
    return inner_->evaluate(view);
  }
  std::size_t choose_drain(std::span<const DrainCandidate> ready) override {
    Stopwatch s(*clock_);
    return inner_->choose_drain(ready);
  }

 private:
  std::unique_ptr<Autoscaler> inner_;
  std::shared_ptr<DecisionClock> clock_;
};

class TimedRouter final : public Router {
 public:
  TimedRouter(std::unique_ptr<Router> inner, std::shared_ptr<DecisionClock> clock)
      : inner_(std::move(inner)), clock_(std::move(clock)) {}
  std::size_t route(std::span<const RouteCandidate> candidates, const RouteRequest& request) override {
    Stopwatch s(*clock_);
    return inner_->route(candidates, request);
  }

 private:
  std::unique_ptr<Router> inner_;
  std::shared_ptr<DecisionClock> clock_;
};

class TimedBatching final : public BatchingPolicy {
 public:
  TimedBatching(std::unique_ptr<BatchingPolicy> inner, std::shared_ptr<DecisionClock> clock)
      : inner_(std::move(inner)), clock_(std::move(clock)) {}
  BatchAdmission admit(const BatchState& batch, const WaitingRequest& request) override {
    Stopwatch s(*clock_);
    return inner_->admit(batch, request);
  }

 private:
  std::unique_ptr<BatchingPolicy> inner_;
  std::shared_ptr<DecisionClock> clock_;
};

// Notifications and prefetch hooks are forwarded untimed: they are not per-request decisions.
class TimedCache final : public CachePolicy {
 public:
  TimedCache(std::unique_ptr<CachePolicy> inner, std::shared_ptr<DecisionClock> clock)
      : inner_(std::move(inner)), clock_(std::move(clock)) {}
  bool admit(CacheTier tier, std::uint32_t model, double bytes, const NodeView& node) override {
    Stopwatch s(*clock_);
    return inner_->admit(tier, model, bytes, node);
  }
  std::size_t victim(CacheTier tier, std::span<const CacheEntry> entries, const NodeView& node) override {
    Stopwatch s(*clock_);
    return inner_->victim(tier, entries, node);
  }
  void on_insert(CacheTier t, const CacheEntry& e, const NodeView& n) override { inner_->on_insert(t, e, n); }
  void on_hit(CacheTier t, const CacheEntry& e, const NodeView& n) override { inner_->on_hit(t, e, n); }
  void on_evict(CacheTier t, const CacheEntry& e, const NodeView& n) override { inner_->on_evict(t, e, n); }
  std::vector<std::uint32_t> prefetch_at_start(const NodeView& node) override { return inner_->prefetch_at_start(node); }
  std::vector<std::uint32_t> prefetch_on_scale_up(std::uint32_t model, const ClusterView& cluster) override {
    return inner_->prefetch_on_scale_up(model, cluster);
  }

 private:
  std::unique_ptr<CachePolicy> inner_;
  std::shared_ptr<DecisionClock> clock_;
};

class TimedQueue final : public QueuePolicy {
 public:
  TimedQueue(std::unique_ptr<QueuePolicy> inner, std::shared_ptr<DecisionClock> clock)
      : inner_(std::move(inner)), clock_(std::move(clock)) {}
  bool preemptive() const override { return inner_->preemptive(); }
  void order(const QueueContext& context, std::span<const JobView> jobs, std::vector<std::uint32_t>& out) override {
    Stopwatch s(*clock_);
    inner_->order(context, jobs, out);
  }
  void rank_victims(const QueueContext& context, std::span<const JobView> running,
                    std::vector<std::uint32_t>& out) override {
    Stopwatch s(*clock_);
    inner_->rank_victims(context, running, out);
  }

 private:
  std::unique_ptr<QueuePolicy> inner_;
  std::shared_ptr<DecisionClock> clock_;
};

template <class Proxy, class Factory>
Factory timed_factory(Factory inner, std::shared_ptr<DecisionClock> clock) {
  return [inner = std::move(inner), clock](const PolicyContext& context) {
    auto policy = inner(context);
    policy->set_name(context.name);
    return std::unique_ptr<typename decltype(policy)::element_type>(
        std::make_unique<Proxy>(std::move(policy), clock));
  };
}

// A copy of `registry` whose policies in `clocks` (by name, of `family`) are made behind a
// timing proxy.
PolicyRegistry timed_registry(const PolicyRegistry& registry, PolicyFamily family,
                              const std::map<std::string, std::shared_ptr<DecisionClock>>& clocks) {
  PolicyRegistry out;
  for (PolicyInfo info : registry.all()) {
    if (info.family == family)
      if (auto c = clocks.find(info.name); c != clocks.end()) {
        const auto& clock = c->second;
        switch (family) {
          case PolicyFamily::Placement: info.make_placement = timed_factory<TimedPlacement>(info.make_placement, clock); break;
          case PolicyFamily::Autoscaler: info.make_autoscaler = timed_factory<TimedAutoscaler>(info.make_autoscaler, clock); break;
          case PolicyFamily::Router: info.make_router = timed_factory<TimedRouter>(info.make_router, clock); break;
          case PolicyFamily::Batching: info.make_batching = timed_factory<TimedBatching>(info.make_batching, clock); break;
          case PolicyFamily::Cache: info.make_cache = timed_factory<TimedCache>(info.make_cache, clock); break;
          case PolicyFamily::Queue: info.make_queue = timed_factory<TimedQueue>(info.make_queue, clock); break;
        }
      }
    out.add(std::move(info));
  }
  return out;
}

// ---- The battery ------------------------------------------------------------------------------

// Which conformance scenarios exercise which family, and where the policy under test goes in
// each (`keys`: the scenario paths replaced by `{impl: NAME}`, so the scenario's own parameters
// for its default policy do not reach it).
struct Battery {
  const char* file;
  PolicyFamily family;
  std::vector<const char*> keys;
};

const std::vector<Battery>& batteries() {
  static const std::vector<Battery> all = {
      {"small-cluster.yaml", PolicyFamily::Placement, {"policies.placement"}},
      {"bursty.yaml", PolicyFamily::Placement, {"policies.placement"}},
      {"scale-to-zero.yaml", PolicyFamily::Placement, {"policies.placement"}},
      {"fractional-pods.yaml", PolicyFamily::Placement, {"policies.placement", "jobs.placement"}},
      {"fragmentation.yaml", PolicyFamily::Placement, {"policies.placement"}},
      {"small-cluster.yaml", PolicyFamily::Autoscaler, {"policies.autoscaler"}},
      {"bursty.yaml", PolicyFamily::Autoscaler, {"policies.autoscaler"}},
      {"scale-to-zero.yaml", PolicyFamily::Autoscaler, {"policies.autoscaler"}},
      {"small-cluster.yaml", PolicyFamily::Router, {"policies.router"}},
      {"bursty.yaml", PolicyFamily::Router, {"policies.router"}},
      {"small-cluster.yaml", PolicyFamily::Batching, {"policies.batching"}},
      {"bursty.yaml", PolicyFamily::Batching, {"policies.batching"}},
      {"small-cluster.yaml", PolicyFamily::Cache, {"policies.cache"}},
      {"scale-to-zero.yaml", PolicyFamily::Cache, {"policies.cache"}},
      {"jobs.yaml", PolicyFamily::Queue, {"jobs.policy"}},
      {"fractional-pods.yaml", PolicyFamily::Queue, {"jobs.policy"}},
  };
  return all;
}

// FNV-1a over every request's end record, every job's outcome and the run's end: two runs with
// the same digest made the same decisions as far as any result can tell.
class Digest final : public SimObserver {
 public:
  void on_request_end(const RequestResult& r) override {
    mix(r.serial);
    mix(r.model);
    mix(static_cast<std::uint64_t>(r.outcome));
    mix(static_cast<std::uint64_t>(r.dispatched));
    mix(static_cast<std::uint64_t>(r.first_token));
    mix(static_cast<std::uint64_t>(r.end));
  }
  void on_replica_placed(SimTime now, const ReplicaInfo&) override { mix(static_cast<std::uint64_t>(now)); }
  void mix(std::uint64_t v) {
    for (int i = 0; i < 8; ++i) {
      value ^= (v >> (8 * i)) & 0xFF;
      value *= 1099511628211ULL;
    }
  }
  std::uint64_t value = 14695981039346656037ULL;
};

struct Headline {
  std::uint64_t requests = 0, completed = 0;
  double p99_ttft_s = 0, gpu_hours = 0;
  bool jobs = false;
  std::uint64_t jobs_done = 0;
  double mean_jct_s = 0;
};

struct Outcome {
  bool loaded = false;
  std::string problem;  // a broken rule, an invariant, or why it did not load
  std::uint64_t digest = 0;
  Headline headline;
};

Outcome run_once(const std::string& file, const PolicyRegistry& registry, const std::vector<std::string>& overrides,
                 bool check) {
  Outcome out;
  LoadOptions options;
  options.overrides = overrides;
  LoadResult loaded = load_scenario_file(file, registry, options);
  if (!loaded.scenario) {
    out.problem = loaded.errors.to_string();
    return out;
  }
  out.loaded = true;
  Simulation sim(build_setup(*loaded.scenario, registry));
  MetricsCollector metrics(sim.scenario());
  InvariantChecker checker(sim);
  Digest digest;
  sim.add_observer(&metrics);
  sim.add_observer(&digest);
  if (check) sim.add_observer(&checker);
  const RunStatus status = sim.run();
  if (!status.ok || !status.errors.empty()) {
    out.problem = status.errors.to_string();
    if (out.problem.empty()) out.problem = "the run failed\n";
    return out;
  }
  if (check) {
    if (status.requests != checker.ended)
      checker.violations.push_back(std::to_string(status.requests) + " requests arrived, " +
                                   std::to_string(checker.ended) + " ended");
    if (!checker.violations.empty()) {
      out.problem = "invariant broken: " + checker.violations.front() + "\n";
      return out;
    }
  }
  const RunMetrics& m = metrics.result();
  Headline& h = out.headline;
  h.requests = m.overall.requests;
  h.completed = m.overall.outcomes[static_cast<int>(RequestOutcome::Completed)];
  h.p99_ttft_s = m.overall.ttft.quantile(0.99);
  h.gpu_hours = m.overall.gpu_seconds_allocated / 3600.0;
  digest.mix(static_cast<std::uint64_t>(status.end_time));
  if (status.jobs) {
    h.jobs = true;
    double jct = 0;
    for (const JobOutcome& j : status.jobs->jobs) {
      digest.mix(static_cast<std::uint64_t>(j.first_start));
      digest.mix(static_cast<std::uint64_t>(j.end));
      digest.mix(static_cast<std::uint64_t>(j.preemptions));
      if (!j.completed()) continue;
      ++h.jobs_done;
      jct += to_seconds(j.end - j.submit);
    }
    if (h.jobs_done) h.mean_jct_s = jct / static_cast<double>(h.jobs_done);
  }
  out.digest = digest.value;
  return out;
}

std::string fixed(double v, int decimals) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, v);
  return buffer;
}

std::string pad(const std::string& s, std::size_t width, bool right = true) {
  if (s.size() >= width) return s;
  return right ? std::string(width - s.size(), ' ') + s : s + std::string(width - s.size(), ' ');
}

double quantile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const std::size_t i = std::min(v.size() - 1, static_cast<std::size_t>(q * static_cast<double>(v.size() - 1) + 0.5));
  return v[i];
}

// One policy of the plugin through its family's battery; prints its part of the scorecard.
// Returns false on a failed check (said on `err`), true when every check passed.
bool check_one(const PolicyRegistry& registry, const PolicyInfo& policy, const std::string& dir, bool quick,
               std::ostream& out, std::ostream& err) {
  const PolicyFamily family = policy.family;
  std::vector<std::string> compared{policy.name};
  if (!quick)
    for (const PolicyInfo& p : registry.all())
      if (p.family == family && p.origin == "built-in") compared.push_back(p.name);
  std::map<std::string, std::shared_ptr<DecisionClock>> clocks;
  for (const std::string& name : compared) clocks[name] = std::make_shared<DecisionClock>();
  const PolicyRegistry timed = timed_registry(registry, family, clocks);
  out << family_name(family) << " policy " << policy.name << "\n";
  bool passed = true;
  for (const Battery& b : batteries()) {
    if (b.family != family) continue;
    const std::string file = (std::filesystem::path(dir) / b.file).string();
    auto overrides_for = [&](const std::string& name) {
      std::vector<std::string> o;
      for (const char* key : b.keys) o.push_back(std::string(key) + "={impl: " + name + "}");
      return o;
    };
    out << "  scenario " << b.file << "\n";
    out << "    " << pad("policy", 22, false) << pad("requests", 9) << pad("completed", 10) << pad("p99 TTFT s", 11)
        << pad("GPU-hours", 10) << pad("jobs done", 10) << pad("mean JCT s", 11) << "\n";
    for (const std::string& name : compared) {
      const bool under_test = name == policy.name;
      const Outcome first = run_once(file, timed, overrides_for(name), under_test);
      if (!under_test && (!first.loaded || !first.problem.empty())) {
        // A built-in this scenario cannot take, or that fails in it: said, not a failure of the
        // policy under test.
        const std::string why = first.problem.substr(0, first.problem.find('\n'));
        out << "    " << pad(name, 22, false) << (first.loaded ? "fails here: " : "cannot run here: ") << why << "\n";
        continue;
      }
      if (!first.loaded) {
        err << "check-policy: " << policy.name << ": " << b.file << " does not load with it:\n" << first.problem;
        passed = false;
        break;
      }
      if (!first.problem.empty()) {
        err << "FAILED " << policy.name << " on " << b.file << ": " << first.problem;
        passed = false;
        break;
      }
      if (under_test) {
        // The second run without the timing proxy: it also shows the proxy changed nothing.
        const Outcome second = run_once(file, registry, overrides_for(name), true);
        if (second.digest != first.digest || !second.problem.empty()) {
          err << "FAILED " << policy.name << " on " << b.file
              << ": not deterministic: two runs of the same scenario and seed gave different results "
                 "(a policy must draw randomness only from its PolicyContext stream and read only its arguments)\n";
          passed = false;
          break;
        }
      }
      const Headline& h = first.headline;
      out << "    " << pad(name + (under_test ? " *" : ""), 22, false) << pad(std::to_string(h.requests), 9)
          << pad(std::to_string(h.completed), 10) << pad(fixed(h.p99_ttft_s, 3), 11) << pad(fixed(h.gpu_hours, 2), 10)
          << pad(h.jobs ? std::to_string(h.jobs_done) : "-", 10) << pad(h.jobs ? fixed(h.mean_jct_s, 0) : "-", 11)
          << "\n";
    }
    if (!passed) break;
  }
  out << "  time per decision (wall clock, this machine; a figure, not a check)\n";
  out << "    " << pad("policy", 22, false) << pad("decisions", 10) << pad("median us", 10) << pad("p99 us", 10) << "\n";
  for (const std::string& name : compared) {
    const auto& ns = clocks[name]->nanoseconds;
    out << "    " << pad(name + (name == policy.name ? " *" : ""), 22, false) << pad(std::to_string(ns.size()), 10)
        << pad(fixed(quantile(ns, 0.5) / 1000.0, 2), 10) << pad(fixed(quantile(ns, 0.99) / 1000.0, 2), 10) << "\n";
  }
  out << "  " << (passed ? "passed" : "FAILED")
      << ": contracts, invariants (no GPU over-committed, every request ends once, time never goes back), determinism\n";
  return passed;
}

int check_policy(PolicyRegistry& registry, const std::string& plugin, const std::string& only, bool quick,
                 const std::string& dir) {
  if (const std::string why = load_plugin(registry, plugin); !why.empty()) {
    std::cerr << why << "\n";
    return kExitBadInput;
  }
  std::error_code ec;
  const auto canonical = std::filesystem::canonical(plugin, ec);
  std::vector<const PolicyInfo*> policies;
  std::vector<std::string> names;
  for (const PolicyInfo& p : registry.all()) {
    if (p.origin == "built-in" || p.origin.empty()) continue;
    std::error_code ec2;
    if (std::filesystem::canonical(p.origin, ec2) != canonical) continue;
    names.push_back(p.name);
    if (only.empty() || p.name == only) policies.push_back(&p);
  }
  if (policies.empty()) {
    std::cerr << "check-policy: --policy " << only << ": not a policy of " << plugin << " (it has:";
    for (const std::string& n : names) std::cerr << " " << n;
    std::cerr << ")\n";
    return kExitBadInput;
  }
  if (!std::filesystem::is_directory(dir, ec)) {
    std::cerr << "check-policy: --scenarios " << dir << ": not a directory\n";
    return kExitBadInput;
  }
  std::cout << "check-policy " << plugin << (quick ? " (quick: no built-ins compared)" : "")
            << "\n(* the policy under test; scenarios from " << dir << ")\n";
  int failed = 0;
  for (const PolicyInfo* p : policies)
    if (!check_one(registry, *p, dir, quick, std::cout, std::cerr)) ++failed;
  std::cout << (failed ? std::to_string(failed) + " of " + std::to_string(policies.size()) + " policies failed"
                       : "all " + std::to_string(policies.size()) + (policies.size() == 1 ? " policy" : " policies") +
                             " passed")
            << "\n";
  return failed ? kExitFailed : kExitPassed;
}

}  // namespace

void add_check_policy_command(CLI::App& app, PolicyRegistry& registry, int& exit_code) {
  auto* cmd = app.add_subcommand("check-policy",
                                 "run a plugin's policies through the conformance scenarios of their family");
  auto plugin = std::make_shared<std::string>();
  auto only = std::make_shared<std::string>();
  auto quick = std::make_shared<bool>(false);
  auto dir = std::make_shared<std::string>(FLEETSIM_CONFORMANCE_DIR);
  cmd->add_option("plugin", *plugin, "the plugin (a shared library built against the SDK, or a Python policy .py)")
      ->required();
  cmd->add_option("--policy", *only, "check only this policy of the plugin");
  cmd->add_flag("--quick", *quick, "run the checks only; compare with no built-in");
  cmd->add_option("--scenarios", *dir, "the conformance scenarios (default: the source tree's scenarios/conformance)");
  cmd->callback([&registry, &exit_code, plugin, only, quick, dir] {
    exit_code = check_policy(registry, *plugin, *only, *quick, *dir);
  });
}

}  // namespace fleetsim
