// Validating the simulator against real mode (reports/validation.hpp, `fleetsim validate-real`):
// the comparison on hand-written run folders, every figure computed by hand; the folders'
// files read back with their errors named; the ranking of a sweep; and the command end to end
// on the smoke scenario, asserting only what timing cannot change.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <sstream>

#include <nlohmann/json.hpp>

#include "reports/request_log.hpp"
#include "reports/validation.hpp"
#include "tests/support.hpp"

using namespace fleetsim;
using namespace fleetsim::test;

namespace {

const std::string kSmoke = std::string(FLEETSIM_SOURCE_DIR) + "/scenarios/real/smoke.yaml";

const char* kColdHeader =
    "model,replica,node,placed_s,ready_s,node_provision_s,image_pull_s,weight_load_s,engine_startup_s,source,aborted\n";
const char* kRequestsHeader = "serial,model,outcome,input_tokens,output_tokens,arrival_s,first_token_s,end_s,replica\n";

// A run folder with the four files validate_runs reads.
std::string run_folder(const TempDir& dir, const std::string& name, const std::string& requests,
                       const std::string& cold_starts, const std::string& decisions, double end_s) {
  const std::filesystem::path d = dir.path(name);
  std::filesystem::create_directories(d);
  write_file(d / "requests.csv", std::string(kRequestsHeader) + requests);
  write_file(d / "cold_starts.csv", std::string(kColdHeader) + cold_starts);
  write_file(d / "decisions.csv", "time_s,decision\n" + decisions);
  write_file(d / "result.json", R"({"schema_version": 1, "run": {"end_time_s": )" + std::to_string(end_s) +
                                    R"(, "seed": 1, "events": 1, "requests": 1}, "scenario": {"name": "x"},
                                    "overall": {"requests": 0, "completed": 0}, "models": []})");
  return d.string();
}

}  // namespace

