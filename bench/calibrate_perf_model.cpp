// fleetsim_calibrate: checks LlmPerfModel against measured LLM iteration times (the Splitwise
// profiles, ../shared/profiles/splitwise-llm-perf/perf_model.csv) and, with --fit, searches
// the PerfSpec efficiencies and per-step overheads (iteration_overhead and
// tensor_parallel_overhead, so a step costs iteration_overhead + (tp − 1) · tensor_parallel_overhead
// on top of the roofline) that minimise the overall error, by least squares (Eigen; see fit()).
//
// For every measured configuration (model, hardware, tensor parallel, prompt size, batch size,
// output tokens; repeated rows averaged first) it predicts
//   prefill      = prefill_seconds(batch · prompt)                vs prompt_time
//   decode step  = decode_seconds(1, batch, batch · prompt)       vs token_time
// (--decode-context mid uses batch · (prompt + output/2), the mean context over the run).
// Errors are signed percentages (predicted − measured) / measured; a group's MAPE is the mean
// of their absolute values over its configurations. h100-80gb-pcap (power-capped) runs on the
// H100-80GB figures.
// Configurations whose measured prefill would need more than the GPUs' peak FLOP/s
// (2·N·batch·prompt / prompt_time > tp · peak) are physically impossible and are left out,
// and listed (in the source data: Llama-2-70B, TP 2, batch 64 × 512 tokens); --keep-impossible
// keeps them.
//
// --table checks the measured-table model (sim/perf_table.hpp) the same way, leaving each
// configuration out of its group's table in turn and predicting it from the others (at its own
// points the table is exact, so only held-out points say how well it interpolates); a point
// outside the rest's range is extrapolated as the table would.
//
// usage: fleetsim_calibrate [perf_model.csv] [--compute-efficiency X] [--memory-efficiency Y]
//                           [--overhead-ms Z] [--tp-overhead-ms T] [--decode-context prompt|mid]
//                           [--fit] [--verbose] [--keep-impossible] [--table]
#include <Eigen/Dense>
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "sim/gpu_catalog.hpp"
#include "sim/llm_perf_model.hpp"
#include "sim/perf_table.hpp"
#include "sim/scenario.hpp"

