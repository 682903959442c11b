// `fleetsim jobs`: replay a job trace on a GPU cluster under a queue policy (sim/job_simulation).
#pragma once
#include <CLI/CLI.hpp>

namespace fleetsim {

class PolicyRegistry;

// The registry is the program's one registry (built once in main); it must outlive the app.
void add_jobs_command(CLI::App& app, const PolicyRegistry& registry, int& exit_code);
}
