// `fleetsim report RUN_DIR`: reads a run directory (run_data.hpp) and writes report.html
// (html_report.hpp) and result.prom (prometheus.hpp) into it. Nothing is written when the run
// directory cannot be read; each file is written whole or not at all (a temporary file renamed).
#pragma once
#include <string>

#include "sim/diagnostics.hpp"

namespace fleetsim {

// Empty diagnostics on success. `shown_dir` (default: run_dir) is the directory the report
// names as the run's: a run written into a staging folder and moved later names its final one.
Diagnostics write_run_reports(const std::string& run_dir, const std::string& shown_dir = "");

// Writes `text` to `path` through a temporary file of its own in the same folder (safe when several
// processes or threads write the same path); "" or an error message.
std::string write_file_atomically(const std::string& path, const std::string& text);

}  // namespace fleetsim
