#include "cli/real_run_command.hpp"

#include <CLI/CLI.hpp>
#include <yaml-cpp/yaml.h>

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>

#include "cli/numeric_flags.hpp"
#include "cli/runner/run_to_directory.hpp"
#include "policies/registry.hpp"
#include "real/controller/host.hpp"
#include "real/controller/scaling.hpp"
#include "real/controller/worker_backend.hpp"
#include "real/worker/model_backend.hpp"
#include "reports/request_log.hpp"
#include "reports/summary_table.hpp"
#include "scenarios/loader/scenario_loader.hpp"
#include "scenarios/loader/work_limits.hpp"
#include "sim/decision_log.hpp"
#include "sim/units.hpp"

namespace fleetsim {

namespace {

namespace fs = std::filesystem;

constexpr int kExitBadInput = 2;
constexpr int kExitFailed = 1;
constexpr int kExitInterrupted = 130;

std::string decisions_csv(const DecisionLog& log) {
  std::string out = "time_s,decision\n";
  char time[32];
  for (const DecisionLog::Entry& e : log.entries()) {
    std::snprintf(time, sizeof time, "%.9f", to_seconds(e.time));
    out += std::string(time) + "," + e.what + "\n";
  }
  return out;
}

std::string millions(double n) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3gM", n / 1e6);
  return text;
}

RealRunInfo scaling_info(const RealRunArgs& a, const real::ModelScaling& scaling) {
  RealRunInfo info;
  info.mode = a.simulated ? "simulated" : "real";
  info.backend = a.backend;
  info.speedup = a.simulated ? 1 : a.speedup;
  info.token_scale = a.token_scale;
  info.parameter_scale = scaling.factor;
  for (const real::ScaledModel& m : scaling.models)
    info.models.push_back(RealRunInfo::Model{m.name, m.parameters, m.shape.parameters(), m.shape.layers,
                                             m.shape.hidden, m.shape.heads, m.shape.ffn, m.shape.vocab,
                                             m.file_bytes});
  return info;
}

// --kill-worker REPLICA@TIME: one kill_replica fault each, after the scenario's own.
void add_kill_faults(const std::vector<std::string>& kills, Scenario& scenario, Diagnostics& errors) {
  for (const std::string& kill : kills) {
    const auto at = kill.find('@');
    const std::string replica = kill.substr(0, at == std::string::npos ? 0 : at);
    const auto time = parse_duration(at == std::string::npos ? "" : kill.substr(at + 1));
    FaultSpec fault;
    const bool numeric = !replica.empty() && replica.size() <= 7 &&
                         replica.find_first_not_of("0123456789") == std::string::npos;
    if (!numeric || !time || *time.value < 0) {
      errors.add(Diagnostic{"--kill-worker", 0, 0, "",
                            "expected REPLICA@TIME such as 0@20s (a replica number, a time >= 0), got '" + kill + "'"});
      continue;
    }
    fault.replica = static_cast<std::uint32_t>(std::stoul(replica));
    fault.at = *time.value;
    scenario.faults.push_back(fault);
  }
}

}  // namespace

std::string profile_overrides(const std::string& profile_path, const std::string& scenario_path,
                              std::vector<std::string>& overrides) {
  YAML::Node profile, scenario;
  try {
    profile = YAML::LoadFile(profile_path);
  } catch (const YAML::Exception& e) {
    return "profile " + profile_path + ": " + e.what();
  }
  try {
    scenario = YAML::LoadFile(scenario_path);
  } catch (const YAML::Exception&) {
    return "";  // the scenario's loader says what is wrong with it
  }
  const YAML::Node types = profile["gpu_types"];
  if (!types || !types.IsSequence() || types.size() != 1 || !types[0].IsMap() || !types[0]["name"])
    return "profile " + profile_path + ": expected `gpu_types:` with one GPU type (as `fleetsim calibrate` writes)";
  const std::string name = types[0]["name"].as<std::string>();
  const YAML::Node ours = scenario["gpu_types"];
  std::ptrdiff_t index = -1;
  std::string names;
  if (ours && ours.IsSequence()) {
    for (std::size_t i = 0; i < ours.size(); ++i) {
      const std::string n = ours[i].IsMap() && ours[i]["name"] ? ours[i]["name"].as<std::string>() : "";
      names += (i ? ", " : "") + n;
      if (n == name) index = static_cast<std::ptrdiff_t>(i);
    }
    if (index < 0 && ours.size() == 1) index = 0;
  }
  if (index < 0)
    return "profile " + profile_path + ": its GPU type " + name + " is not among the scenario's (" +
           (names.empty() ? "none" : names) + "); calibrate with --name matching one of them";
  for (const auto& field : types[0]) {
    const std::string key = field.first.as<std::string>();
    if (key == "name" || !field.second.IsScalar()) continue;
    overrides.push_back("gpu_types[" + std::to_string(index) + "]." + key + "=" + field.second.as<std::string>());
  }
  if (const YAML::Node perf = profile["performance"]; perf && perf.IsMap())
    for (const auto& field : perf)
      if (field.second.IsScalar())
        overrides.push_back("performance." + field.first.as<std::string>() + "=" + field.second.as<std::string>());
  return "";
}