namespace {

using namespace fleetsim;

struct Config {
  int prompt = 0, batch = 0, tokens = 0;
  double prompt_ms = 0, token_ms = 0;  // means over the repeated rows
  int repeats = 0;
};

struct Group {
  std::string model, hardware;
  int tp = 0;
  ModelSpec spec;
  const GpuType* gpu = nullptr;
  std::vector<Config> configs;
};

struct Errors {
  std::vector<double> prefill, decode;  // signed %, one per configuration
};

double mean_abs(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += std::fabs(x);
  return v.empty() ? 0 : s / static_cast<double>(v.size());
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

const GpuType* gpu_for(const std::string& hardware) {
  std::string name;
  if (hardware == "a100-80gb") name = "A100-80GB";
  else if (hardware == "h100-80gb" || hardware == "h100-80gb-pcap") name = "H100-80GB";
  else return nullptr;
  for (const GpuType& g : builtin_gpu_types())
    if (g.name == name) return &g;
  return nullptr;
}

bool model_for(const std::string& model, ModelSpec& spec) {
  spec.name = model;
  spec.bytes_per_parameter = 2;
  if (model == "llama2-70b") {
    spec.parameters = 69e9;
    spec.kv_bytes_per_token = 80.0 * 8 * 128 * 2 * 2;  // layers · KV heads · head dim · (K,V) · bf16
  } else if (model == "bloom-176b") {
    spec.parameters = 176e9;
    spec.kv_bytes_per_token = 70.0 * 14336 * 2 * 2;  // layers · hidden (no GQA) · (K,V) · bf16
  } else {
    return false;
  }
  return true;
}

std::vector<std::string> split(const std::string& line) {
  std::vector<std::string> out;
  std::stringstream ss(line);
  std::string cell;
  while (std::getline(ss, cell, ',')) out.push_back(cell);
  return out;
}

bool keep_impossible = false;

// Measured prefill faster than the tensor-parallel group's peak compute allows.
bool impossible(const Group& g, const Config& c) {
  const double flop = 2.0 * g.spec.parameters * c.batch * c.prompt;
  return flop / (c.prompt_ms * 1e-3) > g.tp * g.gpu->bf16_flops;
}

std::vector<Group> read_groups(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    std::cerr << "cannot open " << path << "\n";
    std::exit(2);
  }
  std::string line;
  std::getline(in, line);
  const auto header = split(line);
  auto col = [&](const char* name) {
    for (std::size_t i = 0; i < header.size(); ++i)
      if (header[i] == name) return i;
    std::cerr << path << ": no column " << name << "\n";
    std::exit(2);
  };
  const std::size_t c_model = col("model"), c_hw = col("hardware"), c_prompt = col("prompt_size"),
                    c_batch = col("batch_size"), c_tokens = col("token_size"),
                    c_ptime = col("prompt_time"), c_ttime = col("token_time"),
                    c_tp = col("tensor_parallel");

  std::map<std::tuple<std::string, std::string, int>, std::map<std::tuple<int, int, int>, Config>> acc;
  int lineno = 1, skipped = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (line.empty()) continue;
    const auto cells = split(line);
    if (cells.size() < header.size()) {
      std::cerr << path << ":" << lineno << ": short row\n";
      std::exit(2);
    }
    ModelSpec probe;
    if (!model_for(cells[c_model], probe) || !gpu_for(cells[c_hw])) {
      ++skipped;
      continue;
    }
    const int tp = std::stoi(cells[c_tp]);
    const int prompt = std::stoi(cells[c_prompt]), batch = std::stoi(cells[c_batch]),
              tokens = std::stoi(cells[c_tokens]);
    Config& c = acc[{cells[c_model], cells[c_hw], tp}][{prompt, batch, tokens}];
    c.prompt = prompt;
    c.batch = batch;
    c.tokens = tokens;
    c.prompt_ms += std::stod(cells[c_ptime]);
    c.token_ms += std::stod(cells[c_ttime]);
    ++c.repeats;
  }
  if (skipped) std::cerr << "skipped " << skipped << " rows of unknown model or hardware\n";

  std::vector<Group> groups;
  for (auto& [key, configs] : acc) {
    Group g;
    std::tie(g.model, g.hardware, g.tp) = key;
    model_for(g.model, g.spec);
    g.spec.gpus_per_replica = g.tp;
    g.gpu = gpu_for(g.hardware);
    for (auto& [k, c] : configs) {
      c.prompt_ms /= c.repeats;
      c.token_ms /= c.repeats;
      if (impossible(g, c)) {
        std::printf("%s: %s %s TP %d prompt %d batch %d out %d: prefill %.1f ms implies %.0f%% of peak "
                    "FLOP/s%s\n",
                    keep_impossible ? "kept" : "left out", g.model.c_str(), g.hardware.c_str(), g.tp,
                    c.prompt, c.batch, c.tokens, c.prompt_ms,
                    100.0 * 2.0 * g.spec.parameters * c.batch * c.prompt / (c.prompt_ms * 1e-3) /
                        (g.tp * g.gpu->bf16_flops),
                    keep_impossible ? "" : " (--keep-impossible keeps it)");
        if (!keep_impossible) continue;
      }
      g.configs.push_back(c);
    }
    groups.push_back(std::move(g));
  }
  return groups;
}

bool mid_context = false;

double decode_context(const Config& c) {
  return mid_context ? c.batch * (c.prompt + 0.5 * c.tokens) : static_cast<double>(c.batch) * c.prompt;
}

PerfSpec perf_of(double ce, double me, double overhead_ms, double tp_overhead_ms) {
  PerfSpec p;
  p.compute_efficiency = ce;
  p.memory_efficiency = me;
  p.iteration_overhead = from_seconds(overhead_ms * 1e-3);
  p.tensor_parallel_overhead = from_seconds(tp_overhead_ms * 1e-3);
  return p;
}

