// Strict YAML reading, shared by scenario files (scenario_loader.cpp) and sweep files
// (cli/sweep): every problem becomes a Diagnostic with file:line:column and the key path; an
// unknown key is an error with a suggestion (`did you mean ...?`) or the list of known keys; a
// repeated key is an error; numbers and quantities are parsed strictly (the whole text, finite;
// units as in sim/units.hpp). Nothing is guessed and nothing throws on bad input.
#pragma once
#include <yaml-cpp/yaml.h>

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sim/diagnostics.hpp"
#include "sim/time.hpp"

namespace fleetsim {

// The whole file as bytes; false when it cannot be read or is a folder or a device.
bool read_text_file(const std::string& path, std::string& text);

// Parses YAML text; a syntax error becomes "not valid YAML: ..." at its line and column. Also
// refused: a NUL byte, nesting deeper than yaml-cpp allows, and a document that holds more than
// kMaxYamlValues values once aliases are expanded (an alias bomb; scenarios hold hundreds).
inline constexpr std::size_t kMaxYamlValues = 1'000'000;
std::optional<YAML::Node> parse_yaml(const std::string& text, const std::string& source_name, Diagnostics& errors);

// A number as a scenario writes it: decimal (an optional leading '+', a fraction, an exponent),
// the whole text, finite. "10s", "1e400", "nan", " 5" and "" are not numbers.
bool parse_number(std::string_view text, double& value);

// Key paths as `--set` and sweep files write them: dots between keys, `[i]` or `.i` for list
// elements. "a.b[2].c" and "a.b.2.c" -> {"a", "b", "2", "c"}; empty parts are dropped.
std::vector<std::string> key_path_parts(const std::string& path);
// Whether `path` is well formed: keys joined by dots, list indices as `[i]` or `.i`; no empty
// key, no unbalanced or non-numeric brackets ("models[0.name", "a..b", "[0]" are not).
bool valid_key_path(const std::string& path);
// The form diagnostics use: "a.b.2.c" -> "a.b[2].c".
std::string normal_key_path(const std::string& path);
// `path` is `prefix` or lies below it (both in normal form).
bool key_path_within(const std::string& path, const std::string& prefix);

// "nothing", "\"text\"", "a list" or "a mapping": what was found, for messages.
std::string describe(const YAML::Node& node);

// Where diagnostics go. Paths under an overridden key (given by `--set`, so its nodes have no
// position in the file) are reported against "--set".
struct YamlContext {
  std::string file;
  Diagnostics& errors;
  std::vector<std::string> overridden;  // normal key paths

  void error(const YAML::Node& node, const std::string& path, const std::string& message);
};

// A YAML mapping being read: each key asked for is marked known; `finish` reports the others
// (unknown, with a suggestion) and repeated keys. A node that is present but not a mapping is
// reported once, here; an absent (or null) one reads as an empty mapping.
class MapReader {
 public:
  MapReader(YamlContext& ctx, const YAML::Node& node, std::string path);

  bool ok() const { return ok_; }
  const YAML::Node& node() const { return node_; }
  std::string path(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }
  YamlContext& ctx() { return ctx_; }

  YAML::Node get(const std::string& key);
  bool has(const std::string& key) const;
  // A mapping whose keys are data (any key is allowed): its entries in file order, the first of
  // each key; `finish` still reports repeated keys.
  std::vector<std::pair<YAML::Node, YAML::Node>> entries();
  void finish();

  // Typed getters: absent -> default (or an error when required); wrong -> error, default kept.
  std::string text(const std::string& key, const std::string& def, bool required = false);
  double number(const std::string& key, double def, double min, double max, bool required = false);
  int integer(const std::string& key, int def, int min, int max, bool required = false);
  bool flag(const std::string& key, bool def);
  SimTime duration(const std::string& key, SimTime def, SimTime min, bool required = false);
  double size(const std::string& key, double def, bool positive, bool required = false);
  double bandwidth(const std::string& key, double def, bool required = false);
  double rate(const std::string& key, double def, bool required = false);

  // Reports `message` at `n` (adding "(got ...)" unless it says what it got); returns `def`.
  template <class T>
  T bad(const YAML::Node& n, const std::string& key, const std::string& message, T def) {
    report(n, key, message);
    return def;
  }

 private:
  void report(const YAML::Node& n, const std::string& key, const std::string& message);
  bool present(const YAML::Node& n, const std::string& key, bool required);
  bool in_range(const YAML::Node& n, const std::string& key, double v, double min, double max);
  template <class Parser>
  double quantity(const std::string& key, double def, Parser parse, bool positive, bool required);

  YamlContext& ctx_;
  YAML::Node node_;
  std::string path_;
  bool ok_ = false;
  bool any_key_ = false;  // entries() was asked for: every key is known
  std::vector<std::string> known_;
};

// A list under `key`: absent is an empty list; anything else must be a sequence.
std::vector<YAML::Node> list_of(MapReader& r, const std::string& key);

}  // namespace fleetsim
