#include "cli/sweep/sweep.hpp"

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cmath>
#include <exception>
#include <filesystem>
#include <limits>
#include <map>
#include <mutex>
#include <numeric>
#include <thread>

#include "cli/runner/run_to_directory.hpp"
#include "cli/sweep/result_paths.hpp"
#include "reports/result_json.hpp"
#include "scenarios/loader/work_limits.hpp"
#include "sim/metrics.hpp"
#include "sim/csv_field.hpp"
#include "reports/svg_chart.hpp"
#include "reports/write_reports.hpp"
#include "scenarios/loader/scenario_loader.hpp"
#include "scenarios/loader/yaml_reader.hpp"

namespace fleetsim {

namespace fs = std::filesystem;
using ordered = nlohmann::ordered_json;

namespace {

constexpr std::size_t kMaxPoints = 10'000'000;

// ------------------------------------------------------------------ small helpers

// "0-4, 7, 9-10"
std::string ranges(const std::vector<std::size_t>& v) {
  std::string out;
  for (std::size_t i = 0; i < v.size();) {
    std::size_t j = i;
    while (j + 1 < v.size() && v[j + 1] == v[j] + 1) ++j;
    out += (out.empty() ? "" : ", ") + std::to_string(v[i]);
    if (j > i) out += "-" + std::to_string(v[j]);
    i = j + 1;
  }
  return out;
}

std::string points_phrase(const std::vector<std::size_t>& v) {
  return (v.size() == 1 ? "point " : "points ") + ranges(v);
}

// Runs f(i) for i in [0, n) on up to `jobs` threads (a shared atomic work index). An exception
// out of f (a policy that cannot be made) stops the remaining points and is rethrown here, on
// the calling thread, once every thread has joined.
template <class F>
void parallel_for(std::size_t n, unsigned jobs, F&& f) {
  const std::size_t threads = std::min<std::size_t>(std::max(1u, jobs), n);
  if (threads <= 1) {
    for (std::size_t i = 0; i < n; ++i) f(i);
    return;
  }
  std::atomic<std::size_t> next{0};
  std::mutex failure_mutex;
  std::exception_ptr failure;
  std::vector<std::thread> pool;
  pool.reserve(threads);
  for (std::size_t t = 0; t < threads; ++t)
    pool.emplace_back([&] {
      for (;;) {
        const std::size_t i = next.fetch_add(1);
        if (i >= n) break;
        try {
          f(i);
        } catch (...) {
          const std::lock_guard lock(failure_mutex);
          if (!failure) failure = std::current_exception();
          next = n;
        }
      }
    });
  for (auto& t : pool) t.join();
  if (failure) std::rethrow_exception(failure);
}

std::string format_number(double v, int precision = 6) {
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::general, precision);
  return std::string(buf, r.ptr);
}

// ------------------------------------------------------------------ YAML values

void set_flow(YAML::Node n) {
  if (n.IsMap() || n.IsSequence()) {
    n.SetStyle(YAML::EmitterStyle::Flow);
    if (n.IsMap())
      for (auto kv : n) set_flow(kv.second);
    else
      for (auto e : n) set_flow(e);
  }
}

std::string flow_yaml(const YAML::Node& node) {
  YAML::Node copy = YAML::Clone(node);
  set_flow(copy);
  YAML::Emitter e;
  e.SetMapFormat(YAML::Flow);
  e.SetSeqFormat(YAML::Flow);
  e << copy;
  return e.c_str();
}

// A YAML value as JSON: plain scalars that read as booleans, null or numbers become those.
ordered yaml_to_json(const YAML::Node& n) {
  if (!n.IsDefined() || n.IsNull()) return nullptr;
  if (n.IsMap()) {
    ordered o = ordered::object();
    for (const auto& kv : n) o[kv.first.Scalar()] = yaml_to_json(kv.second);
    return o;
  }
  if (n.IsSequence()) {
    ordered a = ordered::array();
    for (const auto& e : n) a.push_back(yaml_to_json(e));
    return a;
  }
  const std::string& t = n.Scalar();
  if (n.Tag() == "!") return t;  // quoted: a string
  if (t == "true" || t == "True" || t == "TRUE") return true;
  if (t == "false" || t == "False" || t == "FALSE") return false;
  if (t == "~" || t == "null" || t == "Null" || t == "NULL") return nullptr;
  const char* b = t.data();
  const char* e = t.data() + t.size();
  std::int64_t i = 0;
  if (auto r = std::from_chars(b, e, i); r.ec == std::errc() && r.ptr == e) return i;
  double d = 0;
  if (auto r = std::from_chars(b, e, d); r.ec == std::errc() && r.ptr == e && std::isfinite(d)) return d;
  return t;
}

ordered flow_to_json(const std::string& flow) {
  try {
    return yaml_to_json(YAML::Load(flow));
  } catch (const YAML::Exception&) {
    return flow;
  }
}

// A short label for charts: {impl: kpa, keepalive: 5min} -> "kpa keepalive=5min".
std::string short_label(const std::string& flow) {
  YAML::Node n;
  try {
    n = YAML::Load(flow);
  } catch (const YAML::Exception&) {
    return flow;
  }
  if (!n.IsMap()) return flow;
  std::string out;
  for (const auto& kv : n) {
    const std::string key = kv.first.Scalar();
    const std::string value = kv.second.IsScalar() ? kv.second.Scalar() : flow_yaml(kv.second);
    out += (out.empty() ? "" : " ") + (key == "impl" ? value : key + "=" + value);
  }
  return out.empty() ? flow : out;
}

// ------------------------------------------------------------------ reading the sweep file

SweepValue sweep_value(const YAML::Node& n) {
  SweepValue v;
  v.yaml = flow_yaml(n);
  if (n.Mark().line >= 0) {
    v.line = n.Mark().line + 1;
    v.column = n.Mark().column + 1;
  }
  return v;
}

bool check_key_path(YamlContext& ctx, const YAML::Node& key, const std::string& section) {
  const std::string& k = key.Scalar();
  if (k.empty() || k.find('=') != std::string::npos || k.find_first_of(" \t") != std::string::npos ||
      normal_key_path(k).empty()) {
    ctx.error(key, section + "." + k, "expected a scenario key path such as policies.autoscaler or models[0].startup_time");
    return false;
  }
  return true;
}

// A string that may not be empty, at `n` (reported at `n`, or at `where` when `n` is absent).
bool nonempty_text(YamlContext& ctx, const YAML::Node& n, const YAML::Node& where, const std::string& path,
                   std::string& out) {
  if (n.IsScalar() && !n.Scalar().empty()) {
    out = n.Scalar();
    return true;
  }
  ctx.error(n.IsDefined() && !n.IsNull() ? n : where, path, "expected a non-empty string, got " + describe(n));
  return false;
}

// A list with at least one element, at `n` (reported like nonempty_text).
bool nonempty_list(YamlContext& ctx, const YAML::Node& n, const YAML::Node& where, const std::string& path,
                   const std::string& of_what) {
  if (n.IsSequence() && n.size() > 0) return true;
  ctx.error(n.IsDefined() && !n.IsNull() ? n : where, path,
            "expected a non-empty list of " + of_what + ", got " + describe(n));
  return false;
}

}  // namespace