int run_real(const RealRunArgs& a, const PolicyRegistry& registry,
             const std::function<std::string(const std::string&)>& load_plugin, std::ostream& out) {
  LoadOptions options;
  if (!a.profile.empty()) {
    if (const std::string why = profile_overrides(a.profile, a.scenario, options.overrides); !why.empty()) {
      std::cerr << why << ", nothing written\n";
      return kExitBadInput;
    }
  }
  options.overrides.insert(options.overrides.end(), a.overrides.begin(), a.overrides.end());
  options.load_plugin = load_plugin;
  if (a.seed) options.seed = a.seed;
  options.force = a.force;
  LoadResult loaded = load_scenario_file(a.scenario, registry, options);
  Diagnostics errors = loaded.errors;
  if (loaded.scenario) {
    const Diagnostics too_much = a.force ? Diagnostics{} : check_work(*loaded.scenario);
    const Diagnostics unsupported = real::real_mode_problems(*loaded.scenario);
    for (const Diagnostics* list : {&too_much, &unsupported})
      for (const Diagnostic& d : list->items()) errors.add(d);
  }
  if (loaded.scenario) add_kill_faults(a.kill_workers, *loaded.scenario, errors);
  if (!errors.empty()) {
    std::cerr << errors.to_string() << errors.size() << (errors.size() == 1 ? " error" : " errors")
              << ", nothing written\n";
    return kExitBadInput;
  }
  const Scenario& scenario = *loaded.scenario;
  if (!a.simulated && a.backend != "cpu") {
    // Asked of this process before any worker starts: a machine without the backend (no GPU, no
    // cuda module) is refused up front, not by every worker's load.
    const real::ModelShape probe{1, 64, 4, 128, 256};
    std::string why;
    if (!real::make_backend(a.backend, probe, std::vector<float>(probe.parameters()), why)) {
      std::cerr << "--backend " << a.backend << ": " << why << ", nothing written\n";
      return kExitBadInput;
    }
  }
  const std::string out_dir = a.out.empty() ? "out/" + scenario.name + (a.simulated ? "-simulated" : "-real") : a.out;
  const real::ModelScaling scaling = real::scale_models(scenario, a.max_parameters);
  const real::HostInfo host = real::describe_host();

  // The workers' files: the model store and the nodes' cache folders, in a folder of the run's
  // own under the output folder, removed at the end (--keep-files keeps it).
  std::error_code ec;
  const fs::path work = fs::path(out_dir) / (".real-files-" + std::to_string(::getpid()));
  std::unique_ptr<real::WorkerBackend> backend;
  if (!a.simulated) {
    fs::create_directories(work, ec);
    if (ec) {
      std::cerr << out_dir << ": cannot write here (" << ec.message() << "), nothing written\n";
      return kExitBadInput;
    }
    real::WorkerBackendOptions wo;
    wo.work_dir = fs::absolute(work).string();
    wo.speedup = a.speedup;
    wo.cores = host.cores;
    wo.model_backend = a.backend;
    wo.plugins = registry.plugins();
    backend = std::make_unique<real::WorkerBackend>(scenario, scaling, wo);
    if (!a.quiet) {
      std::cerr << "real mode: writing " << scaling.models.size() << " model file"
                << (scaling.models.size() == 1 ? "" : "s") << " (";
      for (std::size_t i = 0; i < scaling.models.size(); ++i)
        std::cerr << (i ? ", " : "") << scaling.models[i].name << " " << millions(static_cast<double>(scaling.models[i].shape.parameters()))
                  << " parameters";
      std::cerr << ")" << std::endl;
    }
    if (const std::string why = backend->prepare(); !why.empty()) {
      backend.reset();
      fs::remove_all(work, ec);
      std::cerr << "real mode: " << why << ", nothing written\n";
      return kExitBadInput;
    }
  }

  DecisionLog decisions(scenario);
  RequestLog requests(scenario);
  RunOptions run;
  run.metrics_port = a.metrics_port;
  run.progress = a.progress;
  run.log = a.quiet ? nullptr : &std::cerr;
  run.address = &std::cerr;
  run.handles_interrupts = backend != nullptr;
  run.prepare = [&](SimulationSetup& setup) {
    real::scale_tokens(setup, a.token_scale);
    setup.backend = backend.get();
  };
  run.observers.push_back(&decisions);
  run.observers.push_back(&requests);
  run.extra_files.emplace_back("decisions.csv", [&] { return decisions_csv(decisions); });
  run.extra_files.emplace_back("requests.csv", [&] { return requests.csv(); });
  double wall = 0;
  run.real_info = [&] {
    RealRunInfo info = scaling_info(a, scaling);
    if (!backend) return info;
    backend->shutdown();  // every worker stopped before the results are written
    const real::WorkerFacts& f = backend->facts();
    info.host_cpu = host.cpu;
    info.host_kernel = host.kernel;
    info.host_cores = host.cores;
    info.host_memory_bytes = host.memory_bytes;
    info.workers_spawned = f.spawned;
    info.peak_workers = f.peak_live;
    info.peak_computing = f.peak_computing;
    info.contended_seconds = f.contended_seconds;
    info.loads = f.loads;
    info.fetched_bytes = f.fetched_bytes;
    info.read_bytes = f.read_bytes;
    info.direct_io = f.direct_io;
    info.fetch_seconds = f.fetch_seconds;
    info.read_seconds = f.read_seconds;
    info.prefill_steps = f.prefill_steps;
    info.decode_steps = f.decode_steps;
    info.cache_files_written = f.files_written;
    info.cache_files_deleted = f.files_deleted;
    info.wall_seconds = wall;
    return info;
  };
  if (!a.quiet && backend)
    std::cerr << "real mode: running " << scenario.name << " (" << format_duration(scenario.duration)
              << " of scenario time at speedup " << a.speedup << ") on " << host.cores << " cores" << std::endl;
  const auto started = std::chrono::steady_clock::now();
  // (wall is read by real_info, which runs after the run and before the files are written)
  struct WallClock final : SimObserver {
    double* wall;
    std::chrono::steady_clock::time_point started;
    void on_run_end(SimTime) override {
      *wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    }
  } wall_clock;
  wall_clock.wall = &wall;
  wall_clock.started = started;
  run.observers.push_back(&wall_clock);
  RunReport outcome = run_to_directory(scenario, registry, out_dir, FLEETSIM_VERSION, run);
  real::WorkerFacts facts;
  if (backend) {
    backend->shutdown();
    facts = backend->facts();
    backend.reset();
  }
  if (!a.keep_files) fs::remove_all(work, ec);
  if (outcome.failure != RunFailure::None) {
    std::cerr << outcome.errors.to_string() << "run stopped, nothing written\n";
    return outcome.failure == RunFailure::PolicyError ? kExitFailed : kExitBadInput;
  }
  const RunStatus& status = outcome.status;
  if (!a.quiet) {
    warn_after_duration(scenario, status, std::cerr);
    out << summary_table(scenario, outcome.metrics, status);
    out << (a.simulated ? "simulated" : "real") << " mode: token scale " << a.token_scale
              << ", models scaled by " << scaling.factor;
    for (const real::ScaledModel& m : scaling.models)
      out << "; " << m.name << " " << m.shape.layers << " x " << m.shape.hidden << " ("
                << millions(static_cast<double>(m.shape.parameters())) << " parameters)";
    out << "\n";
    if (!a.simulated)
      out << "workers: " << facts.spawned << " started, at most " << facts.peak_live << " at once, "
                << facts.peak_computing << " computing at once on " << host.cores << " cores; speedup " << a.speedup
                << "\n";
  }
  if (!a.simulated && facts.contended_seconds > 0)
    std::cerr << "warning: more workers computed at once than there are cores, for " << facts.contended_seconds
              << " s of the run: their timings include that contention (result.json real.workers)\n";
  if (status.partial)
    std::cerr << "PARTIAL: " << status.stop_reason
              << "; requests still in flight were cut off (result.json run.partial)\n";
  if (!a.quiet) out << "wall " << outcome.wall_seconds << " s; wrote " << outcome.result_path << "\n";
  if (status.partial) return status.stop_reason.rfind("interrupted", 0) == 0 ? kExitInterrupted : kExitFailed;
  return 0;
}

