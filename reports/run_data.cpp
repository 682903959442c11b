#include "reports/run_data.hpp"

#include "reports/csv_reader.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

namespace fleetsim {

namespace {

namespace fs = std::filesystem;
using ordered = nlohmann::ordered_json;

// ---------------------------------------------------------------------------------------------
// Where each value of a JSON text starts (1-based line), by key path ("overall.ttft_s.p50",
// "models.llama-3.1-8b.requests", "overall.ttft_s.cdf[3]"). Runs over text nlohmann has already
// accepted, so it only has to skip, not validate.
class JsonLines {
 public:
  explicit JsonLines(const std::string& text) : s_(text) {
    skip_ws();
    value("");
  }
  // The line of `path`, else of its nearest parent that has one, else 0.
  int line_of(std::string path) const {
    for (;;) {
      auto it = lines_.find(path);
      if (it != lines_.end()) return it->second;
      if (path.empty()) return 0;
      const auto cut = path.find_last_of(".[");
      path = cut == std::string::npos ? std::string() : path.substr(0, cut);
    }
  }

 private:
  void skip_ws() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) {
      if (s_[i_] == '\n') ++line_;
      ++i_;
    }
  }
  std::string string() {  // at the opening quote; returns the (simply) decoded content
    std::string out;
    ++i_;
    while (i_ < s_.size() && s_[i_] != '"') {
      if (s_[i_] == '\\' && i_ + 1 < s_.size()) {
        const char e = s_[i_ + 1];
        out += e == 'n' ? '\n' : e == 't' ? '\t' : e == 'r' ? '\r' : e == 'b' ? '\b' : e == 'f' ? '\f' : e;
        if (e == 'u') {  // keep \uXXXX undecoded: such keys fall back to their parent's line
          out += s_.substr(i_ + 2, 4);
          i_ += 4;
        }
        i_ += 2;
      } else {
        out += s_[i_++];
      }
    }
    ++i_;
    return out;
  }
  void value(const std::string& path) {
    lines_.emplace(path, line_);
    if (i_ >= s_.size()) return;
    const char c = s_[i_];
    if (c == '{') {
      ++i_;
      skip_ws();
      while (i_ < s_.size() && s_[i_] != '}') {
        const std::string key = string();
        skip_ws();
        ++i_;  // ':'
        skip_ws();
        value(path.empty() ? key : path + "." + key);
        skip_ws();
        if (i_ < s_.size() && s_[i_] == ',') ++i_;
        skip_ws();
      }
      ++i_;
    } else if (c == '[') {
      ++i_;
      skip_ws();
      for (int n = 0; i_ < s_.size() && s_[i_] != ']'; ++n) {
        value(path + "[" + std::to_string(n) + "]");
        skip_ws();
        if (i_ < s_.size() && s_[i_] == ',') ++i_;
        skip_ws();
      }
      ++i_;
    } else if (c == '"') {
      string();
    } else {
      while (i_ < s_.size() && s_[i_] != ',' && s_[i_] != '}' && s_[i_] != ']' && s_[i_] != ' ' &&
             s_[i_] != '\n' && s_[i_] != '\r' && s_[i_] != '\t')
        ++i_;
    }
  }

  const std::string& s_;
  std::size_t i_ = 0;
  int line_ = 1;
  std::map<std::string, int> lines_;
};

// Reads fields of result.json, reporting each problem once with its file, line and key path.
class Reader {
 public:
  Reader(const std::string& file, const JsonLines& lines, Diagnostics& errors)
      : file_(file), lines_(lines), errors_(errors) {}

  void error(const std::string& path, const std::string& message) {
    errors_.add({file_, lines_.line_of(path), 0, path, message});
  }

