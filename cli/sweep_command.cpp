#include "cli/sweep_command.hpp"

#include <CLI/CLI.hpp>

#include <filesystem>
#include <iomanip>
#include <iostream>
#include <memory>
#include <thread>

#include "cli/numeric_flags.hpp"
#include "cli/sweep/emit.hpp"
#include "cli/sweep/sweep.hpp"
#include "scenarios/loader/scenario_loader.hpp"

#ifndef FLEETSIM_VERSION
#define FLEETSIM_VERSION "unknown"
#endif

namespace fleetsim {

namespace {

constexpr int kExitBadInput = 2;
constexpr int kExitPolicyError = 1;
constexpr std::size_t kMaxArrayTasks = 1000;  // Slurm's default MaxArraySize is 1001

struct SweepArgs {
  std::string file;
  std::string out;
  unsigned jobs = 0;
  std::string shard;
  std::string emit;
  std::size_t shards = 0;
  std::string image;
  bool quiet = false;
  bool force = false;
  std::string merge_file;
  std::string merge_out;
};

int report(const Diagnostics& errors, const std::string& tail) {
  std::cerr << errors.to_string();
  if (!tail.empty()) std::cerr << tail << "\n";
  return kExitBadInput;
}

std::string default_out(const std::string& file) {
  return "out/sweeps/" + std::filesystem::path(file).stem().string();
}

std::string join(const std::vector<std::string>& files) {
  std::string out;
  for (const auto& f : files) out += (out.empty() ? "" : ", ") + std::filesystem::path(f).filename().string();
  return out;
}

// Loads the plugins the base scenario lists, on this thread; "" or the errors, reported.
bool load_base_plugins(const SweepSpec& sweep, const PolicyRegistry& registry,
                       const std::function<std::string(const std::string&)>& load_plugin) {
  if (!load_plugin) return true;
  LoadOptions options;
  options.load_plugin = load_plugin;
  options.force = true;
  const LoadResult base = load_scenario_file(sweep.base_path, registry, options);
  Diagnostics errors;  // only the plugins' (a base scenario may need the sweep's overrides)
  for (const Diagnostic& d : base.errors.items())
    if (d.path.rfind("plugins", 0) == 0) errors.add(d);
  if (errors.empty()) return true;
  report(errors, "nothing run");
  return false;
}

int run_sweep_command(const SweepArgs& a, const PolicyRegistry& registry,
                      const std::function<std::string(const std::string&)>& load_plugin) {
  if (a.file.empty()) {
    std::cerr << "sweep: a sweep file is required (fleetsim sweep FILE, or fleetsim sweep merge FILE)\n";
    return kExitBadInput;
  }
  SweepLoadResult loaded = load_sweep_file(a.file);
  if (!loaded.sweep) return report(loaded.errors, "bad sweep file, nothing run");
  const SweepSpec& sweep = *loaded.sweep;
  if (!load_base_plugins(sweep, registry, load_plugin)) return kExitBadInput;
  const std::string out = a.out.empty() ? default_out(a.file) : a.out;
  const std::size_t points = sweep_point_count(sweep);
  if (!a.force)
    if (Diagnostics too_many = check_sweep_size(sweep); !too_many.empty()) return report(too_many, "nothing run");

  if (a.emit.empty() && (a.shards || !a.image.empty())) {
    std::cerr << "sweep: --shards and --image go with --emit slurm|k8s\n";
    return kExitBadInput;
  }
  if (!a.emit.empty()) {
    if (!a.shard.empty()) {
      std::cerr << "sweep: --shard and --emit do not go together (--shards N sets the shard count)\n";
      return kExitBadInput;
    }
    const unsigned hw = std::max(1u, std::thread::hardware_concurrency());
    Diagnostics errors = check_sweep_points(sweep, registry, hw, 0, 1, a.force);
    if (!errors.empty()) return report(errors, "the sweep's points do not validate, nothing emitted");
    EmitOptions options;
    options.name = sweep.name;
    if (!a.image.empty()) options.image = a.image;
    options.jobs_per_task = a.jobs == 0 ? 1 : a.jobs;
    const std::size_t shards = a.shards ? a.shards : std::min(points, kMaxArrayTasks);
    std::cout << (a.emit == "slurm" ? emit_slurm(a.file, out, shards, options) : emit_k8s(a.file, out, shards, options));
    return 0;
  }

  std::size_t shard_index = 0, shard_count = 1;
  if (!a.shard.empty()) {
    const std::string error = parse_shard(a.shard, shard_index, shard_count);
    if (!error.empty()) {
      std::cerr << "--shard: " << error << "\n";
      return kExitBadInput;
    }
  }
  const unsigned jobs = a.jobs ? a.jobs : std::max(1u, std::thread::hardware_concurrency());
  SweepRunOptions options;
  options.registry = &registry;
  options.version = FLEETSIM_VERSION;
  options.force = a.force;
  if (!a.quiet)
    options.on_point = [](const SweepProgress& p) {
      std::cout << std::fixed << std::setprecision(3) << "[" << p.done << "/" << p.total << "] " << std::filesystem::path(p.dir).filename().string()
                << (p.ok ? " done in " : " FAILED after ") << p.wall_seconds << " s\n"
                << std::flush;
    };
  SweepReport r = run_sweep(sweep, out, jobs, shard_index, shard_count, options);
  if (!r.errors.empty() && r.ran == 0 && r.failed.empty())
    return report(r.errors, "nothing run");
  const std::string shard = shard_count > 1 ? " (shard " + a.shard + ": " + std::to_string(r.in_shard) + " of them)" : "";
  std::cout << std::fixed << std::setprecision(2) << sweep.name << ": " << r.points << " points" << shard << ", ran " << r.ran << ", skipped " << r.skipped
            << " already done" << (r.failed.empty() ? "" : ", failed " + std::to_string(r.failed.size())) << "; "
            << jobs << (jobs == 1 ? " thread, " : " threads, ") << r.wall_seconds << " s\n";
  if (!r.errors.empty()) {
    std::cerr << r.errors.to_string();
    return r.policy_error ? kExitPolicyError : kExitBadInput;
  }
  if (r.merged) {
    std::cout << "merged table: " << out << "/merged.csv (" << join(r.written) << ")\n";
  } else if (!r.missing.empty()) {
    std::cout << r.missing.size() << " points of other shards still missing; once every shard is done: fleetsim sweep merge "
              << a.file << " --out " << out << "\n";
  }
  return 0;
}

int run_merge_command(const SweepArgs& a) {
  SweepLoadResult loaded = load_sweep_file(a.merge_file);
  if (!loaded.sweep) return report(loaded.errors, "bad sweep file, nothing merged");
  const std::string out = a.merge_out.empty() ? default_out(a.merge_file) : a.merge_out;
  MergeReport r = merge_sweep(*loaded.sweep, out);
  if (!r.errors.empty()) return report(r.errors, "nothing merged");
  std::cout << loaded.sweep->name << ": merged " << r.points << " points: " << out << "/merged.csv (" << join(r.written)
            << ")\n";
  return 0;
}

}  // namespace

void add_sweep_command(CLI::App& app, const PolicyRegistry& registry,
                       std::function<std::string(const std::string& path)> load_plugin, int& exit_code) {
  auto args = std::make_shared<SweepArgs>();
  auto* sweep = app.add_subcommand(
      "sweep", "run a parameter sweep (a grid/zip of scenario overrides and seeds), sharded and resumable");
  sweep->add_option("file", args->file, "sweep YAML file (see scenarios/sweeps/)");
  sweep->add_option("--jobs,-j", args->jobs, "threads (default: hardware concurrency; with --emit: per task, default 1)")
      ->transform(integer_in(1, 4096));
  sweep->add_option("--out,-o", args->out, "output folder (default out/sweeps/<file stem>)");
  sweep->add_option("--shard", args->shard, "run only shard I of N (I/N, 0-based): the points p with p % N == I");
  sweep->add_option("--emit", args->emit, "print a cluster job running the shards instead: slurm or k8s")
      ->check(CLI::IsMember({"slurm", "k8s"}));
  sweep->add_option("--shards", args->shards, "with --emit: number of shards (default: one per point, at most 1000)")
      ->transform(integer_in(1, std::int64_t{1} << 20));
  sweep->add_option("--image", args->image, "with --emit k8s: the container image (default a placeholder, REGISTRY/fleetsim:VERSION)");
  sweep->add_flag("--quiet,-q", args->quiet, "no progress lines");
  sweep->add_flag("--force", args->force,
                  "run even past the work limits: points, requests per point (README \"Limits on work\")");

  auto* merge = sweep->add_subcommand("merge", "rebuild merged.csv etc. from the point folders (after sharded runs)");
  merge->add_option("file", args->merge_file, "sweep YAML file")->required();
  merge->add_option("--out,-o", args->merge_out, "the sweep's output folder (default out/sweeps/<file stem>)");

  merge->callback([args, &exit_code] { exit_code = run_merge_command(*args); });
  sweep->callback([args, merge, &registry, load_plugin, &exit_code] {
    if (merge->parsed()) return;
    exit_code = run_sweep_command(*args, registry, load_plugin);
  });
}

}  // namespace fleetsim
