// The measured-table performance model (sim/perf_table.hpp) against hand computations on a tiny
// table, against the shared Splitwise profiles (exact at every measured point; the analytical
// model's error there is what README "Performance model accuracy" states), its use by the
// engine, its loader errors.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <tuple>

#include "sim/llm_perf_model.hpp"
#include "sim/perf_table.hpp"
#include "tests/support.hpp"

using namespace fleetsim;
using namespace fleetsim::test;

namespace {

const char* kHeader =
    "model,hardware,prompt_size,batch_size,token_size,peak_power,average_power,prompt_time,token_time,"
    "e2e_time,tensor_parallel\n";

// Prefill points 100 → 10 ms, 300 → 30 ms, 400 (4 × 100) → 50 ms. Decode points (batch,
// context = prompt + output/2): (1, 150) → 20 ms, (1, 350) → 24 ms, (4, 150) → 40 ms; the cell
// (4, 350) is filled: 40 · 24/20 = 48 ms. Rows of another model, GPU and TP are
// ignored; the first point is measured twice (10 and 10 ms, 19 and 21 ms: mean 20).
std::string tiny_table() {
  return std::string(kHeader) +
         "m,h,100,1,100,1,1,10,19,0,1\n"
         "m,h,300,1,100,1,1,30,24,0,1\n"
         "m,h,100,4,100,1,1,50,40,0,1\n"
         "m,h,100,1,100,1,1,10,21,0,1\n"
         "other,h,100,1,100,1,1,99,99,0,1\n"
         "m,h2,100,1,100,1,1,99,99,0,1\n"
         "m,h,100,1,100,1,1,99,99,0,2\n";
}

PerfTable tiny(const TempDir& dir) {
  Diagnostics errors;
  auto table = PerfTable::load(dir.write("t.csv", tiny_table()), "m", "h", 1, "t", errors);
  INFO(errors.to_string());
  REQUIRE(table);
  return *table;
}

std::string shared_profile() {
  return std::string(FLEETSIM_SOURCE_DIR) + "/../shared/profiles/splitwise-llm-perf/perf_model.csv";
}

// A scenario of one model m on one node of `gpu`, TP 1, warm, replaying `trace`; `extra` goes
// into the model's mapping.
std::string one_model_yaml(const std::string& trace, const std::string& extra,
                           const std::string& gpu = "H100-80GB",
                           const std::string& autoscaler = "{impl: fixed, replicas: 1}", bool warm = true) {
  return std::string("duration: 1h\nwarm_start: ") + (warm ? "true" : "false") +
         "\ncluster:\n  pools:\n    - {name: a, nodes: 1, gpu: " + gpu + ", gpus_per_node: 8, disk_cache: 1TB,\n"
         "       disk_read_bandwidth: 5GB/s, network_bandwidth: 10GB/s}\n"
         "policies: {placement: {impl: first-fit}, autoscaler: " + autoscaler + "}\n"
         "models:\n"
         "  - {name: m, parameters: 8e9, kv_cache_per_token: 128KiB, image_size: 20GB, startup_time: 5s" + extra +
         "}\n"
         "workloads:\n  - trace: " + trace + "\n";
}

std::string trace_file(const TempDir& dir, const std::string& rows) {
  return dir.write("trace.csv", "timestamp,model,input_tokens,output_tokens\n" + rows);
}

SimTime ceil_ns(double seconds) { return static_cast<SimTime>(std::ceil(seconds * 1e9)); }

}  // namespace

TEST_CASE("perf table: prefill is linear in tokens between points, clamped below, extrapolated above",
          "[perf-table]") {
  TempDir dir("perftable");
  const PerfTable t = tiny(dir);
  CHECK(t.prefill_seconds(100) == 0.010);
  CHECK(t.prefill_seconds(200) == Approx(0.020).epsilon(1e-12));
  CHECK(t.prefill_seconds(350) == Approx(0.040).epsilon(1e-12));
  CHECK(t.prefill_seconds(400) == 0.050);
  CHECK(t.prefill_seconds(50) == 0.010);                               // clamped
  CHECK(t.prefill_seconds(500) == Approx(0.070).epsilon(1e-12));        // 50 + 100 · 20/100 ms
}

