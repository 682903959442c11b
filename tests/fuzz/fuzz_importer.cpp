// The public request-trace importers (traces/importers/): one binary per format, chosen at
// compile time by FLEETSIM_FUZZ_FORMAT. The first input byte picks shared options (lenient,
// rate scale, window, model assignment) so that the output stages are fuzzed too; the rest is
// the input file. servegen: "trace.csv\n--8<--\ndataset.json" (no dataset: default tokens).
#include <string>

#include "tests/fuzz/fuzz_support.hpp"
#include "traces/importers.hpp"

#ifndef FLEETSIM_FUZZ_FORMAT
#error "FLEETSIM_FUZZ_FORMAT names the importer"
#endif

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace fleetsim;
  if (size < 1) return 0;
  const std::uint8_t knobs = data[0];
  const std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  ImportOptions o;
  o.format = FLEETSIM_FUZZ_FORMAT;
  o.lenient = knobs & 1;
  o.rate_scale = (knobs & 2) ? ((knobs & 4) ? 2.5 : 0.5) : 1;
  if (knobs & 8) { o.window_start = 1; o.window_end = 100; }
  switch ((knobs >> 4) & 3) {
    case 0: break;
    case 1: o.assign = ModelAssign::Fixed; o.model = "m"; break;
    case 2: o.assign = ModelAssign::Hash; o.models = 3; break;
    case 3: o.assign = ModelAssign::Zipf; o.models = 3; break;
  }
  o.output = (fuzz::scratch_dir() / "out.csv").string();
  const std::string format = FLEETSIM_FUZZ_FORMAT;
  if (format == "servegen") {
    const auto [trace, dataset] = fuzz::split(bytes);
    // ServeGen generates rate x window-length requests: a valid row asking for 1e6/s over 600 s
    // is a big import, not a bug. A row limit of 1e5 bounds each input: the importer's own
    // estimate refuses more up front (and is fuzzed with it); a burst past it stops at the limit.
    o.max_rows = 100'000;
    std::error_code ec;
    const auto dir = fuzz::scratch_dir() / "client";
    std::filesystem::remove_all(dir, ec);
    std::filesystem::create_directories(dir, ec);
    fuzz::write_file("client/chunk-0-trace.csv", trace);
    if (!dataset.empty()) fuzz::write_file("client/chunk-0-dataset.json", dataset);
    else o.default_tokens = std::make_pair(100u, 10u);
    o.input = dir.string();
  } else {
    if (format == "generic-csv") {
      o.time_column = "t";
      o.input_column = "in";
      o.output_column = "out";
      if (o.assign == ModelAssign::Default) o.model_column = "model";
      if (knobs & 64) o.time_format = "iso8601";
      else o.time_unit = "ms";
      if (knobs & 128) o.delimiter = "tab";
    }
    o.input = fuzz::write_file("input", bytes);
  }
  const ImportReport report = import_trace(o);
  if (report.ok() && report.rows_written > 0 && report.last_time_s < report.first_time_s) __builtin_trap();
  return 0;
}
