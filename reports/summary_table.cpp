#include "reports/summary_table.hpp"

#include <cstdio>
#include <string>
#include <vector>

namespace fleetsim {

namespace {

std::string fmt(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

std::string seconds(double s) {
  if (s == 0) return "-";
  if (s < 1) return fmt("%.0fms", s * 1e3);
  if (s < 100) return fmt("%.2fs", s);
  return fmt("%.0fs", s);
}

std::vector<std::string> row(const std::string& name, const ModelMetrics& m, double end_s) {
  const double n = m.requests ? static_cast<double>(m.requests) : 1.0;
  return {name,
          std::to_string(m.requests),
          std::to_string(m.failed()),
          fmt("%.1f%%", 100.0 * static_cast<double>(m.slo_met) / n),
          seconds(m.ttft.quantile(0.5)),
          seconds(m.ttft.quantile(0.99)),
          seconds(m.tpot.quantile(0.5)),
          seconds(m.e2e.quantile(0.99)),
          std::to_string(m.cold_starts),
          fmt("%.2f%%", 100.0 * static_cast<double>(m.requests_waited) / n),
          fmt("%.1f", m.gpu_seconds_allocated / 3600.0),
          fmt("%.1f", m.gpu_seconds_idle / 3600.0),
          fmt("%.2f", end_s > 0 ? m.replica_seconds / end_s : 0.0),
          std::to_string(m.peak_replicas)};
}

}  // namespace

std::string summary_table(const Scenario& sc, const RunMetrics& metrics, const RunStatus& status) {
  const double end_s = to_seconds(metrics.end_time);
  std::vector<std::vector<std::string>> rows = {
      {"model", "requests", "failed", "SLO met", "TTFT p50", "TTFT p99", "TPOT p50", "E2E p99",
       "cold starts", "waited", "GPU-h", "idle GPU-h", "mean repl", "peak repl"}};
  for (std::size_t i = 0; i < sc.models.size(); ++i) rows.push_back(row(sc.models[i].name, metrics.models[i], end_s));
  rows.push_back(row("overall", metrics.overall, end_s));
  std::vector<std::size_t> width(rows[0].size(), 0);
  for (const auto& r : rows)
    for (std::size_t c = 0; c < r.size(); ++c) width[c] = std::max(width[c], r[c].size());
  std::string out = "scenario " + sc.name + " (seed " + std::to_string(sc.seed) + "): simulated " +
                    fmt("%.0f", end_s) + " s, " + std::to_string(status.requests) + " requests, " +
                    std::to_string(status.events) + " events\n";
  for (std::size_t r = 0; r < rows.size(); ++r) {
    for (std::size_t c = 0; c < rows[r].size(); ++c) {
      const std::string& cell = rows[r][c];
      std::string pad(width[c] - cell.size(), ' ');
      out += c == 0 ? cell + pad : "  " + pad + cell;
    }
    out += "\n";
    if (r == 0 || r + 2 == rows.size()) {
      std::size_t total = 0;
      for (auto w : width) total += w + 2;
      out += std::string(total - 2, '-') + "\n";
    }
  }
  if (status.jobs) {
    const JobSummary js = summarize_jobs(*status.jobs);
    out += "jobs: " + std::to_string(js.completed) + " of " + std::to_string(js.jobs) + " completed, JCT mean " +
           fmt("%.2f", js.mean_jct_s / 3600.0) + " h, queueing mean " + fmt("%.2f", js.mean_queueing_s / 3600.0) +
           " h, " + std::to_string(js.preemptions) + " preemptions; " + fmt("%.1f", status.jobs->gpu_seconds_busy / 3600.0) +
           " GPU-h\n";
  }
  if (status.gpu_seconds_total > 0)
    out += "cluster GPU utilization: " +
           fmt("%.1f%%", 100.0 * (metrics.overall.gpu_seconds_allocated + (status.jobs ? status.jobs->gpu_seconds_busy : 0.0)) /
                             status.gpu_seconds_total) + " (inference replicas " +
           fmt("%.1f%%", 100.0 * metrics.overall.gpu_seconds_allocated / status.gpu_seconds_total) + ")\n";
  return out;
}

}  // namespace fleetsim