  const ordered* member(const ordered& obj, const std::string& path, const std::string& key, bool required) {
    if (!obj.is_object()) return nullptr;
    auto it = obj.find(key);
    if (it == obj.end()) {
      if (required) error(path, "missing key \"" + key + "\"");
      return nullptr;
    }
    return &*it;
  }
  const ordered* object(const ordered& obj, const std::string& path, const std::string& key, bool required) {
    const ordered* v = member(obj, path, key, required);
    if (v && !v->is_object()) {
      error(join(path, key), "expected an object");
      return nullptr;
    }
    return v;
  }
  // A number (null reads as NaN: nlohmann writes NaN as null).
  void number(const ordered& obj, const std::string& path, const std::string& key, double& out,
              bool required = true) {
    const ordered* v = member(obj, path, key, required);
    if (!v) return;
    if (v->is_null()) {
      out = std::numeric_limits<double>::quiet_NaN();
    } else if (v->is_number()) {
      out = v->get<double>();
    } else {
      error(join(path, key), "expected a number, got " + std::string(v->type_name()));
    }
  }
  void count(const ordered& obj, const std::string& path, const std::string& key, std::uint64_t& out,
             bool required = true) {
    const ordered* v = member(obj, path, key, required);
    if (!v) return;
    if (v->is_number_unsigned()) {
      out = v->get<std::uint64_t>();
    } else if (v->is_number_integer() && v->get<std::int64_t>() >= 0) {
      out = static_cast<std::uint64_t>(v->get<std::int64_t>());
    } else if (v->is_number_float() && v->get<double>() >= 0 && std::floor(v->get<double>()) == v->get<double>() &&
               v->get<double>() < 1.8e19) {
      out = static_cast<std::uint64_t>(v->get<double>());
    } else {
      error(join(path, key), "expected a count (an integer >= 0), got " + v->dump());
    }
  }
  void text(const ordered& obj, const std::string& path, const std::string& key, std::string& out,
            bool required = true) {
    const ordered* v = member(obj, path, key, required);
    if (!v) return;
    if (v->is_string()) {
      out = v->get<std::string>();
    } else {
      error(join(path, key), "expected a string, got " + std::string(v->type_name()));
    }
  }

  void latency(const ordered& obj, const std::string& path, const std::string& key, LatencyStats& out) {
    const ordered* b = object(obj, path, key, true);
    if (!b) return;
    const std::string p = join(path, key);
    count(*b, p, "count", out.count);
    number(*b, p, "mean", out.mean);
    number(*b, p, "p50", out.p50);
    number(*b, p, "p90", out.p90);
    number(*b, p, "p99", out.p99);
    number(*b, p, "max", out.max);
    buckets(*b, p, out);
    const ordered* cdf = member(*b, p, "cdf", false);
    if (!cdf || cdf->is_null()) return;
    const std::string cp = join(p, "cdf");
    if (!cdf->is_array()) {
      error(cp, "expected an array of [value_s, fraction] pairs");
      return;
    }
    double last_fraction = -1;
    for (std::size_t i = 0; i < cdf->size(); ++i) {
      const ordered& point = (*cdf)[i];
      const std::string pp = cp + "[" + std::to_string(i) + "]";
      if (!point.is_array() || point.size() != 2 || !point[0].is_number() || !point[1].is_number()) {
        error(pp, "expected [value_s, fraction] (two numbers)");
        continue;
      }
      const double v = point[0].get<double>(), f = point[1].get<double>();
      if (!(f >= 0 && f <= 1) || f < last_fraction) {
        error(pp, "fraction must be in [0, 1] and never decrease");
        continue;
      }
      last_fraction = f;
      out.cdf.emplace_back(v, f);
    }
  }

