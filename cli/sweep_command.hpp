// `fleetsim sweep`: parameter sweeps (cli/sweep/sweep.hpp has the file format).
//
//   fleetsim sweep FILE [--jobs N] [--out DIR] [--shard I/N] [--quiet]
//       runs the points of shard I of N (default all) on N threads (default: hardware
//       concurrency) into DIR (default out/sweeps/<file stem>), skipping finished points, then
//       writes merged.csv / merged.json (and pareto.csv / pareto.svg) once no point is missing
//   fleetsim sweep FILE --emit slurm|k8s [--shards N] [--out DIR] [--image IMG] [--jobs N]
//       prints a Slurm array script or a Kubernetes Indexed Job manifest running N shards
//       (default: one per point, at most 1000), --jobs threads each (default 1)
//   fleetsim sweep merge FILE [--out DIR]
//       (re)builds the merged outputs from the point folders in DIR (shards copied together)
//
// `merge` is a CLI11 subcommand of `sweep`, so a sweep file cannot be called "merge" (write
// ./merge). Registering is one call; the callbacks run during parsing and set `exit_code`:
// 0 ok, 2 bad input (sweep file, scenario, options, missing points), 1 a policy broke its
// contract during a run. main returns `exit_code` when `sweep` was given.
#pragma once
#include <functional>
#include <string>

namespace CLI {
class App;
}

namespace fleetsim {

class PolicyRegistry;

// `load_plugin` loads the plugins that the sweep's base scenario lists (`plugins:`) into
// `registry`, once, before the points load on several threads.
void add_sweep_command(CLI::App& app, const PolicyRegistry& registry,
                       std::function<std::string(const std::string& path)> load_plugin, int& exit_code);

}  // namespace fleetsim