const std::vector<std::string>& default_sweep_metrics() {
  static const std::vector<std::string> metrics = {
      "overall.requests",          "overall.slo_attainment",
      "overall.ttft_s.p99",        "overall.e2e_s.p99",
      "overall.cold_starts.count", "overall.cold_starts.share_of_requests_waited",
      "overall.gpu_seconds.allocated", "overall.gpu_seconds.idle"};
  return metrics;
}

SweepLoadResult load_sweep_text(const std::string& yaml, const std::string& source_name,
                                const std::string& base_dir) {
  SweepLoadResult result;
  const std::optional<YAML::Node> parsed = parse_yaml(yaml, source_name, result.errors);
  if (!parsed) return result;
  const YAML::Node& root = *parsed;
  YamlContext ctx{source_name, result.errors, {}};
  if (!root.IsMap()) {
    ctx.error(root, "", "expected a mapping with base:, grid:, zip:, seeds:, ... (got " + describe(root) + ")");
    return result;
  }
  SweepSpec s;
  s.file = source_name;
  s.name = fs::path(source_name).stem().string();
  std::vector<std::pair<std::string, YAML::Node>> used_keys;  // normal key path, its node

  auto claim = [&](const YAML::Node& key, const std::string& where) {
    const std::string normal = normal_key_path(key.Scalar());
    for (const auto& [k, n] : used_keys)
      if (k == normal) {
        ctx.error(key, where, "this key path is already varied or set at line " + std::to_string(n.Mark().line + 1) +
                                  " (each path may appear once across set, grid and zip)");
        return false;
      }
    used_keys.emplace_back(normal, key);
    return true;
  };
  // The values of one grid or zip key, when its path and its list are good.
  auto axis_values = [&](const YAML::Node& key, const YAML::Node& list, const std::string& section,
                         std::vector<SweepValue>& values) {
    const std::string where = section + "." + key.Scalar();
    if (!check_key_path(ctx, key, section) || !nonempty_list(ctx, list, key, where, "values") || !claim(key, where))
      return false;
    for (const auto& v : list) values.push_back(sweep_value(v));
    return true;
  };

  MapReader r(ctx, root, "");
  if (const YAML::Node name = r.get("name"); r.has("name")) nonempty_text(ctx, name, root, "name", s.name);
  (void)r.text("description", "");
  bool have_base = false;
  if (const YAML::Node base = r.get("base"); r.has("base") && nonempty_text(ctx, base, root, "base", s.base)) {
    have_base = true;
    const fs::path p = fs::path(s.base).is_absolute() ? fs::path(s.base) : fs::path(base_dir) / s.base;
    s.base_path = p.lexically_normal().string();
    std::error_code ec;
    if (!fs::is_regular_file(p, ec))
      ctx.error(base, "base", "cannot open the base scenario " + s.base_path + " (paths are relative to the sweep file)");
  }

  MapReader set(ctx, r.get("set"), "set");
  for (const auto& [key, value] : set.entries())
    if (check_key_path(ctx, key, "set") && claim(key, "set." + key.Scalar()))
      s.fixed.push_back(SweepSetting{key.Scalar(), sweep_value(value)});
  set.finish();

  MapReader grid(ctx, r.get("grid"), "grid");
  for (const auto& [key, list] : grid.entries()) {
    std::vector<SweepValue> values;
    if (!axis_values(key, list, "grid", values)) continue;
    SweepAxis axis;
    axis.keys.push_back(key.Scalar());
    for (auto& v : values) axis.values.push_back({v});
    s.axes.push_back(std::move(axis));
  }
  grid.finish();

  MapReader zip_map(ctx, r.get("zip"), "zip");
  SweepAxis zip;
  zip.zip = true;
  YAML::Node first_zip_key;
  for (const auto& [key, list] : zip_map.entries()) {
    std::vector<SweepValue> values;
    if (!axis_values(key, list, "zip", values)) continue;
    if (zip.keys.empty()) {
      first_zip_key = key;
      zip.values.resize(values.size());
    } else if (values.size() != zip.values.size()) {
      ctx.error(list, "zip." + key.Scalar(),
                "zip lists must all have one length: " + zip.keys.front() + " (line " +
                    std::to_string(first_zip_key.Mark().line + 1) + ") has " + std::to_string(zip.values.size()) +
                    " values, this one " + std::to_string(values.size()));
      continue;
    }
    zip.keys.push_back(key.Scalar());
    for (std::size_t i = 0; i < values.size(); ++i) zip.values[i].push_back(values[i]);
  }
  zip_map.finish();
  if (!zip.keys.empty()) s.axes.push_back(std::move(zip));

  if (const YAML::Node seeds = r.get("seeds"); r.has("seeds") && nonempty_list(ctx, seeds, seeds, "seeds", "seeds")) {
    for (const auto& v : seeds) {
      std::uint64_t seed = 0;
      const std::string t = v.IsScalar() ? v.Scalar() : "";
      auto res = std::from_chars(t.data(), t.data() + t.size(), seed);
      if (t.empty() || res.ec != std::errc() || res.ptr != t.data() + t.size()) {
        ctx.error(v, "seeds", "expected a seed (an integer >= 0), got " + describe(v));
        continue;
      }
      if (std::find(s.seeds.begin(), s.seeds.end(), seed) != s.seeds.end()) {
        ctx.error(v, "seeds", "seed " + t + " is listed twice");
        continue;
      }
      s.seeds.push_back(seed);
    }
  }

  const bool have_metrics = r.has("metrics");
  if (const YAML::Node metrics = r.get("metrics");
      have_metrics && nonempty_list(ctx, metrics, metrics, "metrics", "result.json paths")) {
    for (const auto& v : metrics) {
      std::string m;
      if (!nonempty_text(ctx, v, v, "metrics", m)) continue;
      if (std::find(s.metrics.begin(), s.metrics.end(), m) != s.metrics.end()) {
        ctx.error(v, "metrics", "metric " + m + " is listed twice");
        continue;
      }
      s.metrics.push_back(m);
    }
  }

  MapReader pareto(ctx, r.get("pareto"), "pareto");
  if (pareto.ok()) {
    ParetoSpec p;
    bool have_x = false, have_y = false;
    for (const std::string axis : {"x", "y"}) {
      std::string t;
      if (!pareto.has(axis)) {
        (void)pareto.get(axis);
        ctx.error(pareto.node(), pareto.path(axis), "required key is missing");
        continue;
      }
      if (!nonempty_text(ctx, pareto.get(axis), pareto.node(), pareto.path(axis), t)) continue;
      bool maximize = false;
      if (t.rfind("max:", 0) == 0) {
        maximize = true;
        t = t.substr(4);
      } else if (t.rfind("min:", 0) == 0) {
        t = t.substr(4);
      }
      t.erase(0, t.find_first_not_of(' '));
      if (t.empty()) {
        ctx.error(pareto.get(axis), pareto.path(axis), "expected a result.json path after the prefix");
        continue;
      }
      (axis == "x" ? p.x : p.y) = t;
      (axis == "x" ? p.maximize_x : p.maximize_y) = maximize;
      (axis == "x" ? have_x : have_y) = true;
    }
    if (have_x && have_y) s.pareto = p;
  }
  pareto.finish();
  r.finish();

  if (!have_base && result.errors.empty()) ctx.error(root, "base", "required key is missing: the base scenario file");
  if (!have_metrics) s.metrics = default_sweep_metrics();
  if (s.pareto) {
    for (const std::string& m : {s.pareto->x, s.pareto->y})
      if (std::find(s.metrics.begin(), s.metrics.end(), m) == s.metrics.end()) s.metrics.push_back(m);
  }
  if (result.errors.empty()) {
    double count = s.seeds.empty() ? 1.0 : static_cast<double>(s.seeds.size());
    for (const auto& a : s.axes) count *= static_cast<double>(a.values.size());
    if (count > static_cast<double>(kMaxPoints))
      ctx.error(root, "", "the sweep has " + format_number(count) + " points; at most " + std::to_string(kMaxPoints));
  }
  if (result.errors.empty()) result.sweep = std::move(s);
  return result;
}