  // The optional `buckets` of a latency block: `le`, increasing upper bounds, and `counts`, one
  // count per bucket (one more than `le`).
  void buckets(const ordered& block, const std::string& path, LatencyStats& out) {
    const ordered* b = object(block, path, "buckets", false);
    if (!b) return;
    const std::string p = join(path, "buckets");
    const ordered* le = member(*b, p, "le", true);
    const ordered* counts = member(*b, p, "counts", true);
    if (!le || !counts) return;
    if (!le->is_array() || !counts->is_array() || counts->size() != le->size() + 1) {
      error(p, "expected `le` (an array of bounds) and `counts` (an array of one more count)");
      return;
    }
    std::vector<double> bounds;
    for (std::size_t i = 0; i < le->size(); ++i) {
      const ordered& v = (*le)[i];
      if (!v.is_number() || (!bounds.empty() && v.get<double>() <= bounds.back())) {
        error(join(p, "le") + "[" + std::to_string(i) + "]", "expected increasing numbers");
        return;
      }
      bounds.push_back(v.get<double>());
    }
    std::vector<std::uint64_t> n;
    for (std::size_t i = 0; i < counts->size(); ++i) {
      const ordered& v = (*counts)[i];
      if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<std::int64_t>() >= 0)) {
        error(join(p, "counts") + "[" + std::to_string(i) + "]", "expected a count (an integer >= 0), got " + v.dump());
        return;
      }
      n.push_back(v.get<std::uint64_t>());
    }
    out.bucket_bounds = std::move(bounds);
    out.bucket_counts = std::move(n);
  }

  // An optional array (null reads as absent).
  const ordered* array(const ordered& obj, const std::string& path, const std::string& key) {
    const ordered* v = member(obj, path, key, false);
    if (!v || v->is_null()) return nullptr;
    if (!v->is_array()) {
      error(join(path, key), "expected an array");
      return nullptr;
    }
    return v;
  }

  void jobs(const ordered& b, const std::string& path, JobsStats& out, bool totals) {
    count(b, path, "jobs", out.jobs);
    count(b, path, "completed", out.completed);
    count(b, path, "rejected", out.rejected);
    number(b, path, "mean_jct_s", out.mean_jct_s);
    latency(b, path, "jct_s", out.jct);
    number(b, path, "mean_queueing_s", out.mean_queueing_s);
    latency(b, path, "queueing_s", out.queueing);
    count(b, path, "preemptions", out.preemptions);
    count(b, path, "futile_preemptions", out.futile_preemptions, false);
    number(b, path, "lost_gpu_hours", out.lost_gpu_hours);
    number(b, path, "gpu_seconds_busy", out.gpu_seconds_busy);
    out.has_totals = totals || b.contains("makespan_s");
    if (!out.has_totals) return;
    number(b, path, "makespan_s", out.makespan_s);
    number(b, path, "gpu_seconds_capacity", out.gpu_seconds_capacity);
    number(b, path, "utilization", out.utilization);
  }

  void mark(const ordered& b, const std::string& path, SaturationMark& out) {
    double pct = 0;
    number(b, path, "arrived_pct", pct);
    out.arrived_pct = static_cast<int>(pct);
    number(b, path, "allocation_ratio", out.allocation_ratio);
    number(b, path, "unallocated_gpus", out.unallocated_gpus);
    number(b, path, "frag_gpus", out.frag_gpus);
    number(b, path, "frag_ratio", out.frag_ratio);
    count(b, path, "arrived_pods", out.arrived_pods, false);
    count(b, path, "failed_pods", out.failed_pods);
  }

  void saturation(const ordered& b, const std::string& path, RunData& out) {
    number(b, path, "capacity_gpus", out.saturation_capacity_gpus);
    const ordered* policies = object(b, path, "policies", true);
    if (!policies) return;
    for (auto it = policies->begin(); it != policies->end(); ++it) {
      const std::string p = join(join(path, "policies"), it.key());
      if (!it->is_object()) {
        error(p, "expected an object");
        continue;
      }
      SaturationPolicyResult pr;
      pr.name = it.key();
      count(*it, p, "arrived_pods", pr.arrived_pods);
      count(*it, p, "placed_pods", pr.placed_pods);
      count(*it, p, "failed_pods", pr.failed_pods);
      number(*it, p, "arrived_gpus", pr.arrived_gpus, false);
      number(*it, p, "allocated_gpus", pr.allocated_gpus, false);
      if (const ordered* at = object(*it, p, "at", true))
        for (auto m = at->begin(); m != at->end(); ++m) {
          const std::string mp = join(join(p, "at"), m.key());
          if (!m->is_object()) {
            error(mp, "expected an object");
            continue;
          }
          SaturationMark mark_out;
          mark(*m, mp, mark_out);
          pr.marks.push_back(mark_out);
        }
      if (const ordered* end = object(*it, p, "end", false)) {
        pr.has_end = true;
        mark(*end, join(p, "end"), pr.end);
      }
      if (const ordered* curve = object(*it, p, "curve", false)) curve_of(*curve, join(p, "curve"), pr.curve);
      out.saturation.push_back(std::move(pr));
    }
  }

  // Columns of equal length: arrived_pct, allocation_ratio, unallocated_gpus, frag_gpus,
  // frag_ratio, failed_pods.
  void curve_of(const ordered& c, const std::string& path, std::vector<SaturationMark>& out) {
    const char* keys[] = {"arrived_pct", "allocation_ratio", "unallocated_gpus", "frag_gpus", "frag_ratio", "failed_pods"};
    std::vector<const ordered*> columns;
    for (const char* k : keys) {
      const ordered* v = member(c, path, k, true);
      if (!v) return;
      if (!v->is_array()) {
        error(join(path, k), "expected an array of numbers");
        return;
      }
      if (!columns.empty() && v->size() != columns.front()->size()) {
        error(join(path, k), "expected " + std::to_string(columns.front()->size()) + " values, as arrived_pct");
        return;
      }
      columns.push_back(v);
    }
    for (std::size_t i = 0; i < columns.front()->size(); ++i) {
      bool numbers = true;
      for (const ordered* col : columns) numbers = numbers && (*col)[i].is_number();
      if (!numbers) {
        error(path + ".arrived_pct[" + std::to_string(i) + "]", "expected numbers in every column");
        return;
      }
      SaturationMark m;
      m.arrived_pct = static_cast<int>((*columns[0])[i].get<double>());
      m.allocation_ratio = (*columns[1])[i].get<double>();
      m.unallocated_gpus = (*columns[2])[i].get<double>();
      m.frag_gpus = (*columns[3])[i].get<double>();
      m.frag_ratio = (*columns[4])[i].get<double>();
      m.failed_pods = static_cast<std::uint64_t>((*columns[5])[i].get<double>());
      out.push_back(m);
    }
  }

  void cost(const ordered& obj, const std::string& prefix, ModelResult& out) {
    for (auto it = obj.begin(); it != obj.end(); ++it) {
      const std::string key = prefix.empty() ? it.key() : prefix + "." + it.key();
      if (it->is_number()) {
        out.cost.emplace_back(key, it->get<double>());
      } else if (it->is_object()) {
        cost(*it, key, out);
      } else if (it->is_string() && it.key() == "currency" && prefix.empty()) {
        out.cost_currency = it->get<std::string>();
      }
    }
  }

  void metrics(const ordered& b, const std::string& path, ModelResult& out) {
    count(b, path, "requests", out.requests);
    count(b, path, "completed", out.completed);
    count(b, path, "failed", out.failed);
    if (const ordered* reasons = object(b, path, "failed_by_reason", true)) {
      for (auto it = reasons->begin(); it != reasons->end(); ++it) {
        std::uint64_t n = 0;
        count(*reasons, join(path, "failed_by_reason"), it.key(), n);
        out.failed_by_reason.emplace_back(it.key(), n);
      }
    }
    number(b, path, "slo_attainment", out.slo_attainment);
    latency(b, path, "ttft_s", out.ttft);
    latency(b, path, "tpot_s", out.tpot);
    latency(b, path, "e2e_s", out.e2e);
    if (const ordered* cs = object(b, path, "cold_starts", true)) {
      const std::string p = join(path, "cold_starts");
      ColdStartStats& c = out.cold_starts;
      count(*cs, p, "count", c.count);
      count(*cs, p, "aborted", c.aborted);
      count(*cs, p, "requests_waited", c.requests_waited);
      number(*cs, p, "share_of_requests_waited", c.share_of_requests_waited);
      latency(*cs, p, "added_latency_s", c.added_latency);
      latency(*cs, p, "duration_s", c.duration);
      if (member(*cs, p, "mean_node_provision_s", false)) {
        c.has_node_provision = true;
        number(*cs, p, "mean_node_provision_s", c.mean_node_provision_s);
      }
      if (member(*cs, p, "weights_from_host_memory", false)) {
        c.has_host_memory = true;
        count(*cs, p, "weights_from_host_memory", c.weights_from_host_memory);
      }
      number(*cs, p, "mean_image_pull_s", c.mean_image_pull_s);
      number(*cs, p, "mean_weight_load_s", c.mean_weight_load_s);
      number(*cs, p, "mean_engine_startup_s", c.mean_engine_startup_s);
      count(*cs, p, "weights_from_disk_cache", c.weights_from_disk_cache);
      count(*cs, p, "weights_from_model_store", c.weights_from_model_store);
      count(*cs, p, "unschedulable_scale_ups", c.unschedulable_scale_ups);
    }
    if (const ordered* g = object(b, path, "gpu_seconds", true)) {
      const std::string p = join(path, "gpu_seconds");
      number(*g, p, "allocated", out.gpu_seconds_allocated);
      number(*g, p, "busy", out.gpu_seconds_busy);
      number(*g, p, "idle", out.gpu_seconds_idle);
      number(*g, p, "starting", out.gpu_seconds_starting);
    }
    if (const ordered* r = object(b, path, "replicas", true)) {
      const std::string p = join(path, "replicas");
      count(*r, p, "peak", out.replicas_peak);
      number(*r, p, "mean", out.replicas_mean);
    }
    if (member(b, path, "gpu_memory_byte_seconds_idle", false)) {
      out.has_gpu_memory_idle = true;
      number(b, path, "gpu_memory_byte_seconds_idle", out.gpu_memory_byte_seconds_idle);
    }
    if (const ordered* c = member(b, path, "cost", false)) {
      if (c->is_object()) {
        cost(*c, "", out);
      } else if (c->is_number()) {
        out.cost.emplace_back("total", c->get<double>());
      } else if (!c->is_null()) {
        error(join(path, "cost"), "expected an object or a number");
      }
    }
  }

  static std::string join(const std::string& path, const std::string& key) {
    return path.empty() ? key : path + "." + key;
  }

 private:
  const std::string& file_;
  const JsonLines& lines_;
  Diagnostics& errors_;
};