void add_real_run_options(CLI::App& cmd, RealRunArgs& a) {
  cmd.add_option("scenario", a.scenario, "scenario YAML file")->required();
  cmd.add_option("--backend", a.backend, "what the workers compute with: cpu (default) or cuda (a GPU)")
      ->check(CLI::IsMember({"cpu", "cuda"}));
  cmd.add_option("--profile", a.profile,
                 "a `fleetsim calibrate` profile: its GPU type and performance figures replace the scenario's");
  cmd.add_option("--speedup", a.speedup,
                 "scenario time runs K times the wall clock: gaps, windows and timeouts take 1/K, measured "
                 "durations count K times (default 1)")
      ->transform(number_in(0.001, 1000));
  cmd.add_option("--token-scale", a.token_scale,
                 "divide every request's prompt and output tokens by F (rounded, at least 1; default 1)")
      ->transform(number_in(1, 1e6));
  cmd.add_option("--max-parameters", a.max_parameters,
                 "the largest model's worker size; the others keep their ratio to it (default 2.5e7)")
      ->transform(number_in(1e5, 1e10));
  cmd.add_option("--seed", a.seed, "replace the scenario's seed")->transform(integer_in(0, kMaxSeed));
  cmd.add_option("--set", a.overrides, "override a scenario value: path.to.key=value (repeatable)");
  cmd.add_flag("--force", a.force, "run even when the estimated work exceeds the limits");
  cmd.add_flag("--quiet,-q", a.quiet, "print nothing but errors");
}

