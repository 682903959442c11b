// The job-trace and node-list formats, one line each, and the entry points of job_traces.hpp:
// the options every format shares are checked here, then each format's reader (one file per
// format in this folder) opens the file.
#include "traces/jobs/job_traces.hpp"

#include <algorithm>
#include <filesystem>

#include "traces/jobs/common.hpp"

namespace fleetsim {

namespace {

using namespace job_readers;

struct JobTraceFormat {
  const char* name;
  std::size_t reorder_window;  // the default
  // The format's own options, checked with the shared ones (null: none).
  void (*check)(const JobTraceOptions&, Diagnostics&);
  std::unique_ptr<JobTraceSource> (*open)(const JobTraceOptions&, std::size_t window, Diagnostics&);
};

const JobTraceFormat kJobTraceFormats[] = {
    {"gavel", 0, nullptr, open_gavel},  // Gavel's *.trace files (+ its throughput table)
    {"openb", 0, nullptr, open_openb},  // Alibaba cluster-trace-gpu-v2023 pod lists
    // Alibaba cluster-trace-gpu-v2025 DLRM instances: out of order by up to 966 rows (84,715 s).
    {"dlrm-2025", 4096, nullptr, open_dlrm_2025},
    {"generic-csv", 0, check_generic_csv, open_generic_csv},  // columns named by the user
};

struct NodeListFormat {
  const char* name;
  const NodeListSpec* spec;
};

const NodeListFormat kNodeListFormats[] = {
    {"openb", &kOpenbNodes},          // openb_node_list_*.csv
    {"pai-machines", &kPaiMachines},  // pai_machine_spec.csv
};

template <class Entry, std::size_t N>
std::vector<std::string> names_of(const Entry (&entries)[N]) {
  std::vector<std::string> names;
  for (const Entry& e : entries) names.emplace_back(e.name);
  return names;
}

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

}  // namespace

const std::vector<std::string>& job_trace_formats() {
  static const std::vector<std::string> f = names_of(kJobTraceFormats);
  return f;
}

const std::vector<std::string>& node_list_formats() {
  static const std::vector<std::string> f = names_of(kNodeListFormats);
  return f;
}

std::unique_ptr<JobTraceSource> open_job_trace(const JobTraceOptions& o, Diagnostics& errors) {
  namespace fs = std::filesystem;
  const std::size_t before = errors.size();
  auto option_error = [&](const std::string& option, const std::string& message) {
    errors.add(Diagnostic{"", 0, 0, option, message});
  };
  const auto& formats = job_trace_formats();
  const auto format = std::find_if(std::begin(kJobTraceFormats), std::end(kJobTraceFormats),
                                   [&](const JobTraceFormat& f) { return o.format == f.name; });
  if (format == std::end(kJobTraceFormats)) {
    std::string m = "unknown job trace format \"" + o.format + "\" (formats: " + joined(formats) + ")";
    if (o.format == "pai-machines")
      m += "; pai-machines is a node list: use read_node_list";
    else if (o.format == "philly-runtime")
      m += "; philly-runtime is a duration distribution: use read_philly_runtimes";
    else if (const std::string close = did_you_mean(o.format, formats); !close.empty())
      m += "; did you mean \"" + close + "\"?";
    option_error("format", m);
    return nullptr;
  }
  std::error_code ec;
  if (o.path.empty() || !fs::exists(o.path, ec))
    option_error("path", "no such file: \"" + o.path + "\"");
  else if (fs::is_directory(o.path, ec))
    option_error("path", "\"" + o.path + "\" is a folder; a job trace is one file");
  if (!o.throughput_table.empty() && o.format != "gavel")
    option_error("throughput_table", "only the gavel format takes a throughput table");
  if (o.file_order && o.format != "openb") option_error("file_order", "only the openb format takes file_order");
  const std::size_t window = o.reorder_window.value_or(format->reorder_window);
  if (window > 100'000'000) option_error("reorder_window", "at most 100000000 rows");
  if (format->check) format->check(o, errors);
  if (errors.size() != before) return nullptr;
  return format->open(o, window, errors);
}

std::vector<NodeRecord> read_node_list(const std::string& format, const std::string& path, Diagnostics& errors) {
  const auto& formats = node_list_formats();
  const auto f = std::find_if(std::begin(kNodeListFormats), std::end(kNodeListFormats),
                              [&](const NodeListFormat& e) { return format == e.name; });
  if (f == std::end(kNodeListFormats)) {
    std::string m = "unknown node list format \"" + format + "\" (formats: " + joined(formats) + ")";
    if (const std::string close = did_you_mean(format, formats); !close.empty())
      m += "; did you mean \"" + close + "\"?";
    errors.add(Diagnostic{"", 0, 0, "format", m});
    return {};
  }
  return read_nodes(path, *f->spec, errors);
}

}  // namespace fleetsim