std::optional<std::string> read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream s;
  s << in.rdbuf();
  if (in.bad()) return std::nullopt;
  return s.str();
}

}  // namespace

const RunSeries* TimeSeriesData::find(const std::string& model, const std::string& name) const {
  for (const RunSeries& s : series)
    if (s.model == model && s.name == name) return &s;
  return nullptr;
}

const RunSeries* TimeSeriesData::find_other(const std::string& name) const {
  for (const RunSeries& s : others)
    if (s.name == name) return &s;
  return nullptr;
}

std::vector<std::string> drawn_models(const RunData& run, std::size_t k) {
  std::vector<std::string> out;
  if (run.models.size() <= k) {
    for (const ModelResult& m : run.models) out.push_back(m.name);
    return out;
  }
  std::vector<const ModelResult*> ranked;
  for (const ModelResult& m : run.models) ranked.push_back(&m);
  std::stable_sort(ranked.begin(), ranked.end(), [](const ModelResult* a, const ModelResult* b) {
    return a->requests != b->requests ? a->requests > b->requests : a->name < b->name;
  });
  ranked.resize(k);
  for (const ModelResult& m : run.models)
    if (std::find(ranked.begin(), ranked.end(), &m) != ranked.end()) out.push_back(m.name);
  return out;
}

