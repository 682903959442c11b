// fleetsim_calibrate: checks LlmPerfModel against measured LLM iteration times (the Splitwise
// profiles, ../shared/profiles/splitwise-llm-perf/perf_model.csv) and, with --fit, searches
// the PerfSpec efficiencies and per-step overheads (iteration_overhead and
// tensor_parallel_overhead, so a step costs iteration_overhead + (tp − 1) · tensor_parallel_overhead
// on top of the roofline) that minimise the overall error.
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
// usage: fleetsim_calibrate [perf_model.csv] [--compute-efficiency X] [--memory-efficiency Y]
//                           [--overhead-ms Z] [--tp-overhead-ms T] [--decode-context prompt|mid]
//                           [--fit] [--verbose] [--keep-impossible]
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "sim/gpu_catalog.hpp"
#include "sim/llm_perf_model.hpp"
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

struct Fit {
  double ce = 0, me = 0, ov = 0, tpo = 0, score = 1e300;
};

// Efficiencies in (0, 1], overheads ≥ 0.
bool physical(double ce, double me, double ov, double tpo) {
  return ce > 0 && me > 0 && ce <= 1 + 1e-9 && me <= 1 + 1e-9 && ov >= -1e-9 && tpo >= -1e-9;
}

// Minimises the objective over (compute_efficiency, memory_efficiency, iteration_overhead ms,
// tensor_parallel_overhead ms): a coarse grid (efficiencies in 0.05 steps, overhead in [0, 40] ms
// by 2 ms, tp overhead in [0, 10] ms by 0.5 ms), a finer grid around the best few coarse points,
// then a compass search (halving steps) from the best point found.
template <class Pred>
Fit fit(const std::vector<Group>& groups, Pred use) {
  auto eval = [&](double ce, double me, double ov, double tpo) {
    Fit f{ce, me, std::max(0.0, ov), std::max(0.0, tpo), 1e300};
    if (physical(ce, me, ov, tpo)) f.score = objective(groups, perf_of(ce, me, f.ov, f.tpo), use);
    return f;
  };
  auto better = [](const Fit& a, const Fit& b) { return a.score < b.score; };

  // Coarse grid; keep the best few points as seeds (the objective is not convex).
  std::vector<Fit> coarse;
  for (int i = 1; i <= 20; ++i)
    for (int j = 2; j <= 20; ++j)
      for (int k = 0; k <= 20; ++k)
        for (int l = 0; l <= 20; ++l) coarse.push_back(eval(0.05 * i, 0.05 * j, 2.0 * k, 0.5 * l));
  const std::size_t seeds = std::min<std::size_t>(4, coarse.size());
  std::partial_sort(coarse.begin(), coarse.begin() + seeds, coarse.end(), better);

  Fit best = coarse.front();
  for (std::size_t s = 0; s < seeds; ++s) {
    const Fit c = coarse[s];
    // Finer grid: ±0.05 by 0.01 in efficiencies, ±2 ms by 0.25 ms, ±0.5 ms by 0.1 ms.
    Fit local = c;
    for (int i = -5; i <= 5; ++i)
      for (int j = -5; j <= 5; ++j)
        for (int k = -8; k <= 8; ++k)
          for (int l = -5; l <= 5; ++l) {
            const Fit f = eval(c.ce + 0.01 * i, c.me + 0.01 * j, c.ov + 0.25 * k, c.tpo + 0.1 * l);
            if (better(f, local)) local = f;
          }
    // Compass search.
    double step[4] = {0.01, 0.01, 0.25, 0.1};
    const double min_step[4] = {1e-4, 1e-4, 1e-3, 1e-3};
    for (int iter = 0; iter < 10000; ++iter) {
      bool moved = false;
      for (int d = 0; d < 4; ++d)
        for (double sign : {-1.0, 1.0}) {
          double x[4] = {local.ce, local.me, local.ov, local.tpo};
          x[d] += sign * step[d];
          const Fit f = eval(x[0], x[1], x[2], x[3]);
          if (better(f, local)) {
            local = f;
            moved = true;
          }
        }
      if (moved) continue;
      bool done = true;
      for (int d = 0; d < 4; ++d)
        if (step[d] > min_step[d]) {
          step[d] *= 0.5;
          done = false;
        }
      if (done) break;
    }
    if (better(local, best)) best = local;
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  std::string path = std::string(FLEETSIM_SOURCE_DIR) + "/../shared/profiles/splitwise-llm-perf/perf_model.csv";
  double ce = PerfSpec{}.compute_efficiency, me = PerfSpec{}.memory_efficiency,
         ov = to_seconds(PerfSpec{}.iteration_overhead) * 1e3,
         tpo = to_seconds(PerfSpec{}.tensor_parallel_overhead) * 1e3;
  bool do_fit = false, verbose = false;
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
    else if (a == "--help" || a == "-h") {
      std::cout << "usage: fleetsim_calibrate [perf_model.csv] [--compute-efficiency X] "
                   "[--memory-efficiency Y] [--overhead-ms Z] [--tp-overhead-ms T] "
                   "[--decode-context prompt|mid] [--fit] [--verbose] [--keep-impossible]\n";
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

  if (do_fit) {
    std::printf("\nbest fit (grid + compass search minimising the mean of prefill and decode MAPE):\n");
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
