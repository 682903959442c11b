// `fleetsim jobs`: replay a job trace on a GPU cluster under a queue policy (sim/job_simulation).
#pragma once
#include <CLI/CLI.hpp>

namespace fleetsim {
void add_jobs_command(CLI::App& app, int& exit_code);
}