std::string other_models_label(std::size_t n) { return "other (" + format_count(n) + " models)"; }

std::vector<std::string> TimeSeriesData::models() const {
  std::vector<std::string> out;
  for (const RunSeries& s : series) {
    bool seen = false;
    for (const auto& m : out) seen = seen || m == s.model;
    if (!seen) out.push_back(s.model);
  }
  return out;
}

const SaturationMark* SaturationPolicyResult::at(int pct) const {
  for (const SaturationMark& m : marks)
    if (m.arrived_pct == pct) return &m;
  return nullptr;
}

const ModelResult* RunData::model(const std::string& name) const {
  for (const ModelResult& m : models)
    if (m.name == name) return &m;
  return nullptr;
}

double RunData::time_end() const {
  double end = end_time_s;
  for (const RunSeries& s : timeseries.series)
    if (!s.time_s.empty()) end = std::max(end, s.time_s.back());
  return end;
}

bool RunData::has_node_provision() const {
  if (cold_start_log_has_node_provision || overall.cold_starts.has_node_provision) return true;
  for (const ModelResult& m : models)
    if (m.cold_starts.has_node_provision) return true;
  return false;
}

bool RunData::has_cost() const {
  if (!overall.cost.empty()) return true;
  for (const ModelResult& m : models)
    if (!m.cost.empty()) return true;
  return false;
}