TEST_CASE("validation: figures, per-request errors and decisions computed by hand", "[validation]") {
  TempDir dir("validation");
  // Three requests completed in both; a fourth times out in the real run only. Simulated TTFT
  // 0.1 / 0.2 / 0.3 s, real 0.2 / 0.2 / 0.4 s; E2E simulated 1 / 2 / 3 s, real 1 / 2.5 / 2 s.
  const std::string sim = run_folder(dir, "sim",
                                     "0,m,completed,10,5,0,0.1,1,0\n"
                                     "1,m,completed,10,5,1,1.2,3,0\n"
                                     "2,m,completed,10,5,2,2.3,5,0\n"
                                     "3,m,completed,10,5,3,3.1,4,0\n",
                                     "m,0,0,0,1,0,0.5,0.25,0.25,model-store,0\n",
                                     "0.000000000,scale m 0->1\n0.000000000,place m r0 node 0\n1.000000000,ready m r0 from model-store\n",
                                     10);
  const std::string real = run_folder(dir, "real",
                                      "0,m,completed,10,5,0,0.2,1,0\n"
                                      "1,m,completed,10,5,1,1.2,3.5,0\n"
                                      "2,m,completed,10,5,2,2.4,4,0\n"
                                      "3,m,timeout,10,5,3,,4,\n",
                                      "m,0,0,0,2,0,1,0.5,0.5,model-store,0\n",
                                      "0.000000000,scale m 0->1\n0.010000000,place m r0 node 0\n2.000000000,ready m r0 from disk-cache\n",
                                      8);
  Diagnostics errors;
  const auto v = validate_runs(sim, real, errors);
  INFO(errors.to_string());
  REQUIRE(v);
  CHECK(v->requests_simulated == 4);
  CHECK(v->requests_real == 4);
  REQUIRE(v->outcomes.size() == 2);
  CHECK(v->outcomes[0] == std::pair<std::string, std::pair<std::uint64_t, std::uint64_t>>{"completed", {4, 3}});
  CHECK(v->outcomes[1] == std::pair<std::string, std::pair<std::uint64_t, std::uint64_t>>{"timeout", {0, 1}});

  // Percentiles interpolate between ranks: simulated TTFT sorted 0.1 0.1 0.2 0.3 -> p50 0.15,
  // real 0.2 0.2 0.4 -> p50 0.2; error (0.15 - 0.2) / 0.2 = -25%.
  const ValidationFigure* ttft50 = v->figure("TTFT p50");
  REQUIRE(ttft50);
  CHECK(ttft50->simulated == Approx(0.15));
  CHECK(ttft50->real == Approx(0.2));
  CHECK(ttft50->error() == Approx(-0.25));
  // p90: simulated at rank 2.7 -> 0.2 + 0.7 * 0.1 = 0.27; real at rank 1.8 -> 0.2 + 0.8 * 0.2 = 0.36.
  CHECK(v->figure("TTFT p90")->simulated == Approx(0.27));
  CHECK(v->figure("TTFT p90")->real == Approx(0.36));
  // E2E simulated 1 1 2 3 -> p50 1.5; real 1 2 2.5 -> p50 2.
  CHECK(v->figure("E2E p50")->simulated == Approx(1.5));
  CHECK(v->figure("E2E p50")->real == Approx(2.0));
  // TPOT: (end - first) / (5 - 1): simulated 0.225 0.45 0.675 0.225 -> p50 0.3375; real 0.2 0.575 0.4 -> 0.4.
  CHECK(v->figure("TPOT p50")->simulated == Approx(0.3375));
  CHECK(v->figure("TPOT p50")->real == Approx(0.4));

  // Paired by serial over the three completed in both: TTFT |0.1-0.2|/0.2 = 0.5, 0, 0.1/0.4 =
  // 0.25 -> MAPE 0.25, median 0.25. Pearson of (0.1,0.2,0.3) with (0.2,0.2,0.4): 0.866.
  CHECK(v->ttft.pairs == 3);
  CHECK(v->ttft.mape == Approx(0.25));
  CHECK(v->ttft.median_ape == Approx(0.25));
  CHECK(v->ttft.pearson_r == Approx(std::sqrt(3.0) / 2));
  // E2E pairs (1,1) (2,2.5) (3,2): errors 0, 0.2, 0.5 -> MAPE 0.2333; Pearson of (1,2,3), (1,2.5,2): 0.6547.
  CHECK(v->e2e.mape == Approx(0.7 / 3));
  CHECK(v->e2e.median_ape == Approx(0.2));
  CHECK(v->e2e.pearson_r == Approx(1 / std::sqrt(2 * (7.0 / 6))));

  // Cold starts: one each; phases 0.5 / 0.25 / 0.25 against 1 / 0.5 / 0.5, the whole 1 s against 2 s.
  CHECK(v->cold_starts_match());
  CHECK(v->figure("image pull mean")->error() == Approx(-0.5));
  CHECK(v->figure("pull + start-up mean")->simulated == Approx(0.75));
  CHECK(v->figure("pull + start-up mean")->real == Approx(1.5));
  CHECK(v->figure("cold start mean")->simulated == Approx(1.0));
  CHECK(v->figure("cold start mean")->real == Approx(2.0));
  // Throughput: 4 completed in 10 s against 3 in 8 s; output tokens 20 / 10 against 15 / 8.
  CHECK(v->figure("completed requests/s")->simulated == Approx(0.4));
  CHECK(v->figure("completed requests/s")->real == Approx(0.375));
  CHECK(v->figure("output tokens/s")->real == Approx(15.0 / 8));

  // Decisions: equal for two, then the weight source differs (index 2); time offsets 0 and 10 ms.
  CHECK_FALSE(v->decisions.identical);
  REQUIRE(v->decisions.first_divergence);
  CHECK(*v->decisions.first_divergence == 2);
  CHECK(v->decisions.max_time_offset_s == Approx(0.01));
  CHECK(v->decisions.median_time_offset_s == Approx(0.005));
  CHECK_FALSE(v->latency_goals_met());

  const std::string table = validation_table(*v);
  CHECK_THAT(table, Catch::Contains("first divergence at decision 3: simulated 1.000 s ready m r0 from model-store | "
                                    "real 2.000 s ready m r0 from disk-cache"));
  CHECK_THAT(table, Catch::Contains("TTFT p50") && Catch::Contains("-25.0%"));
  const auto json = nlohmann::json::parse(validation_json({{"", *v}}, {}));
  CHECK(json["runs"][0]["decisions"]["first_divergence"] == 2);
  CHECK(json["runs"][0]["decisions"]["side_by_side"].size() == 3);
  CHECK(json["runs"][0]["latency_s"]["TTFT p50"]["error"].get<double>() == Approx(-0.25));
  CHECK(json["runs"][0]["per_request"]["TTFT"]["pairs"] == 3);
  CHECK(json["runs"][0]["cold_starts"]["exact"] == true);
}

