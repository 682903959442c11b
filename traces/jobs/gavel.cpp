// gavel: Gavel's job traces (stanford-futuredata/gavel: the generated and physical_cluster
// *.trace files, 10 tab-separated fields, and the older Philly-derived msr/seed=0/<vc>.trace, 7
// fields) and its throughput table gavel_simulation_throughputs.json.
#include <charconv>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "traces/delimited.hpp"
#include "traces/jobs/common.hpp"
#include "traces/text.hpp"

namespace fleetsim::job_readers {

namespace {

namespace fs = std::filesystem;

struct ThroughputTable {
  std::map<std::pair<std::string, int>, std::map<std::string, double>> by_key;  // (type, scale) -> gpu -> steps/s
  std::map<std::string, std::set<int>> scales;                                 // job type -> scale factors
  std::vector<std::string> job_types;
};

// "('ResNet-50 (batch size 64)', 1)" -> ("ResNet-50 (batch size 64)", 1).
bool parse_tuple_key(const std::string& key, std::string& type, int& scale) {
  if (key.size() < 7 || key.front() != '(' || key.back() != ')') return false;
  const std::size_t comma = key.rfind(", ");
  if (comma == std::string::npos || comma < 3) return false;
  const char q = key[1];
  if ((q != '\'' && q != '"') || key[comma - 1] != q) return false;
  type = key.substr(2, comma - 3);
  const std::string_view num = std::string_view(key).substr(comma + 2, key.size() - comma - 3);
  auto r = std::from_chars(num.data(), num.data() + num.size(), scale);
  return r.ec == std::errc() && r.ptr == num.data() + num.size() && scale >= 1;
}

bool load_throughputs(const std::string& path, ThroughputTable& table, Diagnostics& errors) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    errors.add(Diagnostic{path, 0, 0, "throughput_table", "cannot open the throughput table"});
    return false;
  }
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
  } catch (const nlohmann::json::parse_error& e) {
    errors.add(Diagnostic{path, 0, 0, "throughput_table", std::string("not valid JSON: ") + e.what()});
    return false;
  }
  const std::string shape = "expected {gpu_type: {\"('<job type>', <scale factor>)\": {\"null\": steps/s}}}";
  if (!j.is_object() || j.empty()) {
    errors.add(Diagnostic{path, 0, 0, "throughput_table", shape});
    return false;
  }
  const std::size_t before = errors.size();
  for (auto g = j.begin(); g != j.end(); ++g) {
    const std::string& gpu = g.key();
    if (gpu.size() > 15 && gpu.ends_with("_unconsolidated")) continue;
    if (!g->is_object()) {
      errors.add(Diagnostic{path, 0, 0, gpu, shape});
      continue;
    }
    for (auto k = g->begin(); k != g->end(); ++k) {
      std::string type;
      int scale = 0;
      if (!parse_tuple_key(k.key(), type, scale)) {
        errors.add(Diagnostic{path, 0, 0, gpu + "." + k.key(),
                              "expected a key \"('<job type>', <scale factor>)\""});
        continue;
      }
      auto alone = k->is_object() ? k->find("null") : k->end();
      if (!k->is_object() || alone == k->end() || !alone->is_number()) {
        errors.add(Diagnostic{path, 0, 0, gpu + "." + k.key(),
                              "expected an object with the job's own throughput under \"null\""});
        continue;
      }
      const double tput = alone->get<double>();
      table.scales[type].insert(scale);
      if (tput > 0 && std::isfinite(tput)) table.by_key[{type, scale}][gpu] = tput;
    }
    if (errors.size() - before >= kMaxListErrors) break;
  }
  if (errors.size() != before) return false;
  for (const auto& [type, s] : table.scales) table.job_types.push_back(type);
  if (table.by_key.empty()) {
    errors.add(Diagnostic{path, 0, 0, "throughput_table", "no positive throughputs in the table"});
    return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// gavel

class GavelSource final : public SourceBase {
 public:
  GavelSource(std::string path, bool lenient, std::size_t window, std::optional<ThroughputTable> table)
      : SourceBase(std::move(path), lenient, window), table_(std::move(table)) {
    stem_ = fs::path(path_).stem().string();
    expected_rows_ = "tab-separated Gavel job lines";
  }
  bool init(Diagnostics& errors) {
    if (!reader_.open(path_)) {
      errors.add(Diagnostic{path_, 0, 0, "", "cannot open the trace file"});
      return false;
    }
    return true;
  }

 protected:
  Read read(JobSpec& job, std::string& cls, Diagnostics& errors) override {
    while (reader_.next(line_)) {
      last_line_ = reader_.line();
      if (is_blank(line_)) continue;
      const std::uint64_t index = rows_++;
      const int n = split_line(line_, '\t', false, fields_, starts_);
      if (n != 7 && n != 10)
        return bad(errors,
                   Diagnostic{path_, reader_.line(), 1, "",
                              "expected 10 tab-separated fields (job_type, command, working_directory, "
                              "num_steps_arg, needs_data_dir, total_steps, scale_factor, priority_weight, "
                              "SLO, arrival_time) or 7 (the Philly-derived layout: job_type, command, "
                              "num_steps_arg, needs_data_dir, total_steps, arrival_time, scale_factor), got " +
                                  std::to_string(n)},
                   "wrong-field-count");
      const bool wide = n == 10;
      const std::vector<std::string>& names = wide ? kNames10 : kNames7;
      const Row row{path_, reader_.line(), fields_, starts_, names};
      const int steps_i = wide ? 5 : 4, scale_i = 6, arrival_i = wide ? 9 : 5;
      for (auto& f : fields_) f.assign(trim(f));
      if (row.text(0).empty()) return bad(errors, row.at(0, "empty (expected a job type)"), "missing-field");

      double steps = 0, scale = 0, weight = 1;
      if (NumCheck c = number(row, steps_i, steps, "an integer number of steps >= 1", true); c.reason)
        return bad(errors, std::move(c.diag), c.reason);
      if (steps < 1) return bad(errors, row.at(steps_i, "expected an integer number of steps >= 1, got " + quote(row.text(steps_i))), "bad-value");
      if (NumCheck c = number(row, scale_i, scale, "an integer number of GPUs >= 1", true); c.reason)
        return bad(errors, std::move(c.diag), c.reason);
      if (scale < 0)
        return bad(errors, row.at(scale_i, "expected an integer number of GPUs >= 1, got " + quote(row.text(scale_i)) + " (negative)"), "negative-gpus");
      if (scale < 1 || scale > 100'000)
        return bad(errors, row.at(scale_i, "expected an integer number of GPUs >= 1, got " + quote(row.text(scale_i))), "bad-value");
      if (wide) {
        if (NumCheck c = number(row, 7, weight, "a priority weight > 0"); c.reason)
          return bad(errors, std::move(c.diag), c.reason);
        if (!(weight > 0) || weight > 1e6)
          return bad(errors, row.at(7, "expected a priority weight > 0, got " + quote(row.text(7))), "bad-value");
      }
      SimTime submit = 0;
      if (NumCheck c = seconds_field(row, arrival_i, 1.0, submit, "seconds"); c.reason)
        return bad(errors, std::move(c.diag), c.reason);

      job = JobSpec{};
      job.id = stem_ + "-" + std::to_string(index);
      job.submit = submit;
      job.workers = static_cast<int>(scale);
      job.worker.gpus = 1;
      job.steps = steps;
      job.priority = static_cast<int>(std::lround(weight));
      if (!wide) job.tenant = stem_;
      if (table_) {
        auto it = table_->by_key.find({row.text(0), job.workers});
        if (it == table_->by_key.end()) return bad(errors, row.at(0, unknown_key(row.text(0), job.workers)), "unknown-throughput-key");
        job.steps_per_second = it->second;
        for (const auto& [gpu, tput] : it->second) job.gpu_types.push_back(gpu);
      }
      cls = row.text(0);
      time_at_ = row.at(arrival_i, "");
      time_text_ = row.text(arrival_i);
      return Read::Job;
    }
    return Read::Eof;
  }

 private:
  std::string unknown_key(const std::string& type, int scale) const {
    std::string key = "('" + type + "', " + std::to_string(scale) + ")";
    auto s = table_->scales.find(type);
    if (s == table_->scales.end()) {
      std::string m = "job type " + quote(type) + " is not in the throughput table (no key " + key + ")";
      const std::string close = did_you_mean(type, table_->job_types);
      if (!close.empty()) m += "; did you mean \"" + close + "\"?";
      return m;
    }
    std::string have;
    for (int k : s->second) have += (have.empty() ? "" : ", ") + std::to_string(k);
    if (s->second.count(scale))
      return "the throughput table has no positive throughput for " + key + " on any GPU type";
    return "the throughput table has no key " + key + " (scale factors for this job type: " + have + ")";
  }

  static inline const std::vector<std::string> kNames10 = {
      "job_type", "command", "working_directory", "num_steps_arg", "needs_data_dir",
      "total_steps", "scale_factor", "priority_weight", "SLO", "arrival_time"};
  static inline const std::vector<std::string> kNames7 = {
      "job_type", "command", "num_steps_arg", "needs_data_dir", "total_steps", "arrival_time", "scale_factor"};

  std::optional<ThroughputTable> table_;
  std::string stem_;
  LineReader reader_;
  std::string line_;
  std::vector<std::string> fields_;
  std::vector<int> starts_;
};

}  // namespace

std::unique_ptr<JobTraceSource> open_gavel(const JobTraceOptions& o, std::size_t window, Diagnostics& errors) {
  std::optional<ThroughputTable> table;
  if (!o.throughput_table.empty()) {
    table.emplace();
    if (!load_throughputs(o.throughput_table, *table, errors)) return nullptr;
  }
  return opened<GavelSource>(errors, o.path, o.lenient, window, std::move(table));
}

}  // namespace fleetsim::job_readers