void parse_result_json(const std::string& text, const std::string& file, RunData& out, Diagnostics& errors) {
  ordered j;
  try {
    j = ordered::parse(text);
  } catch (const ordered::parse_error& e) {
    // e.byte is the 1-based offset of the offending character: count the lines before it.
    const std::size_t end = std::min<std::size_t>(e.byte > 0 ? e.byte - 1 : 0, text.size());
    int line = 1, column = 1;
    for (std::size_t i = 0; i < end; ++i) {
      if (text[i] == '\n') {
        ++line;
        column = 1;
      } else {
        ++column;
      }
    }
    std::string what = e.what();
    const auto cut = what.find("parse error");
    if (cut != std::string::npos) what = what.substr(cut);
    errors.add({file, line, column, "", "malformed JSON: " + what});
    return;
  }
  const JsonLines lines(text);
  Reader r(file, lines, errors);
  if (!j.is_object()) {
    r.error("", "expected a JSON object (a fleetsim result.json)");
    return;
  }
  const ordered* version = r.member(j, "", "schema_version", true);
  if (!version) return;
  if (!version->is_number_integer() || version->get<std::int64_t>() != 1) {
    r.error("schema_version", "unsupported schema_version " + version->dump() + " (this fleetsim reads 1)");
    return;
  }
  out.schema_version = 1;
  r.text(j, "", "fleetsim_version", out.fleetsim_version, false);
  r.text(j, "", "kind", out.kind, false);
  if (out.kind != "run" && out.kind != "jobs" && out.kind != "saturation") {
    r.error("kind", "unknown kind \"" + out.kind + "\" (this fleetsim reads run, jobs and saturation)");
    return;
  }
  const bool is_run = out.kind == "run";
  if (const ordered* sc = r.object(j, "", "scenario", false)) {
    r.text(*sc, "scenario", "name", out.scenario_name, false);
    r.text(*sc, "scenario", "description", out.scenario_description, false);
    if (const ordered* si = r.member(*sc, "scenario", "sample_interval", false)) {
      if (si->is_string()) out.sample_interval = si->get<std::string>();
      else if (si->is_number()) out.sample_interval = si->dump() + "s";
    }
  }
  if (const ordered* run = r.object(j, "", "run", true)) {
    r.count(*run, "run", "seed", out.seed, false);
    r.number(*run, "run", "end_time_s", out.end_time_s, out.kind != "saturation");  // a replay has no clock
    r.count(*run, "run", "events", out.events, false);
    r.count(*run, "run", "requests", out.requests, false);
    r.number(*run, "run", "percentile_relative_error", out.percentile_relative_error, false);
  }
  if (const ordered* overall = r.object(j, "", "overall", is_run)) {
    out.overall.name = "overall";
    r.metrics(*overall, "overall", out.overall);
    if (const ordered* cache = r.object(*overall, "overall", "cache", false)) {
      out.has_cache = true;
      r.count(*cache, "overall.cache", "hits", out.cache_hits);
      r.count(*cache, "overall.cache", "inserts", out.cache_inserts);
      r.count(*cache, "overall.cache", "evictions", out.cache_evictions);
    }
  }
  if (const ordered* models = r.object(j, "", "models", is_run)) {
    for (auto it = models->begin(); it != models->end(); ++it) {
      const std::string path = "models." + it.key();
      if (!it->is_object()) {
        r.error(path, "expected an object");
        continue;
      }
      ModelResult m;
      m.name = it.key();
      r.metrics(*it, path, m);
      out.models.push_back(std::move(m));
    }
  }
  if (const ordered* pools = r.member(j, "", "pools", false); pools && !pools->is_null()) {
    if (!pools->is_array()) r.error("pools", "expected an array");
    else
      for (std::size_t i = 0; i < pools->size(); ++i) {
        const std::string p = "pools[" + std::to_string(i) + "]";
        const ordered& e = (*pools)[i];
        if (!e.is_object()) {
          r.error(p, "expected an object");
          continue;
        }
        PoolRow row;
        r.text(e, p, "pool", row.pool);
        r.number(e, p, "node_hours", row.node_hours, false);
        r.count(e, p, "peak_nodes", row.peak_nodes, false);
        r.count(e, p, "provisioned", row.provisioned, false);
        r.count(e, p, "released", row.released, false);
        out.pools.push_back(std::move(row));
      }
  }
  if (const ordered* links = r.member(j, "", "links", false); links && !links->is_null()) {
    if (!links->is_array()) r.error("links", "expected an array");
    else
      for (std::size_t i = 0; i < links->size(); ++i) {
        const std::string p = "links[" + std::to_string(i) + "]";
        const ordered& e = (*links)[i];
        if (!e.is_object()) {
          r.error(p, "expected an object");
          continue;
        }
        LinkRow row;
        r.text(e, p, "link", row.link);
        r.number(e, p, "bytes", row.bytes, false);
        r.number(e, p, "bandwidth_bytes_per_s", row.bandwidth_bytes_per_s, false);
        out.links.push_back(std::move(row));
      }
  }
  if (const ordered* jobs = r.object(j, "", "jobs", out.kind == "jobs")) {
    out.has_jobs = true;
    r.jobs(*jobs, "jobs", out.jobs, out.kind == "jobs");
  }
  if (const ordered* sizes = r.array(j, "", "by_gpus")) {
    for (std::size_t i = 0; i < sizes->size(); ++i) {
      const std::string p = "by_gpus[" + std::to_string(i) + "]";
      const ordered& e = (*sizes)[i];
      if (!e.is_object()) {
        r.error(p, "expected an object");
        continue;
      }
      JobSizeRow row;
      r.text(e, p, "class", row.label);
      r.count(e, p, "jobs", row.jobs);
      r.count(e, p, "completed", row.completed);
      r.number(e, p, "mean_jct_s", row.mean_jct_s);
      r.number(e, p, "jct_p50_s", row.jct_p50_s, false);
      r.number(e, p, "jct_p99_s", row.jct_p99_s, false);
      r.number(e, p, "mean_queueing_s", row.mean_queueing_s, false);
      out.job_sizes.push_back(std::move(row));
    }
  }
  if (const ordered* tenants = r.array(j, "", "tenants")) {
    for (std::size_t i = 0; i < tenants->size(); ++i) {
      const std::string p = "tenants[" + std::to_string(i) + "]";
      const ordered& e = (*tenants)[i];
      if (!e.is_object()) {
        r.error(p, "expected an object");
        continue;
      }
      TenantRow row;
      r.text(e, p, "tenant", row.tenant);
      r.count(e, p, "completed_jobs", row.completed_jobs);
      r.number(e, p, "mean_jct_s", row.mean_jct_s);
      r.number(e, p, "mean_rho", row.mean_rho);
      r.number(e, p, "max_rho", row.max_rho);
      out.tenants.push_back(std::move(row));
    }
  }
  if (const ordered* cluster = r.object(j, "", "cluster", false)) {
    r.count(*cluster, "cluster", "nodes", out.cluster_nodes, false);
    r.number(*cluster, "cluster", "gpus", out.cluster_gpus, false);
  }
  if (const ordered* sat = r.object(j, "", "saturation", out.kind == "saturation"))
    r.saturation(*sat, "saturation", out);
  // A top-level cost block (if the writer puts it there) counts as the overall cost.
  if (const ordered* c = r.member(j, "", "cost", false); c && c->is_object() && out.overall.cost.empty())
    r.cost(*c, "", out.overall);
}


