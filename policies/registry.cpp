#include "policies/registry.hpp"

#include <stdexcept>

#include "policies/builtin.hpp"
#include "sim/units.hpp"

namespace fleetsim {


bool PolicyRegistry::add(PolicyInfo info) {
  if (find(info.family, info.name)) return false;
  policies_.push_back(std::move(info));
  return true;
}

const PolicyInfo* PolicyRegistry::find(PolicyFamily family, const std::string& name) const {
  for (const auto& p : policies_)
    if (p.family == family && p.name == name) return &p;
  return nullptr;
}

std::vector<std::string> PolicyRegistry::names(PolicyFamily family) const {
  std::vector<std::string> out;
  for (const auto& p : policies_)
    if (p.family == family) out.push_back(p.name);
  return out;
}

namespace {
const PolicyInfo& lookup(const PolicyRegistry& r, PolicyFamily family, const PolicyChoice& c) {
  const PolicyInfo* info = r.find(family, c.impl);
  if (!info)
    throw std::logic_error(std::string("unresolved ") + family_name(family) + " policy " + c.impl);
  return *info;
}

// The choice's values, with each parameter it does not set at its declared default (the
// scenario loader always sets all; programs building policies directly need not).
ParamValues with_defaults(const PolicyInfo& info, const ParamValues& given) {
  ParamValues out = given;
  for (const ParamSpec& p : info.params) {
    const bool set = given.numbers().count(p.name) || given.strings().count(p.name);
    if (set) continue;
    switch (p.type) {
      case ParamType::String: out.set_string(p.name, p.default_value); break;
      case ParamType::ModelList:
      case ParamType::PoolList:
        out.set_string(p.name, p.default_value);
        out.set_ids(p.name, {});
        break;
      case ParamType::Bool: out.set_number(p.name, p.default_value == "true"); break;
      case ParamType::Duration: out.set_number(p.name, static_cast<double>(*parse_duration(p.default_value).value)); break;
      case ParamType::Number:
      case ParamType::Integer: out.set_number(p.name, std::stod(p.default_value)); break;
    }
  }
  return out;
}
}  // namespace

namespace {
template <class T, class Factory>
std::unique_ptr<T> make(const PolicyRegistry& r, PolicyFamily family, const PolicyChoice& c, const PolicyRunInfo& run,
                        Factory PolicyInfo::*factory) {
  const PolicyInfo& info = lookup(r, family, c);
  PolicyContext context;
  context.name = info.name;
  context.params = with_defaults(info, c.params);
  context.rng = RngStream(run.seed, std::string(family_name(family)) + "/" + info.name);
  context.run = &run;
  std::unique_ptr<T> policy;
  try {
    policy = (info.*factory)(context);
  } catch (const std::exception& e) {
    throw PolicyCreationError(std::string(family_name(family)) + " policy '" + info.name +
                              "' could not be made: " + e.what());
  }
  if (!policy)
    throw PolicyCreationError(std::string(family_name(family)) + " policy '" + info.name + "': its factory made nothing");
  policy->set_name(info.name);
  return policy;
}
}  // namespace

std::unique_ptr<PlacementPolicy> PolicyRegistry::make_placement(const PolicyChoice& c, const PolicyRunInfo& run) const {
  return make<PlacementPolicy>(*this, PolicyFamily::Placement, c, run, &PolicyInfo::make_placement);
}
std::unique_ptr<Autoscaler> PolicyRegistry::make_autoscaler(const PolicyChoice& c, const PolicyRunInfo& run) const {
  return make<Autoscaler>(*this, PolicyFamily::Autoscaler, c, run, &PolicyInfo::make_autoscaler);
}
std::unique_ptr<Router> PolicyRegistry::make_router(const PolicyChoice& c, const PolicyRunInfo& run) const {
  return make<Router>(*this, PolicyFamily::Router, c, run, &PolicyInfo::make_router);
}
std::unique_ptr<CachePolicy> PolicyRegistry::make_cache(const PolicyChoice& c, const PolicyRunInfo& run) const {
  return make<CachePolicy>(*this, PolicyFamily::Cache, c, run, &PolicyInfo::make_cache);
}
std::unique_ptr<QueuePolicy> PolicyRegistry::make_queue(const PolicyChoice& c, const PolicyRunInfo& run) const {
  return make<QueuePolicy>(*this, PolicyFamily::Queue, c, run, &PolicyInfo::make_queue);
}
std::unique_ptr<BatchingPolicy> PolicyRegistry::make_batching(const PolicyChoice& c, const PolicyRunInfo& run) const {
  return make<BatchingPolicy>(*this, PolicyFamily::Batching, c, run, &PolicyInfo::make_batching);
}

// Every in-tree policy, in the order of policies/builtin_list.hpp (one line each).
PolicyRegistry builtin_policies() {
  PolicyRegistry r;
  auto add = [&r](PolicyInfo info, const char* description) {
    info.description = description;
    info.origin = "built-in";
    if (!r.add(std::move(info))) throw std::logic_error("two built-in policies share a name");
  };
#define FLEETSIM_POLICY(function, description) add(function(), description);
#include "policies/builtin_list.hpp"
#undef FLEETSIM_POLICY
  return r;
}

}  // namespace fleetsim
