// PolicyInfo: what the registry knows of a policy — its family, name, one-line description,
// typed parameters and factory. Built-in policies and plugins describe themselves with it (see
// policies/api/plugin.hpp). Part of the SDK: plain types and the family interfaces only.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "policies/api/params.hpp"
#include "policies/api/policy.hpp"
#include "policies/autoscaling/autoscaler.hpp"
#include "policies/batching/batching.hpp"
#include "policies/cache/cache.hpp"
#include "policies/placement/placement.hpp"
#include "policies/queueing/queue_policy.hpp"
#include "policies/routing/router.hpp"

namespace fleetsim {

enum class PolicyFamily { Placement, Autoscaler, Router, Cache, Queue, Batching };

const char* family_name(PolicyFamily family);  // "placement", "autoscaler", "router", ...

struct PolicyInfo {
  PolicyFamily family = PolicyFamily::Placement;
  std::string name;
  std::string description;  // one line
  std::vector<ParamSpec> params;
  bool needs_future = false;  // autoscalers only: sees each model's next arrival (oracles)
  // Optional check across parameters; returns "" when the values are consistent.
  std::function<std::string(const ParamValues&)> check;
  // Exactly one factory is set, the one of `family`. It receives the policy's name, its
  // resolved parameters, its own random stream and the run's names (PolicyContext).
  std::function<std::unique_ptr<PlacementPolicy>(const PolicyContext&)> make_placement;
  std::function<std::unique_ptr<Autoscaler>(const PolicyContext&)> make_autoscaler;
  std::function<std::unique_ptr<Router>(const PolicyContext&)> make_router;
  std::function<std::unique_ptr<CachePolicy>(const PolicyContext&)> make_cache;
  std::function<std::unique_ptr<QueuePolicy>(const PolicyContext&)> make_queue;
  std::function<std::unique_ptr<BatchingPolicy>(const PolicyContext&)> make_batching;
  // Where it comes from: "built-in", or the path of the plugin that registered it (set by the
  // loader; a plugin leaves it empty).
  std::string origin;
};

}  // namespace fleetsim
