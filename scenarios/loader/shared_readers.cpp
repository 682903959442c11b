// Readers the scenario's sections share: --set overrides, distributions and policy choices.
#include "scenarios/loader/shared_readers.hpp"

#include <cmath>
#include <sstream>

#include "sim/units.hpp"

namespace fleetsim {

namespace {
constexpr const char* kDistributionHelp = "fixed, uniform, lognormal, exponential";
}  // namespace

// ------------------------------------------------------------------ --set overrides

// Applies "a.b[2].c=value" to the tree. Missing map keys are created (so optional keys can be
// set); list indices must exist. The value is parsed as YAML, so numbers, strings and lists work.
void apply_override(YAML::Node root, const std::string& spec, Diagnostics& errors) {
  auto eq = spec.find('=');
  if (eq == std::string::npos || eq == 0) {
    errors.add(Diagnostic{"--set", 0, 0, spec, "expected path.to.key=value"});
    return;
  }
  const std::string path = spec.substr(0, eq);
  const std::string value = spec.substr(eq + 1);
  if (!valid_key_path(path)) {
    errors.add(Diagnostic{"--set", 0, 0, path, "expected a key path such as models[0].name or policies.autoscaler"});
    return;
  }
  const std::vector<std::string> parts = key_path_parts(path);
  // The value goes through the file's checks too (NUL bytes, nesting, alias bombs).
  Diagnostics value_errors;
  const std::optional<YAML::Node> value_node = parse_yaml(value, "--set", value_errors);
  if (!value_node) {
    for (const Diagnostic& d : value_errors.items()) {
      const bool syntax = d.message.rfind("not valid YAML: ", 0) == 0;
      errors.add(Diagnostic{"--set", 0, 0, path, syntax ? "value is " + d.message : "value: " + d.message});
    }
    return;
  }
  YAML::Node parsed = *value_node;
  // yaml-cpp nodes are handles: walk down with fresh handles, then assign at the leaf.
  std::vector<YAML::Node> chain{root};
  for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
    YAML::Node here = chain.back();
    const std::string& part = parts[i];
    if (here.IsSequence()) {
      char* end = nullptr;
      unsigned long idx = std::strtoul(part.c_str(), &end, 10);
      if (*end != '\0' || idx >= here.size()) {
        errors.add(Diagnostic{"--set", 0, 0, path,
                              "no list element " + part + " (the list has " +
                                  std::to_string(here.size()) + ")"});
        return;
      }
      chain.push_back(here[idx]);
    } else if (here.IsMap() || here.IsNull() || !here.IsDefined()) {
      chain.push_back(here[part]);
    } else {
      errors.add(Diagnostic{"--set", 0, 0, path, "\"" + part + "\" is inside a plain value"});
      return;
    }
  }
  YAML::Node parent = chain.back();
  const std::string& leaf = parts.empty() ? path : parts.back();
  if (parent.IsScalar()) {
    errors.add(Diagnostic{"--set", 0, 0, path, "\"" + leaf + "\" is inside a plain value"});
    return;
  }
  if (parent.IsSequence()) {
    char* end = nullptr;
    unsigned long idx = std::strtoul(leaf.c_str(), &end, 10);
    if (*end != '\0' || idx >= parent.size()) {
      errors.add(Diagnostic{"--set", 0, 0, path, "no list element " + leaf});
      return;
    }
    parent[idx] = parsed;
  } else {
    parent[leaf] = parsed;
  }
}


// Token counts (quantity=false) or service times (quantity=true, durations).
Distribution read_distribution(YamlContext& ctx, const YAML::Node& node, const std::string& path,
                               bool durations) {
  Distribution d;
  MapReader r(ctx, node, path);
  if (!r.ok()) {
    if (!node.IsDefined() || node.IsNull()) ctx.error(node, path, "required key is missing");
    return d;
  }
  const std::string kind = r.text("dist", "", true);
  auto value = [&](const std::string& key, bool required) -> double {
    if (durations) return to_seconds(r.duration(key, 0, 0, required));
    return r.number(key, 0, 1, 1e9, required);  // token counts: at least one
  };
  if (kind == "fixed") {
    d.kind = Distribution::Kind::Fixed;
    d.a = value("value", true);
  } else if (kind == "uniform") {
    d.kind = Distribution::Kind::Uniform;
    d.a = value("low", true);
    d.b = value("high", true);
    if (d.b < d.a) ctx.error(node, path, "high must be >= low");
  } else if (kind == "lognormal") {
    d.kind = Distribution::Kind::Lognormal;
    d.a = value("median", true);
    d.b = r.number("sigma", 0, 0, 10, true);
    d.max = value("max", false);
    if (d.a <= 0 && r.has("median")) ctx.error(node, r.path("median"), "must be > 0");
  } else if (kind == "exponential") {
    d.kind = Distribution::Kind::Exponential;
    d.a = value("mean", true);
    d.max = value("max", false);
  } else if (!kind.empty()) {
    std::string s = did_you_mean(kind, {"fixed", "uniform", "lognormal", "exponential"});
    ctx.error(r.get("dist"), r.path("dist"),
              "unknown distribution \"" + kind + "\"" +
                  (s.empty() ? std::string(" (expected one of: ") + kDistributionHelp + ")"
                             : ", did you mean " + s + "?"));
  }
  r.finish();
  return d;
}

