#include "cli/validate_real_command.hpp"

#include <CLI/CLI.hpp>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

#include "cli/numeric_flags.hpp"
#include "cli/real_run_command.hpp"
#include "real/calibration/calibrate.hpp"
#include "real/controller/scaling.hpp"
#include "reports/validation.hpp"
#include "scenarios/loader/scenario_loader.hpp"

namespace fleetsim {

namespace {

namespace fs = std::filesystem;

constexpr int kExitBadInput = 2;

struct ValidateArgs {
  RealRunArgs run;
  std::string vary;  // KEY=V1,V2,...
  bool calibrate = false;
  int repetitions = 3;
};

std::string rate(double bytes_per_s) {
  char s[48];
  std::snprintf(s, sizeof s, "%.6gGB/s", bytes_per_s / 1e9);
  return s;
}

// --calibrate: `fleetsim calibrate` on the scenario's largest worker model, into DIR/profile.yaml,
// and the scenario's figures it replaces as --set overrides (before the command line's): the
// profile's GPU type and performance, every pool's network_bandwidth (a store load: fetch + read
// + copy) and disk_read_bandwidth (a disk load: read + copy), every model's startup_time (a
// worker process's start). "" or why not.
std::string calibrate_for(const ValidateArgs& a, const std::string& dir, const PolicyRegistry& registry,
                          const std::function<std::string(const std::string&)>& load_plugin,
                          std::vector<std::string>& overrides) {
  LoadOptions options;
  options.overrides = a.run.overrides;
  options.load_plugin = load_plugin;
  options.force = a.run.force;
  const LoadResult loaded = load_scenario_file(a.run.scenario, registry, options);
  if (!loaded.scenario) return loaded.errors.to_string() + "the scenario did not load";
  const Scenario& scenario = *loaded.scenario;
  const real::ModelScaling scaling = real::scale_models(scenario, a.run.max_parameters);
  if (scaling.models.empty()) return "the scenario has no model to calibrate on";
  const real::ScaledModel* largest = &scaling.models[0];
  for (const real::ScaledModel& m : scaling.models)
    if (m.shape.parameters() > largest->shape.parameters()) largest = &m;
  fs::create_directories(dir);
  real::CalibrateOptions o;
  o.backend = a.run.backend;
  o.repetitions = a.repetitions;
  o.work_dir = fs::absolute(dir).string();
  // Each model's worker measured on its own shape (largest first: its figures make the profile),
  // its steps one model's rows of DIR/steps.csv.
  std::vector<const real::ScaledModel*> order{largest};
  for (const real::ScaledModel& m : scaling.models)
    if (&m != largest) order.push_back(&m);
  std::string steps;
  real::Calibration c;
  for (const real::ScaledModel* m : order) {
    o.shape = m->shape;
    if (!a.run.quiet)
      std::cerr << "validate-real: calibrating on " << m->name << "'s worker model (" << o.shape.layers << " x "
                << o.shape.hidden << ", " << o.shape.parameters() << " parameters)" << std::endl;
    const real::Calibration measured = real::calibrate(o);
    if (!measured.error.empty()) return "calibrate: " + measured.error;
    if (!a.run.quiet) std::cerr << real::calibration_table(measured);
    steps += real::step_table_rows(measured, m->name, "calibrated", steps.empty());
    if (m == largest) c = measured;
  }
  const std::string profile = (fs::path(dir) / "profile.yaml").string();
  std::ofstream(profile) << real::profile_yaml(c, o, "calibrated");
  const std::string table = fs::absolute(fs::path(dir) / "steps.csv").string();
  std::ofstream(table) << steps;
  if (std::string why = profile_overrides(profile, a.run.scenario, overrides); !why.empty()) return why;
  for (std::size_t i = 0; i < scenario.pools.size(); ++i) {
    const std::string pool = "cluster.pools[" + std::to_string(i) + "].";
    overrides.push_back(pool + "network_bandwidth=" + rate(c.store_load_bandwidth()));
    overrides.push_back(pool + "disk_read_bandwidth=" + rate(c.disk_load_bandwidth()));
  }
  char start[48];
  std::snprintf(start, sizeof start, "%.6gms", c.process_start_s * 1e3);
  for (std::size_t i = 0; i < scenario.models.size(); ++i) {
    const std::string model = "models[" + std::to_string(i) + "].";
    overrides.push_back(model + "startup_time=" + start);
    // Its own measured steps (the measured-table model) in place of the analytical fit.
    overrides.push_back(model + "performance_table.file=" + table);
    overrides.push_back(model + "performance_table.model=" + scenario.models[i].name);
    for (const GpuType& g : scenario.gpu_types)
      overrides.push_back(model + "performance_table.gpus." + g.name + "=calibrated");
  }
  return "";
}

// A folder name for a key's value: letters, digits, '-', '_' and '.' kept, the rest '_'.
std::string folder_name(const std::string& value) {
  std::string out;
  for (char c : value) out += (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.') ? c : '_';
  return out.empty() || out[0] == '.' ? "_" + out : out;
}

// Both modes of one configuration into dir/simulated and dir/real; 0 or the failing exit code.
int run_pair(RealRunArgs args, const std::string& dir, const PolicyRegistry& registry,
             const std::function<std::string(const std::string&)>& load_plugin) {
  for (const bool simulated : {true, false}) {
    args.simulated = simulated;
    args.out = (fs::path(dir) / (simulated ? "simulated" : "real")).string();
    if (!args.quiet) std::cerr << "validate-real: " << (simulated ? "simulated" : "real") << " run into " << args.out << std::endl;
    std::ostringstream summary;  // the runs' own tables are not repeated: the comparison follows
    if (const int code = run_real(args, registry, load_plugin, summary); code != 0) return code;
  }
  return 0;
}

int validate_real(const ValidateArgs& a, const PolicyRegistry& registry,
                  const std::function<std::string(const std::string&)>& load_plugin) {
  const std::string dir =
      a.run.out.empty() ? "out/" + fs::path(a.run.scenario).stem().string() + "-validation" : a.run.out;
  std::string key;
  std::vector<std::string> values;
  if (!a.vary.empty()) {
    const std::size_t eq = a.vary.find('=');
    key = eq == std::string::npos ? "" : a.vary.substr(0, eq);
    if (eq != std::string::npos) {
      std::stringstream list(a.vary.substr(eq + 1));
      for (std::string v; std::getline(list, v, ',');)
        if (!v.empty()) values.push_back(v);
    }
    if (key.empty() || values.size() < 2) {
      std::cerr << "--vary: expected KEY=V1,V2[,...] with at least two values, got \"" << a.vary << "\"\n";
      return kExitBadInput;
    }
  }
  RealRunArgs base = a.run;
  if (a.calibrate) {
    std::vector<std::string> calibrated;
    if (const std::string why = calibrate_for(a, dir, registry, load_plugin, calibrated); !why.empty()) {
      std::cerr << "--calibrate: " << why << ", nothing compared\n";
      return kExitBadInput;
    }
    calibrated.insert(calibrated.end(), base.overrides.begin(), base.overrides.end());
    base.overrides = std::move(calibrated);
    base.profile.clear();
  }
  std::vector<std::pair<std::string, Validation>> runs;
  PolicyRanking ranking;
  ranking.key = key;
  Diagnostics errors;
  auto one = [&](const std::string& label, RealRunArgs args, const std::string& sub) -> int {
    if (const int code = run_pair(args, sub, registry, load_plugin); code != 0) return code;
    auto v = validate_runs((fs::path(sub) / "simulated").string(), (fs::path(sub) / "real").string(), errors);
    if (!v) return kExitBadInput;
    runs.emplace_back(label, std::move(*v));
    return 0;
  };
  auto fail = [&](int code) {
    if (!errors.empty()) std::cerr << errors.to_string() << "the runs' files could not be read back, nothing compared\n";
    return code;
  };
  if (values.empty()) {
    if (const int code = one("", base, dir); code != 0) return fail(code);
  } else {
    for (const std::string& value : values) {
      RealRunArgs args = base;
      args.overrides.push_back(key + "=" + value);
      const std::string sub = (fs::path(dir) / folder_name(value)).string();
      if (const int code = one(key + "=" + value, args, sub); code != 0) return fail(code);
      const Validation& v = runs.back().second;
      ranking.entries.push_back(RankingEntry{value, mean_e2e_completed(v.simulated_dir, errors),
                                             mean_e2e_completed(v.real_dir, errors)});
    }
    rank(ranking);
  }
  std::vector<PolicyRanking> rankings;
  if (!ranking.entries.empty()) rankings.push_back(ranking);
  const fs::path json = fs::path(dir) / "validation.json";
  std::ofstream(json) << validation_json(runs, rankings);
  if (!a.run.quiet) {
    for (const auto& [label, v] : runs) {
      std::cout << (label.empty() ? a.run.scenario : a.run.scenario + " with " + label) << ": simulated vs real\n";
      std::cout << validation_table(v);
    }
    for (const PolicyRanking& r : rankings) std::cout << ranking_table(r);
    std::cout << "wrote " << json.string() << "\n";
  }
  return 0;
}

}  // namespace

void add_validate_real_command(CLI::App& app, const PolicyRegistry& registry,
                               std::function<std::string(const std::string& path)> load_plugin, int& exit_code) {
  auto a = std::make_shared<ValidateArgs>();
  auto* cmd = app.add_subcommand(
      "validate-real", "run a scenario on the simulator and on real workers and report the simulator's error");
  add_real_run_options(*cmd, a->run);
  cmd->add_option("--out", a->run.out,
                  "directory for both runs and validation.json (default out/<scenario file name>-validation)");
  cmd->add_option("--vary", a->vary,
                  "KEY=V1,V2,...: validate each value of one scenario key (e.g. policies.router.impl) and compare "
                  "how the two modes rank them");
  cmd->add_flag("--calibrate", a->calibrate,
                "calibrate this machine first, on each model's worker shape (DIR/profile.yaml, DIR/steps.csv), and "
                "give the scenario its GPU figures, measured step tables, load rates and process start");
  cmd->add_option("--repetitions", a->repetitions, "--calibrate: each figure the median of this many (default 3)")
      ->transform(integer_in(1, 100));
  cmd->callback([a, &registry, load_plugin, &exit_code] { exit_code = validate_real(*a, registry, load_plugin); });
}

}  // namespace fleetsim
