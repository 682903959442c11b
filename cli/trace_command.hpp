// `fleetsim trace import FORMAT INPUT --out FILE [options]`: public request traces to the native
// request CSV (traces/importers.hpp). Registering it is one call; the subcommand's callback runs
// the import during parsing and sets `exit_code` (0 ok, 2 bad input or options), so main only
// has to return that code when `trace` was given.
#pragma once

namespace CLI {
class App;
}

namespace fleetsim {

void add_trace_command(CLI::App& app, int& exit_code);

}  // namespace fleetsim
