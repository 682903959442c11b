#include "cli/report_command.hpp"

#include <CLI/CLI.hpp>

#include <filesystem>
#include <iostream>
#include <memory>

#include "reports/compare.hpp"
#include "reports/run_data.hpp"
#include "reports/write_reports.hpp"

namespace fleetsim {

namespace {

constexpr int kExitBadInput = 2;

int print_errors(const Diagnostics& errors, const char* what) {
  std::cerr << errors.to_string() << errors.size() << (errors.size() == 1 ? " error" : " errors") << ", " << what
            << "\n";
  return kExitBadInput;
}

int run_report(const std::string& dir) {
  const Diagnostics errors = write_run_reports(dir);
  if (!errors.empty()) return print_errors(errors, "no report written");
  const std::filesystem::path d(dir);
  std::cout << (d / "report.html").string() << "\n" << (d / "result.prom").string() << "\n";
  return 0;
}

int run_compare(const std::vector<std::string>& dirs, const std::string& html) {
  std::vector<RunData> runs;
  Diagnostics errors;
  for (const std::string& dir : dirs) {
    LoadedRun loaded = load_run_dir(dir);
    for (const Diagnostic& d : loaded.errors.items()) errors.add(d);
    if (loaded.run) runs.push_back(std::move(*loaded.run));
  }
  if (!errors.empty()) return print_errors(errors, "nothing compared");
  // A table has the rows of one front end: a jobs result next to a saturation result would
  // show nothing but dashes.
  for (const RunData& r : runs)
    if (r.kind != runs.front().kind)
      errors.add({r.dir, 0, 0, "kind",
                  "a " + r.kind + " result cannot be compared with a " + runs.front().kind + " result (" +
                      runs.front().dir + ")"});
  if (!errors.empty()) return print_errors(errors, "nothing compared");
  std::cout << compare_table(runs);
  if (!html.empty()) {
    const std::string error = write_file_atomically(html, compare_html(runs));
    if (!error.empty()) {
      std::cerr << html << ": " << error << "\n";
      return kExitBadInput;
    }
    std::cout << "wrote " << html << "\n";
  }
  return 0;
}

}  // namespace

void add_report_commands(CLI::App& app, int& exit_code) {
  auto dir = std::make_shared<std::string>();
  auto* report = app.add_subcommand(
      "report", "write RUN_DIR/report.html (self-contained charts) and RUN_DIR/result.prom (OpenMetrics)");
  report->add_option("run_dir", *dir, "a directory written by `fleetsim run`, `jobs` or `saturation` --out")->required();
  report->callback([dir, &exit_code] { exit_code = run_report(*dir); });

  auto dirs = std::make_shared<std::vector<std::string>>();
  auto html = std::make_shared<std::string>();
  auto* compare = app.add_subcommand("compare", "compare runs side by side (best value per metric marked *)");
  compare->add_option("run_dirs", *dirs,
                      "directories written by one front end (`fleetsim run`, `jobs` or `saturation` --out); the "
                      "first is the baseline")
      ->required();
  compare->add_option("--html", *html, "also write the comparison as a self-contained HTML page");
  compare->callback([dirs, html, &exit_code] { exit_code = run_compare(*dirs, *html); });
}

}  // namespace fleetsim
