#include "reports/write_reports.hpp"

#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <fstream>

#include "reports/html_report.hpp"
#include "reports/prometheus.hpp"
#include "reports/run_data.hpp"

namespace fleetsim {

std::string write_file_atomically(const std::string& path, const std::string& text) {
  namespace fs = std::filesystem;
  // A temporary name of this writer's own: two processes or threads writing the same file (two
  // sweep shards merging at once) never write into one temporary file.
  static std::atomic<std::uint64_t> counter{0};
  const std::string temp = path + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(counter.fetch_add(1));
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    if (!out) return "cannot write here";
    out << text;
    out.close();
    if (!out) {
      std::error_code ignored;
      fs::remove(temp, ignored);
      return "writing failed";
    }
  }
  std::error_code error;
  fs::rename(temp, path, error);
  if (error) {
    std::error_code ignored;
    fs::remove(temp, ignored);
    return "cannot write here (" + error.message() + ")";
  }
  return "";
}

Diagnostics write_run_reports(const std::string& run_dir, const std::string& shown_dir) {
  LoadedRun loaded = load_run_dir(run_dir);
  if (!loaded.run) return loaded.errors;
  if (!shown_dir.empty()) {  // named as load_run_dir names a directory
    namespace fs = std::filesystem;
    const fs::path path(shown_dir);
    std::string name = path.filename().string();
    if (name.empty() || name == ".") name = path.parent_path().filename().string();
    if (name.empty() || name == ".") name = fs::absolute(path).lexically_normal().parent_path().filename().string();
    loaded.run->dir = shown_dir;
    loaded.run->name = name.empty() ? shown_dir : name;
  }
  Diagnostics errors;
  const std::filesystem::path dir(run_dir);
  const std::pair<std::string, std::string> files[] = {
      {(dir / "report.html").string(), html_report(*loaded.run)},
      {(dir / "result.prom").string(), prometheus_export(*loaded.run)},
  };
  for (const auto& [path, text] : files) {
    const std::string error = write_file_atomically(path, text);
    if (!error.empty()) errors.add({path, 0, 0, "", error});
  }
  return errors;
}

}  // namespace fleetsim