SweepLoadResult load_sweep_file(const std::string& path) {
  std::string text;
  if (!read_text_file(path, text)) {
    SweepLoadResult result;
    result.errors.add(Diagnostic{path, 0, 0, "", "cannot open the sweep file"});
    return result;
  }
  const std::string dir = fs::path(path).parent_path().string();
  return load_sweep_text(text, path, dir.empty() ? "." : dir);
}

// ------------------------------------------------------------------ points

std::size_t sweep_point_count(const SweepSpec& sweep) {
  std::size_t n = sweep.seeds.empty() ? 1 : sweep.seeds.size();
  constexpr std::size_t kMax = std::numeric_limits<std::size_t>::max();
  for (const auto& a : sweep.axes) {  // saturates rather than wraps: a huge grid stays huge
    const std::size_t k = a.values.size();
    n = k != 0 && n > kMax / k ? kMax : n * k;
  }
  return n;
}

Diagnostics check_sweep_size(const SweepSpec& sweep) {
  Diagnostics errors;
  const std::size_t n = sweep_point_count(sweep);
  if (n > kMaxSweepPoints)
    errors.add(Diagnostic{sweep.file, 0, 0, "grid",
                          "the sweep has " + (n == std::numeric_limits<std::size_t>::max() ? std::string("more than 1.8e+19")
                                                                                          : short_count(static_cast<double>(n))) +
                              " points, more than the limit of " + std::to_string(kMaxSweepPoints) +
                              "; use fewer values, or pass --force to run it anyway"});
  return errors;
}

