// The built-in best-fit, built as a plugin (with best_fit.cpp and its helpers compiled into the
// module), so that the benchmark can compare a decision across the plugin boundary with the
// same decision made in-tree: the boundary's cost per decision.
#include "policies/api/plugin.hpp"

namespace fleetsim {
PolicyInfo best_fit_policy();
}

FLEETSIM_PLUGIN(registrar) {
  fleetsim::PolicyInfo info = fleetsim::best_fit_policy();
  info.name = "best-fit-plugin";
  registrar.add(std::move(info));
}
