// ProgressReporter: a live progress display for long runs (`fleetsim run`), on stderr.
//
// It hooks only on_progress (every 65,536 events) and on_run_end, so it adds nothing per event,
// and reads the wall clock at most once per on_progress call. Nothing is shown during the first
// 2 s of wall time (short runs stay silent). After that it shows the simulated time reached (and
// the share of the scenario's duration), events/s and simulated requests/s (averages since the
// start) and an ETA (the remaining simulated time at the average simulated speed so far; while
// draining past the duration it shows "draining" instead):
//   - on a terminal: one line redrawn in place with '\r', with a bar, at most 10 times a second,
//     and cleared at the end of the run (or by finish());
//       [########............]  41.7%  sim 10:00:00/24:00:00  1.25M ev/s  10.4k req/s  ETA 0:14
//   - otherwise (a log file, CI): a plain line at most every 5 s, nothing at the end;
//       progress: sim 10:00:00 of 24:00:00 (41.7%), 1.25M events/s, 10.4k requests/s, ETA 0:14, wall 0:10
#pragma once
#include <functional>
#include <iosfwd>
#include <string>

#include "sim/observer.hpp"

namespace fleetsim {

class ProgressReporter : public SimObserver {
 public:
  static constexpr double kQuietSeconds = 2.0;       // nothing is shown before this much wall time
  static constexpr double kTerminalInterval = 0.1;   // redraws on a terminal at most this often
  static constexpr double kPlainInterval = 5.0;      // plain lines at most this often

  // `duration`: the scenario's duration (100%). `wall_clock`: seconds, monotonic; read once here
  // (the start) and at most once per on_progress. `is_terminal`: redraw one line in place;
  // `columns` > 0: the terminal's width (the line is cut to columns - 1 so that it never wraps).
  ProgressReporter(SimTime duration, std::function<double()> wall_clock, std::ostream& out, bool is_terminal,
                   int columns = 0);
  // The real thing: steady clock, std::cerr, a terminal when isatty(2) (and its width).
  explicit ProgressReporter(SimTime duration);
  ~ProgressReporter() override;  // finish()
  ProgressReporter(const ProgressReporter&) = delete;
  ProgressReporter& operator=(const ProgressReporter&) = delete;

  void on_progress(SimTime now, std::uint64_t events, std::uint64_t requests) override;
  void on_run_end(SimTime end) override;
  // Clears the terminal line if one is drawn (idempotent; also for a run that failed).
  void finish();

  // The texts, for a state: `wall` seconds since the start.
  struct Figures {
    SimTime now = 0;
    SimTime duration = 0;
    std::uint64_t events = 0;
    std::uint64_t requests = 0;
    double wall = 0;
  };
  static std::string terminal_line(const Figures& f);
  static std::string plain_line(const Figures& f);

 private:
  SimTime duration_;
  std::function<double()> clock_;
  std::ostream& out_;
  bool terminal_;
  int columns_;
  double start_;
  double last_shown_ = -1;    // wall seconds since start of the last output; < 0 before the first
  std::size_t drawn_ = 0;     // length of the line now on the terminal (0: none)
};

}  // namespace fleetsim
