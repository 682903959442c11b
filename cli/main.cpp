// fleetsim: the command line. Subcommands run, validate and policies live here, the others in
// one *_command.cpp each. Exit codes: 0 success, 2 bad input (scenario, override, trace), 1 a
// policy broke its contract during the run, 3 an unexpected failure (out of memory, an exception
// nothing else caught).
#include <CLI/CLI.hpp>

#include <iostream>
#include <new>

#include "reports/summary_table.hpp"
#include "scenarios/loader/scenario_loader.hpp"
#include "scenarios/loader/work_limits.hpp"
#include "cli/bench_command.hpp"
#include "cli/check_policy_command.hpp"
#include "cli/runner/huge_pages.hpp"
#include "cli/new_policy_command.hpp"
#include "cli/jobs_command.hpp"
#include "cli/numeric_flags.hpp"
#include "cli/real_commands.hpp"
#include "cli/real_run_command.hpp"
#include "cli/validate_real_command.hpp"
#include "cli/saturation_command.hpp"
#include "cli/report_command.hpp"
#include "cli/store_command.hpp"
#include "cli/sweep_command.hpp"
#include "cli/trace_command.hpp"
#include "cli/runner/run_to_directory.hpp"
#include "policies/plugins.hpp"
#include "sim/units.hpp"