TEST_CASE("perf table: decode steps are bilinear over batch and context, the missing cell filled",
          "[perf-table]") {
  TempDir dir("perftable");
  const PerfTable t = tiny(dir);
  REQUIRE(t.batches() == std::vector<double>{1, 4});
  REQUIRE(t.contexts() == std::vector<double>{150, 350});
  CHECK(t.measured(0, 0));
  CHECK_FALSE(t.measured(1, 1));
  CHECK(t.cell(0, 0) == 0.020);  // (19 + 21) / 2 ms
  CHECK(t.cell(1, 1) == Approx(0.048).epsilon(1e-12));
  CHECK(t.step_seconds(1, 150) == 0.020);
  CHECK(t.step_seconds(4, 150) == 0.040);
  CHECK(t.step_seconds(1, 250) == Approx(0.022).epsilon(1e-12));
  CHECK(t.step_seconds(4, 250) == Approx(0.044).epsilon(1e-12));
  CHECK(t.step_seconds(2.5, 150) == Approx(0.030).epsilon(1e-12));
  CHECK(t.step_seconds(2.5, 250) == Approx(0.033).epsilon(1e-12));  // (30 + 36) / 2 ms
  // Outside: clamped below, extrapolated above from the last two points.
  CHECK(t.step_seconds(0.5, 100) == 0.020);
  CHECK(t.step_seconds(1, 450) == Approx(0.026).epsilon(1e-12));       // 24 + 100 · 4/200 ms
  CHECK(t.step_seconds(8, 150) == Approx(0.040 + 4.0 / 3 * 0.020).epsilon(1e-12));
}

TEST_CASE("perf table: decode time over many steps integrates the step time, and inverts", "[perf-table]") {
  TempDir dir("perftable");
  const PerfTable t = tiny(dir);
  // Batch 1 from 150 to 350 tokens: 200 · (20 + 24) / 2 ms.
  CHECK(t.decode_seconds(200, 1, 150) == Approx(4.4).epsilon(1e-12));
  // From 250 across the last point to 450: 100 · (22 + 24)/2 + 100 · (24 + 26)/2 ms.
  CHECK(t.decode_seconds(200, 1, 250) == Approx(4.8).epsilon(1e-12));
  CHECK(t.decode_steps_in(4.8, 1, 250) == Approx(200).epsilon(1e-12));
  CHECK(t.decode_steps_in(2.3, 1, 250) == Approx(100).epsilon(1e-12));
  // Batch 2 holding 300 tokens (150 each), 100 steps: at batch 2 the columns are 26.667 and
  // 32 ms, so the step grows from 26.667 to 29.333 ms: 100 · 28 ms.
  CHECK(t.decode_seconds(100, 2, 300) == Approx(2.8).epsilon(1e-12));
  CHECK(t.decode_steps_in(t.decode_seconds(37.5, 2, 300), 2, 300) == Approx(37.5).epsilon(1e-12));
  // Below the first context the step is constant.
  CHECK(t.decode_seconds(10, 1, 100) == Approx(0.2).epsilon(1e-12));
  CHECK(t.decode_seconds(0, 1, 100) == 0);
  CHECK(t.decode_steps_in(0, 1, 100) == 0);
}