TEST_CASE("validation: equal runs meet every goal, missing and malformed files are named", "[validation]") {
  TempDir dir("validation-files");
  const std::string requests = "0,m,completed,10,5,0,0.1,1,0\n1,m,completed,10,5,1,1.2,3,0\n";
  const std::string cold = "m,0,0,0,1,0,0.5,0.25,0.25,model-store,0\n";
  const std::string decisions = "0.000000000,scale m 0->1\n";
  const std::string a = run_folder(dir, "a", requests, cold, decisions, 10);
  const std::string b = run_folder(dir, "b", requests, cold, decisions, 10);
  Diagnostics errors;
  const auto same = validate_runs(a, b, errors);
  REQUIRE(same);
  CHECK(same->latency_goals_met());
  CHECK(same->decisions.identical);
  CHECK_FALSE(same->decisions.first_divergence);
  CHECK(same->ttft.mape == 0);
  CHECK(same->ttft.pearson_r == Approx(1));

  std::filesystem::remove(dir.path("b/requests.csv"));
  CHECK_FALSE(validate_runs(a, b, errors));
  CHECK_THAT(errors.to_string(), Catch::Contains("b/requests.csv") && Catch::Contains("cannot read it"));

  Diagnostics bad;
  const auto rows = parse_requests_csv(std::string(kRequestsHeader) + "0,m,completed,ten,5,0,0.1,1,0\n", "r.csv", bad);
  CHECK(rows.empty());
  CHECK_THAT(bad.to_string(), Catch::Contains("r.csv:2") && Catch::Contains("malformed"));
  Diagnostics no_column;
  parse_requests_csv("serial,model\n0,m\n", "r.csv", no_column);
  CHECK_FALSE(no_column.empty());
}

TEST_CASE("validation: the ranking of a sweep, ties sharing the better rank", "[validation]") {
  PolicyRanking r;
  r.key = "policies.router.impl";
  r.entries = {{"a", 1.0, 2.0}, {"b", 0.5, 1.0}, {"c", 1.0, 3.0}};
  rank(r);
  CHECK(r.entries[0].simulated_rank == 2);
  CHECK(r.entries[1].simulated_rank == 1);
  CHECK(r.entries[2].simulated_rank == 2);  // tied with a
  CHECK(r.entries[0].real_rank == 2);
  CHECK(r.entries[2].real_rank == 3);
  CHECK_FALSE(r.identical());
  r.entries[2].real = 2.0;
  rank(r);
  CHECK(r.identical());
  CHECK_THAT(ranking_table(r), Catch::Contains("the same"));
}