// Signed % errors of one group under `perf`, appended to `out`.
void group_errors(const Group& g, const PerfSpec& perf, Errors& out, bool verbose = false) {
  const LlmPerfModel m(g.spec, *g.gpu, perf);
  for (const Config& c : g.configs) {
    const double prefill_ms = 1e3 * m.prefill_seconds(static_cast<double>(c.batch) * c.prompt);
    const double decode_ms = 1e3 * m.decode_seconds(1, c.batch, decode_context(c));
    const double pe = 100.0 * (prefill_ms - c.prompt_ms) / c.prompt_ms;
    const double de = 100.0 * (decode_ms - c.token_ms) / c.token_ms;
    out.prefill.push_back(pe);
    out.decode.push_back(de);
    if (verbose)
      std::printf("    prompt %5d batch %3d out %5d | prefill %9.1f ms meas %9.1f (%+6.1f%%) | "
                  "decode %7.2f ms meas %7.2f (%+6.1f%%)\n",
                  c.prompt, c.batch, c.tokens, prefill_ms, c.prompt_ms, pe, decode_ms, c.token_ms, de);
  }
}

// Mean of the prefill and decode MAPE over all configurations of `groups` selected by `use`.
template <class Pred>
double objective(const std::vector<Group>& groups, const PerfSpec& perf, Pred use) {
  Errors e;
  for (const Group& g : groups)
    if (use(g)) group_errors(g, perf, e);
  return 0.5 * (mean_abs(e.prefill) + mean_abs(e.decode));
}

void print_table(const std::vector<Group>& groups, const PerfSpec& perf, bool verbose) {
  std::printf("compute_efficiency %.3f  memory_efficiency %.3f  iteration_overhead %.3f ms  "
              "tensor_parallel_overhead %.3f ms  decode context %s\n",
              perf.compute_efficiency, perf.memory_efficiency, to_seconds(perf.iteration_overhead) * 1e3,
              to_seconds(perf.tensor_parallel_overhead) * 1e3,
              mid_context ? "batch*(prompt+out/2)" : "batch*prompt");
  std::printf("%-11s %-15s %2s %4s | %-22s | %-22s\n", "model", "hardware", "TP", "cfgs",
              "prefill MAPE / median", "decode MAPE / median");
  Errors all;
  std::map<std::string, Errors> by_hardware;
  auto append = [](Errors& to, const Errors& from) {
    to.prefill.insert(to.prefill.end(), from.prefill.begin(), from.prefill.end());
    to.decode.insert(to.decode.end(), from.decode.begin(), from.decode.end());
  };
  auto row = [](const char* model, const std::string& hw, const char* tp, const Errors& e) {
    std::printf("%-11s %-15s %2s %4zu | %7.1f%%  %+9.1f%%   | %7.1f%%  %+9.1f%%   (mean of both MAPEs %.1f%%)\n",
                model, hw.c_str(), tp, e.prefill.size(), mean_abs(e.prefill), median(e.prefill),
                mean_abs(e.decode), median(e.decode), 0.5 * (mean_abs(e.prefill) + mean_abs(e.decode)));
  };
  for (const Group& g : groups) {
    Errors e;
    group_errors(g, perf, e, verbose);
    append(by_hardware[g.hardware], e);
    std::printf("%-11s %-15s %2d %4zu | %7.1f%%  %+9.1f%%   | %7.1f%%  %+9.1f%%\n", g.model.c_str(),
                g.hardware.c_str(), g.tp, g.configs.size(), mean_abs(e.prefill), median(e.prefill),
                mean_abs(e.decode), median(e.decode));
    append(all, e);
  }
  for (const auto& [hw, e] : by_hardware) row("all models", hw, "", e);
  row("overall", "", "", all);
}

