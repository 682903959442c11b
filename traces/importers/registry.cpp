// The request-trace formats, one line each, and import_trace: the options every format shares
// are checked here, then the format's own, then its reader streams into the output stages.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "traces/importers/common.hpp"

namespace fleetsim {

namespace {

using namespace importers;

struct FormatEntry {
  const char* name;
  std::unique_ptr<RequestFormat> (*make)();
};

const FormatEntry kFormats[] = {
    {"azure-llm-2023", make_azure_llm_2023},  // Azure LLM inference trace 2023 (Splitwise), CSV
    {"mooncake", make_mooncake},              // Mooncake FAST'25 JSON lines, with prefix hashes
    {"servegen", make_servegen},              // ServeGen per-client windows: requests generated
    {"generic-csv", make_generic_csv},        // any delimited file with a header
};

// "3600" below a million, "8.64e+10" above (3 significant digits): an estimate's precision.
std::string approximate_count(double n) {
  char buf[32];
  std::snprintf(buf, sizeof buf, n < 1e6 ? "%.0f" : "%.3g", n);
  return buf;
}

}  // namespace

const std::vector<std::string>& import_formats() {
  static const std::vector<std::string> formats = [] {
    std::vector<std::string> names;
    for (const FormatEntry& f : kFormats) names.emplace_back(f.name);
    return names;
  }();
  return formats;
}

ImportReport import_trace(const ImportOptions& o) {
  namespace fs = std::filesystem;
  ImportReport report;
  Context ctx{o, report};
  Diagnostics& errors = report.errors;

  // Options.
  const auto& formats = import_formats();
  const auto entry = std::find_if(std::begin(kFormats), std::end(kFormats),
                                  [&](const FormatEntry& f) { return o.format == f.name; });
  if (entry == std::end(kFormats)) {
    std::string list;
    for (const std::string& name : formats) list += (list.empty() ? "" : ", ") + name;
    std::string m = "unknown format \"" + o.format + "\" (formats: " + list + ")";
    const std::string close = did_you_mean(o.format, formats);
    if (!close.empty()) m += "; did you mean \"" + close + "\"?";
    option_error(errors, "format", m);
    return report;
  }
  const std::unique_ptr<RequestFormat> format = entry->make();
  std::error_code ec;
  if (o.input.empty() || !fs::exists(o.input, ec))
    option_error(errors, "input", "no such file or folder: \"" + o.input + "\"");
  else if (!format->reads_folder() && fs::is_directory(o.input, ec))
    option_error(errors, "input", "\"" + o.input + "\" is a folder; " + o.format + " reads one file");
  if (o.output.empty()) option_error(errors, "--out", "an output file is required");
  // The output replaces its file only when the import succeeds, but it would still replace the
  // input itself (also through a link or another name for it); equivalent() needs both to exist.
  else if (!o.input.empty() && fs::exists(o.output, ec) && fs::equivalent(o.input, o.output, ec))
    option_error(errors, "--out", "\"" + o.output + "\" is the input file; the import would overwrite its own input");
  if (!(o.time_scale > 0) || !std::isfinite(o.time_scale))
    option_error(errors, "--time-scale", "must be a number > 0 (got " + std::to_string(o.time_scale) + ")");
  if (!(o.rate_scale > 0) || !std::isfinite(o.rate_scale))
    option_error(errors, "--rate-scale", "must be a number > 0 (got " + std::to_string(o.rate_scale) + ")");
  if (o.window_start && (!(*o.window_start >= 0) || !std::isfinite(*o.window_start)))
    option_error(errors, "--window", "the start must be >= 0 seconds");
  if (o.window_end && (!(*o.window_end > 0) || !std::isfinite(*o.window_end)))
    option_error(errors, "--window", "the end must be > 0 seconds");
  if (o.window_start && o.window_end && *o.window_end <= *o.window_start)
    option_error(errors, "--window", "the end must come after the start");
  if (o.window_end && *o.window_end * 1e9 > 9.0e18) option_error(errors, "--window", "the end is too large");
  if (o.window_start && *o.window_start * 1e9 > 9.0e18) option_error(errors, "--window", "the start is too large");

  ModelAssign assign = o.assign;
  std::string fixed = o.model;
  if (assign == ModelAssign::Default) assign = format->default_assign(o, fixed);
  if (assign == ModelAssign::Fixed && !valid_model_name(fixed))
    option_error(errors, "--assign",
                 "a fixed model name must be non-empty, without commas or quotes (got \"" + fixed + "\")");
  if ((assign == ModelAssign::Hash || assign == ModelAssign::Zipf) && (o.models < 1 || o.models > 1'000'000))
    option_error(errors, "--assign", "the model count must be 1 .. 1000000 (got " + std::to_string(o.models) + ")");
  if (assign == ModelAssign::Zipf && (!(o.zipf_s >= 0) || !std::isfinite(o.zipf_s)))
    option_error(errors, "--assign", "the Zipf exponent must be >= 0");
  if (assign == ModelAssign::FromColumn) format->check_key(o, errors);
  if (o.keep_prefix_hashes && !format->has_prefix_hashes())
    option_error(errors, "--keep-prefix-hashes", "only the mooncake format has prefix hashes");
  if (o.default_tokens && (o.default_tokens->first < 1 || o.default_tokens->second < 1))
    option_error(errors, "--default-tokens", "token counts must be >= 1");
  format->check_options(o, assign, errors);
  if (!errors.empty()) return report;
  // Refused before anything is written when the format can tell it will pass the row limit; the
  // limit also stops an import that passes it anyway (Pipeline::emit).
  if (o.max_rows > 0)
    if (const std::optional<RowEstimate> e = format->estimated_rows(o); e && e->rows > static_cast<double>(o.max_rows)) {
      errors.add(Diagnostic{o.input, 0, 0, "",
                            "the import would write about " + approximate_count(e->rows) + " rows (" + e->basis +
                                "), more than the limit of " + std::to_string(o.max_rows) +
                                " rows (README \"Limits on work\"); " + o.narrow_hint});
      return report;
    }

  Output out;
  if (!out.open(o.output, o.keep_prefix_hashes, ctx)) return report;
  Pipeline pipe(ctx, out, format->rebase(), assign, fixed);
  if (format->read(ctx, pipe) && errors.empty()) {
    pipe.finish();
    if (out.commit(ctx)) return report;
  }
  out.abandon();
  if (errors.empty()) errors.add(Diagnostic{o.input, 0, 0, "", "the import failed"});
  return report;
}

}  // namespace fleetsim
