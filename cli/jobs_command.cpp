#include "cli/jobs_command.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli/numeric_flags.hpp"
#include "scenarios/loader/scenario_loader.hpp"
#include "policies/registry.hpp"
#include "reports/jobs_result.hpp"
#include "reports/write_reports.hpp"
#include "sim/csv_field.hpp"
#include "sim/gpu_catalog.hpp"
#include "sim/job_simulation.hpp"
#include "reports/svg_chart.hpp"
#include "sim/units.hpp"
#include "traces/jobs/job_traces.hpp"
#include "traces/jobs/synthetic_jobs.hpp"

namespace fleetsim {

namespace {

// A built-in GPU type's memory per GPU, by exact name; 0 (not modelled) for any other name.
double builtin_gpu_memory(const std::string& type) {
  for (const GpuType& t : builtin_gpu_types())
    if (t.name == type) return t.memory_bytes;
  return 0;
}

// Whether `name` is a policy of `family`; else says so, with the valid names, and false.
bool known_policy(const PolicyRegistry& registry, PolicyFamily family, const std::string& name, const char* flag,
                  const char* what) {
  if (registry.find(family, name)) return true;
  std::string all;
  for (const auto& n : registry.names(family)) all += (all.empty() ? "" : ", ") + n;
  std::cerr << flag << ": unknown " << what << " policy \"" << name << "\" (valid: " << all << ")\n";
  return false;
}

// "v100:64x1,p100:8x4", "G/32GiB:200x8:96:768GiB,cpu:300x0:64:256GiB": per group, the GPU type
// (optionally /GPU memory; a built-in type's memory otherwise), nodes x GPUs per node, and
// optionally CPU cores and host memory per node. A group with 0 GPUs is CPU-only (its type
// name is ignored). A figure left out is not modelled (no limit). Counts are bounded as a
// scenario's pools are (nodes, GPUs per node), and in all, so that a typo such as
// "v100:1000000000x1000000000" is an error here rather than an allocation that cannot succeed.
constexpr long long kMaxClusterNodes = 1'000'000;
constexpr int kMaxGpusPerNode = 1024;
constexpr long long kMaxClusterGpus = 10'000'000;

bool parse_cluster(const std::string& text, std::vector<JobClusterNode>& out, std::string& error) {
  if (text.empty() || text.front() == ',' || text.back() == ',' || text.find(",,") != std::string::npos) {
    error = "an empty group in \"" + text + "\"";
    return false;
  }
  std::stringstream in(text);
  std::string part;
  long long total_gpus = 0;
  while (std::getline(in, part, ',')) {
    std::vector<std::string> fields;
    std::stringstream p(part);
    for (std::string f; std::getline(p, f, ':');) fields.push_back(f);
    const std::string usage = "expected TYPE[/GPU_MEMORY]:NODESxGPUS[:CPUS[:MEMORY]], got \"" + part + "\"";
    if (fields.size() < 2 || fields.size() > 4 || fields[1].find('x') == std::string::npos) {
      error = usage;
      return false;
    }
    JobClusterNode node;
    int nodes = 0;
    try {
      std::size_t used = 0;
      const std::string& counts = fields[1];
      const auto x = counts.find('x');
      nodes = std::stoi(counts.substr(0, x), &used);
      if (used != x) throw std::invalid_argument("");
      node.gpus = std::stoi(counts.substr(x + 1), &used);
      if (used != counts.size() - x - 1 || nodes <= 0 || node.gpus < 0) throw std::invalid_argument("");
    } catch (const std::exception&) {
      error = "expected NODESxGPUS with nodes >= 1 and GPUs >= 0 in \"" + part + "\"";
      return false;
    }
    const auto slash = fields[0].find('/');
    node.gpu_type = node.gpus > 0 ? fields[0].substr(0, slash) : "";
    if (node.gpus > 0 && node.gpu_type.empty()) {
      error = usage;
      return false;
    }
    if (slash != std::string::npos) {
      auto m = parse_size(fields[0].substr(slash + 1));
      if (!m || *m.value <= 0) {
        error = "GPU memory in \"" + part + "\": " + (m ? "must be > 0" : m.error);
        return false;
      }
      node.gpu_memory_bytes = *m.value;
    } else {
      node.gpu_memory_bytes = builtin_gpu_memory(node.gpu_type);
    }
    if (fields.size() >= 3) {
      char* end = nullptr;
      node.cpu = std::strtod(fields[2].c_str(), &end);
      if (fields[2].empty() || *end != '\0' || !(node.cpu > 0)) {
        error = "CPU cores in \"" + part + "\": expected a number > 0, got \"" + fields[2] + "\"";
        return false;
      }
    }
    if (fields.size() == 4) {
      auto m = parse_size(fields[3]);
      if (!m || *m.value <= 0) {
        error = "host memory in \"" + part + "\": " + (m ? "must be > 0" : m.error);
        return false;
      }
      node.memory_bytes = *m.value;
    }
    if (node.gpus == 0 && node.cpu == 0 && node.memory_bytes == 0) {
      error = "a group without GPUs needs CPU cores or memory, in \"" + part + "\"";
      return false;
    }
    if (node.gpus > kMaxGpusPerNode) {
      error = "at most " + std::to_string(kMaxGpusPerNode) + " GPUs per node, in \"" + part + "\"";
      return false;
    }
    total_gpus += static_cast<long long>(nodes) * node.gpus;
    if (static_cast<long long>(out.size()) + nodes > kMaxClusterNodes || total_gpus > kMaxClusterGpus) {
      error = "at most " + std::to_string(kMaxClusterNodes) + " nodes and " + std::to_string(kMaxClusterGpus) +
              " GPUs in all; \"" + part + "\" goes beyond that";
      return false;
    }
    out.insert(out.end(), static_cast<std::size_t>(nodes), node);
  }
  if (out.empty()) error = "empty cluster";
  return !out.empty();
}

// generic-csv: "--column KEY=NAME" sets one GenericJobColumns field (NAME empty: not in the
// file). Defaults as a scenario's jobs.columns: id, submit_s, duration_s, gpus, workers,
// tenant, priority.
GenericJobColumns default_columns() {
  GenericJobColumns c;
  c.id = "id";
  c.submit = "submit_s";
  c.duration = "duration_s";
  c.gpus = "gpus";
  c.workers = "workers";
  c.tenant = "tenant";
  c.priority = "priority";
  return c;
}

// Every generic-csv column key and the field it sets, in the order `--column` lists them.
std::vector<std::pair<const char*, std::string*>> column_fields(GenericJobColumns& c) {
  return {{"id", &c.id},           {"submit", &c.submit},     {"submit_unit", &c.submit_unit},
          {"duration", &c.duration}, {"duration_unit", &c.duration_unit}, {"reference_gpu_type", &c.reference_gpu_type},
          {"workers", &c.workers}, {"gpus", &c.gpus},         {"milli_gpu", &c.milli_gpu},
          {"gpu_fraction", &c.gpu_fraction}, {"cpu", &c.cpu}, {"memory", &c.memory}, {"gpu_memory", &c.gpu_memory},
          {"memory_unit", &c.memory_unit}, {"gpu_type", &c.gpu_type}, {"tenant", &c.tenant},
          {"priority", &c.priority}, {"delimiter", &c.delimiter}};
}

bool set_column(GenericJobColumns& c, const std::string& assignment, std::string& error) {
  const auto eq = assignment.find('=');
  const std::string key = assignment.substr(0, eq), value = eq == std::string::npos ? "" : assignment.substr(eq + 1);
  std::string keys;
  for (const auto& [name, field] : column_fields(c)) {
    if (key == name && eq != std::string::npos) {
      *field = value;
      return true;
    }
    keys += (keys.empty() ? "" : ", ") + std::string(name);
  }
  error = "expected KEY=COLUMN with KEY one of " + keys + ", got \"" + assignment + "\"";
  return false;
}

// A length of time in the unit that reads best: seconds, minutes or hours.
std::string span(double seconds) {
  char buf[32];
  if (seconds < 120) std::snprintf(buf, sizeof buf, "%.0f s", seconds);
  else if (seconds < 7200) std::snprintf(buf, sizeof buf, "%.1f min", seconds / 60);
  else std::snprintf(buf, sizeof buf, "%.1f h", seconds / 3600);
  return buf;
}

std::string span(double seconds);

// utilization.svg: busy GPUs (the share of the cluster's) over the replay.
std::string utilization_svg(const JobRunResult& result, double cluster_gpus, const std::string& title) {
  svg::Series busy{"GPU utilization", {"#1f77b4", "", 1.6}, {}, false};
  double end_s = 0;
  for (auto [t, gpus] : result.busy_gpus) {
    busy.pts.emplace_back(to_seconds(t), cluster_gpus > 0 ? gpus / cluster_gpus : 0.0);
    end_s = to_seconds(t);
  }
  svg::Axis x = svg::time_axis(std::max(end_s, 1.0));
  svg::Axis y = svg::percent_axis("busy GPUs, share of the cluster");
  svg::Chart c(title, svg::Layout{860, 360, 80, 30, 50, 60, true});
  c.x_axis(x);
  c.y_axis(y);
  c.frame();
  c.lines(x, y, {busy});
  return c.svg();
}

// JCT by the trace's job class (gavel job type, openb QoS, DLRM role), the most common first;
// nothing when the trace has no classes or one.
void print_by_class(const JobRunResult& result) {
  struct Class {
    std::string name;
    std::uint64_t jobs = 0, completed = 0;
    double jct = 0;
  };
  std::vector<Class> classes;
  for (const JobOutcome& o : result.jobs) {
    auto c = std::find_if(classes.begin(), classes.end(), [&](const Class& k) { return k.name == o.job_class; });
    if (c == classes.end()) c = classes.insert(classes.end(), Class{o.job_class});
    ++c->jobs;
    if (o.completed()) {
      ++c->completed;
      c->jct += to_seconds(o.end - o.submit);
    }
  }
  if (classes.size() < 2) return;
  std::stable_sort(classes.begin(), classes.end(), [](const Class& a, const Class& b) { return a.jobs > b.jobs; });
  constexpr std::size_t kShown = 8;
  std::cout << "  by class" << (classes.size() > kShown ? " (the " + std::to_string(kShown) + " most common of " +
                                                              std::to_string(classes.size()) + "; all in jobs.csv)"
                                                        : std::string())
            << ":\n";
  for (std::size_t i = 0; i < classes.size() && i < kShown; ++i) {
    const Class& c = classes[i];
    std::cout << "    " << (c.name.empty() ? "(none)" : c.name) << ": " << c.jobs << " jobs, " << c.completed
              << " completed, JCT mean " << (c.completed ? span(c.jct / static_cast<double>(c.completed)) : "-") << "\n";
  }
}

std::string fmt(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

struct JobsOptions {
  std::string format = "gavel", trace, throughputs, cluster, nodes, node_format = "openb", policy = "fifo", out,
              round, placement;
  std::string restart = "0s";
  std::string checkpoint_interval = "0s";
  std::vector<std::string> policy_params;
  PolicyChoice queue_choice;  // --policy with its --policy-param values, once checked
  std::string min_run = "0s";
  std::string sample = "1h";
  std::vector<std::string> columns;
  std::uint64_t synthetic = 0, seed = 1;
  std::string runtimes, arrival_rate, gang_gpus = "1:70,2:10,4:10,8:10";
  int tenants = 1;
  bool backfill = false, lenient = false, lose_work = false;
};

// The cluster from --cluster or --nodes; false (with a message) on bad input.
bool cluster_of(const JobsOptions& o, std::vector<JobClusterNode>& nodes) {
  std::string error;
  if (o.nodes.empty()) {
    if (o.cluster.empty()) {
      std::cerr << "jobs: give --cluster or --nodes\n";
      return false;
    }
    if (!parse_cluster(o.cluster, nodes, error)) {
      std::cerr << "--cluster: " << error << "\n";
      return false;
    }
  } else {
    Diagnostics node_errors;
    const std::vector<NodeRecord> records = read_node_list(o.node_format, o.nodes, node_errors);
    if (records.empty()) {
      std::cerr << node_errors.to_string();
      return false;
    }
    for (const NodeRecord& r : records) {
      nodes.push_back(JobClusterNode{r.gpu_type, r.gpus, builtin_gpu_memory(r.gpu_type), r.cpu, r.memory_bytes});
    }
  }
  return true;
}

// Scheduling options and the queue policy's name checked; false (with a message) on bad input.
bool run_options_of(JobsOptions& o, const PolicyRegistry& registry, JobRunOptions& options) {
  options.backfill = o.backfill;
  options.checkpoint_on_preemption = !o.lose_work;
  if (auto d = parse_duration(o.sample); d && *d.value > 0) {
    options.sample_interval = *d.value;
  } else {
    std::cerr << "--sample-interval: " << (d ? "must be > 0" : d.error) << "\n";
    return false;
  }
  if (auto d = parse_duration(o.restart)) {
    options.restart_overhead = *d.value;
  } else {
    std::cerr << "--restart-overhead: " << d.error << "\n";
    return false;
  }
  if (auto d = parse_duration(o.min_run)) {
    options.min_run_time = *d.value;
  } else {
    std::cerr << "--min-run-time: " << d.error << "\n";
    return false;
  }
  if (!o.round.empty()) {
    auto d = parse_duration(o.round);
    if (!d || *d.value <= 0) {
      std::cerr << "--round: " << (d ? "must be > 0" : d.error) << "\n";
      return false;
    }
    options.round = *d.value;
  }
  if (auto d = parse_duration(o.checkpoint_interval)) {
    options.checkpoint_interval = *d.value;
  } else {
    std::cerr << "--checkpoint-interval: " << d.error << "\n";
    return false;
  }
  if (!known_policy(registry, PolicyFamily::Queue, o.policy, "--policy", "queue")) return false;
  if (!o.placement.empty()) {
    if (!known_policy(registry, PolicyFamily::Placement, o.placement, "--placement", "placement")) return false;
    options.placement = registry.make_placement(PolicyChoice{o.placement, {}});
    options.placement_name = o.placement;
  }
  // The queue policy's parameters, checked as a scenario's jobs.policy section is.
  Diagnostics param_errors;
  o.queue_choice = policy_from_key_values(PolicyFamily::Queue, o.policy, o.policy_params, registry, "--policy-param",
                                          param_errors);
  if (!param_errors.empty()) {
    std::cerr << param_errors.to_string();
    return false;
  }
  return true;
}

// The jobs: a trace (then `reader` is its reader, for what it skipped) or synthetic ones;
// nullptr (with a message) on bad input.
std::unique_ptr<JobSource> source_of(const JobsOptions& o, const std::vector<JobClusterNode>& nodes,
                                     const JobTraceSource*& reader) {
  std::string error;
  Diagnostics errors;
  JobTraceOptions trace;
  trace.format = o.format;
  trace.path = o.trace;
  trace.lenient = o.lenient;
  trace.throughput_table = o.throughputs;
  trace.columns = default_columns();
  for (const std::string& c : o.columns)
    if (!set_column(trace.columns, c, error)) {
      std::cerr << "--column: " << error << "\n";
      return nullptr;
    }
  reader = nullptr;
  if (o.synthetic > 0) {
    SyntheticJobOptions synth;
    synth.jobs = o.synthetic;
    synth.tenants = o.tenants;
    synth.seed = o.seed;
    if (o.runtimes.empty() || o.arrival_rate.empty()) {
      std::cerr << "--synthetic needs --runtimes and --arrival-rate\n";
      return nullptr;
    }
    if (auto r = parse_rate(o.arrival_rate)) {
      synth.arrival_rate = *r.value;
    } else {
      std::cerr << "--arrival-rate: " << r.error << "\n";
      return nullptr;
    }
    if (!parse_gang_weights(o.gang_gpus, synth.gpus, error)) {
      std::cerr << "--gang-gpus: " << error << "\n";
      return nullptr;
    }
    synth.gpus_per_node = 0;
    for (const auto& n : nodes) synth.gpus_per_node = std::max(synth.gpus_per_node, n.gpus);
    if (synth.gpus_per_node == 0) {
      std::cerr << "--synthetic: the cluster has no GPUs (synthetic jobs are GPU jobs)\n";
      return nullptr;
    }
    if (const std::string wrong = check(synth); !wrong.empty()) {
      std::cerr << "--synthetic: " << wrong << "\n";
      return nullptr;
    }
    EmpiricalDistribution runtimes = read_philly_runtimes(o.runtimes, errors);
    if (runtimes.empty()) {
      std::cerr << errors.to_string();
      return nullptr;
    }
    return synthetic_jobs(synth, std::move(runtimes));
  } else {
    if (o.trace.empty()) {
      std::cerr << "jobs: give --trace or --synthetic\n";
      return nullptr;
    }
    // A gavel job's work is in steps; only the throughput table says how fast each GPU type
    // runs them. Without it no job could ever run, and the replay would "succeed" empty.
    if (o.format == "gavel" && o.throughputs.empty()) {
      std::cerr << "--throughputs: required with --format gavel (the default format): gavel jobs are counted in "
                   "steps, and gavel_simulation_throughputs.json gives each GPU type's steps per second\n";
      return nullptr;
    }
    auto traced = open_job_trace(trace, errors);
    if (!traced) {
      std::cerr << errors.to_string();
      return nullptr;
    }
    reader = traced.get();
    return traced;
  }
}

// The console summary.
void print_summary(const JobsOptions& o, const JobRunOptions& options, const JobRunResult& result,
                   const JobTraceSource* reader, const std::vector<TenantFairness>& fairness) {
  const JobSummary all = summarize_jobs(result);
  std::cout << "jobs " << all.jobs << " (completed " << all.completed << "), policy " << o.policy
            << (options.round ? ", rounds of " + format_duration(options.round) : ", event-driven")
            << (options.backfill ? ", EASY backfill" : "")
            << (options.placement ? ", placement " + o.placement : std::string()) << "\n";
  if (reader && reader->rows_skipped()) {  // --lenient: say what was left out, never silently
    std::cout << "  skipped " << reader->rows_skipped() << " of " << reader->rows_read() << " trace rows (";
    bool first = true;
    for (const auto& [reason, count] : reader->skipped()) {
      std::cout << (first ? "" : ", ") << reason << ": " << count;
      first = false;
    }
    std::cout << ")";
    if (!reader->skipped_examples().empty()) std::cout << ", first: " << reader->skipped_examples().front().to_string();
    std::cout << "\n";
  }
  if (result.rejected) {
    std::cout << "  rejected " << result.rejected << " (can never run on this cluster), e.g.:\n";
    for (const std::string& why : result.rejected_examples) std::cout << "    " << why << "\n";
  }
  std::cout << "  JCT mean " << span(all.mean_jct_s) << ", p50 " << span(all.jct.quantile(0.5)) << ", p99 "
            << span(all.jct.quantile(0.99)) << "\n";
  std::cout << "  queueing mean " << span(all.mean_queueing_s) << ", p99 " << span(all.queueing.quantile(0.99))
            << ", p99.9 " << span(all.queueing.quantile(0.999)) << "\n";
  std::cout << "  makespan " << span(to_seconds(result.makespan)) << ", GPU utilization "
            << fmt(100 * all.utilization) << "%, preemptions " << all.preemptions << " (lost "
            << fmt(all.lost_gpu_hours) << " GPU-h, futile " << result.futile_preemptions << ")\n";
  for (auto [lo, hi, name] : {std::tuple{0.0, 0.0, "no GPU"}, {0.001, 0.999, "a GPU share"}, {1.0, 1.0, "1 GPU"},
                              {1.001, 4.0, "2-4 GPUs"}, {4.001, 8.0, "5-8 GPUs"}, {8.001, 1e9, ">8 GPUs"}}) {
    const JobSummary c = summarize_jobs(result, lo, hi);
    if (c.jobs) std::cout << "  " << name << ": " << c.jobs << " jobs, JCT mean " << span(c.mean_jct_s) << "\n";
  }
  print_by_class(result);
  constexpr std::size_t kTenantsShown = 10;
  if (fairness.size() > 1) {
    // The least fairly treated tenants first (highest mean rho); all of them in tenants.csv.
    std::vector<const TenantFairness*> worst;
    for (const auto& t : fairness) worst.push_back(&t);
    std::stable_sort(worst.begin(), worst.end(),
                     [](const TenantFairness* a, const TenantFairness* b) { return a->mean_rho > b->mean_rho; });
    std::cout << "  finish-time fairness (rho = JCT / time alone on an equal share; <= 1 is fair)"
              << (worst.size() > kTenantsShown ? ", the " + std::to_string(kTenantsShown) + " highest of " +
                                                     std::to_string(worst.size()) + " tenants"
                                               : std::string())
              << ":\n";
    for (std::size_t i = 0; i < worst.size() && i < kTenantsShown; ++i) {
      const TenantFairness& t = *worst[i];
      std::cout << "    " << (t.tenant.empty() ? "(none)" : t.tenant) << ": " << t.jobs << " jobs, JCT mean "
                << span(t.mean_jct_s) << ", rho mean " << fmt(t.mean_rho) << ", max " << fmt(t.max_rho) << "\n";
    }
  }
}

// What ran, for result.json's `scenario` (every default filled in).
JobsInputs inputs_of(const JobsOptions& o, const std::vector<JobClusterNode>& nodes, const JobRunOptions& options,
                     const JobTraceSource* reader) {
  JobsInputs in;
  in.seed = o.seed;
  if (o.synthetic > 0) {
    in.name = "synthetic";
    in.synthetic = o.synthetic;
    in.runtimes = o.runtimes;
    in.arrival_rate = o.arrival_rate;
    in.gang_gpus = o.gang_gpus;
    in.tenants = o.tenants;
  } else {
    in.name = std::filesystem::path(o.trace).stem().string();
    in.trace = o.trace;
    in.format = o.format;
    in.throughputs = o.throughputs;
    in.lenient = o.lenient;
    GenericJobColumns columns = default_columns();
    std::string ignored;  // --column was checked when the trace was opened
    for (const std::string& c : o.columns) set_column(columns, c, ignored);
    for (const auto& [key, field] : column_fields(columns)) in.columns.emplace_back(key, *field);
    if (reader) {
      in.rows_read = reader->rows_read();
      in.rows_skipped = reader->rows_skipped();
      for (const auto& [reason, count] : reader->skipped()) in.skipped.emplace_back(reason, count);
    }
  }
  in.cluster = o.cluster;
  in.nodes_file = o.nodes;
  in.node_format = o.node_format;
  in.nodes = nodes;
  in.policy = o.policy;
  in.placement = o.placement;
  in.round = options.round;
  in.restart_overhead = options.restart_overhead;
  in.checkpoint_interval = options.checkpoint_interval;
  in.policy_params = o.queue_choice.params;
  in.min_run_time = options.min_run_time;
  in.sample_interval = options.sample_interval;
  in.backfill = options.backfill;
  in.checkpoint_on_preemption = options.checkpoint_on_preemption;
  double gpus = 0;
  for (const auto& n : nodes) gpus += n.gpus;
  in.description = (o.synthetic > 0 ? std::to_string(o.synthetic) + " synthetic jobs"
                                    : "job trace " + std::filesystem::path(o.trace).filename().string()) +
                   " on " + std::to_string(nodes.size()) + " nodes, " + svg::short_number(gpus) + " GPUs, under " + o.policy +
                   (o.placement.empty() ? std::string() : ", placement " + o.placement) +
                   (options.backfill ? ", EASY backfill" : "");
  return in;
}

// jobs.csv, utilization.csv and .svg, tenants.csv, and the files every front end writes —
// result.json, timeseries.csv, report.html, result.prom — under --out; false (with a message)
// when they cannot be written.
bool write_outputs(const JobsOptions& o, const JobsInputs& inputs, const PolicyRegistry& registry,
                   const JobRunResult& result, double cluster_gpus, const std::vector<TenantFairness>& fairness) {
  if (o.out.empty()) return true;
  std::error_code error;
  std::filesystem::create_directories(o.out, error);
  if (error) {
    std::cerr << o.out << ": cannot create the directory (" << error.message() << ")\n";
    return false;
  }
  std::ofstream util(o.out + "/utilization.csv");
  util << "time_s,busy_gpus,utilization\n";
  for (auto [t, busy] : result.busy_gpus)
    util << to_seconds(t) << "," << busy << "," << (cluster_gpus > 0 ? busy / cluster_gpus : 0.0) << "\n";
  std::ofstream(o.out + "/utilization.svg", std::ios::binary)
      << utilization_svg(result, cluster_gpus,
                         "GPU utilization: " + (o.synthetic ? std::string("synthetic jobs")
                                                             : std::filesystem::path(o.trace).filename().string()) +
                             ", " + o.policy);
  std::ofstream csv(o.out + "/jobs.csv");
  csv << "job,tenant,class,gpus,submit_s,start_s,end_s,jct_s,queueing_s,preemptions,lost_gpu_s,gpu_type\n";
  for (const JobOutcome& j : result.jobs) {
    const bool done = j.completed();
    csv << csv_field(j.id) << "," << csv_field(j.tenant) << "," << csv_field(j.job_class) << "," << j.gpus << "," << to_seconds(j.submit) << ","
        << (j.first_start == kNever ? -1 : to_seconds(j.first_start)) << "," << (done ? to_seconds(j.end) : -1) << ","
        << (done ? to_seconds(j.end - j.submit) : -1) << ","
        << (j.first_start == kNever ? -1 : to_seconds(j.first_start - j.submit)) << "," << j.preemptions << ","
        << j.lost_gpu_seconds << "," << csv_field(j.gpu_type) << "\n";
  }
  std::ofstream tenants(o.out + "/tenants.csv");
  tenants << "tenant,completed_jobs,mean_jct_s,mean_rho,max_rho\n";
  for (const auto& t : fairness)
    tenants << csv_field(t.tenant) << "," << t.jobs << "," << t.mean_jct_s << "," << t.mean_rho << "," << t.max_rho << "\n";
  util.close();
  csv.close();
  tenants.close();
  // The versioned result, and from it (read back, as `fleetsim report` does) the report and
  // the OpenMetrics export.
  Diagnostics errors;
  for (const auto& [name, text] :
       {std::pair<std::string, std::string>{"result.json", jobs_result_json(inputs, registry, result, FLEETSIM_VERSION)},
        {"timeseries.csv", jobs_timeseries_csv(result, cluster_gpus)}})
    if (const std::string why = write_file_atomically(o.out + "/" + name, text); !why.empty())
      errors.add({o.out + "/" + name, 0, 0, "", why});
  if (errors.empty()) errors = write_run_reports(o.out);
  if (!util || !csv || !tenants) errors.add({o.out, 0, 0, "", "cannot write jobs.csv, utilization.csv or tenants.csv"});
  if (!errors.empty()) {
    std::cerr << errors.to_string();
    return false;
  }
  std::cout << "wrote " << o.out
            << "/result.json, report.html, result.prom, timeseries.csv, jobs.csv, utilization.csv (and .svg) and "
               "tenants.csv\n";
  return true;
}

}  // namespace

void add_jobs_command(CLI::App& app, const PolicyRegistry& registry, int& exit_code) {
  auto o = std::make_shared<JobsOptions>();
  auto* cmd = app.add_subcommand("jobs", "replay a training/batch job trace under a queue policy");
  cmd->add_option("--format", o->format, "gavel (default) | openb | dlrm-2025 | generic-csv");
  auto* trace_option = cmd->add_option("--trace", o->trace, "the job trace");
  auto* synthetic = cmd->add_option("--synthetic", o->synthetic,
                                    "or N synthetic jobs: Poisson arrivals, Philly run times (--runtimes)")
                        ->transform(integer_in(1, static_cast<std::int64_t>(kMaxSyntheticJobs)));
  trace_option->excludes(synthetic);
  synthetic->excludes(trace_option);
  cmd->add_option("--runtimes", o->runtimes, "synthetic: philly_runtime.csv (run times drawn from it)");
  cmd->add_option("--arrival-rate", o->arrival_rate, "synthetic: jobs per unit of time, e.g. 20/h");
  cmd->add_option("--gang-gpus", o->gang_gpus, "synthetic: GPUS:WEIGHT,... (default 1:70,2:10,4:10,8:10)");
  cmd->add_option("--tenants", o->tenants, "synthetic: tenants t0..tN-1, drawn uniformly (default 1)")
      ->transform(integer_in(1, kMaxSyntheticTenants));
  cmd->add_option("--seed", o->seed, "synthetic: the seed (default 1)")->transform(integer_in(0, kMaxSeed));
  cmd->add_option("--throughputs", o->throughputs, "gavel: gavel_simulation_throughputs.json");
  auto* cluster = cmd->add_option("--cluster", o->cluster,
                                  "TYPE[/GPU_MEMORY]:NODESxGPUS[:CPUS[:MEMORY]][,...], e.g. v100:64x1");
  auto* nodes = cmd->add_option("--nodes", o->nodes, "or a node list file (see --node-format)");
  cluster->excludes(nodes);
  nodes->excludes(cluster);
  cmd->add_option("--node-format", o->node_format, "openb (default) | pai-machines");
  cmd->add_option("--column", o->columns,
                  "generic-csv: KEY=COLUMN (repeatable; defaults id=id, submit=submit_s, duration=duration_s, "
                  "gpus=gpus, workers=workers, tenant=tenant, priority=priority)");
  cmd->add_option("--policy", o->policy, "queue policy: fifo, sjf, srtf, las, priority, fair-share (default fifo)");
  cmd->add_option("--placement", o->placement,
                  "a placement policy (fgd, best-fit, ...) places each worker; default: the built-in gang placement");
  cmd->add_option("--round", o->round, "allocations change only every ROUND (e.g. 360s); default event-driven");
  cmd->add_flag("--backfill", o->backfill, "EASY backfill (non-preemptive policies)");
  cmd->add_flag("--lenient", o->lenient, "skip bad trace rows (reported)");
  cmd->add_flag("--lose-work-on-preemption", o->lose_work,
                "jobs without a checkpoint interval lose their work when preempted (default: they checkpoint)");
  cmd->add_option("--restart-overhead", o->restart, "time a preempted job needs to restart (default 0s)");
  cmd->add_option("--policy-param", o->policy_params,
                  "KEY=VALUE: a parameter of the queue policy (repeatable; see fleetsim policies), e.g. "
                  "threshold_gpu_hours=2 for las, quotas=a:8,b:4 for fair-share");
  cmd->add_option("--checkpoint-interval", o->checkpoint_interval,
                  "jobs whose trace gives no checkpoint interval checkpoint this often and lose the work since "
                  "their last checkpoint when preempted (default 0s: none)");
  cmd->add_option("--min-run-time", o->min_run,
                  "a job is not preempted before it has run this long since its last start (default 0s)");
  cmd->add_option("--out", o->out,
                  "write result.json, report.html, result.prom, timeseries.csv, jobs.csv (one row per job), "
                  "utilization.csv and .svg, and tenants.csv here");
  cmd->add_option("--sample-interval", o->sample, "utilization.csv sampling period (default 1h)");
  cmd->callback([o, cmd, &registry, &exit_code] {
    exit_code = 2;
    // Options that belong to the other source of jobs are refused, not silently ignored.
    const bool synthetic_run = cmd->count("--synthetic") > 0;
    if (synthetic_run && o->synthetic == 0) {
      std::cerr << "--synthetic: must be >= 1\n";
      return;
    }
    for (const char* name : synthetic_run ? std::vector<const char*>{"--format", "--throughputs", "--column", "--lenient"}
                                          : std::vector<const char*>{"--runtimes", "--arrival-rate", "--gang-gpus",
                                                                     "--tenants", "--seed"})
      if (cmd->count(name) > 0) {
        std::cerr << name << (synthetic_run ? ": not with --synthetic (no trace is read)" : ": only with --synthetic")
                  << "\n";
        return;
      }
    std::vector<JobClusterNode> nodes;
    JobRunOptions options;
    if (!cluster_of(*o, nodes) || !run_options_of(*o, registry, options)) return;
    const JobTraceSource* reader = nullptr;
    std::unique_ptr<JobSource> source = source_of(*o, nodes, reader);
    if (!source) return;
    JobSimulation sim(nodes, std::move(source), registry.make_queue(o->queue_choice), options);
    const JobRunResult result = sim.run();
    if (!result.ok) {
      std::cerr << result.errors.to_string();
      return;
    }
    double cluster_gpus = 0;
    for (const auto& n : nodes) cluster_gpus += n.gpus;
    const auto fairness = finish_time_fairness(result, cluster_gpus);
    print_summary(*o, options, result, reader, fairness);
    if (!write_outputs(*o, inputs_of(*o, nodes, options, reader), registry, result, cluster_gpus, fairness)) return;
    exit_code = 0;
  });
}

}  // namespace fleetsim