TEST_CASE("fleetsim real writes requests.csv, applies a calibrated profile, and refuses a bad one",
          "[validation][real][cli]") {
  TempDir dir("real-profile");
  // The smoke scenario's chat request: 64 prompt tokens on a 4.5M-parameter model at 0.044
  // TFLOP/s, plus the 1 ms step overhead: 2 · 4.5e6 · 64 / 4.4e10 + 0.001 = 14.09 ms to the
  // first token.
  const CliRun plain = run_fleetsim("real " + shell_quote(kSmoke) + " --simulated -q --out " + shell_quote(dir.path("a")));
  REQUIRE(plain.code == 0);
  Diagnostics errors;
  const auto rows = parse_requests_csv(read_file(dir.path("a/requests.csv")), "requests.csv", errors);
  INFO(errors.to_string());
  REQUIRE(rows.size() == 36);
  CHECK(rows[0].serial == 0);
  CHECK(rows[0].model == "chat");
  CHECK(rows[0].outcome == "completed");
  CHECK(rows[0].first_token_s - rows[0].arrival_s == Approx(2 * 4.5e6 * 64 / 4.4e10 + 0.001).epsilon(1e-6));

  // A profile under another GPU name applies to the scenario's only type; its overhead of 101 ms
  // adds 100 ms.
  const std::string profile = dir.write(
      "p.yaml", "gpu_types:\n  - {name: my-box, memory: 4GiB, bf16_tflops: 0.044, memory_bandwidth: 68GB/s, "
                "host_to_device_bandwidth: 0.3GB/s}\nperformance: {compute_efficiency: 1, memory_efficiency: 1, "
                "iteration_overhead: 101ms, tensor_parallel_overhead: 0ms}\n");
  const CliRun profiled = run_fleetsim("real " + shell_quote(kSmoke) + " --simulated -q --profile " +
                                       shell_quote(profile) + " --out " + shell_quote(dir.path("b")));
  INFO(profiled.err);
  REQUIRE(profiled.code == 0);
  const auto slower = parse_requests_csv(read_file(dir.path("b/requests.csv")), "requests.csv", errors);
  REQUIRE(slower.size() == 36);
  CHECK(slower[0].first_token_s - slower[0].arrival_s == Approx(2 * 4.5e6 * 64 / 4.4e10 + 0.101).epsilon(1e-6));

  const std::string bad = dir.write("bad.yaml", "performance: {iteration_overhead: 1ms}\n");
  const CliRun refused = run_fleetsim("real " + shell_quote(kSmoke) + " --simulated -q --profile " + shell_quote(bad) +
                                      " --out " + shell_quote(dir.path("c")));
  CHECK(refused.code == 2);
  CHECK_THAT(refused.err, Catch::Contains("expected `gpu_types:` with one GPU type"));
  CHECK_FALSE(std::filesystem::exists(dir.path("c")));

  // The cuda backend: refused up front where it cannot run (no GPU, or built without nvcc);
  // where it can, a few seconds of the smoke scenario run on it.
  const CliRun cuda = run_fleetsim("real " + shell_quote(kSmoke) + " --backend cuda --set duration=3s -q --out " +
                                   shell_quote(dir.path("cuda")));
  if (cuda.code == 2) {
    CHECK_THAT(cuda.err, Catch::StartsWith("--backend cuda: ") && Catch::Contains("nothing written"));
    CHECK_FALSE(std::filesystem::exists(dir.path("cuda")));
    WARN("the cuda backend was not run: " + cuda.err);
  } else {
    CHECK(cuda.code == 0);
    CHECK(nlohmann::json::parse(read_file(dir.path("cuda/result.json")))["real"]["backend"] == "cuda");
  }
}