namespace {

using namespace fleetsim;

constexpr int kExitBadInput = 2;
constexpr int kExitPolicyError = 1;
constexpr int kExitInternalError = 3;

int report_errors(const Diagnostics& errors) {
  std::cerr << errors.to_string();
  std::cerr << errors.size() << (errors.size() == 1 ? " error" : " errors") << ", nothing written\n";
  return kExitBadInput;
}

// --metrics-hold: a number of seconds or a duration with its unit; never negative.
bool parse_hold(const std::string& text, double& seconds) {
  if (auto d = parse_duration(text); d && *d.value >= 0) {
    seconds = to_seconds(*d.value);
    return true;
  }
  try {
    std::size_t used = 0;
    const double v = std::stod(text, &used);
    if (used != text.size() || !(v >= 0) || v > 1e7) return false;
    seconds = v;
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

std::string param_default(const ParamSpec& p) { return p.default_value; }

const char* type_name(ParamType t) {
  switch (t) {
    case ParamType::Number: return "number";
    case ParamType::Integer: return "integer";
    case ParamType::Duration: return "duration";
    case ParamType::Bool: return "bool";
    case ParamType::String: return "string";
    case ParamType::ModelList: return "model names";
    case ParamType::PoolList: return "pool names";
  }
  return "?";
}

// The values of every --plugin option (`--plugin PATH` or `--plugin=PATH`), wherever it stands.
std::vector<std::string> plugin_arguments(int argc, char** argv) {
  std::vector<std::string> out;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--") break;
    if (arg == "--plugin" && i + 1 < argc) out.push_back(argv[++i]);
    else if (arg.rfind("--plugin=", 0) == 0) out.push_back(arg.substr(9));
  }
  return out;
}

int list_policies(const PolicyRegistry& registry) {
  for (PolicyFamily family : {PolicyFamily::Placement, PolicyFamily::Autoscaler, PolicyFamily::Router,
                              PolicyFamily::Batching, PolicyFamily::Cache, PolicyFamily::Queue}) {
    std::cout << family_name(family) << ":\n";
    for (const PolicyInfo& p : registry.all()) {
      if (p.family != family) continue;
      std::cout << "  " << p.name << " — " << p.description
                << (p.origin != "built-in" && !p.origin.empty() ? " [plugin " + p.origin + "]" : "") << "\n";
      for (const ParamSpec& s : p.params)
        std::cout << "      " << s.name << " (" << type_name(s.type) << ", default " << param_default(s)
                  << "): " << s.help << "\n";
    }
  }
  return 0;
}

}  // namespace

static int run_command_line(int argc, char** argv) {
  CLI::App app{"fleetsim — cluster GPU scheduler and autoscaler simulator"};
  app.set_version_flag("--version", std::string("fleetsim ") + FLEETSIM_VERSION);
  app.require_subcommand(1);
  // The one policy registry of the program: built here, handed to every command. Plugins named
  // with --plugin (any command that uses policies) are loaded into it before the command line is
  // parsed, because the commands run while it is parsed; a scenario's `plugins:` list is loaded
  // into it by the scenario loader (run, validate).
  PolicyRegistry registry = builtin_policies();
  for (const std::string& path : plugin_arguments(argc, argv))
    if (const std::string why = load_plugin(registry, path); !why.empty()) {
      std::cerr << why << "\n";
      return kExitBadInput;
    }
  const auto scenario_plugins = [&registry](const std::string& path) { return load_plugin(registry, path); };

  std::string scenario_path = FLEETSIM_DEFAULT_SCENARIO;
  std::string out_dir;
  std::vector<std::string> overrides;
  std::uint64_t seed = 0;
  bool quiet = false;
  bool force = false;

  auto* run = app.add_subcommand("run", "run a scenario (the default scenario when none is given)");
  run->add_option("scenario", scenario_path, "scenario YAML file");
  auto* seed_opt = run->add_option("--seed", seed, "replace the scenario's seed")->transform(integer_in(0, kMaxSeed));
  run->add_option("--out", out_dir, "directory for result.json (default out/<scenario name>)");
  run->add_option("--set", overrides, "override a scenario value: path.to.key=value (repeatable)");
  run->add_flag("--quiet,-q", quiet, "print nothing but errors");
  run->add_flag("--force", force, "run even when the estimated work exceeds the limits (README \"Limits on work\")");
  RunOptions run_options;
  auto* progress_opt = run->add_flag("--progress,!--no-progress", run_options.progress,
                                     "live progress on stderr for runs over 2 s (default: on unless --quiet)");
  auto* port_opt = run->add_option("--metrics-port", run_options.metrics_port,
                  "serve live metrics at http://127.0.0.1:PORT/metrics during the run (0: any free port)")
      ->transform(integer_in(0, 65535));
  std::string metrics_hold;
  run->add_option("--metrics-hold", metrics_hold,
                  "keep serving the metrics this long after the run (seconds, or 30s, 2min; default 0)")
      ->needs(port_opt);
  auto* timeline_opt = run->add_option("--timeline", run_options.timeline_path,
                                       "also write the run as a Chrome trace-event file (open it in ui.perfetto.dev)");
  run->add_option("--timeline-sample", run_options.timeline.request_sample,
                  "draw every Nth request on the timeline (1: all, 0: none; default 100)")
      ->transform(integer_in(0, kMaxSeed))
      ->needs(timeline_opt);
  std::string timeline_limit;
  run->add_option("--timeline-limit", timeline_limit,
                  "stop drawing batch steps and requests once the timeline file is this big (default 100MB)")
      ->needs(timeline_opt);

  std::string validate_path;
  std::vector<std::string> validate_overrides;
  auto* validate = app.add_subcommand("validate", "check a scenario (and its traces) without running it");
  validate->add_option("scenario", validate_path, "scenario YAML file")->required();
  validate->add_option("--set", validate_overrides, "override a scenario value: path.to.key=value");
  bool validate_force = false;
  validate->add_flag("--force", validate_force, "accept work beyond the limits (README \"Limits on work\")");

  auto* policies = app.add_subcommand("policies", "list every registered policy with its parameters");

  int trace_exit = 0;
  add_trace_command(app, trace_exit);
  int sweep_exit = 0;
  add_sweep_command(app, registry, scenario_plugins, sweep_exit);
  int report_exit = 0;
  add_report_commands(app, report_exit);
  int bench_exit = 0;
  add_bench_command(app, registry, bench_exit);
  int jobs_exit = 0;
  add_jobs_command(app, registry, jobs_exit);
  int saturation_exit = 0;
  add_saturation_command(app, registry, saturation_exit);
  int check_exit = 0;
  add_check_policy_command(app, registry, check_exit);
  int new_policy_exit = 0;
  add_new_policy_command(app, new_policy_exit);
  int real_exit = 0;
  add_real_commands(app, registry, real_exit);
  int store_exit = 0;
  add_store_command(app, store_exit);
  int real_run_exit = 0;
  add_real_run_command(app, registry, scenario_plugins, real_run_exit);
  add_validate_real_command(app, registry, scenario_plugins, real_run_exit);
  std::vector<std::string> plugin_paths;  // already loaded above; declared so that help lists it
  for (const char* name : {"run", "validate", "policies", "sweep", "jobs", "saturation", "worker", "real", "validate-real"})
    app.get_subcommand(name)->add_option("--plugin", plugin_paths,
                                         "load a policy plugin (a shared library built against the SDK, "
                                         "or a Python policy .py; repeatable)");
  // CLI11 would say only "A subcommand is required" for a misspelt command.
  if (argc > 1 && argv[1][0] != '-') {
    std::string names;
    bool known = false;
    for (const CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) {
      known = known || sub->get_name() == argv[1];
      names += (names.empty() ? "" : ", ") + sub->get_name();
    }
    if (!known) {
      std::cerr << "unknown command \"" << argv[1] << "\" (commands: " << names << ")\n"
                << "Run with --help for more information.\n";
      return kExitBadInput;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version are "successes"; every usage error is bad input (exit 2).
    const int code = app.exit(e);
    return code == 0 ? 0 : kExitBadInput;
  }
  if (app.got_subcommand("trace")) return trace_exit;
  if (app.got_subcommand("sweep")) return sweep_exit;
  if (app.got_subcommand("report") || app.got_subcommand("compare")) return report_exit;
  if (app.got_subcommand("bench")) return bench_exit;
  if (app.got_subcommand("jobs")) return jobs_exit;
  if (app.got_subcommand("saturation")) return saturation_exit;
  if (app.got_subcommand("check-policy")) return check_exit;
  if (app.got_subcommand("new-policy")) return new_policy_exit;
  if (app.got_subcommand("make-model") || app.got_subcommand("worker") || app.got_subcommand("calibrate"))
    return real_exit;
  if (app.got_subcommand("store")) return store_exit;
  if (app.got_subcommand("real") || app.got_subcommand("validate-real")) return real_run_exit;

  if (policies->parsed()) return list_policies(registry);

  if (validate->parsed()) {
    LoadOptions options;
    options.overrides = validate_overrides;
    options.load_plugin = scenario_plugins;
    options.force = validate_force;
    LoadResult loaded = load_scenario_file(validate_path, registry, options);
    if (!loaded.scenario) return report_errors(loaded.errors);
    if (!validate_force)
      if (Diagnostics too_much = check_work(*loaded.scenario); !too_much.empty()) return report_errors(too_much);
    Diagnostics trace_errors = check_traces(*loaded.scenario);
    if (!trace_errors.empty()) return report_errors(trace_errors);
    std::cout << validate_path << ": ok (" << loaded.scenario->models.size() << " models, "
              << loaded.scenario->workloads.size() << " workloads)\n";
    return 0;
  }

  LoadOptions options;
  options.overrides = overrides;
  options.load_plugin = scenario_plugins;
  if (*seed_opt) options.seed = seed;
  options.force = force;
  LoadResult loaded = load_scenario_file(scenario_path, registry, options);
  if (!loaded.scenario) return report_errors(loaded.errors);
  const Scenario& scenario = *loaded.scenario;
  if (!force)
    if (Diagnostics too_much = check_work(scenario); !too_much.empty()) return report_errors(too_much);

  if (out_dir.empty()) out_dir = "out/" + scenario.name;
  if (!*progress_opt) run_options.progress = !quiet;
  if (!metrics_hold.empty() && !parse_hold(metrics_hold, run_options.metrics_hold_s)) {
    std::cerr << "--metrics-hold: expected seconds or a duration such as 30s or 2min, got '" << metrics_hold << "'\n";
    return kExitBadInput;
  }
  if (!timeline_limit.empty()) {
    auto size = parse_size(timeline_limit);
    if (!size || *size.value < 0 || *size.value > 1e15) {
      std::cerr << "--timeline-limit: expected a size such as 100MB or 2GiB, got '" << timeline_limit << "'\n";
      return kExitBadInput;
    }
    run_options.timeline.detail_limit_bytes = static_cast<std::uint64_t>(*size.value);
  }
  if (!quiet) run_options.log = &std::cerr;
  run_options.address = &std::cerr;  // the metrics address, even with --quiet (README)
  RunReport outcome = run_to_directory(scenario, registry, out_dir, FLEETSIM_VERSION, run_options);
  if (outcome.failure != RunFailure::None) {
    std::cerr << outcome.errors.to_string() << "run stopped, nothing written\n";
    return outcome.failure == RunFailure::PolicyError ? kExitPolicyError : kExitBadInput;
  }
  const RunStatus& status = outcome.status;
  if (!quiet) warn_after_duration(scenario, status, std::cerr);
  const double wall = outcome.wall_seconds;
  const std::string& result_path = outcome.result_path;
  if (!quiet) {
    std::cout << summary_table(scenario, outcome.metrics, status);
    std::cout << "wall " << wall << " s (" << static_cast<double>(status.events) / wall << " events/s, "
              << static_cast<double>(status.requests) / wall << " requests/s); wrote " << result_path
              << "\n";
  }
  return 0;
}

// Every problem is meant to come back as a value (Diagnostics) and leave through the exit codes
// above; an exception that still escapes (an allocation that cannot succeed, a bug) becomes a
// message and exit code 3 rather than std::terminate's abort.
int main(int argc, char** argv) {
  prefer_huge_pages();  // (cli/runner/huge_pages.hpp)
  try {
    return run_command_line(argc, argv);
  } catch (const PolicyCreationError& e) {
    std::cerr << "fleetsim: " << e.what() << "\n";
    return kExitPolicyError;  // as for a policy's exception during the run
  } catch (const std::bad_alloc&) {
    std::cerr << "fleetsim: out of memory (an input asks for more than this machine has)\n";
  } catch (const std::exception& e) {
    std::cerr << "fleetsim: internal error: " << e.what() << "\n";
  } catch (...) {
    std::cerr << "fleetsim: internal error (an unknown exception)\n";
  }
  return kExitInternalError;
}
