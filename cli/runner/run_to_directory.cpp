#include "cli/runner/run_to_directory.hpp"

#include "cli/runner/interrupt_cleanup.hpp"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
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
#include "sim/units.hpp"

namespace fleetsim {

namespace {

namespace fs = std::filesystem;

// The run's files are written into a staging folder beside `out_dir` and moved into it only
// when all of them (and the reports read back from them) were written: a failure at any step
// leaves no result.json or CSV behind that could pass for this run's result ("nothing
// written"). Files of an earlier run in `out_dir` are replaced one by one, result.json last.
// timeseries.csv is streamed into the staging folder during the run, so memory does not grow
// with the simulated duration; an interrupted run removes the folder (RemoveOnInterrupt).
constexpr const char* kRunFiles[] = {"timeseries.csv", "cold_starts.csv", "result.json", "report.html",
                                     "result.prom"};

fs::path staging_for(const std::string& out_dir) {
  fs::path target = fs::path(out_dir).lexically_normal();
  if (target.filename().empty()) target = target.parent_path();
  return target.parent_path() / ("." + target.filename().string() + ".partial-" + std::to_string(::getpid()));
}

fs::path target_for(const std::string& out_dir) {
  fs::path target = fs::path(out_dir).lexically_normal();
  if (target.filename().empty()) target = target.parent_path();
  return target;
}

void remove_staging(const fs::path& staging) {
  std::error_code ignored;
  fs::remove_all(staging, ignored);
}

// Streams rows into a file of the staging folder (timeseries.csv, cold_starts.csv) as the run
// goes, a megabyte at a time, so that the run keeps none of them.
class StreamedCsv {
 public:
  StreamedCsv(const Scenario& scenario, const fs::path& path, const char* header)
      : scenario_(scenario), out_(path, std::ios::binary), written_(timeseries_models_written(scenario)) {
    buf_ = header;
  }
  bool ok() const { return static_cast<bool>(out_); }
  void add(const TimeSeriesRecorder::Sample& sample) {
    append_timeseries_rows(buf_, scenario_, sample, written_);
    if (buf_.size() > (1u << 20)) flush();
  }
  void add(const ColdStartRecord& record) {
    append_cold_start_row(buf_, scenario_, record);
    if (buf_.size() > (1u << 20)) flush();
  }
  bool close() {
    flush();
    std::string().swap(buf_);  // the reports, read back next, need the memory more
    out_.close();
    return static_cast<bool>(out_);
  }

