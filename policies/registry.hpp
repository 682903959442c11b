// PolicyRegistry: every policy the simulator can use, by family and name, with its typed
// parameters and a factory. `builtin_policies()` registers the in-tree policies, listed one line
// each in policies/builtin_list.hpp; the program builds one registry (cli/main.cpp) and hands it
// to every command; plugins will add theirs to the same registry.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "policies/api/params.hpp"
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
};

class PolicyRegistry {
 public:
  void add(PolicyInfo info);
  const PolicyInfo* find(PolicyFamily family, const std::string& name) const;
  std::vector<std::string> names(PolicyFamily family) const;
  const std::vector<PolicyInfo>& all() const { return policies_; }

  // Factories by choice; the choice must have been resolved against this registry. `run`
  // gives the seed the policy's stream derives from and the scenario's names. The policy made
  // knows its name.
  std::unique_ptr<PlacementPolicy> make_placement(const PolicyChoice& choice, const PolicyRunInfo& run = {}) const;
  std::unique_ptr<Autoscaler> make_autoscaler(const PolicyChoice& choice, const PolicyRunInfo& run = {}) const;
  std::unique_ptr<Router> make_router(const PolicyChoice& choice, const PolicyRunInfo& run = {}) const;
  std::unique_ptr<CachePolicy> make_cache(const PolicyChoice& choice, const PolicyRunInfo& run = {}) const;
  std::unique_ptr<QueuePolicy> make_queue(const PolicyChoice& choice, const PolicyRunInfo& run = {}) const;
  std::unique_ptr<BatchingPolicy> make_batching(const PolicyChoice& choice, const PolicyRunInfo& run = {}) const;

 private:
  std::vector<PolicyInfo> policies_;
};

// The in-tree policies, in the order `fleetsim policies` lists them.
PolicyRegistry builtin_policies();

}  // namespace fleetsim
