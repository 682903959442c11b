// `fleetsim new-policy NAME --family FAMILY [--dir DIR]`: writes a buildable out-of-tree plugin
// project (CMakeLists.txt, the policy with its family's contract, a Catch2 test, a README) from
// the templates in new_policy_command.cpp. Exit 0 written; 2 bad input (a name that is not a
// policy name, an unknown family, a DIR that exists and is not empty).
#pragma once

namespace CLI {
class App;
}

namespace fleetsim {

void add_new_policy_command(CLI::App& app, int& exit_code);

}  // namespace fleetsim