std::string format_latency(double s) {
  if (std::isnan(s)) return "-";
  char buf[64];
  const double a = std::fabs(s);
  if (a == 0) return "0 s";
  if (a < 1e-3) std::snprintf(buf, sizeof buf, "%.3g µs", s * 1e6);
  else if (a < 1) std::snprintf(buf, sizeof buf, "%.3g ms", s * 1e3);
  else if (a < 1000) std::snprintf(buf, sizeof buf, "%.3g s", s);
  else std::snprintf(buf, sizeof buf, "%.0f s", s);
  return buf;
}

std::string format_count(std::uint64_t n) {
  std::string digits = std::to_string(n), out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string format_fixed(double v, int decimals) {
  if (std::isnan(v)) return "-";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  if (std::string(buf).find_first_not_of("-0.") == std::string::npos && buf[0] == '-') return buf + 1;  // "-0.0"
  return buf;
}

std::string format_percent(double fraction, int decimals) {
  if (std::isnan(fraction)) return "-";
  return format_fixed(fraction * 100, decimals) + "%";
}

std::string format_span(double seconds) {
  if (std::isnan(seconds)) return "-";
  char buf[64];
  const double a = std::fabs(seconds);
  if (a < 120) std::snprintf(buf, sizeof buf, "%.0f s", seconds);
  else if (a < 7200) std::snprintf(buf, sizeof buf, "%.1f min", seconds / 60);
  else std::snprintf(buf, sizeof buf, "%.1f h", seconds / 3600);
  return buf;
}

LoadedRun load_run_dir(const std::string& dir, std::size_t drawn) {
  LoadedRun loaded;
  RunData run;
  run.dir = dir;
  fs::path path(dir);
  std::string name = path.filename().string();
  if (name.empty() || name == ".") name = path.parent_path().filename().string();  // "runs/a/"
  if (name.empty() || name == ".") name = fs::absolute(path).lexically_normal().parent_path().filename().string();
  run.name = name.empty() ? dir : name;

  std::error_code ec;
  if (!fs::is_directory(path, ec)) {
    loaded.errors.add({dir, 0, 0, "", "not a run directory (expected a folder with result.json)"});
    return loaded;
  }
  const fs::path result = path / "result.json";
  const std::optional<std::string> text = read_text(result);
  if (!text) {
    loaded.errors.add({result.string(), 0, 0, "",
                       fs::exists(result, ec) ? "cannot read the file" : "missing: not a fleetsim run directory"});
    return loaded;
  }
  parse_result_json(*text, result.string(), run, loaded.errors);

  const fs::path ts = path / "timeseries.csv";
  if (fs::exists(ts, ec)) {
    if (std::ifstream in(ts, std::ios::binary); in) {
      run.has_timeseries = true;
      // result.json is read first, so the drawn models are known before the series.
      const bool limit = drawn > 0 && run.models.size() > drawn;
      run.timeseries = parse_timeseries_csv(in, ts.string(), loaded.errors,
                                        limit ? drawn_models(run, drawn) : std::vector<std::string>{});
      // A fleet past the scenario's timeseries_models has one `other (N models)` row per series
      // and sample (reports/run_files.hpp), summed in with the models written one by one: the
      // sum is right, but it counts as one model. Every model not drawn is in it.
      if (limit && run.timeseries.other_models > 0 && run.timeseries.other_models < run.models.size() - drawn) {
        run.timeseries.other_models = run.models.size() - drawn;
        for (RunSeries& s : run.timeseries.others) s.model = other_models_label(run.timeseries.other_models);
      }
      if (in.bad()) loaded.errors.add({ts.string(), 0, 0, "", "cannot read the file"});
    } else {
      loaded.errors.add({ts.string(), 0, 0, "", "cannot read the file"});
    }
  }
  const fs::path cs = path / "cold_starts.csv";
  if (fs::exists(cs, ec)) {
    // The cold-start charts' lanes, as the report orders its models (html_report.cpp; it draws
    // kDrawnModels whatever `drawn` is).
    std::vector<std::string> lanes;
    std::string other;
    if (run.models.size() > kDrawnModels) {
      lanes = drawn_models(run);
      other = other_models_label(run.models.size() - kDrawnModels);
    } else {
      for (const ModelResult& m : run.models) lanes.push_back(m.name);
      for (const std::string& m : run.timeseries.models())
        if (m != "all") lanes.push_back(m);
    }
    // Streamed: only the digest is kept, whatever the number of cold starts.
    auto read = [&](double end_s, Diagnostics& errors) -> std::optional<ColdStartDigest> {
      std::ifstream in(cs, std::ios::binary);
      if (!in) return std::nullopt;
      ColdStartDigestBuilder digest(lanes, other, end_s, run.seed);
      read_cold_starts_csv(in, cs.string(), errors, [&](ColdStartRow&& r) { digest.add(std::move(r)); },
                           &run.cold_start_log_has_node_provision);
      if (in.bad()) return std::nullopt;
      return digest.finish();
    };
    std::optional<ColdStartDigest> digest = read(run.time_end(), loaded.errors);
    // A cold start that ends after the run and its time series (a file fleetsim did not write)
    // lengthens the timeline: its columns are binned again, on a second pass, against that end.
    if (digest && loaded.errors.empty() && digest->max_ready_s > digest->timeline_end_s) {
      Diagnostics again;
      digest = read(digest->max_ready_s, again);
    }
    if (digest) {
      run.has_cold_start_log = true;
      run.cold_start_log = std::move(*digest);
    } else {
      loaded.errors.add({cs.string(), 0, 0, "", "cannot read the file"});
    }
  }
  if (loaded.errors.empty()) loaded.run = std::move(run);
  return loaded;
}

}  // namespace fleetsim