// Leave-one-out error of the measured-table model, per group (see the header). The table is
// built from the configurations' means; the decode point is (batch, prompt + out/2) as
// PerfTable::select reads rows.
void print_table_model(const std::vector<Group>& groups) {
  std::printf("\nmeasured-table model, each configuration predicted from the rest of its group:\n");
  std::printf("%-11s %-15s %2s %4s | %-22s | %-22s\n", "model", "hardware", "TP", "cfgs",
              "prefill MAPE / median", "decode MAPE / median");
  Errors all;
  for (const Group& g : groups) {
    Errors e;
    for (std::size_t out = 0; out < g.configs.size(); ++out) {
      std::vector<PerfTable::PrefillPoint> prefill;
      std::vector<PerfTable::DecodePoint> decode;
      for (std::size_t i = 0; i < g.configs.size(); ++i) {
        if (i == out) continue;
        const Config& c = g.configs[i];
        prefill.push_back({static_cast<double>(c.batch) * c.prompt, c.prompt_ms * 1e-3});
        decode.push_back({static_cast<double>(c.batch), c.prompt + 0.5 * c.tokens, c.token_ms * 1e-3});
      }
      if (prefill.empty()) continue;
      const PerfTable table(std::move(prefill), std::move(decode));
      const Config& c = g.configs[out];
      const double pe = 100.0 * (1e3 * table.prefill_seconds(static_cast<double>(c.batch) * c.prompt) - c.prompt_ms) / c.prompt_ms;
      const double de = 100.0 * (1e3 * table.step_seconds(c.batch, c.prompt + 0.5 * c.tokens) - c.token_ms) / c.token_ms;
      e.prefill.push_back(pe);
      e.decode.push_back(de);
      all.prefill.push_back(pe);
      all.decode.push_back(de);
    }
    std::printf("%-11s %-15s %2d %4zu | %7.1f%%  %+9.1f%%   | %7.1f%%  %+9.1f%%\n", g.model.c_str(),
                g.hardware.c_str(), g.tp, e.prefill.size(), mean_abs(e.prefill), median(e.prefill),
                mean_abs(e.decode), median(e.decode));
  }
  std::printf("%-11s %-15s %2s %4zu | %7.1f%%  %+9.1f%%   | %7.1f%%  %+9.1f%%\n", "overall", "", "",
              all.prefill.size(), mean_abs(all.prefill), median(all.prefill), mean_abs(all.decode),
              median(all.decode));
}

struct Fit {
  double ce = 0, me = 0, ov = 0, tpo = 0, score = 1e300;
};

// Efficiencies in (0, 1], overheads ≥ 0.
bool physical(double ce, double me, double ov, double tpo) {
  return ce > 0 && me > 0 && ce <= 1 + 1e-9 && me <= 1 + 1e-9 && ov >= -1e-9 && tpo >= -1e-9;
}

// The least-squares fit. With p = (1/compute_efficiency, 1/memory_efficiency,
// iteration_overhead s, tensor_parallel_overhead s) every prediction is linear in p:
//   prefill     = max(p0·Cp, p1·Wp)             + p2 + (tp − 1)·p3
//   decode step = p0·S·batch + p1·(Wp + K·ctx + K·batch/2) + p2 + (tp − 1)·p3
// where Wp (weight pass), S (compute per sequence or prompt token; Cp = S·batch·prompt) and K
// (KV read per context token) are the model's own terms at unit efficiencies and no overhead
// (LlmPerfModel's step_base / step_per_seq / step_per_token). The max picks the prefill's branch
// at the current p. Rows are divided by their measurement, so residuals are relative errors.
// Iteratively reweighted least squares (weights 1 / |relative error|, floored at 0.1%) then moves
// the minimum from the squared errors towards the mean absolute error, the objective reported,
// re-picking the prefill branches each round; each round is one ColPivHouseholderQR solve.
// Bounds (efficiencies ≤ 1, overheads ≥ 0): a parameter the solve puts outside is fixed at its
// bound and the rest solved again.
struct Row {
  double compute, memory, tp_minus_1, measured;  // compute/memory: the p0 / p1 coefficients
  double compute_alt = 0, memory_alt = 0;        // prefill: the other branch of the max
  bool prefill = false;
};

