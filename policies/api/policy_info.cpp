// PolicyInfo's helpers (part of the SDK library, fleetsim::sdk).
#include "policies/api/policy_info.hpp"

namespace fleetsim {

const char* family_name(PolicyFamily family) {
  switch (family) {
    case PolicyFamily::Placement: return "placement";
    case PolicyFamily::Autoscaler: return "autoscaler";
    case PolicyFamily::Router: return "router";
    case PolicyFamily::Cache: return "cache";
    case PolicyFamily::Queue: return "queue";
    case PolicyFamily::Batching: return "batching";
  }
  return "?";
}

}  // namespace fleetsim