SweepPoint sweep_point(const SweepSpec& sweep, std::size_t index) {
  SweepPoint p;
  p.index = index;
  std::size_t rest = index;
  if (!sweep.seeds.empty()) {
    p.seed = sweep.seeds[rest % sweep.seeds.size()];
    rest /= sweep.seeds.size();
  }
  p.choice.assign(sweep.axes.size(), 0);
  for (std::size_t a = sweep.axes.size(); a-- > 0;) {
    p.choice[a] = rest % sweep.axes[a].values.size();
    rest /= sweep.axes[a].values.size();
  }
  for (const auto& f : sweep.fixed) p.overrides.push_back(f.key + "=" + f.value.yaml);
  for (std::size_t a = 0; a < sweep.axes.size(); ++a) {
    const SweepAxis& axis = sweep.axes[a];
    for (std::size_t k = 0; k < axis.keys.size(); ++k)
      p.overrides.push_back(axis.keys[k] + "=" + axis.values[p.choice[a]][k].yaml);
  }
  return p;
}

std::vector<SweepPoint> sweep_points(const SweepSpec& sweep) {
  std::vector<SweepPoint> out;
  const std::size_t n = sweep_point_count(sweep);
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) out.push_back(sweep_point(sweep, i));
  return out;
}

std::string point_dir_name(const SweepSpec& sweep, std::size_t index) {
  const std::size_t n = sweep_point_count(sweep);
  std::size_t width = 4;
  for (std::size_t last = n > 0 ? n - 1 : 0, digits = 1; (last /= 10) > 0;) width = std::max(width, ++digits);
  std::string num = std::to_string(index);
  if (num.size() < width) num.insert(0, width - num.size(), '0');
  return "point-" + num;
}

std::vector<std::string> sweep_axis_columns(const SweepSpec& sweep) {
  std::vector<std::string> out;
  for (const auto& a : sweep.axes) out.insert(out.end(), a.keys.begin(), a.keys.end());
  return out;
}

std::string parse_shard(const std::string& text, std::size_t& index, std::size_t& count) {
  const auto slash = text.find('/');
  auto number = [](const std::string& t, std::size_t& v) {
    auto r = std::from_chars(t.data(), t.data() + t.size(), v);
    return !t.empty() && r.ec == std::errc() && r.ptr == t.data() + t.size();
  };
  std::size_t i = 0, n = 0;
  if (slash == std::string::npos || !number(text.substr(0, slash), i) || !number(text.substr(slash + 1), n))
    return "expected I/N (shard I of N, 0 <= I < N), got \"" + text + "\"";
  if (n == 0 || i >= n) return "shard " + text + ": need 0 <= I < N";
  index = i;
  count = n;
  return "";
}

