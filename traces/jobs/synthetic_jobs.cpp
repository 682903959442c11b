#include "traces/jobs/synthetic_jobs.hpp"

#include <cmath>
#include <sstream>

#include "sim/rng.hpp"

namespace fleetsim {

std::string check(const SyntheticJobOptions& o) {
  // Bounds keep a typo from becoming an allocation that cannot succeed (every job's outcome
  // is kept for the results) or an int overflow in the gang arithmetic.
  if (o.jobs == 0) return "jobs: must be >= 1";
  if (o.jobs > kMaxSyntheticJobs) return "jobs: must be <= " + std::to_string(kMaxSyntheticJobs);
  if (!(o.arrival_rate > 0) || !std::isfinite(o.arrival_rate)) return "arrival rate: must be > 0";
  if (o.gpus_per_node < 1) return "GPUs per node: must be >= 1";
  if (o.tenants < 1) return "tenants: must be >= 1";
  if (o.tenants > kMaxSyntheticTenants) return "tenants: must be <= " + std::to_string(kMaxSyntheticTenants);
  if (!(o.min_duration_s > 0)) return "minimum duration: must be > 0";
  if (o.gpus.empty()) return "gang sizes: none given";
  for (auto [g, w] : o.gpus) {
    if (g < 1) return "gang sizes: GPUs must be >= 1 (got " + std::to_string(g) + ")";
    if (g > kMaxSyntheticGangGpus)
      return "gang sizes: GPUs must be <= " + std::to_string(kMaxSyntheticGangGpus) + " (got " + std::to_string(g) + ")";
    if (!(w > 0) || !std::isfinite(w)) return "gang sizes: weights must be > 0";
    if (g > o.gpus_per_node && g % o.gpus_per_node != 0)
      return "gang sizes: " + std::to_string(g) + " GPUs is not a multiple of " + std::to_string(o.gpus_per_node) +
             " GPUs per node";
  }
  return "";
}

bool parse_gang_weights(const std::string& text, std::vector<std::pair<int, double>>& out, std::string& error) {
  out.clear();
  std::stringstream in(text);
  for (std::string part; std::getline(in, part, ',');) {
    const auto colon = part.find(':');
    try {
      std::size_t used = 0;
      const int gpus = std::stoi(part.substr(0, colon), &used);
      if (used != (colon == std::string::npos ? part.size() : colon)) throw std::invalid_argument("");
      double weight = 1;
      if (colon != std::string::npos) {
        weight = std::stod(part.substr(colon + 1), &used);
        if (used != part.size() - colon - 1) throw std::invalid_argument("");
      }
      out.push_back({gpus, weight});
    } catch (const std::exception&) {
      error = "expected GPUS[:WEIGHT][,...] (e.g. 1:70,2:10,4:10,8:10), got \"" + part + "\"";
      return false;
    }
  }
  if (out.empty()) error = "expected GPUS[:WEIGHT][,...], got nothing";
  return !out.empty();
}

namespace {

class SyntheticSource final : public JobSource {
 public:
  SyntheticSource(SyntheticJobOptions o, EmpiricalDistribution durations)
      : o_(std::move(o)), durations_(std::move(durations)), rng_(o_.seed, "jobs/synthetic") {
    for (auto [g, w] : o_.gpus) total_weight_ += w;
  }

  bool next(JobSpec& out, Diagnostics&) override {
    if (n_ >= o_.jobs) return false;
    now_s_ += rng_.exponential(1.0 / o_.arrival_rate);
    out = JobSpec{};
    out.id = "syn-" + std::to_string(n_++);
    out.submit = from_seconds(now_s_);
    out.duration = from_seconds(std::max(o_.min_duration_s, durations_.sample(rng_)));
    double pick = rng_.uniform() * total_weight_;
    int gpus = o_.gpus.back().first;
    for (auto [g, w] : o_.gpus) {
      if (pick < w) {
        gpus = g;
        break;
      }
      pick -= w;
    }
    out.workers = gpus <= o_.gpus_per_node ? 1 : gpus / o_.gpus_per_node;
    out.worker.gpus = gpus <= o_.gpus_per_node ? gpus : o_.gpus_per_node;
    out.tenant = "t" + std::to_string(rng_.below(static_cast<std::uint64_t>(o_.tenants)));
    return true;
  }

 private:
  SyntheticJobOptions o_;
  EmpiricalDistribution durations_;
  RngStream rng_;
  double total_weight_ = 0;
  double now_s_ = 0;
  std::uint64_t n_ = 0;
};

}  // namespace

std::unique_ptr<JobSource> synthetic_jobs(const SyntheticJobOptions& options, EmpiricalDistribution durations) {
  return std::make_unique<SyntheticSource>(options, std::move(durations));
}

}  // namespace fleetsim
