// Side-by-side comparison of runs: one row per headline metric (overall, then each model any
// run has), one column per run (headed by the run directory's name). Results of `fleetsim jobs`
// get the jobs block's rows (then mean JCT by gang size and mean rho by tenant), results of
// `fleetsim saturation` per policy its pods and allocation / unallocated / fragmented GPUs at
// the marks and the end; the first run's kind picks the rows (compare one kind at a time). In each row the best value
// is marked `*` (per metric, lower or higher is better: the `better` column says which; rows
// without a direction, like request counts, mark nothing, nor do rows where all runs are equal),
// and every run after the first shows its relative difference from the first run:
// (value - first) / |first|, as "+12.3%" ("n/a" when the first is 0 and the value is not).
#pragma once
#include <string>
#include <vector>

#include "reports/run_data.hpp"

namespace fleetsim {

// Plain text for a terminal (UTF-8, columns aligned).
std::string compare_table(const std::vector<RunData>& runs);

// The same table as one self-contained HTML page (best values highlighted).
std::string compare_html(const std::vector<RunData>& runs);

// The relative difference as the table prints it, e.g. relative_difference(1.0, 1.123) == "+12.3%".
std::string relative_difference(double first, double value);

}  // namespace fleetsim