namespace {

std::vector<std::size_t> shard_indices(std::size_t total, std::size_t shard_index, std::size_t shard_count) {
  std::vector<std::size_t> out;
  for (std::size_t i = shard_index; i < total; i += shard_count) out.push_back(i);
  return out;
}

// A loader diagnostic caused by an override points at the sweep file's value instead.
Diagnostic locate(const SweepSpec& sweep, const SweepPoint& point, Diagnostic d) {
  if (d.file != "--set" && d.line != 0) return d;
  const std::string path = normal_key_path(d.path);
  const SweepValue* best = nullptr;
  std::size_t best_len = 0;
  auto consider = [&](const std::string& key, const SweepValue& v) {
    const std::string k = normal_key_path(key);
    // The override's own path or below it; or, for a problem without a position, a key the
    // override created above it (an unknown key in the path).
    if ((key_path_within(path, k) || key_path_within(k, path)) && k.size() >= best_len) {
      best = &v;
      best_len = k.size();
    }
  };
  for (const auto& f : sweep.fixed) consider(f.key, f.value);
  for (std::size_t a = 0; a < sweep.axes.size(); ++a)
    for (std::size_t k = 0; k < sweep.axes[a].keys.size(); ++k)
      consider(sweep.axes[a].keys[k], sweep.axes[a].values[point.choice[a]][k]);
  if (!best) return d;
  d.file = sweep.file;
  d.line = best->line;
  d.column = best->column;
  return d;
}

// Adds per-point diagnostics to `out`, each distinct problem once with the points it affects.
void add_grouped(Diagnostics& out, const std::vector<std::pair<std::size_t, Diagnostics>>& per_point) {
  std::vector<std::pair<Diagnostic, std::vector<std::size_t>>> groups;
  std::map<std::string, std::size_t> by_text;
  for (const auto& [point, diags] : per_point)
    for (const Diagnostic& d : diags.items()) {
      const std::string key = d.to_string();
      auto it = by_text.find(key);
      if (it == by_text.end()) {
        by_text.emplace(key, groups.size());
        groups.push_back({d, {point}});
      } else if (groups[it->second].second.back() != point) {
        groups[it->second].second.push_back(point);
      }
    }
  for (auto& [d, points] : groups) {
    Diagnostic g = d;
    g.message = points_phrase(points) + ": " + d.message;
    out.add(std::move(g));
  }
}

struct LoadedPoints {
  std::vector<std::optional<Scenario>> scenarios;  // parallel to the indices asked for
  Diagnostics errors;
};

LoadedPoints load_points(const SweepSpec& sweep, const PolicyRegistry& registry, const std::vector<std::size_t>& indices,
                         unsigned jobs, bool force) {
  LoadedPoints out;
  out.scenarios.resize(indices.size());
  std::vector<std::pair<std::size_t, Diagnostics>> per_point(indices.size());
  parallel_for(indices.size(), jobs, [&](std::size_t i) {
    const SweepPoint point = sweep_point(sweep, indices[i]);
    per_point[i].first = point.index;
    try {
      LoadOptions options;
      options.overrides = point.overrides;
      options.seed = point.seed;
      options.force = force;
      LoadResult loaded = load_scenario_file(sweep.base_path, registry, options);
      for (const Diagnostic& d : loaded.errors.items()) per_point[i].second.add(locate(sweep, point, d));
      if (loaded.scenario) {
        if (!force) {
          const Diagnostics too_much = check_work(*loaded.scenario);
          for (const Diagnostic& d : too_much.items()) per_point[i].second.add(locate(sweep, point, d));
        }
        check_metric_paths(sweep, *loaded.scenario, registry, per_point[i].second);
      }
      out.scenarios[i] = std::move(loaded.scenario);
    } catch (const std::exception& e) {
      per_point[i].second.add(Diagnostic{sweep.base_path, 0, 0, "", std::string("cannot load: ") + e.what()});
    }
  });
  add_grouped(out.errors, per_point);
  return out;
}

// point.json: what the point is; compared on resume and merge.
ordered point_json(const SweepSpec& sweep, const SweepPoint& p) {
  ordered j = ordered::object();
  j["point"] = p.index;
  j["dir"] = point_dir_name(sweep, p.index);
  j["sweep"] = sweep.name;
  j["base"] = sweep.base;
  j["overrides"] = p.overrides;
  ordered values = ordered::object();
  for (std::size_t a = 0; a < sweep.axes.size(); ++a)
    for (std::size_t k = 0; k < sweep.axes[a].keys.size(); ++k)
      values[sweep.axes[a].keys[k]] = flow_to_json(sweep.axes[a].values[p.choice[a]][k].yaml);
  j["values"] = values;
  if (p.seed) j["seed"] = *p.seed;
  else j["seed"] = nullptr;
  return j;
}

// "" when the folder's point.json describes this point; otherwise why not.
std::string check_point_json(const fs::path& dir, const ordered& expected) {
  std::string text;
  if (!read_text_file((dir / "point.json").string(), text)) return "has result.json but no point.json";
  ordered j;
  try {
    j = ordered::parse(text);
  } catch (const nlohmann::json::exception& e) {
    return "point.json is not valid JSON (" + std::string(e.what()) + ")";
  }
  if (!j.is_object() || j.value("overrides", ordered()) != expected["overrides"] ||
      j.value("seed", ordered()) != expected["seed"])
    return "was run with other settings (point.json: overrides " + j.value("overrides", ordered()).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) +
           ", seed " + j.value("seed", ordered()).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "; this sweep: overrides " +
           expected["overrides"].dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + ", seed " + expected["seed"].dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) +
           "); remove the folder or use another output folder";
  return "";
}

// ------------------------------------------------------------------ merging

