#include "reports/saturation_result.hpp"

#include <algorithm>
#include <filesystem>

#include "reports/json_blocks.hpp"
#include "reports/result_json.hpp"

namespace fleetsim {

namespace {

using ordered = json_blocks::ordered;

ordered point_json(const SaturationPoint& p) {
  ordered j;
  j["arrived_pct"] = p.arrived_pct;
  j["allocation_ratio"] = p.allocation_ratio;
  j["unallocated_gpus"] = p.unallocated_gpus;
  j["frag_gpus"] = p.frag_gpus;
  j["frag_ratio"] = p.frag_ratio;
  j["arrived_pods"] = p.arrived_pods;
  j["failed_pods"] = p.failed_pods;
  return j;
}

ordered curve_json(const SaturationResult& r) {
  ordered pct = ordered::array(), alloc = ordered::array(), unalloc = ordered::array(), frag = ordered::array(),
          ratio = ordered::array(), failed = ordered::array();
  for (const SaturationPoint& p : r.points) {
    pct.push_back(p.arrived_pct);
    alloc.push_back(p.allocation_ratio);
    unalloc.push_back(p.unallocated_gpus);
    frag.push_back(p.frag_gpus);
    ratio.push_back(p.frag_ratio);
    failed.push_back(p.failed_pods);
  }
  ordered c;
  c["arrived_pct"] = pct;
  c["allocation_ratio"] = alloc;
  c["unallocated_gpus"] = unalloc;
  c["frag_gpus"] = frag;
  c["frag_ratio"] = ratio;
  c["failed_pods"] = failed;
  return c;
}

ordered cluster_json(std::span<const NodeRecord> nodes) {
  ordered types = ordered::object();
  double gpus = 0;
  for (const NodeRecord& n : nodes) {
    gpus += n.gpus;
    const std::string type = n.gpus > 0 ? n.gpu_type : "(no GPU)";
    if (!types.contains(type)) types[type] = ordered{{"nodes", 0}, {"gpus", 0}};
    types[type]["nodes"] = types[type]["nodes"].get<std::uint64_t>() + 1;
    types[type]["gpus"] = types[type]["gpus"].get<std::uint64_t>() + static_cast<std::uint64_t>(std::max(0, n.gpus));
  }
  ordered c;
  c["nodes"] = nodes.size();
  c["gpus"] = gpus;
  c["gpu_types"] = types;
  return c;
}

}  // namespace

std::string saturation_result_json(const SaturationInputs& in, const PolicyRegistry& registry,
                                   std::span<const SaturationResult> results, const std::string& version) {
  ordered j;
  j["schema_version"] = kResultSchemaVersion;  // one schema for every front end
  j["fleetsim_version"] = version;
  j["kind"] = "saturation";
  ordered sc;
  sc["name"] = std::filesystem::path(in.pods).stem().string();
  sc["description"] = "saturation replay of " + std::filesystem::path(in.pods).filename().string() + " on " +
                      std::filesystem::path(in.nodes).filename().string();
  sc["seed"] = in.seed;
  sc["nodes"] = in.nodes;
  sc["pods"] = in.pods;
  sc["file_order"] = in.file_order;
  sc["until"] = in.until;
  sc["pods_in_list"] = in.pods_in_list;
  sc["cluster"] = cluster_json(in.cluster);
  ordered policies = ordered::array();
  for (std::size_t i = 0; i < in.choices.size(); ++i) {
    ordered p;
    p["spec"] = i < in.specs.size() ? in.specs[i] : in.choices[i].impl;
    const ordered policy = json_blocks::policy(in.choices[i], PolicyFamily::Placement, registry);
    for (const auto& [key, value] : policy.items()) p[key] = value;
    policies.push_back(p);
  }
  sc["policies"] = policies;
  j["scenario"] = sc;

  std::uint64_t arrivals = 0;
  for (const SaturationResult& r : results) arrivals += r.arrived_pods;
  j["run"]["seed"] = in.seed;
  j["run"]["events"] = arrivals;

  ordered sat;
  sat["capacity_gpus"] = results.empty() ? 0.0 : results.front().capacity_gpus;
  sat["marks"] = kSaturationMarks;
  ordered by_policy = ordered::object();
  for (const SaturationResult& r : results) {
    std::string key = r.policy;
    for (int n = 2; by_policy.contains(key); ++n) key = r.policy + "#" + std::to_string(n);
    ordered p;
    p["arrived_pods"] = r.arrived_pods;
    p["placed_pods"] = r.placed_pods;
    p["failed_pods"] = r.failed_pods;
    p["arrived_gpus"] = r.arrived_gpus;
    p["allocated_gpus"] = r.allocated_gpus;
    ordered at = ordered::object();
    for (int mark : kSaturationMarks)
      for (const SaturationPoint& point : r.points)
        if (point.arrived_pct == mark) at[std::to_string(mark)] = point_json(point);
    p["at"] = at;
    if (!r.points.empty()) p["end"] = point_json(r.points.back());
    p["curve"] = curve_json(r);
    by_policy[key] = p;
  }
  sat["policies"] = by_policy;
  j["saturation"] = sat;
  j["cluster"]["nodes"] = in.cluster.size();
  j["cluster"]["gpus"] = sc["cluster"]["gpus"];
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace fleetsim