PolicyChoice read_policy(YamlContext& ctx, const YAML::Node& node, const std::string& path,
                         PolicyFamily family, const PolicyRegistry& registry,
                         const std::string& default_impl, const PolicyChoice* base) {
  PolicyChoice choice;
  MapReader r(ctx, node, path);
  std::string impl = r.text("impl", base ? base->impl : default_impl);
  const PolicyInfo* info = registry.find(family, impl);
  if (!info) {
    std::string s = did_you_mean(impl, registry.names(family));
    std::string valid;
    for (const auto& n : registry.names(family)) valid += (valid.empty() ? "" : ", ") + n;
    ctx.error(r.has("impl") ? r.get("impl") : node, r.path("impl"),
              std::string("unknown ") + family_name(family) + " policy \"" + impl + "\"" +
                  (s.empty() ? "" : ", did you mean " + s + "?") + " (valid: " + valid + ")");
    return choice;
  }
  choice.impl = impl;
  const bool inherit = base && base->impl == impl;
  for (const ParamSpec& p : info->params) {
    YAML::Node n = r.get(p.name);
    const bool given = n.IsDefined() && !n.IsNull();
    // Per-model override: unset parameters come from the global choice (if it had a valid
    // value; an invalid one was reported there and the default stands in here).
    const bool base_has = inherit && (base->params.numbers().count(p.name) || base->params.strings().count(p.name));
    if (!given && base_has) {
      if (p.type == ParamType::ModelList || p.type == ParamType::PoolList) {
        choice.params.set_string(p.name, base->params.text(p.name));
        choice.params.set_ids(p.name, base->params.ids(p.name));
      } else if (p.type == ParamType::String) choice.params.set_string(p.name, base->params.text(p.name));
      else choice.params.set_number(p.name, base->params.numbers().at(p.name));
      continue;
    }
    std::string text = given ? (n.IsScalar() ? n.Scalar() : std::string()) : p.default_value;
    const std::string where = r.path(p.name);
    auto error = [&](const std::string& msg) {
      ctx.error(given ? n : node, where,
                msg + " for " + family_name(family) + " policy " + impl + " (got " +
                    (given ? describe(n) : "the default") + ")");
    };
    if (given && !n.IsScalar()) {
      error("expected a single value");
      continue;
    }
    double v = 0;
    switch (p.type) {
      case ParamType::String:
      case ParamType::ModelList:  // names now, ids once the models and pools are known
      case ParamType::PoolList: choice.params.set_string(p.name, text); continue;
      case ParamType::Bool:
        if (text != "true" && text != "false") {
          error("expected true or false");
          continue;
        }
        choice.params.set_number(p.name, text == "true");
        continue;
      case ParamType::Duration: {
        auto d = parse_duration(text);
        if (!d) {
          error(d.error);
          continue;
        }
        v = static_cast<double>(*d.value);
        if (to_seconds(*d.value) < p.min || to_seconds(*d.value) > p.max) {
          std::ostringstream m;
          m << "must be between " << format_duration(from_seconds(p.min)) << " and "
            << format_duration(from_seconds(p.max));
          error(m.str());
          continue;
        }
        break;
      }
      case ParamType::Number:
      case ParamType::Integer: {
        if (!parse_number(text, v) || (p.type == ParamType::Integer && v != std::floor(v))) {
          error(p.type == ParamType::Integer ? "expected an integer" : "expected a number");
          continue;
        }
        if (v < p.min || v > p.max) {
          std::ostringstream m;
          m << "must be between " << p.min << " and " << p.max;
          error(m.str());
          continue;
        }
        break;
      }
    }
    choice.params.set_number(p.name, v);
  }
  r.finish();
  if (info->check && ctx.errors.empty()) {
    const std::string problem = info->check(choice.params);
    if (!problem.empty()) ctx.error(node, path, problem + " (" + family_name(family) + " policy " + impl + ")");
  }
  return choice;
}

}  // namespace fleetsim
