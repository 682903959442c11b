#include "reports/progress.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>

namespace fleetsim {

namespace {

// h:mm:ss (hours unbounded), or m:ss when `short_form` and under an hour.
std::string clock_text(double seconds, bool short_form) {
  const long long s = std::llround(std::max(0.0, seconds));
  char buf[48];
  if (short_form && s < 3600)
    std::snprintf(buf, sizeof buf, "%lld:%02lld", s / 60, s % 60);
  else
    std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", s / 3600, s / 60 % 60, s % 60);
  return buf;
}

// 950, 12.3k, 1.25M, 3.10G
std::string si(double v) {
  char buf[32];
  if (!(v >= 0) || !std::isfinite(v)) v = 0;
  if (v < 999.5) std::snprintf(buf, sizeof buf, "%.0f", v);
  else if (v < 999.95e3) std::snprintf(buf, sizeof buf, "%.1fk", v / 1e3);
  else if (v < 999.95e6) std::snprintf(buf, sizeof buf, "%.2fM", v / 1e6);
  else std::snprintf(buf, sizeof buf, "%.2fG", v / 1e9);
  return buf;
}

double fraction(const ProgressReporter::Figures& f) {
  if (f.duration <= 0) return 1;
  return std::clamp(static_cast<double>(f.now) / static_cast<double>(f.duration), 0.0, 1.0);
}

std::string percent(const ProgressReporter::Figures& f) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%.1f%%", 100 * fraction(f));
  return buf;
}

// Remaining simulated time at the average simulated speed so far.
std::string eta(const ProgressReporter::Figures& f) {
  if (f.now >= f.duration) return "draining";
  if (f.now <= 0 || f.wall <= 0) return "ETA --";
  const double remaining = to_seconds(f.duration - f.now) * f.wall / to_seconds(f.now);
  return "ETA " + clock_text(remaining, true);
}

double per_second(std::uint64_t n, double wall) { return wall > 0 ? static_cast<double>(n) / wall : 0; }

int terminal_columns() {
  winsize size{};
  return ::ioctl(2, TIOCGWINSZ, &size) == 0 ? size.ws_col : 0;
}

}  // namespace

ProgressReporter::ProgressReporter(SimTime duration, std::function<double()> wall_clock, std::ostream& out,
                                   bool is_terminal, int columns)
    : duration_(duration),
      clock_(std::move(wall_clock)),
      out_(out),
      terminal_(is_terminal),
      columns_(columns),
      start_(clock_()) {}

ProgressReporter::ProgressReporter(SimTime duration)
    : ProgressReporter(
          duration,
          [] {
            return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
          },
          std::cerr, ::isatty(2) == 1, ::isatty(2) == 1 ? terminal_columns() : 0) {}

ProgressReporter::~ProgressReporter() { finish(); }

std::string ProgressReporter::terminal_line(const Figures& f) {
  constexpr int kCells = 20;
  const int filled = static_cast<int>(fraction(f) * kCells);
  std::string line = "[" + std::string(filled, '#') + std::string(kCells - filled, '.') + "] ";
  std::string pct = percent(f);
  line += std::string(pct.size() < 6 ? 6 - pct.size() : 0, ' ') + pct;
  line += "  sim " + clock_text(to_seconds(f.now), false) + "/" + clock_text(to_seconds(f.duration), false);
  line += "  " + si(per_second(f.events, f.wall)) + " ev/s";
  line += "  " + si(per_second(f.requests, f.wall)) + " req/s";
  line += "  " + eta(f);
  return line;
}

std::string ProgressReporter::plain_line(const Figures& f) {
  return "progress: sim " + clock_text(to_seconds(f.now), false) + " of " +
         clock_text(to_seconds(f.duration), false) + " (" + percent(f) + "), " +
         si(per_second(f.events, f.wall)) + " events/s, " + si(per_second(f.requests, f.wall)) +
         " requests/s, " + eta(f) + ", wall " + clock_text(f.wall, true);
}

void ProgressReporter::on_progress(SimTime now, std::uint64_t events, std::uint64_t requests) {
  const double wall = clock_() - start_;  // the one clock read
  if (wall < kQuietSeconds) return;
  const double interval = terminal_ ? kTerminalInterval : kPlainInterval;
  if (last_shown_ >= 0 && wall - last_shown_ < interval) return;
  last_shown_ = wall;
  const Figures f{now, duration_, events, requests, wall};
  if (terminal_) {
    std::string line = terminal_line(f);
    if (columns_ > 1 && line.size() > static_cast<std::size_t>(columns_ - 1)) line.resize(columns_ - 1);
    const std::size_t length = line.size();
    if (length < drawn_) line.append(drawn_ - length, ' ');  // erase the rest of a longer line
    out_ << '\r' << line << std::flush;
    drawn_ = length;
  } else {
    out_ << plain_line(f) << '\n' << std::flush;
  }
}

void ProgressReporter::on_run_end(SimTime) { finish(); }

void ProgressReporter::finish() {
  if (drawn_ == 0) return;
  out_ << '\r' << std::string(drawn_, ' ') << '\r' << std::flush;
  drawn_ = 0;
}

}  // namespace fleetsim