 private:
  void flush() {
    out_.write(buf_.data(), static_cast<std::streamsize>(buf_.size()));
    buf_.clear();
  }
  const Scenario& scenario_;
  std::ofstream out_;
  std::vector<std::uint8_t> written_;  // models with rows of their own in timeseries.csv
  std::string buf_;
};

Diagnostics write_results(const Scenario& scenario, const PolicyRegistry& registry, const RunReport& report,
                          const std::string& out_dir, const fs::path& staging,
                          const std::string& version, const RunOptions& options) {
  Diagnostics errors;
  const fs::path target = target_for(out_dir);
  auto fail = [&](const std::string& why) {
    remove_staging(staging);
    errors.add(Diagnostic{out_dir, 0, 0, "", why});
    return errors;
  };
  std::error_code error;
  std::optional<RealRunInfo> real;
  if (options.real_info) real = options.real_info();
  std::vector<std::pair<std::string, std::string>> files = {
      {"result.json", result_json(scenario, registry, report.metrics, report.status, version, real ? &*real : nullptr)}};
  for (const auto& [name, text] : options.extra_files) files.emplace_back(name, text());
  for (const auto& [name, text] : files) {
    std::ofstream out(staging / name, std::ios::binary);
    out << text;
    out.close();
    if (!out) return fail("cannot write " + name + " here");
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
  SimulationSetup setup = build_setup(scenario, registry);
  if (options.prepare) options.prepare(setup);
  Simulation simulation(std::move(setup));
  MetricsCollector metrics(simulation.scenario());
  TimeSeriesRecorder timeseries(simulation.scenario(), scenario.sample_interval);
  simulation.add_observer(&metrics);
  simulation.add_observer(&timeseries);
  for (SimObserver* o : options.observers) simulation.add_observer(o);
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
  // The staging folder, with timeseries.csv streamed into it as the run goes.
  const fs::path staging = staging_for(out_dir);
  std::vector<std::string> staged;
  for (const char* name : kRunFiles) staged.push_back((staging / name).string());
  // A folder this run creates for its results is removed too when the run is cut short.
  const bool had_target = fs::exists(target_for(out_dir));
  std::vector<std::string> folders{staging.string()};
  if (!had_target) folders.push_back(target_for(out_dir).string());
  std::optional<RemoveOnInterrupt> cleanup;
  if (!options.handles_interrupts) cleanup.emplace(staged, folders);
  auto abandon = [&] {  // a failed run leaves nothing behind, not even a folder it created
    remove_staging(staging);
    std::error_code ignored;
    if (!had_target) fs::remove(target_for(out_dir), ignored);  // only when still empty
  };
  {
    std::error_code error;
    fs::create_directories(target_for(out_dir), error);
    if (!error) fs::remove_all(staging, error);
    if (!error) fs::create_directory(staging, error);
    if (error) {
      abandon();
      report.failure = RunFailure::WriteError;
      report.errors.add(Diagnostic{out_dir, 0, 0, "", "cannot write results here (" + error.message() + ")"});
      return report;
    }
  }
  auto series_file = std::make_unique<StreamedCsv>(scenario, staging / "timeseries.csv", kTimeseriesHeader);
  auto cold_start_file = std::make_unique<StreamedCsv>(scenario, staging / "cold_starts.csv", kColdStartsHeader);
  for (const auto& [file, name] : {std::pair{series_file.get(), "timeseries.csv"}, {cold_start_file.get(), "cold_starts.csv"}})
    if (!file->ok()) {
      abandon();
      report.failure = RunFailure::WriteError;
      report.errors.add(Diagnostic{out_dir, 0, 0, "", std::string("cannot write ") + name + " here"});
      return report;
    }
  timeseries.set_sink([file = series_file.get()](const TimeSeriesRecorder::Sample& s) { file->add(s); });
  timeseries.set_cold_start_sink([file = cold_start_file.get()](const ColdStartRecord& c) { file->add(c); });
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
      abandon();
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
  const bool series_written = series_file->close();
  const bool cold_starts_written = cold_start_file->close();
  if (!report.status.ok) {
    drop_timeline();
    abandon();
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
      abandon();
      report.failure = RunFailure::WriteError;
      report.errors.add(Diagnostic{options.timeline_path, 0, 0, "--timeline", "cannot write the timeline here"});
      return report;
    }
  }
  report.metrics = metrics.result();
  report.result_path = out_dir + "/result.json";
  if (!series_written) {
    drop_timeline();
    abandon();
    report.failure = RunFailure::WriteError;
    report.errors.add(Diagnostic{out_dir, 0, 0, "", "cannot write timeseries.csv here"});
    return report;
  }
  if (!cold_starts_written) {
    drop_timeline();
    abandon();
    report.failure = RunFailure::WriteError;
    report.errors.add(Diagnostic{out_dir, 0, 0, "", "cannot write cold_starts.csv here"});
    return report;
  }
  Diagnostics errors = write_results(scenario, registry, report, out_dir, staging, version, options);
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

void warn_after_duration(const Scenario& scenario, const RunStatus& status, std::ostream& out) {
  if (status.requests_after_duration > 0)
    out << "warning: " << status.requests_after_duration << " trace request"
        << (status.requests_after_duration == 1 ? "" : "s") << " at or after the duration ("
        << format_duration(scenario.duration) << ") were not run (result.json run.requests_after_duration)\n";
  if (status.jobs && status.jobs->jobs_after_duration > 0)
    out << "warning: " << status.jobs->jobs_after_duration << " job"
        << (status.jobs->jobs_after_duration == 1 ? "" : "s")
        << " submitted after the run ended were not run (result.json jobs.jobs_after_duration)\n";
  for (const std::string& line : status.faults.warnings)
    out << "warning: " << line << " (result.json run.faults.skipped)\n";
}

}  // namespace fleetsim
