#include "cli/saturation_command.hpp"

#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli/numeric_flags.hpp"
#include "policies/registry.hpp"
#include "reports/saturation_result.hpp"
#include "reports/svg_chart.hpp"
#include "reports/write_reports.hpp"
#include "sim/csv_field.hpp"
#include "sim/saturation.hpp"
#include "traces/jobs/job_traces.hpp"

namespace fleetsim {

namespace {

std::vector<std::string> split(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  std::string part;
  while (std::getline(in, part, ','))
    if (!part.empty()) out.push_back(part);
  return out;
}

std::string fixed(double v, int digits) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

// One self-contained chart: allocation ratio (%) against arrived workload (% of GPU capacity).
std::string saturation_svg(const std::vector<SaturationResult>& results, const std::string& title) {
  static const char* colors[] = {"#d62728", "#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
                                 "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
  int max_pct = 10;
  for (const auto& r : results)
    if (!r.points.empty()) max_pct = std::max(max_pct, r.points.back().arrived_pct);
  svg::Axis x = svg::linear_axis(0, max_pct, "arrived workload (GPU requests, % of cluster GPU capacity)", 5, 14);
  svg::Axis y = svg::linear_axis(0, 100, "GPU allocation ratio (% of cluster GPU capacity)", 0, 10);
  svg::Chart c(title, svg::Layout{860, 520, 80, 30, 50, 70, true});
  c.x_axis(x);
  c.y_axis(y);
  // The 100%-arrived line: where demand equals capacity.
  if (x.hi >= 100) c.body() += svg::Chart::line(x.px(100), c.top(), x.px(100), c.bottom(), "#999999", 1, "4 4");
  c.frame();
  std::vector<svg::Series> lines;
  std::vector<svg::LegendItem> legend;
  for (std::size_t i = 0; i < results.size(); ++i) {
    const auto& r = results[i];
    svg::Series line{r.policy, {colors[i % std::size(colors)], "", 1.8}, {}, false};
    for (const auto& p : r.points) line.pts.emplace_back(p.arrived_pct, 100 * p.allocation_ratio);
    const SaturationPoint* end = r.points.empty() ? nullptr : &r.points.back();
    legend.push_back({r.policy + (end ? " (" + fixed(100 * end->allocation_ratio, 1) + "% at " +
                                            std::to_string(end->arrived_pct) + "%)"
                                      : ""),
                      line.style.color});
    lines.push_back(std::move(line));
  }
  c.lines(x, y, lines);
  // Top left: the curves start at the bottom left and stay below the diagonal.
  c.legend(legend, svg::LegendAt::InsideTopLeft);
  return c.svg();
}

}  // namespace

void add_saturation_command(CLI::App& app, const PolicyRegistry& registry, int& exit_code) {
  struct Options {
    std::string nodes, pods, out = "out/saturation";
    std::string policies = "fgd,best-fit,dot-product,gpu-packing,gpu-clustering,random";
    double until = 1.3;
    std::uint64_t seed = 1;
    bool file_order = false;
    bool time = false;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand(
      "saturation", "FGD paper's saturation replay: pods arrive until the GPU demand is a multiple of capacity");
  cmd->add_option("--nodes", o->nodes, "openb node list (openb_node_list_*.csv)")->required();
  cmd->add_option("--pods", o->pods, "openb pod list (openb_pod_list_*.csv)")->required();
  cmd->add_option("--policies", o->policies,
                  "placement policies, comma-separated, each NAME or NAME:param=value[:...] (default "
                  "fgd,best-fit,dot-product,gpu-packing,gpu-clustering,random)");
  cmd->add_option("--until", o->until, "stop when the arrived GPU demand reaches this multiple of capacity (default 1.3)")
      ->transform(number_in(0.01, 100.0));
  cmd->add_option("--seed", o->seed, "seed of the pod sampling (and of seeded policies); default 1")
      ->transform(integer_in(0, kMaxSeed));
  cmd->add_option("--out", o->out, "directory for result.json, report.html, result.prom, saturation.csv and .svg (default out/saturation)");
  cmd->add_flag("--file-order", o->file_order,
                "read the pod list in file order, ignoring its times (needed for unsorted variants, e.g. gpushare*)");
  cmd->add_flag("--time", o->time,
                "time replay instead: pods arrive at their creation time and leave at their deletion time "
                "(writes pod_replay.csv)");
  cmd->callback([o, &registry, &exit_code] {
    exit_code = 2;
    const std::vector<std::string> names = split(o->policies);
    if (names.empty()) {
      std::cerr << "--policies: no policy given\n";
      return;
    }
    // NAME or NAME:key=value[:key=value...], e.g. fgd:exact=true
    std::vector<PolicyChoice> choices;
    for (const std::string& spec : names) {
      std::vector<std::string> parts;
      std::stringstream in(spec);
      for (std::string part; std::getline(in, part, ':');) parts.push_back(part);
      const PolicyInfo* info = parts.empty() ? nullptr : registry.find(PolicyFamily::Placement, parts[0]);
      if (!info) {
        const auto all = registry.names(PolicyFamily::Placement);
        std::string valid;
        for (const auto& a : all) valid += (valid.empty() ? "" : ", ") + a;
        const std::string name = parts.empty() ? spec : parts[0];
        const std::string guess = did_you_mean(name, all);
        std::cerr << "--policies: unknown placement policy \"" << name << "\""
                  << (guess.empty() ? "" : ", did you mean " + guess + "?") << " (valid: " << valid << ")\n";
        return;
      }
      PolicyChoice choice{parts[0], {}};
      for (std::size_t i = 1; i < parts.size(); ++i) {
        const auto eq = parts[i].find('=');
        const std::string key = parts[i].substr(0, eq), value = eq == std::string::npos ? "" : parts[i].substr(eq + 1);
        const ParamSpec* param = nullptr;
        for (const ParamSpec& p : info->params)
          if (p.name == key) param = &p;
        if (!param || eq == std::string::npos) {
          std::cerr << "--policies: " << spec << ": " << info->name << " has no parameter \"" << key << "\"\n";
          return;
        }
        if (param->type == ParamType::Bool) {
          if (value != "true" && value != "false") {
            std::cerr << "--policies: " << spec << ": " << key << " must be true or false\n";
            return;
          }
          choice.params.set_number(key, value == "true");
        } else if (param->type == ParamType::Number || param->type == ParamType::Integer) {
          try {
            std::size_t used = 0;
            const double v = std::stod(value, &used);
            if (used != value.size() || v < param->min || v > param->max ||
                (param->type == ParamType::Integer && v != static_cast<double>(static_cast<long long>(v))))
              throw std::invalid_argument("");
            choice.params.set_number(key, v);
          } catch (const std::exception&) {
            std::cerr << "--policies: " << spec << ": " << key << " must be a number in [" << param->min << ", "
                      << param->max << "]\n";
            return;
          }
        } else {
          choice.params.set_string(key, value);
        }
      }
      choices.push_back(std::move(choice));
    }
    Diagnostics errors;
    const std::vector<NodeRecord> nodes = read_node_list("openb", o->nodes, errors);
    if (!errors.empty() || nodes.empty()) {
      std::cerr << errors.to_string() << (errors.empty() ? o->nodes + ": no nodes\n" : "");
      return;
    }
    JobTraceOptions trace;
    trace.format = "openb";
    trace.path = o->pods;
    trace.file_order = o->file_order;
    auto source = open_job_trace(trace, errors);
    std::vector<JobSpec> pods;
    if (source) {
      JobSpec job;
      while (source->next(job, errors)) pods.push_back(job);
    }
    if (!errors.empty()) {
      std::cerr << errors.to_string();
      if (!o->file_order) std::cerr << "(an unsorted pod list needs --file-order)\n";
      return;
    }

    if (o->time) {  // the time replay
      std::error_code ec;
      std::filesystem::create_directories(o->out, ec);
      std::ofstream csv(o->out + "/pod_replay.csv", std::ios::binary);
      csv << "policy,time_s,allocation_ratio,unallocated_gpus,frag_gpus,running,waiting\n";
      std::printf("%-16s %11s %9s %10s %12s %12s %8s\n", "policy", "mean alloc", "on time", "waited", "mean wait",
                  "max wait", "never");
      for (std::size_t i = 0; i < choices.size(); ++i) {
        auto policy = registry.make_placement(choices[i], PolicyRunInfo{o->seed, {}, {}, {}});
        PodReplayOptions options;
        options.policy_name = names[i];
        PodReplayResult r = run_pod_replay(nodes, pods, *policy, options);
        if (!r.error.empty()) {
          std::cerr << r.error << "\n";
          exit_code = r.policy_error ? 1 : 2;
          return;
        }
        const std::uint64_t waited = r.pods - r.placed_on_arrival - r.never_placed;
        std::printf("%-16s %10.2f%% %9llu %10llu %11.0fs %11.0fs %8llu\n", r.policy.c_str(),
                    100 * r.mean_allocation_ratio, static_cast<unsigned long long>(r.placed_on_arrival),
                    static_cast<unsigned long long>(waited), r.mean_wait_s, r.max_wait_s,
                    static_cast<unsigned long long>(r.never_placed));
        for (const PodReplayPoint& p : r.points)
          csv << csv_field(r.policy) << "," << to_seconds(p.time) << "," << p.allocation_ratio << "," << p.unallocated_gpus << ","
              << p.frag_gpus << "," << p.running << "," << p.waiting << "\n";
      }
      std::cout << "wrote " << o->out << "/pod_replay.csv\n";
      exit_code = 0;
      return;
    }

    std::vector<SaturationResult> results;
    std::vector<double> walls;
    for (std::size_t i = 0; i < choices.size(); ++i) {
      const PolicyChoice& choice = choices[i];
      const std::string& name = names[i];
      // Seeded policies (random) draw from a stream of the same --seed.
      auto policy = registry.make_placement(choice, PolicyRunInfo{o->seed, {}, {}, {}});
      SaturationOptions options;
      options.until = o->until;
      options.seed = o->seed;
      options.policy_name = name;
      const auto t0 = std::chrono::steady_clock::now();
      SaturationResult r = run_saturation(nodes, pods, *policy, options);
      walls.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      if (!r.error.empty()) {
        std::cerr << r.error << "\n";
        exit_code = r.policy_error ? 1 : 2;
        return;
      }
      results.push_back(std::move(r));
    }

    const SaturationResult& first = results.front();
    std::cout << "saturation replay: " << nodes.size() << " nodes, " << fixed(first.capacity_gpus, 0) << " GPUs; "
              << pods.size() << " pods sampled with replacement (seed " << o->seed << ") until "
              << fixed(100 * o->until, 0) << "% of capacity has arrived\n";
    std::printf("%-16s %10s %12s %10s %12s %10s %8s %8s\n", "policy", "alloc@100%", "unalloc@100%", "alloc@end",
                "unalloc@end", "frag@end", "failed", "wall_s");
    for (std::size_t i = 0; i < results.size(); ++i) {
      const SaturationResult& r = results[i];
      const SaturationPoint* at100 = r.at(100);
      const SaturationPoint& end = r.points.back();
      std::printf("%-16s %10s %12s %9.2f%% %12.1f %10.1f %8llu %8.2f\n", r.policy.c_str(),
                  at100 ? (fixed(100 * at100->allocation_ratio, 2) + "%").c_str() : "-",
                  at100 ? fixed(at100->unallocated_gpus, 1).c_str() : "-", 100 * end.allocation_ratio,
                  end.unallocated_gpus, end.frag_gpus, static_cast<unsigned long long>(r.failed_pods), walls[i]);
    }
    std::error_code ec;
    std::filesystem::create_directories(o->out, ec);
    const std::string csv_path = o->out + "/saturation.csv", svg_path = o->out + "/saturation.svg";
    std::ofstream csv(csv_path, std::ios::binary);
    csv << saturation_csv(results);
    std::ofstream svg(svg_path, std::ios::binary);
    svg << saturation_svg(results, "Saturation replay: " + std::filesystem::path(o->pods).filename().string() +
                                       " on " + std::filesystem::path(o->nodes).filename().string() + ", seed " +
                                       std::to_string(o->seed));
    csv.close();
    svg.close();
    if (!csv || !svg) {
      std::cerr << o->out << ": cannot write saturation.csv / saturation.svg\n";
      return;
    }
    // The versioned result every front end writes, and from it (read back, as `fleetsim report`
    // does) report.html and result.prom.
    SaturationInputs inputs;
    inputs.nodes = o->nodes;
    inputs.pods = o->pods;
    inputs.file_order = o->file_order;
    inputs.until = o->until;
    inputs.seed = o->seed;
    inputs.specs = names;
    inputs.choices = choices;
    inputs.pods_in_list = pods.size();
    inputs.cluster = nodes;
    const std::string result_path = o->out + "/result.json";
    Diagnostics write_errors;
    if (const std::string why = write_file_atomically(
            result_path, saturation_result_json(inputs, registry, results, FLEETSIM_VERSION));
        !why.empty())
      write_errors.add({result_path, 0, 0, "", why});
    if (write_errors.empty()) write_errors = write_run_reports(o->out);
    if (!write_errors.empty()) {
      std::cerr << write_errors.to_string();
      return;
    }
    std::cout << "wrote " << result_path << ", report.html, result.prom, " << csv_path << " and " << svg_path << "\n";
    exit_code = 0;
  });
}

}  // namespace fleetsim
