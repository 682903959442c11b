// A workload's `trace:` given as a mapping names a public format (traces/importers.hpp): the
// loader imports it into the user's own cache folder and replays it from there
// (scenario_loader.cpp's read_workloads calls this).
#pragma once
#include <string>

#include <yaml-cpp/yaml.h>

#include "scenarios/loader/yaml_reader.hpp"

namespace fleetsim {

// The imported native trace's path, or "" after an error in ctx. `base_dir` resolves a relative
// `path:`; `import_cache_dir` "" means default_import_cache_dir(); `force` lifts the work limits.
std::string import_for_scenario(YamlContext& ctx, const YAML::Node& node, const std::string& path,
                                const std::string& base_dir, const std::string& import_cache_dir, bool force);

}  // namespace fleetsim