std::vector<Row> rows_of(const std::vector<Group>& groups, const std::function<bool(const Group&)>& use) {
  std::vector<Row> rows;
  for (const Group& g : groups) {
    if (!use(g)) continue;
    const LlmPerfModel unit(g.spec, *g.gpu, perf_of(1, 1, 0, 0));
    const double wp = unit.step_base_seconds(), s = unit.step_per_seq_seconds(), k = unit.step_per_token_seconds();
    for (const Config& c : g.configs) {
      Row prefill{s * c.batch * c.prompt, 0, g.tp - 1.0, c.prompt_ms * 1e-3};
      prefill.prefill = true;
      prefill.memory_alt = wp;
      rows.push_back(prefill);
      rows.push_back(Row{s * c.batch, wp + k * decode_context(c) + 0.5 * k * c.batch, g.tp - 1.0, c.token_ms * 1e-3});
    }
  }
  return rows;
}

template <class Pred>
Fit fit(const std::vector<Group>& groups, Pred use) {
  std::vector<Row> rows = rows_of(groups, use);
  const auto n = static_cast<Eigen::Index>(rows.size());
  // Start at the defaults, only to pick the first prefill branches.
  const PerfSpec d{};
  Eigen::Vector4d p(1 / d.compute_efficiency, 1 / d.memory_efficiency, to_seconds(d.iteration_overhead),
                    to_seconds(d.tensor_parallel_overhead));
  const Eigen::Vector4d lower(1, 1, 0, 0);  // efficiencies ≤ 1, overheads ≥ 0
  Eigen::VectorXd weight = Eigen::VectorXd::Ones(n);
  for (int round = 0; round < 200; ++round) {
    Eigen::MatrixXd a(n, 4);
    Eigen::VectorXd y(n);
    for (Eigen::Index i = 0; i < n; ++i) {
      const Row& r = rows[static_cast<std::size_t>(i)];
      double compute = r.compute, memory = r.memory;
      if (r.prefill && p(1) * r.memory_alt > p(0) * r.compute) {  // memory-bound prefill
        compute = 0;
        memory = r.memory_alt;
      }
      const double w = std::sqrt(weight(i)) / r.measured;
      a.row(i) << compute * w, memory * w, w, r.tp_minus_1 * w;
      y(i) = r.measured * w;
    }
    // Solve over the free parameters; fix any that leaves its bound, and solve again.
    std::array<bool, 4> fixed{};
    Eigen::Vector4d next = lower;
    for (int pass = 0; pass < 4; ++pass) {
      std::vector<int> free;
      for (int k = 0; k < 4; ++k)
        if (!fixed[static_cast<std::size_t>(k)]) free.push_back(k);
      Eigen::MatrixXd af(n, static_cast<Eigen::Index>(free.size()));
      Eigen::VectorXd rhs = y;
      for (int k = 0; k < 4; ++k) {
        if (fixed[static_cast<std::size_t>(k)]) rhs -= a.col(k) * lower(k);
      }
      for (std::size_t f = 0; f < free.size(); ++f) af.col(static_cast<Eigen::Index>(f)) = a.col(free[f]);
      const Eigen::VectorXd solved = af.colPivHouseholderQr().solve(rhs);
      next = lower;
      int worst = -1;
      for (std::size_t f = 0; f < free.size(); ++f) {
        next(free[f]) = solved(static_cast<Eigen::Index>(f));
        if (next(free[f]) < lower(free[f]) && (worst < 0 || next(free[f]) - lower(free[f]) < next(worst) - lower(worst)))
          worst = free[f];
      }
      if (worst < 0) break;
      fixed[static_cast<std::size_t>(worst)] = true;
      next = next.cwiseMax(lower);
    }
    const double change = (next - p).cwiseAbs().cwiseQuotient(p.cwiseAbs().cwiseMax(1e-6)).maxCoeff();
    p = next;
    // Relative residuals at p for the next round's weights.
    const Eigen::VectorXd residual = (a * p - y).cwiseQuotient(weight.cwiseSqrt());
    weight = residual.cwiseAbs().cwiseMax(1e-3).cwiseInverse();
    if (round > 0 && change < 1e-9) break;
  }
  Fit f;
  f.ce = 1 / p(0);
  f.me = 1 / p(1);
  f.ov = p(2) * 1e3;
  f.tpo = p(3) * 1e3;
  f.score = objective(groups, perf_of(f.ce, f.me, f.ov, f.tpo), use);
  return f;
}

}  // namespace

