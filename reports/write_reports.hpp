// `fleetsim report RUN_DIR`: reads a run directory (run_data.hpp) and writes report.html
// (html_report.hpp) and result.prom (prometheus.hpp) into it. Nothing is written when the run
// directory cannot be read; each file is written whole or not at all (a temporary file renamed).
#pragma once
#include <string>

#include "sim/diagnostics.hpp"

namespace fleetsim {

// Empty diagnostics on success.
Diagnostics write_run_reports(const std::string& run_dir);

// Writes `text` to `path` through a temporary file of its own in the same folder (safe when several
// processes or threads write the same path); "" or an error message.
std::string write_file_atomically(const std::string& path, const std::string& text);

}  // namespace fleetsim
