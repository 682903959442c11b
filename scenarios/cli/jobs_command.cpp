#include "scenarios/cli/jobs_command.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "policies/registry.hpp"
#include "sim/job_simulation.hpp"
#include "sim/units.hpp"
#include "traces/jobs/job_traces.hpp"

namespace fleetsim {

namespace {

// "v100:64x1,p100:8x4": GPU type, nodes, GPUs per node.
bool parse_cluster(const std::string& text, std::vector<JobClusterNode>& out, std::string& error) {
  std::stringstream in(text);
  std::string part;
  while (std::getline(in, part, ',')) {
    const auto colon = part.find(':'), x = part.find('x', colon == std::string::npos ? 0 : colon);
    if (colon == std::string::npos || x == std::string::npos) {
      error = "expected TYPE:NODESxGPUS, got \"" + part + "\"";
      return false;
    }
    try {
      const int nodes = std::stoi(part.substr(colon + 1, x - colon - 1));
      const int gpus = std::stoi(part.substr(x + 1));
      if (nodes <= 0 || gpus <= 0) throw std::invalid_argument("");
      for (int i = 0; i < nodes; ++i) out.push_back(JobClusterNode{part.substr(0, colon), gpus});
    } catch (const std::exception&) {
      error = "expected positive counts in \"" + part + "\"";
      return false;
    }
  }
  if (out.empty()) error = "empty cluster";
  return !out.empty();
}

std::string fmt(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

}  // namespace

void add_jobs_command(CLI::App& app, int& exit_code) {
  struct Options {
    std::string format = "gavel", trace, throughputs, cluster, policy = "fifo", out, round, reference;
    std::string restart = "0s";
    std::string sample = "1h";
    bool backfill = false, lenient = false, lose_work = false;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("jobs", "replay a training/batch job trace under a queue policy");
  cmd->add_option("--format", o->format, "gavel (default) | openb | dlrm-2025 | generic-csv");
  cmd->add_option("--trace", o->trace, "the job trace")->required();
  cmd->add_option("--throughputs", o->throughputs, "gavel: gavel_simulation_throughputs.json");
  cmd->add_option("--cluster", o->cluster, "TYPE:NODESxGPUS[,...], e.g. v100:64x1")->required();
  cmd->add_option("--policy", o->policy, "queue policy: fifo, sjf, srtf, las, priority, fair-share (default fifo)");
  cmd->add_option("--round", o->round, "allocations change only every ROUND (e.g. 360s); default event-driven");
  cmd->add_flag("--backfill", o->backfill, "EASY backfill (non-preemptive policies)");
  cmd->add_option("--reference-gpu", o->reference, "GPU type duration-based jobs are measured on");
  cmd->add_flag("--lenient", o->lenient, "skip bad trace rows (reported)");
  cmd->add_flag("--lose-work-on-preemption", o->lose_work,
                "jobs without a checkpoint interval lose their work when preempted (default: they checkpoint)");
  cmd->add_option("--restart-overhead", o->restart, "time a preempted job needs to restart (default 0s)");
  cmd->add_option("--out", o->out, "write jobs.csv (one row per job) and utilization.csv here");
  cmd->add_option("--sample-interval", o->sample, "utilization.csv sampling period (default 1h)");
  cmd->callback([o, &exit_code] {
    exit_code = 2;
    std::vector<JobClusterNode> nodes;
    std::string error;
    if (!parse_cluster(o->cluster, nodes, error)) {
      std::cerr << "--cluster: " << error << "\n";
      return;
    }
    JobRunOptions options;
    options.backfill = o->backfill;
    options.reference_gpu_type = o->reference;
    options.checkpoint_on_preemption = !o->lose_work;
    if (auto d = parse_duration(o->sample); d && *d.value > 0) {
      options.sample_interval = *d.value;
    } else {
      std::cerr << "--sample-interval: " << (d ? "must be > 0" : d.error) << "\n";
      return;
    }
    if (auto d = parse_duration(o->restart)) {
      options.restart_overhead = *d.value;
    } else {
      std::cerr << "--restart-overhead: " << d.error << "\n";
      return;
    }
    if (!o->round.empty()) {
      auto d = parse_duration(o->round);
      if (!d || *d.value <= 0) {
        std::cerr << "--round: " << (d ? "must be > 0" : d.error) << "\n";
        return;
      }
      options.round = *d.value;
    }
    const PolicyRegistry registry = builtin_policies();
    if (!registry.find(PolicyFamily::Queue, o->policy)) {
      std::string all;
      for (const auto& n : registry.names(PolicyFamily::Queue)) all += (all.empty() ? "" : ", ") + n;
      std::cerr << "--policy: unknown queue policy \"" << o->policy << "\" (valid: " << all << ")\n";
      return;
    }
    Diagnostics errors;
    JobTraceOptions trace;
    trace.format = o->format;
    trace.path = o->trace;
    trace.lenient = o->lenient;
    trace.throughput_table = o->throughputs;
    auto source = open_job_trace(trace, errors);
    if (!source) {
      std::cerr << errors.to_string();
      return;
    }
    JobSimulation sim(nodes, std::move(source), registry.make_queue(PolicyChoice{o->policy, {}}), options);
    JobRunResult result = sim.run();
    if (!result.ok) {
      std::cerr << result.errors.to_string();
      return;
    }
    const JobSummary all = summarize_jobs(result);
    std::cout << "jobs " << all.jobs << " (completed " << all.completed << "), policy " << o->policy
              << (options.round ? ", rounds of " + format_duration(options.round) : ", event-driven")
              << (options.backfill ? ", EASY backfill" : "") << "\n";
    std::cout << "  JCT mean " << fmt(all.mean_jct_s / 3600) << " h, p50 " << fmt(all.jct.quantile(0.5) / 3600)
              << " h, p99 " << fmt(all.jct.quantile(0.99) / 3600) << " h\n";
    std::cout << "  queueing mean " << fmt(all.mean_queueing_s / 3600) << " h, p99 "
              << fmt(all.queueing.quantile(0.99) / 3600) << " h, p99.9 " << fmt(all.queueing.quantile(0.999) / 3600)
              << " h\n";
    std::cout << "  makespan " << fmt(to_seconds(result.makespan) / 3600) << " h, GPU utilization "
              << fmt(100 * all.utilization) << "%, preemptions " << all.preemptions << " (lost "
              << fmt(all.lost_gpu_hours) << " GPU-h)\n";
    for (auto [lo, hi, name] : {std::tuple{1, 1, "1 GPU"}, {2, 4, "2-4 GPUs"}, {5, 8, "5-8 GPUs"}, {9, 1 << 30, ">8 GPUs"}}) {
      const JobSummary c = summarize_jobs(result, lo, hi);
      if (c.jobs) std::cout << "  " << name << ": " << c.jobs << " jobs, JCT mean " << fmt(c.mean_jct_s / 3600) << " h\n";
    }
    int cluster_gpus = 0;
    for (const auto& n : nodes) cluster_gpus += n.gpus;
    const auto fairness = finish_time_fairness(result, cluster_gpus);
    if (fairness.size() > 1) {
      std::cout << "  finish-time fairness (rho = JCT / time alone on an equal share; <= 1 is fair):\n";
      for (const auto& t : fairness)
        std::cout << "    " << (t.tenant.empty() ? "(none)" : t.tenant) << ": " << t.jobs << " jobs, JCT mean "
                  << fmt(t.mean_jct_s / 3600) << " h, rho mean " << fmt(t.mean_rho) << ", max " << fmt(t.max_rho) << "\n";
    }
    if (!o->out.empty()) {
      std::filesystem::create_directories(o->out);
      std::ofstream util(o->out + "/utilization.csv");
      util << "time_s,busy_gpus,utilization\n";
      for (auto [t, busy] : result.busy_gpus)
        util << to_seconds(t) << "," << busy << "," << static_cast<double>(busy) / cluster_gpus << "\n";
      std::ofstream csv(o->out + "/jobs.csv");
      csv << "job,tenant,gpus,submit_s,start_s,end_s,jct_s,queueing_s,preemptions,lost_gpu_s,gpu_type\n";
      for (const JobOutcome& j : result.jobs) {
        const bool done = j.completed();
        csv << j.id << "," << j.tenant << "," << j.gpus << "," << to_seconds(j.submit) << ","
            << (j.first_start == kNever ? -1 : to_seconds(j.first_start)) << "," << (done ? to_seconds(j.end) : -1) << ","
            << (done ? to_seconds(j.end - j.submit) : -1) << ","
            << (j.first_start == kNever ? -1 : to_seconds(j.first_start - j.submit)) << "," << j.preemptions << ","
            << j.lost_gpu_seconds << "," << j.gpu_type << "\n";
      }
      std::cout << "wrote " << o->out << "/jobs.csv and utilization.csv\n";
    }
    exit_code = 0;
  });
}

}  // namespace fleetsim
