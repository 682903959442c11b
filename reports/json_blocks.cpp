#include "reports/json_blocks.hpp"

#include "sim/units.hpp"

namespace fleetsim::json_blocks {

ordered percentiles(const QuantileSketch& s) {
  ordered j;
  j["count"] = s.count();
  j["mean"] = s.mean();
  j["p50"] = s.quantile(0.50);
  j["p90"] = s.quantile(0.90);
  j["p99"] = s.quantile(0.99);
  j["max"] = s.max();
  // The distribution for CDF charts: [value, fraction] at fractions 0, 0.02, ..., 0.98,
  // 0.99, 0.999, 1.
  ordered cdf = ordered::array();
  if (s.count() > 0) {
    auto point = [&](double q) { cdf.push_back(ordered::array({s.quantile(q), q})); };
    for (int i = 0; i < 50; ++i) point(i / 50.0);
    for (double q : {0.98, 0.99, 0.999, 1.0}) point(q);
  }
  j["cdf"] = cdf;
  return j;
}

ordered policy(const PolicyChoice& c, PolicyFamily family, const PolicyRegistry& registry) {
  ordered j;
  j["impl"] = c.impl;
  const PolicyInfo* info = registry.find(family, c.impl);
  if (!info) return j;
  for (const ParamSpec& p : info->params) {
    // A choice built by a command, not by the scenario loader, may leave parameters unset: they
    // are at their declared defaults (as the registry's factories take them).
    if (!c.params.numbers().count(p.name) && !c.params.strings().count(p.name)) {
      switch (p.type) {
        case ParamType::String:
        case ParamType::ModelList:
        case ParamType::PoolList: j[p.name] = p.default_value; break;
        case ParamType::Bool: j[p.name] = p.default_value == "true"; break;
        case ParamType::Duration: {
          const auto d = parse_duration(p.default_value);
          j[p.name] = d ? format_duration(*d.value) : p.default_value;
          break;
        }
        case ParamType::Integer: j[p.name] = static_cast<std::int64_t>(std::stod(p.default_value)); break;
        case ParamType::Number: j[p.name] = std::stod(p.default_value); break;
      }
      continue;
    }
    switch (p.type) {
      case ParamType::String:
      case ParamType::ModelList:
      case ParamType::PoolList: j[p.name] = c.params.text(p.name); break;
      case ParamType::Bool: j[p.name] = c.params.flag(p.name); break;
      case ParamType::Duration: j[p.name] = format_duration(c.params.duration(p.name)); break;
      case ParamType::Integer: j[p.name] = c.params.integer(p.name); break;
      case ParamType::Number: j[p.name] = c.params.number(p.name); break;
    }
  }
  return j;
}

ordered jobs(const JobRunResult& result) {
  const JobSummary js = summarize_jobs(result);
  ordered jobs;
  jobs["jobs"] = js.jobs;
  jobs["completed"] = js.completed;
  jobs["rejected"] = result.rejected;  // could never fit the cluster
  jobs["jobs_after_duration"] = result.jobs_after_duration;  // submitted after the run's end
  jobs["mean_jct_s"] = js.mean_jct_s;
  jobs["jct_s"] = percentiles(js.jct);
  jobs["mean_queueing_s"] = js.mean_queueing_s;
  jobs["queueing_s"] = percentiles(js.queueing);
  jobs["preemptions"] = js.preemptions;
  jobs["futile_preemptions"] = result.futile_preemptions;  // freed what no job used (0)
  jobs["lost_gpu_hours"] = js.lost_gpu_hours;
  jobs["gpu_seconds_busy"] = result.gpu_seconds_busy;
  return jobs;
}

}  // namespace fleetsim::json_blocks
