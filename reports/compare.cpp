#include "reports/compare.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <optional>

#include "reports/html_report.hpp"
#include "reports/svg_chart.hpp"

namespace fleetsim {

namespace {

enum class Better { Lower, Higher, None };

struct Metric {
  std::string label;
  Better better;
  std::function<std::optional<double>(const ModelResult&)> get;
  std::function<std::string(double)> format;
};

struct Cell {
  std::string value;  // "-" when the run has no value
  bool best = false;
  std::string relative;  // "" for the first run and for missing values
};

struct Row {
  std::string section;  // non-empty: a section heading, no cells
  std::string label;
  Better better = Better::None;
  std::vector<Cell> cells;
};

std::string count_text(double v) { return format_count(static_cast<std::uint64_t>(std::llround(v))); }
std::string latency_text(double v) { return format_latency(v); }
std::string percent_text(double v) { return format_percent(v, 2); }
std::string hours_text(double v) { return format_fixed(v, 2); }
std::string mean_text(double v) { return format_fixed(v, 2); }

std::optional<double> latency_of(const LatencyStats& s, double v) {
  if (s.count == 0) return std::nullopt;
  return v;
}

std::vector<Metric> overall_metrics() {
  using M = const ModelResult&;
  return {
      {"requests", Better::None, [](M m) { return std::optional<double>(static_cast<double>(m.requests)); }, count_text},
      {"completed", Better::None, [](M m) { return std::optional<double>(static_cast<double>(m.completed)); },
       count_text},
      {"failed", Better::Lower, [](M m) { return std::optional<double>(static_cast<double>(m.failed)); }, count_text},
      {"SLO attainment", Better::Higher, [](M m) { return std::optional<double>(m.slo_attainment); }, percent_text},
      {"TTFT p50", Better::Lower, [](M m) { return latency_of(m.ttft, m.ttft.p50); }, latency_text},
      {"TTFT p90", Better::Lower, [](M m) { return latency_of(m.ttft, m.ttft.p90); }, latency_text},
      {"TTFT p99", Better::Lower, [](M m) { return latency_of(m.ttft, m.ttft.p99); }, latency_text},
      {"TPOT p50", Better::Lower, [](M m) { return latency_of(m.tpot, m.tpot.p50); }, latency_text},
      {"TPOT p99", Better::Lower, [](M m) { return latency_of(m.tpot, m.tpot.p99); }, latency_text},
      {"E2E p50", Better::Lower, [](M m) { return latency_of(m.e2e, m.e2e.p50); }, latency_text},
      {"E2E p90", Better::Lower, [](M m) { return latency_of(m.e2e, m.e2e.p90); }, latency_text},
      {"E2E p99", Better::Lower, [](M m) { return latency_of(m.e2e, m.e2e.p99); }, latency_text},
      {"cold starts", Better::Lower, [](M m) { return std::optional<double>(static_cast<double>(m.cold_starts.count)); },
       count_text},
      {"cold starts aborted", Better::Lower,
       [](M m) { return std::optional<double>(static_cast<double>(m.cold_starts.aborted)); }, count_text},
      {"share waited for a replica", Better::Lower,
       [](M m) { return std::optional<double>(m.cold_starts.share_of_requests_waited); }, percent_text},
      {"wait for a replica p99", Better::Lower,
       [](M m) { return latency_of(m.cold_starts.added_latency, m.cold_starts.added_latency.p99); }, latency_text},
      {"cold-start duration mean", Better::Lower,
       [](M m) { return latency_of(m.cold_starts.duration, m.cold_starts.duration.mean); }, latency_text},
      {"unschedulable scale-ups", Better::Lower,
       [](M m) { return std::optional<double>(static_cast<double>(m.cold_starts.unschedulable_scale_ups)); },
       count_text},
      {"GPU-hours allocated", Better::Lower, [](M m) { return std::optional<double>(m.gpu_seconds_allocated / 3600); },
       hours_text},
      {"GPU-hours busy", Better::None, [](M m) { return std::optional<double>(m.gpu_seconds_busy / 3600); }, hours_text},
      {"GPU-hours idle", Better::Lower, [](M m) { return std::optional<double>(m.gpu_seconds_idle / 3600); },
       hours_text},
      {"replicas mean", Better::Lower, [](M m) { return std::optional<double>(m.replicas_mean); }, mean_text},
      {"replicas peak", Better::Lower, [](M m) { return std::optional<double>(static_cast<double>(m.replicas_peak)); },
       count_text},
  };
}

std::vector<Metric> model_metrics() {
  const std::vector<std::string> keep{"requests",       "failed",        "SLO attainment",
                                      "TTFT p50",       "TTFT p99",      "E2E p99",
                                      "cold starts",    "share waited for a replica",
                                      "GPU-hours allocated", "GPU-hours idle", "replicas mean"};
  std::vector<Metric> out;
  for (Metric& m : overall_metrics())
    if (std::find(keep.begin(), keep.end(), m.label) != keep.end()) out.push_back(std::move(m));
  return out;
}

std::optional<double> cost_total(const ModelResult& m) {
  for (const auto& [k, v] : m.cost)
    if (k == "total") return v;
  return std::nullopt;
}

// A row of one value per run (nullopt: the run has none), the best marked.
Row value_row(const std::string& label, Better better, std::vector<std::optional<double>> values,
              const std::function<std::string(double)>& format) {
  for (auto& v : values)
    if (v && std::isnan(*v)) v.reset();
  Row row;
  row.label = label;
  row.better = better;
  std::optional<double> best;
  bool all_equal = true;
  for (const auto& v : values) {
    if (!v) continue;
    if (best && *v != *best) all_equal = false;
    if (!best || (better == Better::Lower ? *v < *best : *v > *best)) best = v;
  }
  std::size_t present = 0;
  for (const auto& v : values) present += v ? 1 : 0;
  const bool mark = better != Better::None && present >= 2 && !all_equal;
  for (std::size_t i = 0; i < values.size(); ++i) {
    Cell c;
    c.value = values[i] ? format(*values[i]) : "-";
    c.best = mark && values[i] && *values[i] == *best;
    if (i > 0 && values[i] && values[0]) c.relative = relative_difference(*values[0], *values[i]);
    row.cells.push_back(std::move(c));
  }
  return row;
}

Row make_row(const Metric& metric, const std::vector<const ModelResult*>& blocks) {
  std::vector<std::optional<double>> values;
  for (const ModelResult* b : blocks) values.push_back(b ? metric.get(*b) : std::nullopt);
  return value_row(metric.label, metric.better, std::move(values), metric.format);
}

std::string span_text(double v) { return format_span(v); }
std::string gpus_text(double v) { return format_fixed(v, 1); }

// `fleetsim jobs` results: the jobs block, then mean JCT by gang size and mean rho by tenant.
std::vector<Row> jobs_rows(const std::vector<RunData>& runs) {
  std::vector<Row> rows;
  auto add = [&](const std::string& label, Better better, const std::function<std::optional<double>(const RunData&)>& get,
                 const std::function<std::string(double)>& format) {
    std::vector<std::optional<double>> values;
    for (const RunData& r : runs) values.push_back(r.has_jobs ? get(r) : std::nullopt);
    rows.push_back(value_row(label, better, std::move(values), format));
  };
  auto count = [](std::uint64_t JobsStats::*field) {
    return [field](const RunData& r) { return std::optional<double>(static_cast<double>(r.jobs.*field)); };
  };
  auto jct = [](double LatencyStats::*q) {
    return [q](const RunData& r) { return r.jobs.jct.count ? std::optional<double>(r.jobs.jct.*q) : std::nullopt; };
  };
  auto queueing = [](double LatencyStats::*q) {
    return [q](const RunData& r) {
      return r.jobs.queueing.count ? std::optional<double>(r.jobs.queueing.*q) : std::nullopt;
    };
  };
  rows.push_back({"jobs", "", Better::None, {}});
  add("jobs", Better::None, count(&JobsStats::jobs), count_text);
  add("completed", Better::Higher, count(&JobsStats::completed), count_text);
  add("rejected", Better::Lower, count(&JobsStats::rejected), count_text);
  add("JCT mean", Better::Lower,
      [](const RunData& r) { return r.jobs.jct.count ? std::optional<double>(r.jobs.mean_jct_s) : std::nullopt; },
      span_text);
  add("JCT p50", Better::Lower, jct(&LatencyStats::p50), span_text);
  add("JCT p90", Better::Lower, jct(&LatencyStats::p90), span_text);
  add("JCT p99", Better::Lower, jct(&LatencyStats::p99), span_text);
  add("queueing mean", Better::Lower,
      [](const RunData& r) {
        return r.jobs.queueing.count ? std::optional<double>(r.jobs.mean_queueing_s) : std::nullopt;
      },
      span_text);
  add("queueing p50", Better::Lower, queueing(&LatencyStats::p50), span_text);
  add("queueing p99", Better::Lower, queueing(&LatencyStats::p99), span_text);
  add("preemptions", Better::Lower, count(&JobsStats::preemptions), count_text);
  add("futile preemptions", Better::Lower, count(&JobsStats::futile_preemptions), count_text);
  add("GPU-hours lost", Better::Lower, [](const RunData& r) { return std::optional<double>(r.jobs.lost_gpu_hours); },
      hours_text);
  add("GPU utilization", Better::Higher,
      [](const RunData& r) { return r.jobs.has_totals ? std::optional<double>(r.jobs.utilization) : std::nullopt; },
      percent_text);
  add("makespan", Better::Lower,
      [](const RunData& r) { return r.jobs.has_totals ? std::optional<double>(r.jobs.makespan_s) : std::nullopt; },
      span_text);
  // By gang size and by tenant: in order of first appearance over the runs.
  std::vector<std::string> sizes, tenants;
  for (const RunData& r : runs) {
    for (const JobSizeRow& s : r.job_sizes)
      if (std::find(sizes.begin(), sizes.end(), s.label) == sizes.end()) sizes.push_back(s.label);
    for (const TenantRow& t : r.tenants)
      if (std::find(tenants.begin(), tenants.end(), t.tenant) == tenants.end()) tenants.push_back(t.tenant);
  }
  if (!sizes.empty()) rows.push_back({"JCT mean by gang size", "", Better::None, {}});
  for (const std::string& size : sizes)
    add(size, Better::Lower,
        [&size](const RunData& r) -> std::optional<double> {
          for (const JobSizeRow& s : r.job_sizes)
            if (s.label == size && s.completed > 0) return s.mean_jct_s;
          return std::nullopt;
        },
        span_text);
  if (tenants.size() > 1) {
    rows.push_back({"finish-time fairness (mean rho) by tenant", "", Better::None, {}});
    for (const std::string& tenant : tenants)
      add(tenant.empty() ? "(none)" : tenant, Better::Lower,
          [&tenant](const RunData& r) -> std::optional<double> {
            for (const TenantRow& t : r.tenants)
              if (t.tenant == tenant && t.completed_jobs > 0) return t.mean_rho;
            return std::nullopt;
          },
          mean_text);
  }
  rows.push_back({"run", "", Better::None, {}});
  add("simulated time", Better::None, [](const RunData& r) { return std::optional<double>(r.end_time_s); }, span_text);
  return rows;
}

// `fleetsim saturation` results: per policy (in order of first appearance over the runs), pods
// and the curve at its marks and its end.
std::vector<Row> saturation_rows(const std::vector<RunData>& runs) {
  std::vector<Row> rows;
  std::vector<std::string> policies;
  std::vector<int> marks;
  for (const RunData& r : runs)
    for (const SaturationPolicyResult& p : r.saturation) {
      if (std::find(policies.begin(), policies.end(), p.name) == policies.end()) policies.push_back(p.name);
      for (const SaturationMark& m : p.marks)
        if (std::find(marks.begin(), marks.end(), m.arrived_pct) == marks.end()) marks.push_back(m.arrived_pct);
    }
  std::sort(marks.begin(), marks.end());
  for (const std::string& name : policies) {
    std::vector<const SaturationPolicyResult*> blocks;
    for (const RunData& r : runs) {
      const SaturationPolicyResult* found = nullptr;
      for (const SaturationPolicyResult& p : r.saturation)
        if (p.name == name) found = &p;
      blocks.push_back(found);
    }
    auto add = [&](const std::string& label, Better better,
                   const std::function<std::optional<double>(const SaturationPolicyResult&)>& get,
                   const std::function<std::string(double)>& format) {
      std::vector<std::optional<double>> values;
      for (const SaturationPolicyResult* b : blocks) values.push_back(b ? get(*b) : std::nullopt);
      rows.push_back(value_row(label, better, std::move(values), format));
    };
    rows.push_back({"policy " + name, "", Better::None, {}});
    add("pods arrived", Better::None,
        [](const SaturationPolicyResult& p) { return std::optional<double>(static_cast<double>(p.arrived_pods)); },
        count_text);
    add("pods failed", Better::Lower,
        [](const SaturationPolicyResult& p) { return std::optional<double>(static_cast<double>(p.failed_pods)); },
        count_text);
    auto at = [](int pct, double SaturationMark::*field) {
      return [pct, field](const SaturationPolicyResult& p) -> std::optional<double> {
        if (const SaturationMark* m = p.at(pct)) return m->*field;
        return std::nullopt;
      };
    };
    auto end = [](double SaturationMark::*field) {
      return [field](const SaturationPolicyResult& p) {
        return p.has_end ? std::optional<double>(p.end.*field) : std::nullopt;
      };
    };
    for (int m : marks)
      add("allocation at " + std::to_string(m) + "%", Better::Higher, at(m, &SaturationMark::allocation_ratio),
          percent_text);
    add("allocation at end", Better::Higher, end(&SaturationMark::allocation_ratio), percent_text);
    add("unallocated GPUs at 100%", Better::Lower, at(100, &SaturationMark::unallocated_gpus), gpus_text);
    add("unallocated GPUs at end", Better::Lower, end(&SaturationMark::unallocated_gpus), gpus_text);
    add("fragmented GPUs at 100%", Better::Lower, at(100, &SaturationMark::frag_gpus), gpus_text);
    add("fragmented GPUs at end", Better::Lower, end(&SaturationMark::frag_gpus), gpus_text);
  }
  return rows;
}

std::vector<Row> build_rows(const std::vector<RunData>& runs) {
  // Runs of one front end are compared (the command line refuses a mix); the first run's kind
  // picks the rows.
  if (!runs.empty() && runs.front().kind == "jobs") return jobs_rows(runs);
  if (!runs.empty() && runs.front().kind == "saturation") return saturation_rows(runs);
  std::vector<Row> rows;
  std::vector<const ModelResult*> overall;
  for (const RunData& r : runs) overall.push_back(&r.overall);
  rows.push_back({"overall", "", Better::None, {}});
  for (const Metric& m : overall_metrics()) rows.push_back(make_row(m, overall));
  bool any_cost = false;
  for (const RunData& r : runs) any_cost = any_cost || cost_total(r.overall).has_value();
  if (any_cost) rows.push_back(make_row({"cost (total)", Better::Lower, cost_total, mean_text}, overall));
  if (!runs.empty()) {
    rows.push_back({"run", "", Better::None, {}});
    Row end{"", "simulated time (s)", Better::None, {}};
    for (std::size_t i = 0; i < runs.size(); ++i)
      end.cells.push_back({format_fixed(runs[i].end_time_s, 1), false,
                           i ? relative_difference(runs[0].end_time_s, runs[i].end_time_s) : ""});
    rows.push_back(std::move(end));
  }
  // Models: in order of first appearance over the runs.
  std::vector<std::string> models;
  for (const RunData& r : runs)
    for (const ModelResult& m : r.models)
      if (std::find(models.begin(), models.end(), m.name) == models.end()) models.push_back(m.name);
  for (const std::string& name : models) {
    std::vector<const ModelResult*> blocks;
    for (const RunData& r : runs) blocks.push_back(r.model(name));
    rows.push_back({"model " + name, "", Better::None, {}});
    for (const Metric& m : model_metrics()) rows.push_back(make_row(m, blocks));
  }
  return rows;
}

// Column heads: the run directory names, or the paths as given where two names are the same.
std::vector<std::string> heads(const std::vector<RunData>& runs) {
  std::vector<std::string> out;
  for (const RunData& r : runs) {
    std::size_t same = 0;
    for (const RunData& o : runs) same += o.name == r.name ? 1 : 0;
    out.push_back(same > 1 ? r.dir : r.name);
  }
  return out;
}

std::size_t width(const std::string& s) {
  std::size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80 ? 1 : 0;
  return n;
}

std::string pad_left(const std::string& s, std::size_t w) { return std::string(w > width(s) ? w - width(s) : 0, ' ') + s; }
std::string pad_right(const std::string& s, std::size_t w) { return s + std::string(w > width(s) ? w - width(s) : 0, ' '); }

const char* better_text(Better b) { return b == Better::Lower ? "lower" : b == Better::Higher ? "higher" : ""; }

}  // namespace

std::string relative_difference(double first, double value) {
  if (first == 0) return value == 0 ? "+0.0%" : "n/a";
  char b[64];
  std::snprintf(b, sizeof b, "%+.1f%%", (value - first) / std::fabs(first) * 100.0);
  return b;
}

std::string compare_table(const std::vector<RunData>& runs) {
  const std::vector<Row> rows = build_rows(runs);
  const std::vector<std::string> head = heads(runs);
  std::size_t label_w = width("metric");
  for (const Row& r : rows) label_w = std::max(label_w, width(r.section.empty() ? "  " + r.label : r.section));
  const std::size_t better_w = width("better");
  // Each run's column: the value right-aligned, the best mark, the relative difference left-aligned.
  std::vector<std::size_t> value_w(runs.size(), 0), rel_w(runs.size(), 0), col_w(runs.size());
  for (std::size_t i = 0; i < runs.size(); ++i) {
    for (const Row& r : rows) {
      if (!r.section.empty()) continue;
      value_w[i] = std::max(value_w[i], width(r.cells[i].value));
      if (!r.cells[i].relative.empty()) rel_w[i] = std::max(rel_w[i], width(r.cells[i].relative) + 3);  // " (x)"
    }
    col_w[i] = std::max(width(head[i]), value_w[i] + 1 + rel_w[i]);
  }
  std::string out = pad_right("metric", label_w) + "  " + pad_right("better", better_w);
  for (std::size_t i = 0; i < runs.size(); ++i) out += "  " + pad_right(head[i], col_w[i]);
  while (!out.empty() && out.back() == ' ') out.pop_back();
  out += "\n";
  std::size_t total = label_w + 2 + better_w;
  for (std::size_t w : col_w) total += 2 + w;
  out += std::string(total, '-') + "\n";
  for (const Row& r : rows) {
    if (!r.section.empty()) {
      out += r.section + "\n";
      continue;
    }
    std::string line = pad_right("  " + r.label, label_w) + "  " + pad_right(better_text(r.better), better_w);
    for (std::size_t i = 0; i < runs.size(); ++i) {
      const Cell& c = r.cells[i];
      const std::string rel = c.relative.empty() ? "" : " (" + c.relative + ")";
      line += "  " + pad_right(pad_left(c.value, value_w[i]) + (c.best ? "*" : " ") + rel, col_w[i]);
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  out += std::string(total, '-') + "\n";
  out += "* best value in the row (better: which direction is better); (+x%) relative to " +
         (head.empty() ? std::string("the first run") : head[0]) + "\n";
  return out;
}

std::string compare_html(const std::vector<RunData>& runs) {
  const std::vector<Row> rows = build_rows(runs);
  const std::vector<std::string> head = heads(runs);
  std::string title = "fleetsim comparison:";
  for (std::size_t i = 0; i < head.size(); ++i) title += (i ? " vs " : " ") + head[i];
  std::string h = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>" + html_escape(title) +
                  "</title>\n<style>\n" + report_css() +
                  "td.rel{color:#777;font-size:12px;text-align:left;padding-left:0}\n"
                  "tr.section th{text-align:left;background:#e8eef5}\n</style>\n</head>\n<body>\n<h1>" +
                  html_escape(title) + "</h1>\n<dl class=\"meta\">\n";
  for (std::size_t i = 0; i < runs.size(); ++i)
    h += "<dt>" + html_escape(head[i]) + "</dt><dd>" + html_escape(runs[i].dir) + " — scenario " +
         html_escape(runs[i].scenario_name) + ", seed " + std::to_string(runs[i].seed) + "</dd>\n";
  h += "</dl>\n<div class=\"scroll\"><table class=\"compare\">\n<thead><tr><th class=\"name\">metric</th><th "
       "class=\"name\">better</th>";
  for (std::size_t i = 0; i < runs.size(); ++i)
    h += "<th colspan=\"2\">" + html_escape(head[i]) + (i == 0 ? " (baseline)" : "") + "</th>";
  h += "</tr></thead>\n<tbody>\n";
  for (const Row& r : rows) {
    if (!r.section.empty()) {
      h += "<tr class=\"section\"><th colspan=\"" + std::to_string(2 + 2 * runs.size()) + "\">" +
           html_escape(r.section) + "</th></tr>\n";
      continue;
    }
    h += "<tr><td class=\"name\">" + html_escape(r.label) + "</td><td class=\"name\">" + better_text(r.better) + "</td>";
    for (const Cell& c : r.cells)
      h += std::string(c.best ? "<td class=\"best\" title=\"best\">" : "<td>") + html_escape(c.value) +
           (c.best ? " *" : "") + "</td><td class=\"rel\">" +
           (c.relative.empty() ? "" : "(" + html_escape(c.relative) + ")") + "</td>";
    h += "</tr>\n";
  }
  h += "</tbody></table></div>\n<p class=\"note\">* and green: the best value in the row (the better column says "
       "whether lower or higher is better; rows where all runs are equal mark nothing). Percentages: relative "
       "difference from " +
       html_escape(head.empty() ? std::string("the first run") : head[0]) + ".</p>\n</body>\n</html>\n";
  return h;
}

}  // namespace fleetsim
