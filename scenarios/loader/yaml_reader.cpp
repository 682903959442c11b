#include "scenarios/loader/yaml_reader.hpp"

#include <fast_float/fast_float.h>
#include <yaml-cpp/depthguard.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "sim/units.hpp"

namespace fleetsim {

bool read_text_file(const std::string& path, std::string& text) {
  // A folder reads as empty and a device (/dev/zero) never ends: only files and pipes are read.
  std::error_code ec;
  const auto st = std::filesystem::status(path, ec);
  if (std::filesystem::is_directory(st) || std::filesystem::is_character_file(st) ||
      std::filesystem::is_block_file(st))
    return false;
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::stringstream s;
  s << in.rdbuf();
  text = s.str();
  return true;
}

namespace {

// Values the document holds once every alias is expanded, counted up to `budget` (a "billion
// laughs" file: ten nested aliases of nine each). yaml-cpp shares an aliased node rather than
// copying it, but anything that walks or copies the tree (YAML::Clone, the emitter, a sweep's
// values) expands it: 9^9 nodes would take minutes and tens of GiB.
std::size_t expanded_size(const YAML::Node& n, std::size_t budget) {
  std::size_t count = 1;
  if (n.IsMap()) {
    for (auto it = n.begin(); it != n.end() && count < budget; ++it) {
      count += expanded_size(it->first, budget - count);
      if (count < budget) count += expanded_size(it->second, budget - count);
    }
  } else if (n.IsSequence()) {
    for (auto it = n.begin(); it != n.end() && count < budget; ++it) count += expanded_size(*it, budget - count);
  }
  return count;
}

// Line and column (1-based) of byte `at` in `text`.
std::pair<int, int> position_of(const std::string& text, std::size_t at) {
  int line = 1, column = 1;
  for (std::size_t i = 0; i < at; ++i) {
    if (text[i] == '\n') { ++line; column = 1; } else { ++column; }
  }
  return {line, column};
}

}  // namespace

std::optional<YAML::Node> parse_yaml(const std::string& text, const std::string& source_name, Diagnostics& errors) {
  // yaml-cpp reads a NUL as the end of a line and reports a confusing error later on.
  if (const std::size_t nul = text.find('\0'); nul != std::string::npos) {
    const auto [line, column] = position_of(text, nul);
    errors.add(Diagnostic{source_name, line, column, "", "not a text file: it contains a NUL byte"});
    return std::nullopt;
  }
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::DeepRecursion& e) {
    errors.add(Diagnostic{source_name, e.mark.line + 1, e.mark.column + 1, "",
                          "not valid YAML: nested too deeply (" + std::to_string(e.depth()) + " levels)"});
    return std::nullopt;
  } catch (const YAML::ParserException& e) {
    errors.add(Diagnostic{source_name, e.mark.line + 1, e.mark.column + 1, "", "not valid YAML: " + e.msg});
    return std::nullopt;
  }
  if (expanded_size(root, kMaxYamlValues + 1) > kMaxYamlValues) {
    errors.add(Diagnostic{source_name, 1, 1, "",
                          "the document holds more than " + std::to_string(kMaxYamlValues) +
                              " values once its aliases (*name) are expanded; refused"});
    return std::nullopt;
  }
  return root;
}

bool parse_number(std::string_view text, double& value) {
  // The leading '+' that YAML (and the stream parser this replaces) accept; fast_float does not.
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  if (text.empty()) return false;
  double v = 0;
  const auto r = fast_float::from_chars(text.data(), text.data() + text.size(), v);
  if (r.ec != std::errc() || r.ptr != text.data() + text.size() || !std::isfinite(v)) return false;
  value = v;
  return true;
}

