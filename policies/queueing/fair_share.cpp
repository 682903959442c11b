// fair-share: per-tenant quotas with borrowing and reclaim, in the spirit of Kueue's cohorts,
// ordered by dominant-resource fairness (Ghodsi et al., NSDI'11) across GPUs, CPU and memory.
// Each tenant has a nominal quota of GPUs (`quotas: "team-a:32,team-b:16"`; tenants not listed
// share what is left equally; with no quotas, the cluster is split equally among the tenants
// seen). The order is built by progressive filling: repeatedly take the tenant whose dominant
// share (its largest share of any resource, divided by its quota's share of the cluster) is
// lowest among those with jobs left, and append its next job (running jobs first, then waiting
// ones by submit time), counting the job's demand against the tenant. A tenant within its
// quota therefore comes before one that borrows, and when it has work waiting, a borrower's
// running jobs rank below it and are preempted (reclaim). With `borrowing: false` a tenant's
// jobs beyond its quota are held (left out of the order).
// Differences from Kueue: one cohort (the whole cluster), quotas in GPUs only, no
// borrowing limits.
#include <algorithm>
#include <map>
#include <sstream>

#include "policies/builtin.hpp"
#include "policies/queueing/queue_policy.hpp"

namespace fleetsim {

namespace {
class FairShare final : public QueuePolicy {
 public:
  explicit FairShare(const ParamValues& p) : borrowing_(p.flag("borrowing")) {
    std::stringstream in(p.text("quotas"));
    std::string item;
    while (std::getline(in, item, ',')) {
      const auto colon = item.find(':');
      if (colon == std::string::npos) continue;
      quotas_[item.substr(0, colon)] = std::stod(item.substr(colon + 1));
    }
  }

  bool preemptive() const override { return true; }

  void order(const QueueContext& c, std::span<const JobView> jobs, std::vector<std::uint32_t>& out) override {
    // Quotas per tenant index.
    std::map<std::uint32_t, double> quota;
    std::vector<std::uint32_t> tenants;
    for (const JobView& j : jobs)
      if (std::find(tenants.begin(), tenants.end(), j.tenant) == tenants.end()) tenants.push_back(j.tenant);
    double listed = 0;
    int unlisted = 0;
    for (std::uint32_t t : tenants) {
      auto it = t < c.tenants.size() ? quotas_.find(c.tenants[t]) : quotas_.end();
      if (it != quotas_.end()) {
        quota[t] = it->second;
        listed += it->second;
      } else {
        ++unlisted;
      }
    }
    const double rest = std::max(0.0, c.total_gpus - listed);
    for (std::uint32_t t : tenants)
      if (!quota.count(t)) quota[t] = unlisted ? rest / unlisted : 0;
    // Each tenant's jobs: running first, then by submit time.
    std::map<std::uint32_t, std::vector<std::uint32_t>> queue;
    std::vector<std::uint32_t> all;
    order_by(jobs, all, [](const JobView& j) { return j.running ? 0 : 1; });
    for (std::uint32_t i : all) queue[jobs[i].tenant].push_back(i);
    std::map<std::uint32_t, std::size_t> next;
    std::map<std::uint32_t, double> gpus, cpu, memory;
    auto dominant = [&](std::uint32_t t) {
      const double q = std::max(quota[t], 1e-9) / std::max(1, c.total_gpus);
      double share = gpus[t] / std::max(1, c.total_gpus);
      if (c.total_cpu > 0) share = std::max(share, cpu[t] / c.total_cpu);
      if (c.total_memory_bytes > 0) share = std::max(share, memory[t] / c.total_memory_bytes);
      return share / q;
    };
    out.clear();
    for (;;) {
      std::int64_t best = -1;
      double best_share = 0;
      for (std::uint32_t t : tenants) {  // ties: lower tenant index
        if (next[t] >= queue[t].size()) continue;
        const double s = dominant(t);
        if (best < 0 || s < best_share) {
          best = t;
          best_share = s;
        }
      }
      if (best < 0) break;
      const auto t = static_cast<std::uint32_t>(best);
      const JobView& j = jobs[queue[t][next[t]++]];
      if (!borrowing_ && gpus[t] + j.gpus > quota[t] + 1e-9) continue;  // held: beyond quota
      gpus[t] += j.gpus;
      cpu[t] += j.cpu;
      memory[t] += j.memory_bytes;
      out.push_back(static_cast<std::uint32_t>(&j - jobs.data()));
    }
  }

 private:
  bool borrowing_;
  std::map<std::string, double> quotas_;
};
}  // namespace

PolicyInfo fair_share_queue_policy() {
  PolicyInfo info;
  info.family = PolicyFamily::Queue;
  info.name = "fair-share";
  info.params = {
      {"quotas", ParamType::String, "", 0, 0, "tenant:GPUs,... nominal quotas; others share the rest equally"},
      {"borrowing", ParamType::Bool, "true", 0, 1, "tenants may use idle quota of others (reclaimed on demand)"},
  };
  info.make_queue = [](const PolicyContext& context) { return std::make_unique<FairShare>(context.params); };
  return info;
}

}  // namespace fleetsim