std::string csv_value(const ordered& v) {
  if (v.is_null()) return "";
  if (v.is_string()) return csv_field(v.get<std::string>());
  return csv_field(v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

struct Row {
  std::size_t point = 0;
  std::vector<std::string> axis_text;  // flow YAML per axis column
  ordered values;                      // per axis column, as JSON
  ordered seed;
  std::vector<ordered> metrics;
  std::string label;                   // short, for the chart
};

// Every point in grey with a tooltip; the frontier in red, connected in x order and labelled.
std::string pareto_svg(const SweepSpec& sweep, const std::vector<Row>& rows, const std::vector<std::size_t>& plotted,
                       const std::vector<double>& xs, const std::vector<double>& ys,
                       const std::vector<std::size_t>& frontier) {
  const ParetoSpec& p = *sweep.pareto;
  auto better = [](bool maximize) { return maximize ? " (higher is better)" : " (lower is better)"; };
  auto range_axis = [](const std::vector<double>& v, const std::string& title) {
    svg::Axis a = v.empty() ? svg::linear_axis(0, 1, title)
                            : svg::linear_axis(*std::min_element(v.begin(), v.end()),
                                               *std::max_element(v.begin(), v.end()), title);
    a.pad = 0.03;
    return a;
  };
  svg::Axis x = range_axis(xs, p.x + better(p.maximize_x)), y = range_axis(ys, p.y + better(p.maximize_y));
  svg::Chart c(sweep.name + ": Pareto frontier", svg::Layout{800, 540, 96, 32, 72, 78, true});
  c.x_axis(x);
  c.y_axis(y);
  std::vector<svg::LegendItem> legend = {
      {"all points (" + std::to_string(plotted.size()) + ")", "#9aa5b1", svg::Swatch::Marker, "", "#52606d"},
      {"Pareto frontier (" + std::to_string(frontier.size()) + ")", "#d62728", svg::Swatch::LineMarker}};
  if (rows.size() > plotted.size())
    legend.push_back({std::to_string(rows.size() - plotted.size()) + " without values not shown", "#52606d",
                      svg::Swatch::None});
  c.legend(legend, svg::LegendAt::Above);
  auto tooltip = [&](std::size_t i) {
    const Row& r = rows[plotted[i]];
    std::string t = "point " + std::to_string(r.point);
    for (const auto& a : r.axis_text) t += ", " + a;
    if (!r.seed.is_null()) t += ", seed " + r.seed.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return t + "\n" + p.x + " = " + format_number(xs[i], 8) + "\n" + p.y + " = " + format_number(ys[i], 8);
  };
  std::string points, frontier_marks;
  for (std::size_t i = 0; i < plotted.size(); ++i)
    points += svg::Chart::circle(x.px(xs[i]), y.px(ys[i]), 4, "#9aa5b1",
                                 "fill-opacity=\"0.85\" stroke=\"#52606d\" stroke-width=\"0.8\"", tooltip(i)) + "\n";
  if (frontier.size() > 1) {
    svg::Points line;
    for (std::size_t f : frontier) line.emplace_back(x.px(xs[f]), y.px(ys[f]));
    frontier_marks += svg::Chart::polyline(line, {"#d62728", "", 2}) + "\n";
  }
  for (std::size_t f : frontier)
    frontier_marks += svg::Chart::circle(x.px(xs[f]), y.px(ys[f]), 5.5, "#d62728",
                                         "stroke=\"white\" stroke-width=\"1\"", tooltip(f)) + "\n";
  for (std::size_t f : frontier)
    frontier_marks += svg::Chart::text(x.px(xs[f]) + 8, y.px(ys[f]) - 8, rows[plotted[f]].label,
                                       "font-size=\"11\" fill=\"#9b1c1c\"");
  c.body() += svg::Chart::group("points", points) + svg::Chart::group("frontier", frontier_marks);
  return c.svg();
}

}  // namespace

Diagnostics check_sweep_points(const SweepSpec& sweep, const PolicyRegistry& registry, unsigned jobs,
                               std::size_t shard_index, std::size_t shard_count, bool force) {
  if (shard_count == 0 || shard_index >= shard_count) {
    Diagnostics d;
    d.add(Diagnostic{"--shard", 0, 0, "", "need 0 <= I < N"});
    return d;
  }
  if (!force)
    if (Diagnostics too_many = check_sweep_size(sweep); !too_many.empty()) return too_many;
  return load_points(sweep, registry, shard_indices(sweep_point_count(sweep), shard_index, shard_count), jobs, force)
      .errors;
}

MergeReport merge_sweep(const SweepSpec& sweep, const std::string& out_dir) {
  MergeReport report;
  const std::size_t n = sweep_point_count(sweep);
  report.points = n;
  const fs::path out(out_dir);
  for (std::size_t i = 0; i < n; ++i) {
    std::error_code ec;
    if (!fs::is_regular_file(out / point_dir_name(sweep, i) / "result.json", ec)) report.missing.push_back(i);
  }
  if (!report.missing.empty()) {
    std::string first = point_dir_name(sweep, report.missing.front());
    report.errors.add(Diagnostic{out_dir, 0, 0, "",
                                 std::to_string(report.missing.size()) + " of " + std::to_string(n) +
                                     " points have no result.json yet (" + points_phrase(report.missing) +
                                     ", e.g. " + first + "): run their shards first"});
    return report;
  }

  const std::vector<std::string> columns = sweep_axis_columns(sweep);
  std::vector<Row> rows;
  rows.reserve(n);
  std::map<std::string, std::vector<std::size_t>> missing_metric;  // path -> points
  std::vector<std::string> missing_order;
  std::map<std::string, bool> metric_is_group;
  for (std::size_t i = 0; i < n; ++i) {
    const SweepPoint point = sweep_point(sweep, i);
    const fs::path dir = out / point_dir_name(sweep, i);
    const ordered expected = point_json(sweep, point);
    if (std::string why = check_point_json(dir, expected); !why.empty()) {
      report.errors.add(Diagnostic{dir.string(), 0, 0, "", why});
      continue;
    }
    std::string text;
    read_text_file((dir / "result.json").string(), text);  // unreadable: empty, so not valid JSON below
    ordered result;
    try {
      result = ordered::parse(text);
    } catch (const nlohmann::json::exception& e) {
      report.errors.add(Diagnostic{(dir / "result.json").string(), 0, 0, "", std::string("not valid JSON: ") + e.what()});
      continue;
    }
    Row row;
    row.point = i;
    row.values = expected["values"];
    for (std::size_t a = 0; a < sweep.axes.size(); ++a)
      for (std::size_t k = 0; k < sweep.axes[a].keys.size(); ++k) {
        const std::string& v = sweep.axes[a].values[point.choice[a]][k].yaml;
        row.axis_text.push_back(v);
        row.label += (row.label.empty() ? "" : ", ") + short_label(v);
      }
    const ordered* seed = lookup_result_path(result, "run.seed");
    row.seed = seed ? *seed : ordered(nullptr);
    if (!sweep.seeds.empty() && !row.seed.is_null())
      row.label += (row.label.empty() ? "seed " : " s") + row.seed.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    if (row.label.empty()) row.label = "point " + std::to_string(i);
    for (const std::string& m : sweep.metrics) {
      const ordered* v = lookup_result_path(result, m);
      if (!v || v->is_object() || v->is_array()) {
        if (!missing_metric.count(m)) missing_order.push_back(m);
        metric_is_group[m] = metric_is_group[m] || v != nullptr;
        missing_metric[m].push_back(i);
        row.metrics.emplace_back(nullptr);
      } else {
        row.metrics.push_back(*v);
      }
    }
    rows.push_back(std::move(row));
  }
  for (const std::string& m : missing_order)
    report.errors.add(Diagnostic{sweep.file, 0, 0, "metrics",
                                 points_phrase(missing_metric[m]) + ": " + m +
                                     (metric_is_group[m] ? " is a group of values in result.json, not one value (name a key inside it)"
                                                         : " is not in result.json")});
  if (!report.errors.empty()) return report;

  // merged.csv
  std::string header = "point";
  for (const auto& c : columns) header += "," + csv_field(c);
  header += ",seed";
  for (const auto& m : sweep.metrics) header += "," + csv_field(m);
  header += "\n";
  auto csv_row = [&](const Row& r) {
    std::string line = std::to_string(r.point);
    for (const auto& t : r.axis_text) line += "," + csv_field(t);
    line += "," + csv_value(r.seed);
    for (const auto& v : r.metrics) line += "," + csv_value(v);
    return line + "\n";
  };
  std::string csv = header;
  for (const Row& r : rows) csv += csv_row(r);

  // merged.json
  ordered j = ordered::object();
  j["sweep"] = sweep.name;
  j["base"] = sweep.base;
  j["axes"] = columns;
  j["seeds"] = sweep.seeds;
  j["metrics"] = sweep.metrics;
  std::vector<std::size_t> frontier_points;
  std::string pareto_csv, svg;
  if (sweep.pareto) {
    const auto xi = std::find(sweep.metrics.begin(), sweep.metrics.end(), sweep.pareto->x) - sweep.metrics.begin();
    const auto yi = std::find(sweep.metrics.begin(), sweep.metrics.end(), sweep.pareto->y) - sweep.metrics.begin();
    std::vector<std::size_t> plotted;
    std::vector<ParetoCandidate> candidates;
    std::vector<double> xs, ys;
    for (std::size_t r = 0; r < rows.size(); ++r) {
      const ordered& x = rows[r].metrics[xi];
      const ordered& y = rows[r].metrics[yi];
      if (x.is_null() || y.is_null()) continue;
      if (!x.is_number() || !y.is_number()) {
        report.errors.add(Diagnostic{sweep.file, 0, 0, "pareto",
                                     "point " + std::to_string(rows[r].point) + ": " +
                                         (x.is_number() ? sweep.pareto->y : sweep.pareto->x) + " is not a number"});
        return report;
      }
      plotted.push_back(r);
      candidates.push_back({x.get<double>(), y.get<double>()});
      xs.push_back(candidates.back().x);
      ys.push_back(candidates.back().y);
    }
    const std::vector<std::size_t> frontier = pareto_frontier(candidates, sweep.pareto->maximize_x, sweep.pareto->maximize_y);
    pareto_csv = header;
    for (std::size_t f : frontier) {
      frontier_points.push_back(rows[plotted[f]].point);
      pareto_csv += csv_row(rows[plotted[f]]);
    }
    ordered pj = ordered::object();
    pj["x"] = sweep.pareto->x;
    pj["maximize_x"] = sweep.pareto->maximize_x;
    pj["y"] = sweep.pareto->y;
    pj["maximize_y"] = sweep.pareto->maximize_y;
    pj["frontier"] = frontier_points;
    j["pareto"] = pj;
    svg = pareto_svg(sweep, rows, plotted, xs, ys, frontier);
  }
  ordered points = ordered::array();
  for (const Row& r : rows) {
    ordered p = ordered::object();
    p["point"] = r.point;
    p["dir"] = point_dir_name(sweep, r.point);
    p["values"] = r.values;
    p["seed"] = r.seed;
    ordered m = ordered::object();
    for (std::size_t k = 0; k < sweep.metrics.size(); ++k) m[sweep.metrics[k]] = r.metrics[k];
    p["metrics"] = m;
    points.push_back(p);
  }
  j["points"] = points;

  std::vector<std::pair<std::string, std::string>> files = {{"merged.csv", csv}, {"merged.json", j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n"}};
  if (sweep.pareto) {
    files.emplace_back("pareto.csv", pareto_csv);
    files.emplace_back("pareto.svg", svg);
  }
  for (const auto& [name, text] : files) {
    const fs::path p = out / name;
    if (const std::string why = write_file_atomically(p.string(), text); !why.empty()) {
      report.errors.add(Diagnostic{p.string(), 0, 0, "", why});
      return report;
    }
    report.written.push_back(p.string());
  }
  return report;
}

SweepReport run_sweep(const SweepSpec& sweep, const std::string& out_dir, unsigned jobs, std::size_t shard_index,
                      std::size_t shard_count, const SweepRunOptions& options) {
  const auto started = std::chrono::steady_clock::now();
  SweepReport report;
  auto finish = [&]() -> SweepReport& {
    report.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return report;
  };
  if (shard_count == 0 || shard_index >= shard_count) {
    report.errors.add(Diagnostic{"--shard", 0, 0, "",
                                 "shard " + std::to_string(shard_index) + "/" + std::to_string(shard_count) +
                                     ": need 0 <= I < N"});
    return finish();
  }
  jobs = std::max(1u, jobs);
  const PolicyRegistry& registry = *options.registry;

  if (!options.force)
    if (Diagnostics too_many = check_sweep_size(sweep); !too_many.empty()) {
      report.errors = std::move(too_many);
      return finish();
    }
  report.points = sweep_point_count(sweep);
  const std::vector<std::size_t> mine = shard_indices(report.points, shard_index, shard_count);
  report.in_shard = mine.size();
  const fs::path out(out_dir);
  std::error_code ec;
  fs::create_directories(out, ec);
  if (ec) {
    report.errors.add(Diagnostic{out_dir, 0, 0, "", "cannot create the output folder (" + ec.message() + ")"});
    return finish();
  }

  // Completed points are skipped (after checking they are the same points).
  std::vector<std::size_t> todo;
  for (std::size_t i : mine) {
    const fs::path dir = out / point_dir_name(sweep, i);
    if (!fs::is_regular_file(dir / "result.json", ec)) {
      todo.push_back(i);
      continue;
    }
    if (std::string why = check_point_json(dir, point_json(sweep, sweep_point(sweep, i))); !why.empty()) {
      report.errors.add(Diagnostic{dir.string(), 0, 0, "", why});
      continue;
    }
    ++report.skipped;
  }
  if (!report.errors.empty()) return finish();

  LoadedPoints loaded = load_points(sweep, registry, todo, jobs, options.force);
  if (!loaded.errors.empty()) {
    report.errors = std::move(loaded.errors);
    return finish();
  }

  std::mutex mutex;
  std::vector<std::pair<std::size_t, Diagnostics>> failures;
  std::size_t done = 0;
  parallel_for(todo.size(), jobs, [&](std::size_t t) {
    const std::size_t i = todo[t];
    const SweepPoint point = sweep_point(sweep, i);
    const std::string name = point_dir_name(sweep, i);
    const fs::path final_dir = out / name;
    // The point runs into a folder of its final name inside a temporary one, so that the files
    // that name their folder (report.html) name the final one, the same for every run and --jobs.
    const fs::path partial = out / ("." + name + ".partial-" + std::to_string(::getpid()));
    const fs::path tmp = partial / name;
    Diagnostics errors;
    bool policy = false;
    double wall = 0;
    try {
      std::error_code e;
      fs::remove_all(partial, e);
      RunReport run = run_to_directory(*loaded.scenarios[t], registry, tmp.string(), options.version);
      wall = run.wall_seconds;
      if (run.failure != RunFailure::None) {
        errors = run.errors;
        policy = run.failure == RunFailure::PolicyError;
      } else if (const std::string why = write_file_atomically((tmp / "point.json").string(),
                                                               point_json(sweep, point).dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
                 !why.empty()) {
        errors.add(Diagnostic{(tmp / "point.json").string(), 0, 0, "", why});
      } else {
        fs::remove_all(final_dir, e);  // a folder without result.json: left over, replaced
        fs::rename(tmp, final_dir, e);
        if (e) errors.add(Diagnostic{final_dir.string(), 0, 0, "", "cannot move the results here (" + e.message() + ")"});
      }
      fs::remove_all(partial, e);
    } catch (const std::exception& e) {
      errors.add(Diagnostic{"", 0, 0, "", std::string("the run failed: ") + e.what()});
    }
    const bool ok = errors.empty();
    std::lock_guard<std::mutex> lock(mutex);
    ++done;
    if (ok) {
      ++report.ran;
    } else {
      failures.emplace_back(i, std::move(errors));
      report.policy_error = report.policy_error || policy;
    }
    if (options.on_point)
      options.on_point(SweepProgress{i, final_dir.string(), ok, wall, done, todo.size()});
  });
  std::sort(failures.begin(), failures.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& f : failures) report.failed.push_back(f.first);
  add_grouped(report.errors, failures);

  for (std::size_t i = 0; i < report.points; ++i)
    if (!fs::is_regular_file(out / point_dir_name(sweep, i) / "result.json", ec)) report.missing.push_back(i);
  if (report.errors.empty() && report.missing.empty()) {
    MergeReport merged = merge_sweep(sweep, out_dir);
    report.errors = std::move(merged.errors);
    report.written = std::move(merged.written);
    report.merged = report.errors.empty();
  }
  return finish();
}

}  // namespace fleetsim
