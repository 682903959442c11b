#include "cli/runner/run_to_directory.hpp"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <ostream>
#include <stdexcept>
#include <thread>
#include <vector>

#include <unistd.h>

#include "reports/metrics_server.hpp"
#include "reports/progress.hpp"
#include "reports/result_json.hpp"
#include "reports/run_files.hpp"
#include "reports/write_reports.hpp"
#include "scenarios/loader/build.hpp"
#include "sim/timeseries.hpp"

namespace fleetsim {

namespace {

namespace fs = std::filesystem;

// The run's files, written into a staging folder beside `out_dir` and moved into it only when
// all of them (and the reports read back from them) were written: a failure at any step leaves
// no result.json or CSV behind that could pass for this run's result ("nothing written"). Files
// of an earlier run in `out_dir` are replaced one by one, result.json last.
Diagnostics write_results(const Scenario& scenario, const PolicyRegistry& registry, const RunReport& report,
                          const TimeSeriesRecorder& timeseries, const std::string& out_dir, const std::string& version) {
  Diagnostics errors;
  fs::path target = fs::path(out_dir).lexically_normal();
  if (target.filename().empty()) target = target.parent_path();
  const fs::path staging =
      target.parent_path() / ("." + target.filename().string() + ".partial-" + std::to_string(::getpid()));
  auto fail = [&](const std::string& why) {
    std::error_code ignored;
    fs::remove_all(staging, ignored);
    errors.add(Diagnostic{out_dir, 0, 0, "", why});
    return errors;
  };
  std::error_code error;
  fs::create_directories(target, error);
  if (!error) fs::remove_all(staging, error);
  if (!error) fs::create_directory(staging, error);
  if (error) return fail("cannot write results here (" + error.message() + ")");
  const std::pair<const char*, std::string> files[] = {
      {"timeseries.csv", timeseries_csv(scenario, timeseries)},
      {"cold_starts.csv", cold_starts_csv(scenario, timeseries)},
      {"result.json", result_json(scenario, registry, report.metrics, report.status, version)}};
  for (const auto& [name, text] : files) {
    std::ofstream out(staging / name, std::ios::binary);
    out << text;
    out.close();
    if (!out) return fail(std::string("cannot write ") + name + " here");
  }
  // The human-facing files, read back from what was just written (as `fleetsim report`).
  Diagnostics report_errors = write_run_reports(staging.string(), out_dir);
  if (!report_errors.empty()) {
    fail("the run's files could not be read back for the reports, so none were kept");
    for (const Diagnostic& d : report_errors.items()) errors.add(d);
    return errors;
  }
  std::vector<fs::path> names;
  for (const fs::directory_entry& e : fs::directory_iterator(staging, error))
    if (e.path().filename() != "result.json") names.push_back(e.path().filename());
  names.emplace_back("result.json");  // last: a folder with result.json holds a whole result
  std::vector<fs::path> moved;
  for (const fs::path& name : names) {
    fs::rename(staging / name, target / name, error);
    if (error) {
      std::error_code ignored;
      for (const fs::path& m : moved) fs::remove(target / m, ignored);
      return fail("cannot write " + name.string() + " here (" + error.message() + ")");
    }
    moved.push_back(name);
  }
  fs::remove(staging, error);
  return errors;
}

}  // namespace

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
    if (std::ostream* say = options.address ? options.address : options.log)
      *say << "serving live metrics on " << server->url() << std::endl;
  }
  std::unique_ptr<ProgressReporter> progress;
  if (options.progress) {
    progress = std::make_unique<ProgressReporter>(simulation.scenario().duration);
    simulation.add_observer(progress.get());
  }
  // The timeline streams into a staging file while the run goes; it replaces `timeline_path`
  // only once the run and its results succeeded.
  std::unique_ptr<std::ofstream> timeline_file;
  std::unique_ptr<TimelineWriter> timeline;
  fs::path timeline_staging;
  auto drop_timeline = [&] {
    timeline.reset();
    timeline_file.reset();
    std::error_code ignored;
    if (!timeline_staging.empty()) fs::remove(timeline_staging, ignored);
  };
  if (!options.timeline_path.empty()) {
    const fs::path target = fs::path(options.timeline_path).lexically_normal();
    timeline_staging = target.parent_path() / ("." + target.filename().string() + ".partial-" + std::to_string(::getpid()));
    std::error_code error;
    if (!target.parent_path().empty()) fs::create_directories(target.parent_path(), error);
    if (!error) {
      timeline_file = std::make_unique<std::ofstream>(timeline_staging, std::ios::binary | std::ios::trunc);
      if (!*timeline_file) error = std::make_error_code(std::errc::permission_denied);
    }
    if (error || target.filename().empty()) {
      timeline_staging.clear();
      report.failure = RunFailure::WriteError;
      report.errors.add(Diagnostic{options.timeline_path, 0, 0, "--timeline", "cannot write the timeline here"});
      return report;
    }
    timeline = std::make_unique<TimelineWriter>(simulation.scenario(), simulation.nodes(), *timeline_file,
                                                options.timeline);
    simulation.add_observer(timeline.get());
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
    drop_timeline();
    report.errors = report.status.errors;
    // A bad trace record names its file; a policy's broken contract does not.
    const auto& items = report.errors.items();
    report.failure = !items.empty() && !items.front().file.empty() ? RunFailure::BadInput
                                                                   : RunFailure::PolicyError;
    return report;
  }
  if (timeline) {
    timeline_file->close();
    if (!timeline->ok() || !*timeline_file) {
      drop_timeline();
      report.failure = RunFailure::WriteError;
      report.errors.add(Diagnostic{options.timeline_path, 0, 0, "--timeline", "cannot write the timeline here"});
      return report;
    }
  }
  report.metrics = metrics.result();
  report.result_path = out_dir + "/result.json";
  Diagnostics errors = write_results(scenario, registry, report, timeseries, out_dir, version);
  if (errors.empty() && timeline) {
    std::error_code error;
    fs::rename(timeline_staging, options.timeline_path, error);
    if (error)
      errors.add(Diagnostic{options.timeline_path, 0, 0, "--timeline",
                            "cannot write the timeline here (" + error.message() + ")"});
  }
  if (!errors.empty()) {
    drop_timeline();
    report.failure = RunFailure::WriteError;
    report.errors = std::move(errors);
  }
  return report;
}

}  // namespace fleetsim
