// `fleetsim bench`: the regression gate (bench/gate/gate.hpp) on the command line.
#pragma once
#include <CLI/CLI.hpp>

namespace fleetsim {
void add_bench_command(CLI::App& app, int& exit_code);
}
