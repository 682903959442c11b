// The versioned result of `fleetsim saturation` (result.json, kind "saturation"), in the layout
// of `fleetsim run`'s (result_json.hpp), so that `fleetsim report`, `compare` and the
// regression gate read it as they read a run's:
//   { schema_version, fleetsim_version, kind: "saturation",
//     scenario: {name, description, seed, nodes, pods, file_order, until, pods_in_list,
//                cluster: {nodes, gpus, gpu_types: {TYPE: {nodes, gpus}}},
//                policies: [{spec, impl, ...parameters}]}   (the inputs, defaults filled in),
//     run: {seed, events},                  events: pod arrivals over all policies
//     saturation: {capacity_gpus, marks: [50, 80, 90, 100],
//                  policies: {SPEC: {arrived_pods, placed_pods, failed_pods, arrived_gpus,
//                                    allocated_gpus,
//                                    at: {"50": POINT, ...}   (marks up to `until`),
//                                    end: POINT,              (the last point: `until`)
//                                    curve: {arrived_pct: [...], allocation_ratio: [...],
//                                            unallocated_gpus: [...], frag_gpus: [...],
//                                            frag_ratio: [...], failed_pods: [...]}}}},
//     cluster: {nodes, gpus} }
//   POINT = {arrived_pct, allocation_ratio, unallocated_gpus, frag_gpus, frag_ratio,
//            arrived_pods, failed_pods}
// Policies are keyed by their spec as given (`fgd`, `fgd:exact=true`); a spec given twice gets
// "#2", "#3". Keys in a fixed order, doubles at full precision: equal inputs give
// byte-identical files.
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "policies/registry.hpp"
#include "sim/job.hpp"
#include "sim/saturation.hpp"

namespace fleetsim {

// The arrived percentages result.json reports each policy at (those up to `until`).
inline constexpr int kSaturationMarks[] = {50, 80, 90, 100};

struct SaturationInputs {
  std::string nodes, pods;  // the files, as given
  bool file_order = false;
  double until = 1.3;
  std::uint64_t seed = 1;
  std::vector<std::string> specs;     // --policies, one per policy, as given
  std::vector<PolicyChoice> choices;  // ... as parsed (same order)
  std::uint64_t pods_in_list = 0;
  std::vector<NodeRecord> cluster;
};

std::string saturation_result_json(const SaturationInputs& inputs, const PolicyRegistry& registry,
                                   std::span<const SaturationResult> results, const std::string& fleetsim_version);

}  // namespace fleetsim
