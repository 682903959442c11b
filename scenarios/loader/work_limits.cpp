#include "scenarios/loader/work_limits.hpp"

#include <algorithm>
#include <cstdio>

namespace fleetsim {

double estimated_requests(const Scenario& scenario) {
  double total = 0;
  for (const WorkloadSpec& w : scenario.workloads) {
    if (w.arrivals == WorkloadSpec::Arrivals::Trace) continue;
    double rate = w.rate;  // Poisson, Gamma, Diurnal (its mean): requests/s
    if (w.arrivals == WorkloadSpec::Arrivals::OnOff && w.on + w.off > 0)
      rate *= static_cast<double>(w.on) / static_cast<double>(w.on + w.off);
    total += rate * std::max(0.0, to_seconds(scenario.duration - w.start));
  }
  return total;
}

std::string short_count(double n) {
  char buf[32];
  std::snprintf(buf, sizeof buf, n < 1e6 ? "%.0f" : "%.3g", n);
  return buf;
}

Diagnostics check_work(const Scenario& scenario) {
  Diagnostics errors;
  const double requests = estimated_requests(scenario);
  if (requests > kMaxRequests)
    errors.add(Diagnostic{scenario.source_file, 0, 0, "workloads",
                          "the run would simulate about " + short_count(requests) +
                              " requests (rates × duration), more than the limit of " + short_count(kMaxRequests) +
                              "; lower the rates or the duration, or pass --force to run it anyway"});
  return errors;
}

}  // namespace fleetsim
