#include "scenarios/loader/imported_traces.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <sstream>

#include "scenarios/loader/scenario_loader.hpp"
#include "scenarios/loader/work_limits.hpp"
#include "traces/importers.hpp"

namespace fleetsim {

namespace {

// Creates `dir` and its missing parents owner-only (0700) and checks that `dir` is a folder (not
// a link) owned by this user, tightened to 0700 if it was looser. "" or why not.
std::string make_private_dir(const std::filesystem::path& dir) {
  std::filesystem::path at;
  for (const auto& part : dir) {
    at /= part;
    if (::mkdir(at.c_str(), 0700) != 0 && errno != EEXIST) return std::strerror(errno);
  }
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0) return std::strerror(errno);
  if (!S_ISDIR(st.st_mode) || st.st_uid != ::geteuid()) return "not a folder of your own";
  if ((st.st_mode & 077) != 0 && ::chmod(dir.c_str(), 0700) != 0) return std::strerror(errno);
  return "";
}

}  // namespace

// A workload's `trace:` as a mapping names a public format: the trace is imported (streamed,
// see traces/importers.hpp) into the user's own cache folder (owner-only, never a shared one
// under /tmp, where other users could read, race or plant files), keyed by the input file
// (path, size, time of last change) and the import options, and replayed from there. Loading
// has to write it (a run streams the file; `validate` checks every row of it), and the cache
// makes the second load free. Concurrent loads (a sweep's threads) each write their own file
// and rename it into place, so the cache never holds a partial import.
std::string import_for_scenario(YamlContext& ctx, const YAML::Node& node, const std::string& path,
                                const std::string& base_dir, const std::string& import_cache_dir, bool force) {
  MapReader t(ctx, node, path);
  ImportOptions o;
  std::filesystem::path input = t.text("path", "", true);
  if (input.is_relative()) input = std::filesystem::path(base_dir) / input;
  o.input = input.lexically_normal().string();
  o.format = t.text("format", "", true);
  const auto& formats = import_formats();
  if (!o.format.empty() && std::find(formats.begin(), formats.end(), o.format) == formats.end()) {
    std::string all;
    for (const auto& f : formats) all += (all.empty() ? "" : ", ") + f;
    ctx.error(t.get("format"), t.path("format"), "unknown trace format \"" + o.format + "\" (known: " + all + ")");
  }
  o.lenient = t.flag("lenient", false);
  // Mooncake's hash_ids as the native trace's prefix_hashes column (README "Prefix caching").
  o.keep_prefix_hashes = t.flag("keep_prefix_hashes", false);
  if (o.keep_prefix_hashes && !o.format.empty() && o.format != "mooncake")
    ctx.error(t.get("keep_prefix_hashes"), t.path("keep_prefix_hashes"),
              "only the mooncake format has prefix hashes (format is \"" + o.format + "\")");
  o.time_scale = t.number("time_scale", 1, 1e-9, 1e9);
  o.rate_scale = t.number("rate_scale", 1, 0, 1e6);
  if (t.has("window_start")) o.window_start = to_seconds(t.duration("window_start", 0, 0));
  if (t.has("window_end")) o.window_end = to_seconds(t.duration("window_end", 0, 0));
  o.seed = static_cast<std::uint64_t>(t.number("seed", 1, 0, 9007199254740991.0));
  const std::string assign = t.text("assign", "default");
  if (assign == "column") o.assign = ModelAssign::FromColumn;
  else if (assign == "fixed") o.assign = ModelAssign::Fixed;
  else if (assign == "hash") o.assign = ModelAssign::Hash;
  else if (assign == "zipf") o.assign = ModelAssign::Zipf;
  else if (assign != "default")
    ctx.error(t.get("assign"), t.path("assign"), "expected default, column, fixed, hash or zipf (got \"" + assign + "\")");
  o.model = t.text("model", "");
  o.models = t.integer("models", 1, 1, 1000000);
  o.zipf_s = t.number("zipf_s", 1.0, 0, 100);
  o.time_column = t.text("time_column", "");
  o.time_unit = t.text("time_unit", "s");
  o.time_format = t.text("time_format", "");
  o.model_column = t.text("model_column", "");
  o.input_column = t.text("input_column", "");
  o.output_column = t.text("output_column", "");
  o.delimiter = t.text("delimiter", ",");
  if (t.has("default_tokens")) {
    MapReader d(ctx, t.get("default_tokens"), t.path("default_tokens"));
    o.default_tokens = std::make_pair(static_cast<std::uint32_t>(d.integer("input", 1, 1, 2000000000, true)),
                                      static_cast<std::uint32_t>(d.integer("output", 1, 1, 2000000000, true)));
    d.finish();
  }
  (void)t.get("default_tokens");
  t.finish();
  if (!ctx.errors.empty()) return "";
  std::error_code ec;
  if (!std::filesystem::exists(o.input, ec)) {
    ctx.error(node, path + ".path", "trace not found: " + o.input);
    return "";
  }
  // The cache key: the input's identity and every option.
  std::ostringstream key;
  key << o.format << '|' << std::filesystem::weakly_canonical(o.input, ec).string() << '|';
  if (std::filesystem::is_regular_file(o.input, ec))
    key << std::filesystem::file_size(o.input, ec) << '|'
        << std::filesystem::last_write_time(o.input, ec).time_since_epoch().count();
  key << '|' << o.lenient << '|' << o.time_scale << '|' << o.rate_scale << '|'
      << (o.window_start ? *o.window_start : -1) << '|' << (o.window_end ? *o.window_end : -1) << '|'
      << static_cast<int>(o.assign) << '|' << o.model << '|' << o.models << '|' << o.zipf_s << '|' << o.seed
      << '|' << o.time_column << '|' << o.time_unit << '|' << o.time_format << '|' << o.model_column << '|'
      << o.input_column << '|' << o.output_column << '|' << o.delimiter << '|'
      << (o.default_tokens ? std::to_string(o.default_tokens->first) + ":" + std::to_string(o.default_tokens->second) : "")
      << (o.keep_prefix_hashes ? "|prefix-hashes" : "");  // (absent when off: earlier caches stay valid)
  const std::filesystem::path dir = import_cache_dir.empty() ? default_import_cache_dir() : import_cache_dir;
  if (dir.empty()) {
    ctx.error(node, path, "no folder to cache the imported trace in: set XDG_CACHE_HOME or HOME");
    return "";
  }
  if (const std::string why = make_private_dir(dir); !why.empty()) {
    ctx.error(node, path, "cannot cache the imported trace in " + dir.string() + ": " + why);
    return "";
  }
  char name[32];
  std::snprintf(name, sizeof name, "%016llx.csv", static_cast<unsigned long long>(stable_hash(key.str())));
  const auto cached = dir / name;
  if (std::filesystem::is_regular_file(cached, ec)) return cached.string();
  static std::atomic<std::uint64_t> counter{0};
  const auto mine = dir / (std::string(name) + "." + std::to_string(::getpid()) + "." +
                           std::to_string(counter.fetch_add(1)) + ".tmp");
  o.output = mine.string();
  if (!force) o.max_rows = kMaxImportRows;  // the guard `fleetsim trace import` has
  o.narrow_hint = "narrow it with the trace's window_start / window_end or rate_scale, or run with --force";
  ImportReport report = import_trace(o);
  if (!report.ok()) {
    for (const auto& d : report.errors.items()) ctx.errors.add(d);
    return "";
  }
  std::filesystem::rename(mine, cached, ec);
  if (ec) {
    ctx.error(node, path, "cannot cache the imported trace in " + dir.string() + ": " + ec.message());
    return "";
  }
  return cached.string();
}

}  // namespace fleetsim