TEST_CASE("perf table: bad files are loader errors naming the file and the row", "[perf-table][bad-input]") {
  TempDir dir("perftable");
  auto errors_for = [&](const std::string& csv) {
    const std::string path = dir.write("bad.csv", csv);
    Diagnostics errors;
    const auto table = PerfTable::load(path, "m", "h", 1, "key", errors);
    CHECK_FALSE(table);
    return errors.to_string();
  };
  const std::string bad = dir.path("bad.csv");
  std::string e = errors_for(std::string(kHeader) + "m,h,100,1,100,1,1,10,-3,0,1\n");
  CHECK_THAT(e, Catch::Contains(bad + ":2: key: token_time: must be > 0 ms, got -3"));
  e = errors_for(std::string(kHeader) + "m,h,100,1,100,1,1,10,3,0,1\nm,h,100,1,100,1,1,x,3,0,1\n");
  CHECK_THAT(e, Catch::Contains(bad + ":3: key: prompt_time: expected a number of milliseconds, got \"x\""));
  e = errors_for(std::string(kHeader) + "m,h,100,1.5,100,1,1,10,3,0,1\n");
  CHECK_THAT(e, Catch::Contains(bad + ":2: key: batch_size: expected a whole number >= 1, got \"1.5\""));
  e = errors_for(std::string(kHeader) + "m,h,0,1,100,1,1,10,3,0,1\n");
  CHECK_THAT(e, Catch::Contains(bad + ":2: key: prompt_size: expected a whole number >= 1"));
  e = errors_for(std::string(kHeader) + "m,h,100,1,100\n");
  CHECK_THAT(e, Catch::Contains(bad + ":2: key: row has 5 fields, the header 11"));
  e = errors_for("model,hardware,prompt_size\nm,h,1\n");
  CHECK_THAT(e, Catch::Contains(bad + ":1: key: the header has no column \"batch_size\""));
  e = errors_for(std::string(kHeader) + "m,h,100,1,100,1,1,10,3,0,2\n");
  CHECK_THAT(e, Catch::Contains("no rows for model \"m\", hardware \"h\", tensor_parallel 1 (the file holds m / h / TP 2)"));
  e = errors_for("");
  CHECK_THAT(e, Catch::Contains("empty"));
  std::string many = kHeader;
  for (int i = 0; i < 15; ++i) many += "m,h,100,1,100,1,1,10,0,0,1\n";
  e = errors_for(many);
  CHECK_THAT(e, Catch::Contains(":11: key: token_time") && Catch::Contains("5 more bad rows not shown"));
  Diagnostics missing;
  CHECK_FALSE(PerfTable::load(dir.path("absent.csv"), "m", "h", 1, "key", missing));
  CHECK_THAT(missing.to_string(), Catch::Contains(dir.path("absent.csv") + ": key: cannot open the performance table"));
}

TEST_CASE("perf table: rows that measure only prefill or only a decode step (fleetsim calibrate's)", "[perf-table]") {
  // calibrate writes a prefill as (P, batch 1, token_size 1, prompt_time, -) and a decode step of
  // B sequences at context C as (C - 1, B, 2, -, token_time).
  TempDir dir("perftable-split");
  const std::string csv = "model,hardware,prompt_size,batch_size,token_size,prompt_time,token_time,tensor_parallel\n"
                          "m,h,100,1,1,20,,1\n"
                          "m,h,200,1,1,50,,1\n"
                          "m,h,63,1,2,,4,1\n"
                          "m,h,63,4,2,,10,1\n";
  Diagnostics errors;
  const auto t = PerfTable::load(dir.write("steps.csv", csv), "m", "h", 1, "key", errors);
  INFO(errors.to_string());
  REQUIRE(t);
  CHECK(t->prefill_seconds(150) == Approx(0.035));  // halfway between 20 and 50 ms
  CHECK(t->step_seconds(1, 64) == Approx(0.004));
  CHECK(t->step_seconds(4, 64) == Approx(0.010));
  CHECK(t->prefill_tokens().size() == 2);  // the decode rows add no prefill point

  Diagnostics both_empty;
  CHECK_FALSE(PerfTable::load(dir.write("e.csv", "model,hardware,prompt_size,batch_size,token_size,prompt_time,"
                                                 "token_time,tensor_parallel\nm,h,100,1,1,,,1\n"),
                              "m", "h", 1, "key", both_empty));
  CHECK_THAT(both_empty.to_string(), Catch::Contains(":2: key: prompt_time and token_time are both empty"));
  Diagnostics no_decode;
  CHECK_FALSE(PerfTable::load(dir.write("p.csv", "model,hardware,prompt_size,batch_size,token_size,prompt_time,"
                                                 "token_time,tensor_parallel\nm,h,100,1,1,20,,1\n"),
                              "m", "h", 1, "key", no_decode));
  CHECK_THAT(no_decode.to_string(), Catch::Contains("measure no decode step (token_time): a table needs both"));
}

