// Readers the scenario's sections share (scenario_loader.cpp): a `--set path=value` override
// applied to the YAML tree, a distribution (token counts or durations), and a policy choice
// with its parameters checked against the registry.
#pragma once
#include <string>

#include <yaml-cpp/yaml.h>

#include "policies/registry.hpp"
#include "scenarios/loader/yaml_reader.hpp"
#include "sim/diagnostics.hpp"
#include "sim/scenario.hpp"

namespace fleetsim {

// Applies "a.b[2].c=value" to the tree. Missing map keys are created (so optional keys can be
// set); list indices must exist. The value is parsed as YAML, so numbers, strings and lists work.
void apply_override(YAML::Node root, const std::string& spec, Diagnostics& errors);

// Token counts (durations=false) or service times (durations=true).
Distribution read_distribution(YamlContext& ctx, const YAML::Node& node, const std::string& path, bool durations);

// A policy of `family` ({impl: NAME, param: value, ...}); `base`, when given, is the global
// choice a per-model override inherits unset parameters from.
PolicyChoice read_policy(YamlContext& ctx, const YAML::Node& node, const std::string& path, PolicyFamily family,
                         const PolicyRegistry& registry, const std::string& default_impl,
                         const PolicyChoice* base = nullptr);

}  // namespace fleetsim
