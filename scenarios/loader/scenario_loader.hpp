// Loading a scenario file: YAML -> --set overrides -> strict validation -> a resolved Scenario.
// Every problem is collected (unknown keys with a suggestion, wrong types, bad units, missing
// references, replicas that fit no node) with file, line, column and key path; nothing is
// guessed. The format is documented in README.md ("The scenario file").
#pragma once
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "policies/registry.hpp"
#include "sim/diagnostics.hpp"
#include "sim/scenario.hpp"

namespace fleetsim {

struct LoadOptions {
  std::vector<std::string> overrides;  // "path.to.key=value"; lists by index: models[0].name
  std::optional<std::uint64_t> seed;   // replaces the file's seed
  // Where a workload's `trace: {path, format, ...}` is imported to and cached; "" for
  // default_import_cache_dir(). Created owner-only (0700). (Initialised so that the callers'
  // aggregate initialisations of the fields above need not name it.)
  std::string import_cache_dir{};
  // Loads a plugin named by the scenario's `plugins:` into the registry the scenario is loaded
  // against (the command line passes one: policies/plugins.hpp); returns "" or why not. Without
  // it, every plugin the scenario names must be loaded already.
  std::function<std::string(const std::string& path)> load_plugin{};
  // Lifts the work limits (README "Limits on work"): a trace import the scenario names may
  // write more than kMaxImportRows rows.
  bool force{false};
};

struct LoadResult {
  std::optional<Scenario> scenario;  // set when there were no errors
  Diagnostics errors;
};

LoadResult load_scenario_file(const std::string& path, const PolicyRegistry& registry,
                              const LoadOptions& options = {});
// `source_name` stands for the file in diagnostics; relative trace paths resolve against
// `base_dir`.
LoadResult load_scenario_text(const std::string& yaml, const std::string& source_name,
                              const std::string& base_dir, const PolicyRegistry& registry,
                              const LoadOptions& options = {});

// The per-user cache of imported traces: $XDG_CACHE_HOME/fleetsim/imports (when XDG_CACHE_HOME
// is an absolute path), else $HOME/.cache/fleetsim/imports; "" when neither is set.
std::string default_import_cache_dir();

// A policy choice from command-line KEY=VALUE strings (`fleetsim jobs --policy-param`), checked
// as a scenario file's policy section is: an unknown key (with a suggestion), a wrong type or a
// value out of range is an error naming `flag` and the key. Errors go to `errors`.
PolicyChoice policy_from_key_values(PolicyFamily family, const std::string& impl,
                                    const std::vector<std::string>& key_values, const PolicyRegistry& registry,
                                    const std::string& flag, Diagnostics& errors);

// Checks every row of the scenario's trace files (the run itself streams them).
Diagnostics check_traces(const Scenario& scenario);

}  // namespace fleetsim
