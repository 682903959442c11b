// Typed policy parameters: declared once per policy (name, type, default, range, unit, help)
// and used for validation of scenario files, for `fleetsim policies`, and for the README table.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "policies/api/time.hpp"

namespace fleetsim {

// ModelList / PoolList: comma-separated names of the scenario's models or pools, checked by the
// loader and handed to the policy as ids.
enum class ParamType { Number, Integer, Duration, Bool, String, ModelList, PoolList };

struct ParamSpec {
  std::string name;
  ParamType type = ParamType::Number;
  std::string default_value;  // as written in a scenario file, e.g. "60s", "0.7", "true"
  double min = -1e300;        // inclusive range for Number/Integer/Duration (seconds)
  double max = 1e300;
  std::string help;
};

// Resolved parameter values: numbers as double, durations in nanoseconds, bools as 0/1.
class ParamValues {
 public:
  void set_number(const std::string& name, double v) { numbers_[name] = v; }
  void set_string(const std::string& name, std::string v) { strings_[name] = std::move(v); }
  void set_ids(const std::string& name, std::vector<std::uint32_t> ids) { ids_[name] = std::move(ids); }

  double number(const std::string& name) const { return numbers_.at(name); }
  std::int64_t integer(const std::string& name) const {
    return static_cast<std::int64_t>(numbers_.at(name));
  }
  SimTime duration(const std::string& name) const {
    return static_cast<SimTime>(numbers_.at(name));
  }
  bool flag(const std::string& name) const { return numbers_.at(name) != 0; }
  const std::string& text(const std::string& name) const { return strings_.at(name); }
  const std::vector<std::uint32_t>& ids(const std::string& name) const { return ids_.at(name); }

  const std::map<std::string, double>& numbers() const { return numbers_; }
  const std::map<std::string, std::string>& strings() const { return strings_; }

 private:
  std::map<std::string, double> numbers_;
  std::map<std::string, std::string> strings_;
  std::map<std::string, std::vector<std::uint32_t>> ids_;
};

// A policy choice as a scenario states it: `impl:` names the implementation, parameters sit
// beside it (Ramulator's layout). Resolved: every declared parameter has a value.
struct PolicyChoice {
  std::string impl;
  ParamValues params;
};

}  // namespace fleetsim
