// `fleetsim bench`: the regression gate (bench/gate/gate.hpp) on the command line.
#pragma once
#include <CLI/CLI.hpp>

namespace fleetsim {

class PolicyRegistry;

// The registry is the program's one registry (built once in main); it must outlive the app.
void add_bench_command(CLI::App& app, const PolicyRegistry& registry, int& exit_code);
}
