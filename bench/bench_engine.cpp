// fleetsim_bench: micro- and macro-benchmarks of the engine.
//   BM_EventQueue        steady-state push+pop on EventQueue (the engine's radix queue) with
//                        N pending events
//   BM_EventHeap         the same on EventHeap (the 4-ary heap the engine used before)
//   BM_DefaultScenario   one full run of scenarios/default.yaml (events/s, requests/s)
//   BM_PlacementBestFit  one best-fit placement decision over a 1,000-node cluster, built in
//                        and loaded from a plugin (the boundary's cost)
//   BM_PointerChase      one dependent load among `lines` cache lines laid out `stride` bytes
//                        apart (huge pages advised, or with huge = 0 refused): what a cache
//                        miss costs on this machine as the span the lines cover grows
//                        (bench/PERFORMANCE-HISTORY.md, "Session 16")
//   BM_RouteIndex        a least-outstanding router's upkeep in the route index for one model of
//                        N ready replicas: the least loaded read, its count raised, a random
//                        replica's lowered (a request routed, one ended)
//                        (bench/PERFORMANCE-HISTORY.md, "Session 17")
#include <benchmark/benchmark.h>

#include <filesystem>
#include <fstream>

#include "traces/request_csv.hpp"
#include "sim/job_simulation.hpp"
#include "sim/saturation.hpp"
#include "traces/jobs/job_traces.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "policies/registry.hpp"
#include "policies/plugins.hpp"
#include "scenarios/loader/build.hpp"
#include "scenarios/loader/scenario_loader.hpp"
#include "sim/cluster_state.hpp"
#include "sim/event_heap.hpp"
#include "sim/event_queue.hpp"
#include "sim/gpu_catalog.hpp"
#include "sim/metrics.hpp"
#include "sim/route_index.hpp"
#include "sim/simulation.hpp"

