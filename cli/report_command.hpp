// `fleetsim report RUN_DIR` and `fleetsim compare RUN_DIR... [--html FILE]`. Registering them is
// one call; each subcommand's callback does its work during parsing and sets `exit_code`
// (0 ok, 2 unreadable input or unwritable output), so main only has to return that code when one
// of them was given.
//   report   reads RUN_DIR (result.json, and timeseries.csv / cold_starts.csv when present) and
//            writes RUN_DIR/report.html and RUN_DIR/result.prom; prints their paths.
//   compare  prints every headline metric side by side (best marked *, relative differences
//            from the first run); --html also writes the table as a self-contained page. The
//            directories must hold results of one front end (run, jobs or saturation).
#pragma once

namespace CLI {
class App;
}

namespace fleetsim {

void add_report_commands(CLI::App& app, int& exit_code);

}  // namespace fleetsim
