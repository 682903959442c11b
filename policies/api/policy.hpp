// What every policy has, whatever its family: its registered name, and what its factory is
// given (PolicyContext). Part of the policy API: plain types, nothing from sim/.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "policies/api/params.hpp"
#include "policies/api/random.hpp"

namespace fleetsim {

// The base of every policy interface. The registry names each policy it makes, so an error
// message or a report can say which policy decided, without the caller carrying the name.
class Policy {
 public:
  virtual ~Policy() = default;
  const std::string& name() const { return name_; }
  void set_name(std::string name) { name_ = std::move(name); }

 private:
  std::string name_;
};

// The run a policy is made for: its seed and the scenario's names (ids are positions).
struct PolicyRunInfo {
  std::uint64_t seed = 1;
  std::vector<std::string> models;
  std::vector<std::string> pools;
  std::vector<std::string> gpu_types;
};

// What a factory receives: the policy's name, its resolved parameters (every declared one
// has a value), its own random stream — derived from the run's seed and
// "<family>/<name>", so a run is reproducible and seeds differ between runs with different
// seeds — and the run's names.
struct PolicyContext {
  std::string name;
  ParamValues params;
  RngStream rng;
  const PolicyRunInfo* run = nullptr;  // never null when a factory is called
};

}  // namespace fleetsim