int main(int argc, char** argv) {
  std::string path = std::string(FLEETSIM_SOURCE_DIR) + "/../shared/profiles/splitwise-llm-perf/perf_model.csv";
  double ce = PerfSpec{}.compute_efficiency, me = PerfSpec{}.memory_efficiency,
         ov = to_seconds(PerfSpec{}.iteration_overhead) * 1e3,
         tpo = to_seconds(PerfSpec{}.tensor_parallel_overhead) * 1e3;
  bool do_fit = false, verbose = false, table_model = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << a << " needs a value\n";
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--compute-efficiency") ce = std::stod(value());
    else if (a == "--memory-efficiency") me = std::stod(value());
    else if (a == "--overhead-ms") ov = std::stod(value());
    else if (a == "--tp-overhead-ms") tpo = std::stod(value());
    else if (a == "--decode-context") {
      const std::string v = value();
      if (v != "prompt" && v != "mid") {
        std::cerr << "--decode-context: prompt or mid\n";
        return 2;
      }
      mid_context = v == "mid";
    } else if (a == "--fit") do_fit = true;
    else if (a == "--verbose" || a == "-v") verbose = true;
    else if (a == "--keep-impossible") keep_impossible = true;
    else if (a == "--table") table_model = true;
    else if (a == "--help" || a == "-h") {
      std::cout << "usage: fleetsim_calibrate [perf_model.csv] [--compute-efficiency X] "
                   "[--memory-efficiency Y] [--overhead-ms Z] [--tp-overhead-ms T] "
                   "[--decode-context prompt|mid] [--fit] [--verbose] [--keep-impossible] [--table]\n";
      return 0;
    } else if (!a.empty() && a[0] == '-') {
      std::cerr << "unknown option " << a << "\n";
      return 2;
    } else path = a;
  }

  const std::vector<Group> groups = read_groups(path);
  if (groups.empty()) {
    std::cerr << path << ": no usable rows\n";
    return 2;
  }
  std::printf("%s\n", path.c_str());
  if (!physical(ce, me, ov, tpo)) {
    std::cerr << "efficiencies must be in (0, 1] and overheads >= 0\n";
    return 2;
  }
  print_table(groups, perf_of(ce, me, ov, tpo), verbose);
  if (table_model) print_table_model(groups);

  if (do_fit) {
    std::printf("\nbest fit (least squares on relative errors, reweighted towards the mean of prefill and decode MAPE):\n");
    auto report = [&](const char* label, const Fit& f) {
      std::printf("  %-16s compute_efficiency %.4f  memory_efficiency %.4f  iteration_overhead %.2f ms"
                  "  tensor_parallel_overhead %.2f ms  -> MAPE %.2f%%\n",
                  label, f.ce, f.me, f.ov, f.tpo, f.score);
    };
    const Fit all = fit(groups, [](const Group&) { return true; });
    report("all rows", all);
    for (const char* hw : {"a100-80gb", "h100-80gb", "h100-80gb-pcap"}) {
      const std::string h = hw;
      if (std::none_of(groups.begin(), groups.end(), [&](const Group& g) { return g.hardware == h; }))
        continue;
      report(hw, fit(groups, [&](const Group& g) { return g.hardware == h; }));
    }
    std::printf("\nat the all-rows fit:\n");
    print_table(groups, perf_of(all.ce, all.me, all.ov, all.tpo), false);
  }
  return 0;
}
