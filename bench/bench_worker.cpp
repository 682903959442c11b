// Real mode's cpu backend (real/worker/cpu_model.hpp): what a prefill and a decode step cost on
// this machine, for a 17M-parameter model (4 layers, width 512) — the figures real mode's
// calibration will fit, and the reason real-mode scenarios scale their token counts down.
//   BM_CpuPrefill/tokens:N      one prompt of N tokens into an empty cache
//   BM_CpuDecode/batch:B/context:C   one decode step for B sequences of C tokens each
#include <benchmark/benchmark.h>

#include <vector>

#include "real/worker/cpu_model.hpp"

namespace {

using namespace fleetsim::real;

const ModelShape kBenchShape{4, 512, 8, 2048, 8192};

const CpuModel& bench_model() {
  static const CpuModel model(kBenchShape, 1);
  return model;
}

std::vector<int> prompt(int n) {
  std::vector<int> t(n);
  for (int i = 0; i < n; ++i) t[i] = (i * 131) % kBenchShape.vocab;
  return t;
}

void BM_CpuPrefill(benchmark::State& state) {
  const CpuModel& model = bench_model();
  const int n = static_cast<int>(state.range(0));
  const std::vector<int> tokens = prompt(n);
  std::vector<float> logits(kBenchShape.vocab);
  for (auto _ : state) {
    KvCache cache(kBenchShape, n);
    model.prefill(cache, tokens, logits);
    benchmark::DoNotOptimize(logits.data());
  }
  state.counters["tokens/s"] = benchmark::Counter(static_cast<double>(n), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_CpuPrefill)->ArgName("tokens")->Arg(32)->Arg(128)->Arg(512)->Unit(benchmark::kMillisecond);

void BM_CpuDecode(benchmark::State& state) {
  const CpuModel& model = bench_model();
  const int batch = static_cast<int>(state.range(0)), context = static_cast<int>(state.range(1));
  std::vector<float> logits(static_cast<std::size_t>(batch) * kBenchShape.vocab);
  std::vector<KvCache> caches(batch, KvCache(kBenchShape, context + 1));
  for (KvCache& c : caches) model.prefill(c, prompt(context), std::span(logits).first(kBenchShape.vocab));
  std::vector<KvCache> fresh = caches;
  std::vector<int> tokens(batch, 7);
  std::vector<KvCache*> pointers;
  for (auto _ : state) {
    state.PauseTiming();
    caches = fresh;  // each iteration decodes the same position
    pointers.clear();
    for (KvCache& c : caches) pointers.push_back(&c);
    state.ResumeTiming();
    model.decode(pointers, tokens, logits);
    benchmark::DoNotOptimize(logits.data());
  }
}
BENCHMARK(BM_CpuDecode)
    ->ArgNames({"batch", "context"})
    ->Args({1, 128})
    ->Args({8, 128})
    ->Args({32, 128})
    ->Args({8, 512})
    ->Unit(benchmark::kMillisecond);

}  // namespace
