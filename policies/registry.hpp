// PolicyRegistry: every policy the simulator can use, by family and name, with its typed
// parameters and a factory. `builtin_policies()` registers the in-tree policies, listed one line
// each in policies/builtin_list.hpp; the program builds one registry (cli/main.cpp) and hands it
// to every command; plugins add theirs to the same registry (policies/plugins.hpp), so a
// built-in and a plugin are made and validated along one path.
#pragma once
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "policies/api/policy_info.hpp"

namespace fleetsim {

// What make_*() throw when a policy's factory throws or makes nothing (a plugin's constructor
// that fails): the program reports it like an exception out of a decision (exit 1).
struct PolicyCreationError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class PolicyRegistry {
 public:
  // Adds a policy; false (and nothing added) when its family already has one of that name.
  bool add(PolicyInfo info);
  const PolicyInfo* find(PolicyFamily family, const std::string& name) const;
  std::vector<std::string> names(PolicyFamily family) const;
  const std::vector<PolicyInfo>& all() const { return policies_; }
  // The plugin files loaded into it (canonical paths; policies/plugins.hpp).
  const std::vector<std::string>& plugins() const { return plugins_; }
  void note_plugin(std::string path) { plugins_.push_back(std::move(path)); }

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
  std::vector<std::string> plugins_;
};

// The in-tree policies, in the order `fleetsim policies` lists them.
PolicyRegistry builtin_policies();

}  // namespace fleetsim