void add_real_run_command(CLI::App& app, const PolicyRegistry& registry,
                          std::function<std::string(const std::string& path)> load_plugin, int& exit_code) {
  auto a = std::make_shared<RealRunArgs>();
  auto* cmd = app.add_subcommand(
      "real", "run a scenario's policies against real worker processes on the wall clock");
  add_real_run_options(*cmd, *a);
  cmd->add_option("--out", a->out, "directory for the results (default out/<scenario name>-real)");
  cmd->add_option("--kill-worker", a->kill_workers,
                  "kill replica N's worker (SIGKILL) at scenario time T, as a faults: kill_replica entry: N@T, "
                  "e.g. 0@20s (repeatable)");
  cmd->add_flag("--simulated", a->simulated,
                "run the same prepared scenario (scaled tokens) on the simulator instead: the other side of a comparison");
  cmd->add_option("--metrics-port", a->metrics_port,
                  "serve live metrics at http://127.0.0.1:PORT/metrics during the run (0: any free port)")
      ->transform(integer_in(0, 65535));
  auto* progress = cmd->add_flag("--progress,!--no-progress", a->progress,
                                 "live progress on stderr for runs over 2 s (default: on unless --quiet)");
  cmd->add_flag("--keep-files", a->keep_files, "keep the model store and node cache folders (under --out)");
  cmd->callback([a, progress, &registry, load_plugin, &exit_code] {
    if (!*progress) a->progress = !a->quiet;
    exit_code = run_real(*a, registry, load_plugin, std::cout);
  });
}

}  // namespace fleetsim
