// Paths into result.json as sweep files name their metrics (README "Sweeps"): resolving one in a
// point's result, and checking every metric path before any point runs.
#include "cli/sweep/result_paths.hpp"

#include <charconv>
#include <memory>

#include "reports/result_json.hpp"
#include "scenarios/loader/yaml_reader.hpp"
#include "sim/metrics.hpp"

namespace fleetsim {

using ordered = nlohmann::ordered_json;

namespace {

// A result.json path: dots between keys, [i] or .i for list elements; at each mapping the
// longest run of segments that is a key wins (model names contain dots). Null when it names
// nothing; then `past_end` says whether a list index lay past the end of its list.
const ordered* resolve_path(const ordered& root, const std::string& path, bool& past_end) {
  past_end = false;
  const std::vector<std::string> parts = key_path_parts(path);
  const ordered* node = &root;
  std::size_t i = 0;
  while (i < parts.size()) {
    if (node->is_object()) {
      std::size_t taken = 0;
      const ordered* next = nullptr;
      std::string key;
      for (std::size_t j = i; j < parts.size(); ++j) {
        key += (j > i ? "." : "") + parts[j];
        auto it = node->find(key);
        if (it != node->end()) {
          next = &*it;
          taken = j - i + 1;
        }
      }
      if (!next) return nullptr;
      node = next;
      i += taken;
    } else if (node->is_array()) {
      std::size_t idx = 0;
      auto r = std::from_chars(parts[i].data(), parts[i].data() + parts[i].size(), idx);
      if (r.ec != std::errc() || r.ptr != parts[i].data() + parts[i].size()) return nullptr;
      if (idx >= node->size()) {
        past_end = true;
        return nullptr;
      }
      node = &(*node)[idx];
      ++i;
    } else {
      return nullptr;
    }
  }
  return node;
}

// Whether a result.json path names one value in a result laid out like `root`. An index past
// the end of a list (links, pools: they depend on what the run did) cannot be told beforehand.
enum class PathCheck { Value, Group, Missing, Unknown };
PathCheck check_path(const ordered& root, const std::string& path) {
  bool past_end = false;
  const ordered* node = resolve_path(root, path, past_end);
  if (!node) return past_end ? PathCheck::Unknown : PathCheck::Missing;
  return node->is_object() || node->is_array() ? PathCheck::Group : PathCheck::Value;
}

}  // namespace

const ordered* lookup_result_path(const ordered& root, const std::string& path) {
  bool past_end = false;
  return resolve_path(root, path, past_end);
}

// The metric paths against the result.json the point would write: its layout follows from the
// scenario alone (models, jobs), so an empty run's result has every key a real one has.
void check_metric_paths(const SweepSpec& sweep, const Scenario& scenario, const PolicyRegistry& registry,
                        Diagnostics& errors) {
  MetricsCollector metrics(scenario);
  RunStatus status;
  if (scenario.jobs.enabled) status.jobs = std::make_shared<JobRunResult>();
  const ordered skeleton = ordered::parse(result_json(scenario, registry, metrics.result(), status, "check"));
  for (const std::string& m : sweep.metrics) {
    const PathCheck c = check_path(skeleton, m);
    if (c == PathCheck::Missing)
      errors.add(Diagnostic{sweep.file, 0, 0, "metrics", m + " is not in result.json"});
    else if (c == PathCheck::Group)
      errors.add(Diagnostic{sweep.file, 0, 0, "metrics",
                            m + " is a group of values in result.json, not one value (name a key inside it)"});
  }
}

}  // namespace fleetsim
