// Readers of a scenario's LLM-serving options (scenario_loader.cpp calls them): a model's KV
// offload tiers, a disaggregated pool's measured tables, and a workload's generated prompt
// prefixes.
#pragma once
#include <string>

#include <yaml-cpp/yaml.h>

#include "scenarios/loader/yaml_reader.hpp"
#include "sim/scenario.hpp"

namespace fleetsim {

// A model's `kv_offload: {host_memory, disk, shared_store}` into spec (README "KV offload tiers").
void read_kv_offload(YamlContext& ctx, MapReader& m, ModelSpec& spec);
// A disaggregated model's pool whose tensor-parallel degree differs from the model's: its
// measured tables become the profile's rows at its own degree (errors in ctx).
void reselect_performance_tables(YamlContext& ctx, ModelSpec& pool, const std::string& path);
// A workload's `prefixes:` (README "Prefixes in generated workloads").
PrefixWorkloadSpec read_prefixes(YamlContext& ctx, const YAML::Node& node, const std::string& path);

}  // namespace fleetsim
