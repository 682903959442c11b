#include "real/calibration/calibrate.hpp"

#include <algorithm>
#include <cmath>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <optional>

#include <sys/wait.h>
#include <unistd.h>

#include "real/store/fetch_model.hpp"
#include "real/store/store_server.hpp"
#include "real/worker/channel.hpp"
#include "real/worker/model_backend.hpp"
#include "real/worker/model_file.hpp"
#include "real/worker/worker_process.hpp"

namespace fleetsim::real {

namespace {

// The median of `repetitions` timings of `work` (seconds); `prepare` runs untimed before each.
double median_seconds(int repetitions, const std::function<void()>& prepare, const std::function<void()>& work) {
  std::vector<double> times;
  for (int i = 0; i < std::max(1, repetitions); ++i) {
    prepare();
    const std::int64_t start = monotonic_ns();
    work();
    times.push_back(static_cast<double>(monotonic_ns() - start) * 1e-9);
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

std::vector<int> synthetic_tokens(int n, int vocab) {
  std::vector<int> t(n);
  for (int i = 0; i < n; ++i) t[i] = (i * 131 + 7) % vocab;
  return t;
}

std::string format(const char* pattern, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, pattern, v);
  return buf;
}

// A real cold start, timed as real mode's workers do it: a fresh worker process (until its
// hello), then its load of `path` — fetched from `store` first when given (a cache miss), else
// read from the node's file (a disk hit) — into the model (until "loaded").
struct WorkerLoad {
  double start_s = 0, load_s = 0;
  std::string error;
};
WorkerLoad worker_load(const std::string& binary, const std::string& backend, const std::string& path,
                       const std::string& store, const std::string& name) {
  WorkerLoad w;
  const std::int64_t begin = monotonic_ns();
  const WorkerProcess process = start_worker_process(binary, {}, w.error);
  if (process.pid < 0) return w;
  Channel channel(process.fd);
  const auto hello = channel.receive(30'000);
  const std::int64_t greeted = monotonic_ns();
  std::optional<nlohmann::json> loaded;
  if (hello && hello->value("ev", "") == "hello") {
    nlohmann::json load = {{"op", "load"}, {"path", path}, {"backend", backend}, {"kv_tokens", 1024}, {"t0", begin}};
    if (!store.empty()) load["fetch"] = {{"store", store}, {"name", name}};
    channel.send(load);
    loaded = channel.receive(120'000);
  }
  const std::int64_t done = monotonic_ns();
  ::close(process.fd);  // the worker ends when its socket closes
  ::waitpid(process.pid, nullptr, 0);
  if (!hello || hello->value("ev", "") != "hello")
    w.error = "a worker process (" + binary + " worker) did not say hello";
  else if (!loaded || loaded->value("ev", "") != "loaded")
    w.error = "a worker's load failed: " + (loaded ? loaded->value("message", loaded->dump()) : std::string("no answer"));
  w.start_s = static_cast<double>(greeted - begin) * 1e-9;
  w.load_s = static_cast<double>(done - greeted) * 1e-9;
  return w;
}

}  // namespace

double Calibration::store_load_bandwidth() const { return model.weight_bytes / store_load_s; }
double Calibration::disk_load_bandwidth() const { return model.weight_bytes / disk_load_s; }

Calibration calibrate(const CalibrateOptions& o) {
  Calibration c;
  const ModelShape& shape = o.shape;
  c.model.parameters = static_cast<double>(shape.parameters());
  c.model.weight_bytes = c.model.parameters * sizeof(float);
  c.model.kv_bytes_per_token = static_cast<double>(shape.kv_bytes_per_token());
  const std::string file = (std::filesystem::path(o.work_dir) / "fleetsim-calibrate.model").string();
  if (const std::string why = write_model_file(file, shape, o.seed); !why.empty()) {
    c.error = why;
    return c;
  }
  // The store: the model file over loopback HTTP into a node's cache folder, as a cold start
  // fetches it (no bandwidth limit: what this machine's HTTP path and disk writes allow).
  StoreOptions store_options;
  store_options.directory = o.work_dir;
  StoreServer store(store_options);
  if (const std::string why = store.start(); !why.empty()) {
    std::filesystem::remove(file);
    c.error = "the model store: " + why;
    return c;
  }
  const std::filesystem::path fetched = std::filesystem::path(o.work_dir) / "fleetsim-calibrate.fetched";
  const std::string stem = std::filesystem::path(file).filename().string();
  FetchResult fetch;
  const double fetch_s = median_seconds(o.repetitions, [&] { std::filesystem::remove(fetched); },
                                        [&] { fetch = fetch_model("127.0.0.1", store.port(), stem, fetched); });
  if (!fetch.ok()) {
    store.stop();
    std::filesystem::remove(file);
    std::filesystem::remove(fetched);
    c.error = "fetching from the model store: " + fetch.error;
    return c;
  }
  c.store_bandwidth = static_cast<double>(fetch.bytes) / fetch_s;
  // Whole cold starts in fresh worker processes, as real mode runs them: a miss (fetched from the
  // store into a node file, read, built), then a hit on that file. A fresh process pays for the
  // memory it touches first, which a measurement repeated in one process does not.
  {
    const std::string node_file = (std::filesystem::path(o.work_dir) / "fleetsim-calibrate.node").string();
    const std::string address = "http://127.0.0.1:" + std::to_string(store.port());
    std::vector<double> starts, misses, hits;
    std::string problem;
    for (int i = 0; i < std::max(1, o.repetitions) && problem.empty(); ++i) {
      std::filesystem::remove(node_file);
      const WorkerLoad miss = worker_load(o.worker_binary, o.backend, node_file, address, stem);
      const WorkerLoad hit = miss.error.empty() ? worker_load(o.worker_binary, o.backend, node_file, "", "") : miss;
      problem = !miss.error.empty() ? miss.error : hit.error;
      starts.insert(starts.end(), {miss.start_s, hit.start_s});
      misses.push_back(miss.load_s);
      hits.push_back(hit.load_s);
    }
    std::filesystem::remove(node_file);
    if (!problem.empty()) {
      store.stop();
      std::filesystem::remove(file);
      std::filesystem::remove(fetched);
      c.error = problem;
      return c;
    }
    auto median = [](std::vector<double> v) {
      std::sort(v.begin(), v.end());
      return v[v.size() / 2];
    };
    c.process_start_s = median(starts);
    c.store_load_s = median(misses);
    c.disk_load_s = median(hits);
  }
  store.stop();
  std::filesystem::remove(file);
  // The node's disk: the fetched copy read back with the page cache bypassed.
  ModelFileRead read;
  const double read_s = median_seconds(o.repetitions, [] {}, [&] { read = read_model_file(fetched.string()); });
  std::filesystem::remove(fetched);
  if (!read.error.empty()) {
    c.error = read.error;
    return c;
  }
  c.disk_read_bandwidth = static_cast<double>(read.bytes) / read_s;
  c.direct_io = read.direct;
  std::unique_ptr<ModelBackend> model;
  std::string why;
  const double copy_s = median_seconds(
      o.repetitions, [&] { model.reset(); }, [&] { model = make_backend(o.backend, read.shape, read.weights, why); });
  if (!model) {
    c.error = why;
    return c;
  }
  c.copy_bandwidth = c.model.weight_bytes / copy_s;
  std::vector<float> logits(shape.vocab);
  for (int p : o.prompts) {
    const std::vector<int> prompt = synthetic_tokens(p, shape.vocab);
    std::unique_ptr<SequenceState> sequence;
    const double s = median_seconds(o.repetitions, [&] { sequence = model->new_sequence(p); },
                                    [&] { model->prefill(*sequence, prompt, logits); });
    c.samples.push_back(StepSample{true, static_cast<double>(p), 0, 0, s});
  }
  for (int context : o.contexts) {
    const std::unique_ptr<SequenceState> primed = model->new_sequence(context + 1);
    model->prefill(*primed, synthetic_tokens(context, shape.vocab), logits);
    for (int b : o.batches) {
      std::vector<std::unique_ptr<SequenceState>> sequences;
      std::vector<SequenceState*> pointers;
      std::vector<int> next(b, 3);
      std::vector<float> batch_logits(static_cast<std::size_t>(b) * shape.vocab);
      const double s = median_seconds(
          o.repetitions,
          [&] {
            sequences.clear();
            pointers.clear();
            for (int i = 0; i < b; ++i) pointers.push_back(sequences.emplace_back(primed->clone()).get());
          },
          [&] { model->decode(pointers, next, batch_logits); });
      c.samples.push_back(StepSample{false, 0, static_cast<double>(b), static_cast<double>(b) * context, s});
    }
  }
  c.fit = fit_steps(c.samples, c.model);
  if (!c.fit.problem.empty()) c.error = c.fit.problem;
  return c;
}

std::string profile_yaml(const Calibration& c, const CalibrateOptions& o, const std::string& name) {
  std::string y;
  y += "# fleetsim calibrate --backend " + o.backend + ": this machine as a simulated GPU. Paste into a scenario (or\n";
  y += "# merge with its gpu_types and performance) and set `gpu: " + name + "` on a pool.\n";
  y += "# Model measured: " + std::to_string(o.shape.layers) + " layers, hidden " + std::to_string(o.shape.hidden) +
       ", " + std::to_string(static_cast<long long>(c.model.parameters)) + " parameters.\n";
  y += "# Model store (loopback HTTP, no limit) " + format("%.3g", c.store_bandwidth / 1e9) + " GB/s; disk read " +
       format("%.3g", c.disk_read_bandwidth / 1e9) + " GB/s (" +
       (c.direct_io ? "O_DIRECT" : "page cache dropped") + "), weights copy " +
       format("%.3g", c.copy_bandwidth / 1e9) + " GB/s.\n";
  y += "# A real-mode scenario's cold starts on this machine (real mode does a load's steps one after the\n";
  y += "# other, the simulator streams it at its slowest link, so give the pools the whole load's rate):\n";
  y += "#   pools: network_bandwidth: " + format("%.3g", c.store_load_bandwidth() / 1e9) +
       "GB/s (a whole load from the store), disk_read_bandwidth: " + format("%.3g", c.disk_load_bandwidth() / 1e9) +
       "GB/s (a whole load from disk)\n";
  y += "#   models: startup_time: " + format("%.3g", c.process_start_s * 1e3) +
       "ms (a worker process's start; real mode times it as the image pull)\n";
  y += "# Fit: prefill MAPE " + format("%.1f", 100 * c.fit.prefill_mape) + "%, decode MAPE " +
       format("%.1f", 100 * c.fit.decode_mape) + "% over " + std::to_string(c.samples.size()) + " steps.\n";
  // A term the fit dropped (the steps did not grow with it, e.g. a model too small for its
  // bytes to matter) becomes a figure so large that it costs nothing in the simulator.
  // A scenario's bf16_tflops is at least 0.001: a slower fit (a tiny model under a sanitizer,
  // say) is written as that floor, and said, so that the profile always loads.
  constexpr double kMinFlops = 1e9;
  const double flops = c.fit.flops > 0 ? std::max(c.fit.flops, kMinFlops) : 1e18;
  if (c.fit.flops > 0 && c.fit.flops < kMinFlops)
    y += "# The fit gave " + format("%.3g", c.fit.flops / 1e9) +
         " GFLOP/s, below a scenario's least bf16_tflops (0.001): written as 0.001.\n";
  const double bandwidth = c.fit.bandwidth > 0 ? c.fit.bandwidth : 1e15;
  if (c.fit.flops <= 0) y += "# The steps did not grow with the work: bf16_tflops is set out of the way.\n";
  if (c.fit.bandwidth <= 0) y += "# The steps did not grow with the bytes read: memory_bandwidth is set out of the way.\n";
  y += "gpu_types:\n";
  y += "  - {name: " + name + ", memory: " + format("%.6g", o.memory_bytes / (1ull << 30)) + "GiB, bf16_tflops: " +
       format("%.6g", flops / 1e12) + ", memory_bandwidth: " + format("%.6g", bandwidth / 1e9) +
       "GB/s, host_to_device_bandwidth: " + format("%.6g", c.copy_bandwidth / 1e9) + "GB/s}\n";
  y += "performance: {compute_efficiency: 1, memory_efficiency: 1, iteration_overhead: " +
       format("%.6g", c.fit.overhead_s * 1e3) + "ms, tensor_parallel_overhead: 0ms}\n";
  return y;
}

std::string step_table_rows(const Calibration& c, const std::string& model, const std::string& hardware,
                            bool header) {
  std::string t = header ? "model,hardware,prompt_size,batch_size,token_size,prompt_time,token_time,tensor_parallel\n" : "";
  char line[256];
  for (const StepSample& s : c.samples) {
    if (s.prefill) {
      std::snprintf(line, sizeof line, "%s,%s,%.0f,1,1,%.6f,,1\n", model.c_str(), hardware.c_str(), s.tokens,
                    s.seconds * 1e3);
    } else {
      const double per_sequence = std::max(2.0, std::round(s.context / std::max(1.0, s.batch)));
      std::snprintf(line, sizeof line, "%s,%s,%.0f,%.0f,2,,%.6f,1\n", model.c_str(), hardware.c_str(),
                    per_sequence - 1, s.batch, s.seconds * 1e3);
    }
    t += line;
  }
  return t;
}

std::string calibration_table(const Calibration& c) {
  std::string t = "model file " + format("%.0f", c.model.weight_bytes / 1e6) + " MB: from the store " +
                  format("%.3g", c.store_bandwidth / 1e9) + " GB/s, read from disk " +
                  format("%.3g", c.disk_read_bandwidth / 1e9) + " GB/s" + (c.direct_io ? " (O_DIRECT)" : "") +
                  ", copied into the model " + format("%.3g", c.copy_bandwidth / 1e9) + " GB/s\n";
  t += "whole loads: from the store " + format("%.3g", c.store_load_bandwidth() / 1e9) + " GB/s, from disk " +
       format("%.3g", c.disk_load_bandwidth() / 1e9) + " GB/s; a worker process starts in " +
       format("%.3g", c.process_start_s * 1e3) + " ms\n";
  t += "step       prompt  batch  context  measured ms  fitted ms   error\n";
  for (std::size_t i = 0; i < c.samples.size(); ++i) {
    const StepSample& s = c.samples[i];
    char line[160];
    std::snprintf(line, sizeof line, "%-9s %7.0f %6.0f %8.0f %12.3f %10.3f %+6.1f%%\n", s.prefill ? "prefill" : "decode",
                  s.tokens, s.batch, s.context, s.seconds * 1e3, predict(c.fit, c.model, s) * 1e3,
                  100 * c.fit.errors[i]);
    t += line;
  }
  char fit[240];
  std::snprintf(fit, sizeof fit,
                "fit: %.3g GFLOP/s, %.3g GB/s, %.3f ms per step; prefill MAPE %.1f%%, decode MAPE %.1f%%\n",
                c.fit.flops / 1e9, c.fit.bandwidth / 1e9, c.fit.overhead_s * 1e3, 100 * c.fit.prefill_mape,
                100 * c.fit.decode_mape);
  return t + fit;
}

}  // namespace fleetsim::real
