#include "cli/store_command.hpp"

#include <CLI/CLI.hpp>

#include <pthread.h>

#include <cmath>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <memory>
#include <mutex>

#include "cli/numeric_flags.hpp"
#include "real/store/store_files.hpp"
#include "real/store/store_server.hpp"
#include "sim/units.hpp"

namespace fleetsim {

namespace {

constexpr int kExitBadInput = 2;

struct StoreArgs {
  std::string dir;
  int port = 0;
  std::string bandwidth, connection_bandwidth;
  std::string host = "127.0.0.1";
  bool quiet = false;
};

// A bandwidth flag: empty means no limit; otherwise a rate with its unit, > 0.
bool parse_limit(const std::string& flag, const std::string& text, double& out) {
  if (text.empty()) return true;
  Parsed<double> rate = parse_bandwidth(text);
  if (!rate || !(*rate.value > 0) || !std::isfinite(*rate.value)) {
    std::cerr << flag << ": expected a bandwidth above zero such as 200MB/s or 1Gbit/s, got '" << text << "'"
              << (rate ? "" : " (" + rate.error + ")") << "\n";
    return false;
  }
  out = *rate.value;
  return true;
}

std::string seconds_text(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f s", s);
  return buf;
}

// Sizes and rates for the log: three significant digits are plenty ("2.08MB", not "2.080103MB").
double rounded(double v) {
  if (!(v > 0)) return 0;
  const double scale = std::pow(10.0, std::floor(std::log10(v)) - 2);
  return std::round(v / scale) * scale;
}
std::string size_text(double bytes) { return format_size(rounded(bytes)); }
std::string rate_text(double bytes_per_second) { return format_bandwidth(rounded(bytes_per_second)); }

std::string limit_text(double rate) { return rate > 0 ? format_bandwidth(rate) : "none"; }

int run_store(const StoreArgs& args) {
  StoreOptions options;
  options.directory = args.dir;
  options.host = args.host;
  options.port = args.port;
  if (!parse_limit("--bandwidth", args.bandwidth, options.total_bandwidth) ||
      !parse_limit("--connection-bandwidth", args.connection_bandwidth, options.connection_bandwidth))
    return kExitBadInput;
  auto log_mutex = std::make_shared<std::mutex>();
  if (!args.quiet)
    options.on_transfer_end = [log_mutex](const StoreTransfer& t) {
      const double rate = t.seconds > 0 ? static_cast<double>(t.bytes) / t.seconds : 0;
      std::lock_guard lock(*log_mutex);
      std::cerr << (t.complete ? "sent " : "incomplete ") << t.name << ": "
                << size_text(static_cast<double>(t.bytes))
                << (t.complete ? "" : " of " + size_text(static_cast<double>(t.requested))) << " in "
                << seconds_text(t.seconds) << " (" << rate_text(rate) << ")\n";
    };

  // SIGINT and SIGTERM are taken by sigwait below, never by a handler: blocked here, before the
  // server's threads exist, so that every thread inherits the block and this one receives them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  StoreServer store(options);
  if (const std::string why = store.start(); !why.empty()) {
    std::cerr << "fleetsim store: " << why << "\n";
    return kExitBadInput;
  }
  std::cout << "store listening on " << store.address() << std::endl;
  if (!args.quiet) {
    double bytes = 0;
    const auto models = list_models(std::filesystem::canonical(args.dir));
    for (const ModelFile& m : models) bytes += static_cast<double>(m.bytes);
    std::lock_guard lock(*log_mutex);
    std::cerr << "serving " << models.size() << (models.size() == 1 ? " model" : " models") << " ("
              << size_text(bytes) << ") from " << args.dir << "; bandwidth limit: total "
              << limit_text(options.total_bandwidth) << ", per connection " << limit_text(options.connection_bandwidth)
              << "; Ctrl-C stops\n";
  }
  int signal = 0;
  while (sigwait(&stop_signals, &signal) != 0) {
  }
  store.stop();
  // The signals stay blocked: a second Ctrl-C while stopping does not cut the summary short.
  if (!args.quiet) {
    const StoreCounters c = store.counters();
    std::lock_guard lock(*log_mutex);
    std::cerr << "store stopped (" << (signal == SIGINT ? "SIGINT" : "SIGTERM") << "); transfers: " << c.transfers_complete
              << " complete, " << c.transfers_incomplete << " incomplete, "
              << size_text(static_cast<double>(c.bytes_served)) << " served\n";
  }
  return 0;
}

}  // namespace

void add_store_command(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<StoreArgs>();
  auto* cmd = app.add_subcommand("store", "serve model weight files over HTTP on loopback (real mode's model store)");
  cmd->add_option("dir", args->dir, "the folder whose files are served as models")->required();
  cmd->add_option("--port", args->port, "TCP port on 127.0.0.1 (0: any free port, printed)")
      ->required()
      ->transform(integer_in(0, 65535));
  cmd->add_option("--bandwidth", args->bandwidth,
                  "total limit shared by all transfers, e.g. 200MB/s or 1Gbit/s (default: none)");
  cmd->add_option("--connection-bandwidth", args->connection_bandwidth,
                  "limit per transfer, e.g. 50MB/s (default: none)");
  cmd->add_option("--host", args->host, "the address to listen on: 127.0.0.1 (loopback only)");
  cmd->add_flag("--quiet,-q", args->quiet, "print only the listening line and errors");
  cmd->callback([&exit_code, args] { exit_code = run_store(*args); });
}

}  // namespace fleetsim