TEST_CASE("perf table: scenario key errors", "[perf-table][bad-input]") {
  TempDir dir("perftable");
  const std::string table = dir.write("t.csv", tiny_table());
  const std::string trace = trace_file(dir, "1.0,m,100,10\n");
  std::string e = errors_of(one_model_yaml(trace, ", performance_table: {file: " + dir.path("absent.csv") +
                                                      ", gpus: {H100-80GB: h}}"));
  CHECK_THAT(e, Catch::Contains("absent.csv: models[0].performance_table.file: cannot open the performance table"));
  e = errors_of(one_model_yaml(trace, ", performance_table: {file: " + table + ", gpus: {H100-80G: h}}"));
  CHECK_THAT(e, Catch::Contains("unknown GPU type \"H100-80G\", did you mean H100-80GB?"));
  e = errors_of(one_model_yaml(trace, ", performance_table: {file: " + table + "}"));
  CHECK_THAT(e, Catch::Contains("models[0].performance_table.gpus: required key is missing"));
  e = errors_of(one_model_yaml(trace, ", performance_table: {file: " + table + ", gpus: {H100-80GB: h}, modle: m}"));
  CHECK_THAT(e, Catch::Contains("modle"));
  e = errors_of(one_model_yaml(trace, ", performance_table: {file: " + table + ", gpus: {H100-80GB: nope}}"));
  CHECK_THAT(e, Catch::Contains("models[0].performance_table.gpus.H100-80GB: no rows for model \"m\", hardware \"nope\""));
  // The CLI: exit 2 with the file and row.
  const std::string bad = dir.write("bad.csv", std::string(kHeader) + "m,h,100,1,100,1,1,10,-1,0,1\n");
  const std::string scenario = dir.write(
      "s.yaml", one_model_yaml(trace, ", performance_table: {file: bad.csv, gpus: {H100-80GB: h}}"));
  const CliRun run = run_fleetsim("run " + shell_quote(scenario) + " --out " + shell_quote(dir.path("out")));
  CHECK(run.code == 2);
  CHECK_THAT(run.err, Catch::Contains(bad + ":2: models[0].performance_table.file: token_time: must be > 0 ms"));
}

TEST_CASE("perf table: the engine takes prefill and decode times from the table", "[perf-table][serving]") {
  TempDir dir("perftable");
  const std::string table = dir.write("t.csv", tiny_table());
  const std::string trace = trace_file(dir, "1.0,m,200,11\n");
  const Scenario sc = scenario_from(
      one_model_yaml(trace, ", performance_table: {file: " + table + ", gpus: {H100-80GB: h, A100-80GB: h}}"));
  REQUIRE(sc.models[0].perf_tables.size() == sc.gpu_types.size());
  RunOutput out = run_scenario(sc);
  REQUIRE(out.violations.empty());
  REQUIRE(out.requests.size() == 1);
  const RequestResult& r = out.requests[0];
  // Prefill of 200 tokens: 20 ms. Then 10 decode steps at batch 1 from 201 tokens: the step time
  // is 20 + (x − 150) · 0.02 ms, so ∫ from 201 to 211 = 10 · (21.02 + 21.22) / 2 ms = 211.2 ms.
  CHECK(r.first_token - r.arrival == ceil_ns(0.020));
  CHECK(to_seconds(r.end - r.first_token) == Approx(0.2112).epsilon(1e-6));
}

TEST_CASE("perf table: GPU types the table does not name keep the analytical model", "[perf-table][serving]") {
  TempDir dir("perftable");
  const std::string table = dir.write("t.csv", tiny_table());
  const std::string trace = trace_file(dir, "1.0,m,200,11\n");
  const Scenario with = scenario_from(
      one_model_yaml(trace, ", performance_table: {file: " + table + ", gpus: {A100-80GB: h}}"));
  const Scenario without = scenario_from(one_model_yaml(trace, ""));
  RunOutput a = run_scenario(with), b = run_scenario(without);
  REQUIRE(a.requests.size() == 1);
  REQUIRE(b.requests.size() == 1);
  CHECK(a.requests[0].first_token == b.requests[0].first_token);
  CHECK(a.requests[0].end == b.requests[0].end);
}

