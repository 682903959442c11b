#include "cli/runner/run_to_directory.hpp"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <ostream>
#include <stdexcept>
#include <thread>

#include "reports/metrics_server.hpp"
#include "reports/progress.hpp"
#include "reports/result_json.hpp"
#include "reports/run_files.hpp"
#include "reports/write_reports.hpp"
#include "scenarios/loader/build.hpp"
#include "sim/timeseries.hpp"

namespace fleetsim {

RunReport run_to_directory(const Scenario& scenario, const PolicyRegistry& registry,
                           const std::string& out_dir, const std::string& version,
                           const RunOptions& options) {
  RunReport report;
  Simulation simulation(build_setup(scenario, registry));
  MetricsCollector metrics(simulation.scenario());
  TimeSeriesRecorder timeseries(simulation.scenario(), scenario.sample_interval);
  simulation.add_observer(&metrics);
  simulation.add_observer(&timeseries);
  std::unique_ptr<LiveMetrics> live;
  std::unique_ptr<MetricsServer> server;
  if (options.metrics_port >= 0) {
    live = std::make_unique<LiveMetrics>(simulation.scenario());
    try {
      server = std::make_unique<MetricsServer>(*live, options.metrics_port);
    } catch (const std::runtime_error& e) {
      report.failure = RunFailure::BadInput;
      report.errors.add(Diagnostic{"", 0, 0, "--metrics-port", e.what()});
      return report;
    }
    server->start();
    simulation.add_observer(live.get());
    if (options.log) *options.log << "serving live metrics on " << server->url() << std::endl;
  }
  std::unique_ptr<ProgressReporter> progress;
  if (options.progress) {
    progress = std::make_unique<ProgressReporter>(simulation.scenario().duration);
    simulation.add_observer(progress.get());
  }
  const auto started = std::chrono::steady_clock::now();
  report.status = simulation.run();
  report.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (progress) progress->finish();
  if (server) {
    live->complete(report.status);
    if (options.metrics_hold_s > 0) {
      if (options.log)
        *options.log << "run finished; serving the final metrics for " << options.metrics_hold_s << " s more"
                     << std::endl;
      std::this_thread::sleep_for(std::chrono::duration<double>(options.metrics_hold_s));
    }
    server->stop();
  }
  if (!report.status.ok) {
    report.errors = report.status.errors;
    // A bad trace record names its file; a policy's broken contract does not.
    const auto& items = report.errors.items();
    report.failure = !items.empty() && !items.front().file.empty() ? RunFailure::BadInput
                                                                   : RunFailure::PolicyError;
    return report;
  }
  report.metrics = metrics.result();
  report.result_path = out_dir + "/result.json";
  std::error_code error;
  std::filesystem::create_directories(out_dir, error);
  std::ofstream out(report.result_path);
  if (!error && out) {
    out << result_json(scenario, registry, report.metrics, report.status, version);
    out.close();
    std::ofstream(out_dir + "/timeseries.csv") << timeseries_csv(scenario, timeseries);
    std::ofstream cold(out_dir + "/cold_starts.csv");
    cold << cold_starts_csv(scenario, timeseries);
    cold.close();
    // The human-facing files, read back from what was just written (as `fleetsim report`).
    if (out && cold) {
      Diagnostics report_errors = write_run_reports(out_dir);
      if (report_errors.empty()) return report;
      report.failure = RunFailure::WriteError;
      report.errors = report_errors;
      return report;
    }
  }
  report.failure = RunFailure::WriteError;
  report.errors.add(Diagnostic{out_dir, 0, 0, "",
                               "cannot write results here" + (error ? " (" + error.message() + ")" : std::string())});
  return report;
}

}  // namespace fleetsim