std::vector<std::string> key_path_parts(const std::string& path) {
  std::vector<std::string> parts;
  std::string cur;
  for (char c : path) {
    if (c == '.' || c == '[' || c == ']') {
      if (!cur.empty()) parts.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) parts.push_back(cur);
  return parts;
}

bool valid_key_path(const std::string& path) {
  // key ( '.' key | '.' index | '[' index ']' )*, keys without '.', '[', ']'
  std::size_t i = 0;
  bool first = true;
  while (i < path.size()) {
    if (path[i] == '[') {
      if (first) return false;
      const std::size_t close = path.find(']', i);
      if (close == std::string::npos || close == i + 1) return false;
      for (std::size_t k = i + 1; k < close; ++k)
        if (path[k] < '0' || path[k] > '9') return false;
      i = close + 1;
    } else {
      if (!first) {
        if (path[i] != '.') return false;
        ++i;
      }
      const std::size_t end = path.find_first_of(".[]", i);
      const std::size_t stop = end == std::string::npos ? path.size() : end;
      if (stop == i || (end != std::string::npos && path[end] == ']')) return false;
      i = stop;
    }
    first = false;
  }
  return !first;
}

std::string normal_key_path(const std::string& path) {
  std::string out;
  for (const std::string& p : key_path_parts(path)) {
    const bool index = p.find_first_not_of("0123456789") == std::string::npos;
    out += index ? "[" + p + "]" : (out.empty() ? "" : ".") + p;
  }
  return out;
}

bool key_path_within(const std::string& path, const std::string& prefix) {
  return path == prefix || path.rfind(prefix + ".", 0) == 0 || path.rfind(prefix + "[", 0) == 0;
}

std::string describe(const YAML::Node& n) {
  if (!n.IsDefined() || n.IsNull()) return "nothing";
  if (n.IsScalar()) return "\"" + n.Scalar() + "\"";
  if (n.IsSequence()) return "a list";
  return "a mapping";
}

void YamlContext::error(const YAML::Node& node, const std::string& path, const std::string& message) {
  for (const auto& o : overridden)
    if (key_path_within(path, o)) {
      errors.add(Diagnostic{"--set", 0, 0, path, message});
      return;
    }
  int line = 0, column = 0;
  if (node.IsDefined() && node.Mark().line >= 0) {
    line = node.Mark().line + 1;
    column = node.Mark().column + 1;
  }
  errors.add(Diagnostic{file, line, column, path, message});
}

namespace {

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

}  // namespace

MapReader::MapReader(YamlContext& ctx, const YAML::Node& node, std::string path)
    : ctx_(ctx), node_(node), path_(std::move(path)) {
  ok_ = node.IsMap();
  if (!ok_ && node.IsDefined() && !node.IsNull())
    ctx_.error(node, path_, "expected a mapping of keys to values, got " + describe(node));
}

YAML::Node MapReader::get(const std::string& key) {
  if (std::find(known_.begin(), known_.end(), key) == known_.end()) known_.push_back(key);
  if (!ok_) return YAML::Node(YAML::NodeType::Undefined);
  return node_[key];
}

bool MapReader::has(const std::string& key) const {
  return ok_ && node_[key].IsDefined() && !node_[key].IsNull();
}

std::vector<std::pair<YAML::Node, YAML::Node>> MapReader::entries() {
  any_key_ = true;
  std::vector<std::pair<YAML::Node, YAML::Node>> out;
  if (!ok_) return out;
  std::vector<std::string> seen;
  for (const auto& kv : node_) {
    if (!kv.first.IsScalar() || std::find(seen.begin(), seen.end(), kv.first.Scalar()) != seen.end()) continue;
    seen.push_back(kv.first.Scalar());
    out.emplace_back(kv.first, kv.second);
  }
  return out;
}

void MapReader::finish() {
  if (!ok_) return;
  std::vector<std::string> seen;
  for (const auto& kv : node_) {
    if (!kv.first.IsScalar()) {
      ctx_.error(kv.first, path_, "expected a key, got " + describe(kv.first));
      continue;
    }
    const std::string key = kv.first.Scalar();
    if (std::find(seen.begin(), seen.end(), key) != seen.end()) {
      ctx_.error(kv.first, path(key), "duplicate key (each key may appear once)");
      continue;
    }
    seen.push_back(key);
    if (any_key_ || std::find(known_.begin(), known_.end(), key) != known_.end()) continue;
    std::string message = "unknown key";
    std::string suggestion = did_you_mean(key, known_);
    if (!suggestion.empty()) message += ", did you mean " + suggestion + "?";
    else message += " (expected one of: " + join(known_) + ")";
    ctx_.error(kv.first, path(key), message);
  }
}

std::string MapReader::text(const std::string& key, const std::string& def, bool required) {
  YAML::Node n = get(key);
  if (!present(n, key, required)) return def;
  if (!n.IsScalar()) return bad(n, key, "expected a string", def);
  return n.Scalar();
}

double MapReader::number(const std::string& key, double def, double min, double max, bool required) {
  YAML::Node n = get(key);
  if (!present(n, key, required)) return def;
  double v = 0;
  if (!n.IsScalar() || !parse_number(n.Scalar(), v)) return bad(n, key, "expected a number", def);
  return in_range(n, key, v, min, max) ? v : def;
}

int MapReader::integer(const std::string& key, int def, int min, int max, bool required) {
  YAML::Node n = get(key);
  if (!present(n, key, required)) return def;
  double v = 0;
  if (!n.IsScalar() || !parse_number(n.Scalar(), v) || v != std::floor(v))
    return bad(n, key, "expected an integer", def);
  return in_range(n, key, v, min, max) ? static_cast<int>(v) : def;
}

bool MapReader::flag(const std::string& key, bool def) {
  YAML::Node n = get(key);
  if (!present(n, key, false)) return def;
  if (n.IsScalar() && (n.Scalar() == "true" || n.Scalar() == "false")) return n.Scalar() == "true";
  return bad(n, key, "expected true or false", def);
}

SimTime MapReader::duration(const std::string& key, SimTime def, SimTime min, bool required) {
  YAML::Node n = get(key);
  if (!present(n, key, required)) return def;
  if (!n.IsScalar()) return bad(n, key, "expected a duration such as 10s, 500ms, 5min", def);
  auto parsed = parse_duration(n.Scalar());
  if (!parsed) return bad(n, key, parsed.error, def);
  if (*parsed.value < min)
    return bad(n, key, "must be at least " + format_duration(min) + " (got " + n.Scalar() + ")", def);
  return *parsed.value;
}

template <class Parser>
double MapReader::quantity(const std::string& key, double def, Parser parse, bool positive, bool required) {
  YAML::Node n = get(key);
  if (!present(n, key, required)) return def;
  if (!n.IsScalar()) return bad(n, key, "expected a value with a unit", def);
  auto parsed = parse(n.Scalar());
  if (!parsed) return bad(n, key, parsed.error, def);
  if (positive && *parsed.value <= 0) return bad(n, key, "must be > 0 (got " + n.Scalar() + ")", def);
  return *parsed.value;
}

double MapReader::size(const std::string& key, double def, bool positive, bool required) {
  return quantity(key, def, parse_size, positive, required);
}
double MapReader::bandwidth(const std::string& key, double def, bool required) {
  return quantity(key, def, parse_bandwidth, true, required);
}
double MapReader::rate(const std::string& key, double def, bool required) {
  return quantity(key, def, parse_rate, false, required);
}

void MapReader::report(const YAML::Node& n, const std::string& key, const std::string& message) {
  ctx_.error(n, path(key), message + (message.find("got") == std::string::npos ? " (got " + describe(n) + ")" : ""));
}

bool MapReader::present(const YAML::Node& n, const std::string& key, bool required) {
  if (n.IsDefined() && !n.IsNull()) return true;
  if (required) ctx_.error(node_, path(key), "required key is missing");
  return false;
}

bool MapReader::in_range(const YAML::Node& n, const std::string& key, double v, double min, double max) {
  std::ostringstream msg;
  if (v < min) msg << "must be >= " << min << " (got " << n.Scalar() << ")";
  else if (v > max) msg << "must be <= " << max << " (got " << n.Scalar() << ")";
  else return true;
  ctx_.error(n, path(key), msg.str());
  return false;
}

std::vector<YAML::Node> list_of(MapReader& r, const std::string& key) {
  YAML::Node n = r.get(key);
  std::vector<YAML::Node> out;
  if (!n.IsDefined() || n.IsNull()) return out;
  if (!n.IsSequence()) {
    r.ctx().error(n, r.path(key), "expected a list, got " + describe(n));
    return out;
  }
  for (const auto& item : n) out.push_back(item);
  return out;
}

}  // namespace fleetsim