TEST_CASE("fleetsim validate-real: both modes of the smoke scenario, compared", "[validation][real][cli]") {
  TempDir dir("validate-real");
  // At speedup 3 the smoke scenario's 45 s take about 15 s of wall clock for the real side.
  const CliRun v = run_fleetsim("validate-real " + shell_quote(kSmoke) + " --speedup 3 --out " + shell_quote(dir.path("v")));
  INFO(v.err);
  REQUIRE(v.code == 0);
  CHECK_THAT(v.out, Catch::Contains("cold starts                       2            2     exact"));
  CHECK_THAT(v.out, Catch::Contains("decisions                        12           12      same"));
  for (const char* side : {"simulated", "real"})
    for (const char* file : {"result.json", "requests.csv", "decisions.csv", "cold_starts.csv"})
      CHECK(std::filesystem::exists(dir.path(std::string("v/") + side + "/" + file)));
  const auto json = nlohmann::json::parse(read_file(dir.path("v/validation.json")));
  const auto& run = json["runs"][0];
  CHECK(run["requests"]["simulated"] == 36);
  CHECK(run["requests"]["real"] == 36);
  CHECK(run["outcomes"]["completed"]["real"] == 36);
  CHECK(run["cold_starts"]["exact"] == true);
  CHECK(run["decisions"]["identical"] == true);
  CHECK(run["per_request"]["TTFT"]["pairs"] == 36);
  CHECK(json["rankings"].empty());

  CHECK(run_fleetsim("validate-real " + shell_quote(kSmoke) + " --vary policies.router.impl").code == 2);
}

TEST_CASE("fleetsim validate-real --calibrate: the scenario gets this machine's figures first", "[validation][real][cli]") {
  TempDir dir("validate-calibrate");
  const CliRun v = run_fleetsim("validate-real " + shell_quote(kSmoke) +
                                " --calibrate --repetitions 1 --set duration=12s --speedup 3 --out " + shell_quote(dir.path("v")));
  INFO(v.err);
  REQUIRE(v.code == 0);
  CHECK_THAT(v.err, Catch::Contains("calibrating on chat's worker model (3 x 320"));
  CHECK_THAT(read_file(dir.path("v/profile.yaml")), Catch::Contains("- {name: calibrated"));
  // The simulated side got the measured process start as every model's startup_time (the
  // smoke scenario has 0 s), so its one cold start has an engine start-up phase.
  Diagnostics errors;
  const std::string cold = read_file(dir.path("v/simulated/cold_starts.csv"));
  const auto rows = parse_requests_csv(read_file(dir.path("v/simulated/requests.csv")), "requests.csv", errors);
  CHECK(rows.size() > 5);
  const std::string line = cold.substr(cold.find('\n') + 1);
  const auto fields = [&] {
    std::vector<std::string> f;
    std::stringstream in(line.substr(0, line.find('\n')));
    for (std::string x; std::getline(in, x, ',');) f.push_back(x);
    return f;
  }();
  REQUIRE(fields.size() == 11);
  CHECK(std::stod(fields[8]) > 0);  // engine_startup_s
}

TEST_CASE("fleetsim validate-real --vary: each value in both modes, ranked in each", "[validation][real][cli]") {
  TempDir dir("validate-vary");
  const CliRun v = run_fleetsim("validate-real " + shell_quote(kSmoke) +
                                " --set duration=12s --speedup 3 --vary policies.router.impl=least-outstanding,round-robin"
                                " --out " + shell_quote(dir.path("v")));
  INFO(v.err);
  REQUIRE(v.code == 0);
  for (const char* value : {"least-outstanding", "round-robin"})
    for (const char* side : {"simulated", "real"})
      CHECK(std::filesystem::exists(dir.path(std::string("v/") + value + "/" + side + "/requests.csv")));
  const auto json = nlohmann::json::parse(read_file(dir.path("v/validation.json")));
  REQUIRE(json["runs"].size() == 2);
  CHECK(json["runs"][1]["label"] == "policies.router.impl=round-robin");
  REQUIRE(json["rankings"].size() == 1);
  const auto& ranking = json["rankings"][0];
  CHECK(ranking["key"] == "policies.router.impl");
  REQUIRE(ranking["entries"].size() == 2);
  for (const auto& e : ranking["entries"]) {
    CHECK(e["simulated_rank"].get<int>() >= 1);
    CHECK(e["real_rank"].get<int>() <= 2);
    CHECK(e["real_mean_e2e_s"].get<double>() > 0);
  }
  CHECK_THAT(v.out, Catch::Contains("ranking by mean E2E over policies.router.impl"));
}