namespace {

struct Measured {
  double prompt_ms = 0, token_ms = 0;
  int n = 0;
};

// The shared profile's rows by (model, hardware, tp) and configuration (prompt, batch, out),
// averaged; and by the table's points (prefill tokens; decode batch and context), averaged in
// file order as PerfTable does.
struct Profile {
  std::map<std::tuple<std::string, std::string, int>, std::map<std::tuple<int, int, int>, Measured>> configs;
  std::map<std::tuple<std::string, std::string, int>, std::map<double, Measured>> prefill;
  std::map<std::tuple<std::string, std::string, int>, std::map<std::pair<double, double>, Measured>> decode;
};

Profile read_profile(const std::string& path) {
  Profile p;
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  while (std::getline(in, line)) {
    std::vector<std::string> c;
    std::stringstream ss(line);
    for (std::string cell; std::getline(ss, cell, ',');) c.push_back(cell);
    if (c.size() < 11) continue;
    const auto group = std::make_tuple(c[0], c[1], std::stoi(c[10]));
    const int prompt = std::stoi(c[2]), batch = std::stoi(c[3]), out = std::stoi(c[4]);
    const double pt = std::stod(c[7]), tt = std::stod(c[8]);
    Measured& m = p.configs[group][{prompt, batch, out}];
    m.prompt_ms += pt, m.token_ms += tt, ++m.n;
    Measured& f = p.prefill[group][static_cast<double>(batch) * prompt];
    f.prompt_ms += pt * 1e-3, ++f.n;
    Measured& d = p.decode[group][{static_cast<double>(batch), prompt + 0.5 * out}];
    d.token_ms += tt * 1e-3, ++d.n;
  }
  return p;
}

}  // namespace

TEST_CASE("perf table: the shared profiles load, exact at every measured point", "[perf-table][profiles]") {
  const std::string path = shared_profile();
  if (!std::filesystem::exists(path)) {
    WARN("skipped: " << path << " is absent (the shared profiles live beside the repository)");
    return;
  }
  Diagnostics errors;
  const auto rows = PerfTable::read_rows(path, "profile", errors);
  INFO(errors.to_string());
  REQUIRE(rows);
  CHECK(rows->size() == 1260);
  const Profile p = read_profile(path);
  REQUIRE(p.prefill.size() == 12);  // Llama-2-70B TP 2/4/8 and BLOOM-176B TP 8, on 3 GPU types
  std::size_t points = 0;
  for (const auto& [group, prefill] : p.prefill) {
    const auto& [model, hardware, tp] = group;
    const auto table = PerfTable::select(*rows, model, hardware, tp, path, "profile", errors);
    REQUIRE(table);
    for (const auto& [tokens, m] : prefill) {
      CHECK(table->prefill_seconds(tokens) == m.prompt_ms / m.n);  // 0% error
      ++points;
    }
    for (const auto& [point, m] : p.decode.at(group)) {
      CHECK(table->step_seconds(point.first, point.second) == m.token_ms / m.n);
      ++points;
    }
  }
  CHECK(points > 200);

  // A few figures by hand from the file: Llama-2-70B, H100, TP 8: a 128-token prompt (55.30 ms,
  // the mean of 5 rows), 64 × 512 tokens (2,941.7 ms), a decode step of 64 sequences of
  // 512 + 64 tokens (49.99 ms); 2,048 and 4,096 tokens are each measured twice (1 × 2,048 and
  // 4 × 512; 1 × 4,096 and 8 × 512): the means, 134.59 and 378.13 ms.
  const auto llama = PerfTable::select(*rows, "llama2-70b", "h100-80gb", 8, path, "profile", errors);
  REQUIRE(llama);
  CHECK(llama->prefill_seconds(128) == Approx(0.05530).epsilon(1e-3));
  CHECK(llama->prefill_seconds(32768) == Approx(2.9417).epsilon(1e-4));
  CHECK(llama->step_seconds(64, 576) == Approx(0.049987).epsilon(1e-4));
  CHECK(llama->prefill_seconds(2048) == Approx(0.13459).epsilon(1e-4));
  CHECK(llama->prefill_seconds(4096) == Approx(0.37813).epsilon(1e-4));
}