namespace {

using namespace fleetsim;

// Same layout and size as Simulation::Event (kind, target, epoch, extra).
struct Payload {
  std::uint8_t kind;
  std::uint32_t target;
  std::uint32_t epoch;
  std::uint32_t extra;
};
static_assert(sizeof(Payload) == 16);

// Hold model: N events pending; each iteration pops the earliest and schedules one new event a
// random delay after it, so the heap stays at N. One iteration = one pop + one push = 2 ops.
template <class Queue>
void hold_model(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  constexpr std::size_t kDelays = 1 << 16;  // power of two
  std::mt19937_64 rng(12345);
  std::exponential_distribution<double> exp_ms(1.0);
  std::vector<SimTime> delays(kDelays);
  for (auto& d : delays) d = from_seconds(exp_ms(rng) * 1e-3) + 1;

  Queue queue;
  for (std::size_t i = 0; i < n; ++i)
    queue.push(delays[i % kDelays] * static_cast<SimTime>(1 + i % 97),
               Payload{static_cast<std::uint8_t>(i % 6), static_cast<std::uint32_t>(i), 0, 0});

  std::size_t k = 0;
  for (auto _ : state) {
    auto e = queue.pop();
    benchmark::DoNotOptimize(e);
    e.payload.epoch++;
    queue.push(e.time + delays[k++ & (kDelays - 1)], e.payload);
  }
  if (queue.size() != n) state.SkipWithError("queue size drifted");
  state.SetItemsProcessed(2 * static_cast<std::int64_t>(state.iterations()));
  state.counters["pending"] = static_cast<double>(n);
}
void BM_EventQueue(benchmark::State& state) { hold_model<EventQueue<Payload>>(state); }
void BM_EventHeap(benchmark::State& state) { hold_model<EventHeap<Payload>>(state); }
BENCHMARK(BM_EventQueue)->Arg(32)->Arg(1'000)->Arg(20'000)->Arg(100'000);
BENCHMARK(BM_EventHeap)->Arg(32)->Arg(1'000)->Arg(20'000)->Arg(100'000);

void BM_RouteIndex(benchmark::State& state) {
  const auto n = static_cast<std::uint32_t>(state.range(0));
  RouteIndex index(1, true, false);
  std::vector<int> outstanding(n, 8);  // ~8 requests each, as a busy model's replicas hold
  for (std::uint32_t rank = 0; rank < n; ++rank) index.insert(0, rank, rank, outstanding[rank], 0);
  std::mt19937_64 rng(12345);
  for (auto _ : state) {
    const RouteIndex::Pick pick = index.fewest_outstanding(0);  // routed there
    index.update(0, pick.rank, ++outstanding[pick.rank], 0);
    std::uint32_t ended = static_cast<std::uint32_t>(rng() % n);  // one of its requests ended
    while (outstanding[ended] == 0) ended = static_cast<std::uint32_t>(rng() % n);
    index.update(0, ended, --outstanding[ended], 0);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));  // requests
  state.counters["replicas"] = static_cast<double>(n);
}
BENCHMARK(BM_RouteIndex)->Arg(16)->Arg(1'000)->Arg(18'000);

void BM_PointerChase(benchmark::State& state) {
  const auto lines = static_cast<std::size_t>(state.range(0));
  const auto stride = static_cast<std::size_t>(state.range(1));
  const std::size_t bytes = lines * stride;
  void* mapped = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mapped == MAP_FAILED) {
    state.SkipWithError("mmap failed");
    return;
  }
  madvise(mapped, bytes, state.range(2) ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
  char* base = static_cast<char*>(mapped);
  std::vector<std::size_t> order(lines);
  for (std::size_t i = 0; i < lines; ++i) order[i] = i * stride;
  std::shuffle(order.begin(), order.end(), std::mt19937_64(1));
  for (std::size_t i = 0; i < lines; ++i)  // one cycle through every line, in random order
    *reinterpret_cast<std::size_t*>(base + order[i]) = order[(i + 1) % lines];
  std::size_t at = order[0];
  for (auto _ : state) {
    for (int i = 0; i < 1024; ++i) at = *reinterpret_cast<const std::size_t*>(base + at);
    benchmark::DoNotOptimize(at);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * 1024);
  state.counters["span_MB"] = static_cast<double>(bytes) / (1 << 20);
  munmap(mapped, bytes);
}
BENCHMARK(BM_PointerChase)
    ->ArgNames({"lines", "stride", "huge"})
    ->Args({16'384, 64, 1})
    ->Args({16'384, 256, 1})
    ->Args({16'384, 1'024, 1})
    ->Args({16'384, 4'096, 1})
    ->Args({16'384, 16'384, 1})
    ->Args({65'536, 64, 1})
    ->Args({65'536, 4'096, 1})
    ->Args({1'048'576, 64, 1})  // every line of 64 MB, with and without huge pages
    ->Args({1'048'576, 64, 0});

void BM_DefaultScenario(benchmark::State& state) {
  const PolicyRegistry registry = builtin_policies();
  const std::string path = std::string(FLEETSIM_SOURCE_DIR) + "/scenarios/default.yaml";
  LoadResult loaded = load_scenario_file(path, registry);
  if (!loaded.scenario) {
    std::fputs(loaded.errors.to_string().c_str(), stderr);
    state.SkipWithError("default scenario failed to load");
    return;
  }
  const Scenario& scenario = *loaded.scenario;

  std::uint64_t events = 0, requests = 0;
  for (auto _ : state) {
    Simulation simulation(build_setup(scenario, registry));
    MetricsCollector metrics(simulation.scenario());
    simulation.add_observer(&metrics);
    RunStatus status = simulation.run();
    if (!status.ok) {
      std::fputs(status.errors.to_string().c_str(), stderr);
      state.SkipWithError("run failed");
      return;
    }
    events += status.events;
    requests += status.requests;
    benchmark::DoNotOptimize(metrics.result().overall.requests);
  }
  state.counters["events/s"] = benchmark::Counter(static_cast<double>(events), benchmark::Counter::kIsRate);
  state.counters["requests/s"] =
      benchmark::Counter(static_cast<double>(requests), benchmark::Counter::kIsRate);
  state.counters["events/run"] =
      benchmark::Counter(static_cast<double>(events), benchmark::Counter::kAvgIterations);
  state.counters["requests/run"] =
      benchmark::Counter(static_cast<double>(requests), benchmark::Counter::kAvgIterations);
}
BENCHMARK(BM_DefaultScenario)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(2.0);

const GpuType& gpu_named(const std::string& name) {
  for (const GpuType& g : builtin_gpu_types())
    if (g.name == name) return g;
  std::fprintf(stderr, "no GPU type %s\n", name.c_str());
  std::abort();
}

// Python versions of built-ins, one per family, each making the built-in's decisions.
constexpr const char* kPythonPolicies = FLEETSIM_SOURCE_DIR "/tests/plugins/python/families.py";

// range(3) nodes (1,000 or 10,000) of 8 H100s in 4 pools, with a random mix of occupied GPUs;
// one request of range(0) GPUs at 40 GiB each. range(2): 0 a view built by hand, which the
// policy walks (best-fit: once per free-GPU count up to its first fit), 1 the view a ClusterState
// makes, with the free-GPU index (best-fit visits candidates by free GPUs and stops at the first
// fit), as the engine hands it out.
void BM_PlacementBestFit(benchmark::State& state) {
  const int kNodes = static_cast<int>(state.range(3));
  constexpr int kGpusPerNode = 8;
  fleetsim::ClusterState cluster({gpu_named("H100-80GB")});
  const GpuType& h100 = cluster.catalog()[0];
  std::mt19937_64 rng(7);
  std::vector<NodeView> nodes(kNodes);
  for (int i = 0; i < kNodes; ++i) {
    NodeView& n = nodes[i];
    n.id = static_cast<std::uint32_t>(i);
    n.pool = static_cast<std::uint32_t>(i % 4);
    n.gpu_type = &h100;
    n.gpus.resize(kGpusPerNode);
    n.free_gpus = kGpusPerNode;
    const int used = static_cast<int>(rng() % (kGpusPerNode + 1));
    for (int g = 0; g < used; ++g) {
      n.gpus[g].holders = 1;
      n.gpus[g].memory_used = h100.memory_bytes * 0.9;
      --n.free_gpus;
    }
    n.replicas = static_cast<std::uint32_t>(used);
    n.disk_cache_capacity = 1e12;
    n.disk_read_bandwidth = 6e9;
    n.network_bandwidth = 25e9 / 8;
  }
  // range(1): 0 the built-in, 1 the same policy loaded from a plugin, 2 written in Python (the
  // tests' tests/plugins/python/families.py, which makes best-fit's decisions; skipped when
  // fleetsim was built without Python policies).
  PolicyRegistry registry = builtin_policies();
  const char* names[] = {"best-fit", "best-fit-plugin", "py-best-fit"};
  const char* files[] = {"", FLEETSIM_BEST_FIT_PLUGIN, kPythonPolicies};
  if (state.range(1) > 0) {
    if (const std::string why = load_plugin(registry, files[state.range(1)]); !why.empty()) {
      state.SkipWithError(why.c_str());
      return;
    }
  }
  auto policy = registry.make_placement(PolicyChoice{names[state.range(1)], {}});
  PlacementRequest request;
  request.model = 1;
  request.gpus = static_cast<int>(state.range(0));
  request.memory_per_gpu = 40.0 * 1073741824.0;
  for (const NodeView& n : nodes) cluster.add_node(n);
  const ClusterView view = state.range(2) == 1 ? cluster.view(0) : ClusterView{0, nodes};

  for (auto _ : state) {
    auto placed = policy->place(request, view);
    benchmark::DoNotOptimize(placed);
  }
  state.counters["nodes"] = kNodes;
}
BENCHMARK(BM_PlacementBestFit)
    ->ArgNames({"gpus", "plugin", "index", "nodes"})
    ->Args({1, 0, 0, 1000})
    ->Args({1, 1, 0, 1000})
    ->Args({1, 2, 0, 1000})
    ->Args({4, 0, 0, 1000})
    ->Args({4, 1, 0, 1000})
    ->Args({4, 2, 0, 1000})
    ->Args({1, 0, 1, 1000})
    ->Args({1, 1, 1, 1000})
    ->Args({4, 0, 1, 1000})
    ->Args({1, 0, 0, 10000})
    ->Args({1, 0, 1, 10000})
    ->Args({4, 0, 0, 10000})
    ->Args({4, 0, 1, 10000})
    ->Unit(benchmark::kNanosecond);

// A routing decision among 8 ready replicas: round-robin built in (0) and in Python (1), where
// the decision itself is nearly free, so what is measured is the crossing into Python and back.
void BM_Route(benchmark::State& state) {
  using namespace fleetsim;
  PolicyRegistry registry = builtin_policies();
  if (state.range(0) == 1) {
    if (const std::string why = load_plugin(registry, kPythonPolicies); !why.empty()) {
      state.SkipWithError(why.c_str());
      return;
    }
  }
  auto router = registry.make_router(PolicyChoice{state.range(0) == 1 ? "py-round-robin" : "round-robin", {}});
  std::vector<RouteCandidate> candidates(8);
  for (std::uint32_t i = 0; i < candidates.size(); ++i) candidates[i].replica = i;
  RouteRequest request;
  for (auto _ : state) benchmark::DoNotOptimize(router->route(candidates, request));
}
BENCHMARK(BM_Route)->ArgNames({"python"})->Arg(0)->Arg(1)->Unit(benchmark::kNanosecond);

// Cache policy decisions: choosing a victim among N entries of a node's disk cache.
void BM_CacheVictim(benchmark::State& state) {
  const auto registry = fleetsim::builtin_policies();
  const std::string policy = state.range(1) == 0 ? "lru" : (state.range(1) == 1 ? "lfu" : "gdsf");
  auto cache = registry.make_cache(fleetsim::PolicyChoice{policy, {}});
  fleetsim::NodeView node;
  node.network_bandwidth = 1e9;
  fleetsim::RngStream rng(1, "bench/cache");
  std::vector<fleetsim::CacheEntry> entries;
  for (std::int64_t i = 0; i < state.range(0); ++i) {
    fleetsim::CacheEntry e{static_cast<std::uint32_t>(i), 1e9 * (1 + static_cast<double>(rng.below(30))),
                           static_cast<fleetsim::SimTime>(rng.below(1000)), static_cast<fleetsim::SimTime>(rng.below(100000)),
                           rng.below(50)};
    cache->on_insert(fleetsim::CacheTier::Disk, e, node);
    entries.push_back(e);
  }
  for (auto _ : state) benchmark::DoNotOptimize(cache->victim(fleetsim::CacheTier::Disk, entries, node));
  state.SetItemsProcessed(state.iterations());
  state.SetLabel(policy);
}
BENCHMARK(BM_CacheVictim)->Args({16, 0})->Args({256, 0})->Args({256, 1})->Args({256, 2});

// Trace parsing throughput: the native CSV reader over a generated 100,000-row file.
void BM_TraceParsing(benchmark::State& state) {
  const auto path = (std::filesystem::temp_directory_path() / "fleetsim_bench_trace.csv").string();
  {
    std::ofstream out(path);
    out << "timestamp,model,input_tokens,output_tokens\n";
    fleetsim::RngStream rng(1, "bench/trace");
    double t = 0;
    for (int i = 0; i < 100'000; ++i) {
      t += rng.exponential(0.01);
      out << t << ",model-" << rng.below(8) << "," << 1 + rng.below(4000) << "," << 1 + rng.below(500) << "\n";
    }
  }
  const auto bytes = static_cast<std::int64_t>(std::filesystem::file_size(path));
  fleetsim::TraceModelNames names;
  for (std::uint32_t m = 0; m < 8; ++m) names["model-" + std::to_string(m)] = fleetsim::ModelRef{m};
  for (auto _ : state) {
    fleetsim::RequestCsvReader reader(path, names);
    fleetsim::Diagnostics errors;
    fleetsim::Arrival a;
    std::uint64_t rows = 0;
    while (reader.next(a, errors)) ++rows;
    benchmark::DoNotOptimize(rows);
  }
  state.SetBytesProcessed(state.iterations() * bytes);
  state.SetItemsProcessed(state.iterations() * 100'000);
}
BENCHMARK(BM_TraceParsing)->Unit(benchmark::kMillisecond);

// Macro benchmarks: every shipped scenario, events/s and simulated requests/s.
void BM_Scenario(benchmark::State& state, const std::string& file) {
  const auto registry = fleetsim::builtin_policies();
  auto loaded = fleetsim::load_scenario_file(std::string(FLEETSIM_SOURCE_DIR) + "/scenarios/" + file, registry);
  if (!loaded.scenario) {
    state.SkipWithError("scenario does not load");
    return;
  }
  std::uint64_t events = 0, requests = 0;
  for (auto _ : state) {
    fleetsim::Simulation sim(fleetsim::build_setup(*loaded.scenario, registry));
    fleetsim::MetricsCollector metrics(sim.scenario());
    sim.add_observer(&metrics);
    auto status = sim.run();
    events += status.events;
    requests += status.requests;
  }
  state.counters["events/s"] = benchmark::Counter(static_cast<double>(events), benchmark::Counter::kIsRate);
  state.counters["requests/s"] = benchmark::Counter(static_cast<double>(requests), benchmark::Counter::kIsRate);
}
BENCHMARK_CAPTURE(BM_Scenario, fixed_pool, std::string("fixed-pool.yaml"))->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_Scenario, scale_to_zero, std::string("scale-to-zero.yaml"))->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_Scenario, tensor_parallel, std::string("tensor-parallel.yaml"))->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_Scenario, bursty, std::string("bursty.yaml"))->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_Scenario, keepalive_study, std::string("keepalive-study.yaml"))->Unit(benchmark::kMillisecond)->UseRealTime();

class VectorJobSource final : public fleetsim::JobSource {
 public:
  explicit VectorJobSource(const std::vector<fleetsim::JobSpec>& jobs) : jobs_(jobs) {}
  bool next(fleetsim::JobSpec& out, fleetsim::Diagnostics&) override {
    if (i_ >= jobs_.size()) return false;
    out = jobs_[i_++];
    return true;
  }

 private:
  const std::vector<fleetsim::JobSpec>& jobs_;
  std::size_t i_ = 0;
};

// FGD's experiment at full size: the saturation replay of the openb default pod list on the
// 1,523-node openb cluster (node_list_all_node), one run per iteration; reports placement
// decisions per second. Skipped when ../shared/traces is absent.
void BM_SaturationReplay(benchmark::State& state, const std::string& policy_name) {
  const std::string dir = std::string(FLEETSIM_SOURCE_DIR) + "/../shared/traces/alibaba-openb-2023/";
  if (!std::filesystem::exists(dir + "openb_node_list_all_node.csv")) {
    state.SkipWithError("../shared/traces/alibaba-openb-2023 not present");
    return;
  }
  fleetsim::Diagnostics errors;
  auto nodes = fleetsim::read_node_list("openb", dir + "openb_node_list_all_node.csv", errors);
  fleetsim::JobTraceOptions trace;
  trace.format = "openb";
  trace.path = dir + "openb_pod_list_default.csv";
  auto source = fleetsim::open_job_trace(trace, errors);
  std::vector<fleetsim::JobSpec> pods;
  fleetsim::JobSpec pod;
  while (source && source->next(pod, errors)) pods.push_back(pod);
  if (!errors.empty() || pods.empty()) {
    state.SkipWithError("openb traces did not load");
    return;
  }
  const auto registry = fleetsim::builtin_policies();
  std::uint64_t decisions = 0;
  for (auto _ : state) {
    auto policy = registry.make_placement(fleetsim::PolicyChoice{policy_name, {}});
    fleetsim::SaturationOptions options;
    options.policy_name = policy_name;
    auto result = fleetsim::run_saturation(nodes, pods, *policy, options);
    decisions += result.arrived_pods;
  }
  state.counters["decisions/s"] = benchmark::Counter(static_cast<double>(decisions), benchmark::Counter::kIsRate);
}
BENCHMARK_CAPTURE(BM_SaturationReplay, fgd, std::string("fgd"))->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_SaturationReplay, best_fit, std::string("best-fit"))->Unit(benchmark::kMillisecond)->UseRealTime();

// The job scheduler at scale: the DLRM trace's 23,871 instances (16,485 CPU-only) on 400 nodes
// of 8 GPUs and 2,000 CPU nodes, with CPU and host memory per node, under FIFO: instances queue
// for days at the peak. One replay per iteration; reports job events per second. Skipped when
// ../shared/traces is absent.
void BM_JobReplayDlrm(benchmark::State& state) {
  const std::string path =
      std::string(FLEETSIM_SOURCE_DIR) + "/../shared/traces/alibaba-dlrm-2025/disaggregated_DLRM_trace.csv";
  if (!std::filesystem::exists(path)) {
    state.SkipWithError("../shared/traces/alibaba-dlrm-2025 not present");
    return;
  }
  fleetsim::Diagnostics errors;
  fleetsim::JobTraceOptions trace;
  trace.format = "dlrm-2025";
  trace.path = path;
  std::vector<fleetsim::JobSpec> instances;
  auto source = fleetsim::open_job_trace(trace, errors);
  for (fleetsim::JobSpec j; source && source->next(j, errors);) instances.push_back(j);
  if (!errors.empty() || instances.empty()) {
    state.SkipWithError("the DLRM trace did not load");
    return;
  }
  constexpr double kGiB = 1024.0 * 1024 * 1024;
  std::vector<fleetsim::JobClusterNode> nodes(400, fleetsim::JobClusterNode{"G", 8, 0, 128, 1536 * kGiB});
  nodes.insert(nodes.end(), 2000, fleetsim::JobClusterNode{"", 0, 0, 192, 1536 * kGiB});
  const auto registry = fleetsim::builtin_policies();
  std::uint64_t events = 0;
  for (auto _ : state) {
    fleetsim::JobSimulation sim(nodes, std::make_unique<VectorJobSource>(instances),
                                registry.make_queue(fleetsim::PolicyChoice{"fifo", {}}), {});
    events += sim.run().events;
  }
  state.counters["events/s"] = benchmark::Counter(static_cast<double>(events), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_JobReplayDlrm)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
