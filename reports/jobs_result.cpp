#include "reports/jobs_result.hpp"

#include <algorithm>
#include <cstdio>

#include "reports/json_blocks.hpp"
#include "reports/result_json.hpp"
#include "sim/units.hpp"

namespace fleetsim {

namespace {

using ordered = json_blocks::ordered;

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

// Identical nodes counted together, in order of first appearance: an openb node list of 1,213
// nodes echoes as a handful of groups.
ordered cluster_echo(const JobsInputs& in) {
  ordered c;
  if (!in.cluster.empty()) {
    c["given"] = in.cluster;
  } else {
    c["nodes_file"] = in.nodes_file;
    c["node_format"] = in.node_format;
  }
  struct Group {
    JobClusterNode node;
    std::uint64_t count = 0;
  };
  std::vector<Group> groups;
  double gpus = 0;
  for (const JobClusterNode& n : in.nodes) {
    gpus += n.gpus;
    auto g = std::find_if(groups.begin(), groups.end(), [&](const Group& k) {
      return k.node.gpu_type == n.gpu_type && k.node.gpus == n.gpus && k.node.gpu_memory_bytes == n.gpu_memory_bytes &&
             k.node.cpu == n.cpu && k.node.memory_bytes == n.memory_bytes;
    });
    if (g == groups.end()) g = groups.insert(groups.end(), Group{n, 0});
    ++g->count;
  }
  c["nodes"] = in.nodes.size();
  c["gpus"] = gpus;
  ordered list = ordered::array();
  for (const Group& g : groups) {
    ordered e;
    e["nodes"] = g.count;
    e["gpu_type"] = g.node.gpu_type;
    e["gpus_per_node"] = g.node.gpus;
    // 0 in JobClusterNode: not modelled (no limit).
    e["gpu_memory"] = g.node.gpu_memory_bytes > 0 ? format_size(g.node.gpu_memory_bytes) : "unlimited";
    e["cpu"] = g.node.cpu > 0 ? ordered(g.node.cpu) : ordered("unlimited");
    e["memory"] = g.node.memory_bytes > 0 ? format_size(g.node.memory_bytes) : "unlimited";
    list.push_back(e);
  }
  c["groups"] = list;
  return c;
}

ordered jobs_echo(const JobsInputs& in, const PolicyRegistry& registry) {
  ordered j;
  if (in.synthetic > 0) {
    j["synthetic"] = in.synthetic;
    j["runtimes"] = in.runtimes;
    j["arrival_rate"] = in.arrival_rate;
    j["gang_gpus"] = in.gang_gpus;
    j["tenants"] = in.tenants;
  } else {
    j["trace"] = in.trace;
    j["format"] = in.format;
    if (in.format == "generic-csv") {
      ordered columns = ordered::object();
      for (const auto& [key, column] : in.columns) columns[key] = column;
      j["columns"] = columns;
    }
    if (!in.throughputs.empty()) j["throughputs"] = in.throughputs;
    j["lenient"] = in.lenient;
    if (in.lenient) {
      j["rows_read"] = in.rows_read;
      j["rows_skipped"] = in.rows_skipped;
      ordered why = ordered::object();
      for (const auto& [reason, count] : in.skipped) why[reason] = count;
      j["skipped_by_reason"] = why;
    }
  }
  j["policy"] = json_blocks::policy(PolicyChoice{in.policy, in.policy_params}, PolicyFamily::Queue, registry);
  if (!in.placement.empty())
    j["placement"] = json_blocks::policy(PolicyChoice{in.placement, {}}, PolicyFamily::Placement, registry);
  j["round"] = format_duration(in.round);
  j["backfill"] = in.backfill;
  j["checkpoint_on_preemption"] = in.checkpoint_on_preemption;
  j["restart_overhead"] = format_duration(in.restart_overhead);
  j["checkpoint_interval"] = format_duration(in.checkpoint_interval);
  j["min_run_time"] = format_duration(in.min_run_time);
  return j;
}

}  // namespace

const std::vector<JobSizeClass>& job_size_classes() {
  static const std::vector<JobSizeClass> classes = {{"no GPU", 0.0, 0.0},      {"a GPU share", 0.001, 0.999},
                                                    {"1 GPU", 1.0, 1.0},       {"2-4 GPUs", 1.001, 4.0},
                                                    {"5-8 GPUs", 4.001, 8.0},  {">8 GPUs", 8.001, 1e9}};
  return classes;
}

std::string jobs_result_json(const JobsInputs& in, const PolicyRegistry& registry, const JobRunResult& result,
                             const std::string& version) {
  ordered j;
  j["schema_version"] = kResultSchemaVersion;  // one schema for every front end
  j["fleetsim_version"] = version;
  j["kind"] = "jobs";
  ordered sc;
  sc["name"] = in.name;
  sc["description"] = in.description;
  sc["seed"] = in.seed;
  sc["cluster"] = cluster_echo(in);
  sc["jobs"] = jobs_echo(in, registry);
  sc["sample_interval"] = format_duration(in.sample_interval);
  j["scenario"] = sc;

  // The run ends with the last job that ended (or the last arrival, if later).
  SimTime end = 0;
  for (const JobOutcome& o : result.jobs) {
    end = std::max(end, o.submit);
    if (o.completed()) end = std::max(end, o.end);
  }
  j["run"]["seed"] = in.seed;
  j["run"]["end_time_s"] = to_seconds(end);
  j["run"]["events"] = result.events;
  j["run"]["jobs"] = result.jobs.size();

  const JobSummary all = summarize_jobs(result);
  ordered jobs = json_blocks::jobs(result);
  jobs["makespan_s"] = to_seconds(result.makespan);
  jobs["gpu_seconds_capacity"] = result.gpu_seconds_capacity;
  jobs["utilization"] = all.utilization;
  j["jobs"] = jobs;

  ordered by_gpus = ordered::array();
  for (const JobSizeClass& c : job_size_classes()) {
    const JobSummary s = summarize_jobs(result, c.min_gpus, c.max_gpus);
    if (s.jobs == 0) continue;
    ordered e;
    e["class"] = c.label;
    e["jobs"] = s.jobs;
    e["completed"] = s.completed;
    e["mean_jct_s"] = s.mean_jct_s;
    e["jct_p50_s"] = s.jct.quantile(0.5);
    e["jct_p99_s"] = s.jct.quantile(0.99);
    e["mean_queueing_s"] = s.mean_queueing_s;
    by_gpus.push_back(e);
  }
  j["by_gpus"] = by_gpus;

  double cluster_gpus = 0;
  for (const JobClusterNode& n : in.nodes) cluster_gpus += n.gpus;
  ordered tenants = ordered::array();
  for (const TenantFairness& t : finish_time_fairness(result, cluster_gpus)) {
    ordered e;
    e["tenant"] = t.tenant;
    e["completed_jobs"] = t.jobs;
    e["mean_jct_s"] = t.mean_jct_s;
    e["mean_rho"] = t.mean_rho;
    e["max_rho"] = t.max_rho;
    tenants.push_back(e);
  }
  j["tenants"] = tenants;

  j["cluster"]["nodes"] = in.nodes.size();
  j["cluster"]["gpus"] = cluster_gpus;
  j["cluster"]["gpu_seconds_total"] = result.gpu_seconds_capacity;
  j["cluster"]["utilization"] = all.utilization;
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

std::string jobs_timeseries_csv(const JobRunResult& result, double cluster_gpus) {
  std::string out = "time_s,model,series,value\n";
  for (const auto& [t, busy] : result.busy_gpus) {
    const std::string time = number(to_seconds(t));
    out += time + ",all,busy_gpus," + number(busy) + "\n";
    out += time + ",all,utilization," + number(cluster_gpus > 0 ? busy / cluster_gpus : 0.0) + "\n";
  }
  return out;
}

}  // namespace fleetsim