TEST_CASE("perf table: the analytical model's error against the profiles is the README's", "[perf-table][profiles]") {
  const std::string path = shared_profile();
  if (!std::filesystem::exists(path)) {
    WARN("skipped: " << path << " is absent (the shared profiles live beside the repository)");
    return;
  }
  // As bench/calibrate_perf_model.cpp computes it: per configuration (repeats averaged),
  // prefill_seconds(batch · prompt) and decode_seconds(1, batch, batch · prompt) with the default
  // PerfSpec; the power-capped H100 on the H100's figures; configurations whose measured prefill
  // would need more than peak FLOP/s left out.
  const Profile p = read_profile(path);
  auto gpu = [](const std::string& hw) {
    for (const GpuType& g : builtin_gpu_types())
      if (g.name == (hw == "a100-80gb" ? "A100-80GB" : "H100-80GB")) return g;
    FAIL("no GPU type");
    return GpuType{};
  };
  double prefill_sum = 0, decode_sum = 0;
  int n = 0;
  for (const auto& [group, configs] : p.configs) {
    const auto& [model, hardware, tp] = group;
    ModelSpec spec;
    spec.parameters = model == "llama2-70b" ? 69e9 : 176e9;
    spec.kv_bytes_per_token = model == "llama2-70b" ? 80.0 * 8 * 128 * 2 * 2 : 70.0 * 14336 * 2 * 2;
    spec.gpus_per_replica = tp;
    const GpuType g = gpu(hardware);
    const LlmPerfModel analytical(spec, g, PerfSpec{});
    for (const auto& [key, m] : configs) {
      const auto& [prompt, batch, out] = key;
      const double prompt_ms = m.prompt_ms / m.n, token_ms = m.token_ms / m.n;
      if (2.0 * spec.parameters * batch * prompt / (prompt_ms * 1e-3) > tp * g.bf16_flops) continue;
      prefill_sum += std::fabs(1e3 * analytical.prefill_seconds(double(batch) * prompt) - prompt_ms) / prompt_ms;
      decode_sum += std::fabs(1e3 * analytical.decode_seconds(1, batch, double(batch) * prompt) - token_ms) / token_ms;
      ++n;
    }
  }
  CHECK(n == 225);
  CHECK(100 * prefill_sum / n == Approx(23.6).margin(0.05));
  CHECK(100 * decode_sum / n == Approx(7.6).margin(0.05));
}

TEST_CASE("performance models: the same figures are the same model, any other figure or table is not",
          "[perf-table][serving]") {
  // The engine shares one LlmPerfModel between models whose coefficients are equal bit for bit
  // (Simulation::perf_for): a renamed copy of a model is the same; twice the parameters, another
  // GPU or a measured table is not.
  TempDir dir("perfsame");
  const std::string trace = trace_file(dir, "1.0,m,200,11\n");
  const Scenario sc = scenario_from(one_model_yaml(trace, ""));
  const auto gpu = [&](const std::string& name) {
    const auto it = std::find_if(sc.gpu_types.begin(), sc.gpu_types.end(), [&](const GpuType& g) { return g.name == name; });
    REQUIRE(it != sc.gpu_types.end());
    return *it;
  };
  ModelSpec renamed = sc.models[0];
  renamed.name = "m-copy";
  ModelSpec bigger = sc.models[0];
  bigger.parameters *= 2;
  const LlmPerfModel base(sc.models[0], gpu("H100-80GB"), sc.perf);
  CHECK(base.same_as(LlmPerfModel(renamed, gpu("H100-80GB"), sc.perf)));
  CHECK_FALSE(base.same_as(LlmPerfModel(bigger, gpu("H100-80GB"), sc.perf)));
  CHECK_FALSE(base.same_as(LlmPerfModel(sc.models[0], gpu("A100-80GB"), sc.perf)));
  const PerfTable table = tiny(dir);
  CHECK_FALSE(base.same_as(LlmPerfModel(sc.models[0], gpu("H100-80GB"), sc.perf, &table)));
}
