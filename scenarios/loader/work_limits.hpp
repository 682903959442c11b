// Limits on work: a scenario, sweep or trace import that asks for far more than a run is meant
// to do (a typo'd rate of 1e6/s, a grid of millions of points, a rate-only trace expanded to
// billions of rows) is refused before it starts, with the estimate, the limit and how to lift
// it (`--force`), instead of growing for hours or filling the disk. README "Limits on work".
#pragma once
#include <cstdint>
#include <string>

#include "sim/diagnostics.hpp"
#include "sim/scenario.hpp"

namespace fleetsim {

// About 6 minutes of engine time at the default scenario's 2.7 M requests/s.
inline constexpr double kMaxRequests = 1e9;
inline constexpr std::uint64_t kMaxSweepPoints = 100'000;
// About 4 GB of native CSV (70 days of ServeGen's busiest set).
inline constexpr std::uint64_t kMaxImportRows = 100'000'000;

// Requests the scenario's generated workloads will bring: each workload's mean rate (on/off:
// the on share of it) × the time from its start to `duration`. Trace workloads are not counted
// (a trace's rows are bounded by its file, and `validate` reads them all).
double estimated_requests(const Scenario& scenario);

// An error (path "workloads") when estimated_requests() exceeds kMaxRequests; none otherwise.
Diagnostics check_work(const Scenario& scenario);

// "8.64e+10" style for messages: 3 significant digits.
std::string short_count(double n);

}  // namespace fleetsim
