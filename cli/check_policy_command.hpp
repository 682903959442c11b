// `fleetsim check-policy PLUGIN.so [--policy NAME] [--quick] [--scenarios DIR]`: the conformance
// kit for policy plugins. Each policy of the plugin runs through the small scenarios of its family
// (scenarios/conformance/) with the invariant checker on, twice for determinism, with its
// decisions counted and timed through a proxy of its family interface; then a scorecard puts
// its headline metrics beside every built-in of the family. Exit 0: every check passed; 1: a
// contract, invariant or determinism check failed (the reason is printed); 2: bad input.
#pragma once

namespace CLI {
class App;
}

namespace fleetsim {

class PolicyRegistry;

// The registry is the program's one registry; the plugin is loaded into it.
void add_check_policy_command(CLI::App& app, PolicyRegistry& registry, int& exit_code);

}  // namespace fleetsim
