// `fleetsim jobs`: replay a job trace on a GPU cluster under a queue policy (sim/job_simulation).
// With --out DIR it writes what every front end writes — result.json (kind jobs,
// reports/jobs_result.hpp), timeseries.csv, and from them report.html and result.prom — plus its
// own jobs.csv, utilization.csv and .svg and tenants.csv.
#pragma once
#include <CLI/CLI.hpp>

namespace fleetsim {

class PolicyRegistry;

// The registry is the program's one registry (built once in main); it must outlive the app.
void add_jobs_command(CLI::App& app, const PolicyRegistry& registry, int& exit_code);
}
