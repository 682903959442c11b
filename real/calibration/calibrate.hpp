// `fleetsim calibrate --backend cpu|cuda`: measures this machine as a real-mode backend uses it —
// a model file's fetch from the model store (loopback HTTP), its read from disk (page cache
// bypassed), the copy of the weights into the model,
// prefill time against prompt length, decode-step time against batch size and context — and
// fits the simulator's performance model to the steps (step_fit.hpp). The result is a
// scenario fragment (a GPU type and the `performance:` figures) that makes the simulator model
// this machine's "GPU", and the table of measurements with the fit's error per sample.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "real/calibration/step_fit.hpp"
#include "real/worker/cpu_model.hpp"

namespace fleetsim::real {

struct CalibrateOptions {
  ModelShape shape{4, 512, 8, 2048, 8192};
  std::uint64_t seed = 1;
  std::string backend = "cpu";   // or "cuda"
  std::string work_dir;          // where the model file is written (and removed)
  int repetitions = 3;           // each figure is the median of this many
  std::vector<int> prompts{16, 32, 64, 128, 256};
  std::vector<int> batches{1, 2, 4, 8, 16};
  std::vector<int> contexts{64, 256};  // tokens per sequence before the measured decode step
  double memory_bytes = 4.0 * (1ull << 30);  // the simulated GPU's memory (the KV budget's source)
  std::string worker_binary = "/proc/self/exe";  // the fleetsim program, whose worker start is timed
};

struct Calibration {
  ModelFigures model;
  double store_bandwidth = 0;      // bytes/s, the model file from the store over loopback HTTP
  double disk_read_bandwidth = 0;  // bytes/s
  bool direct_io = false;
  double copy_bandwidth = 0;       // bytes/s, weights into the model (the "host to device" copy)
  // Whole cold starts in fresh worker processes (medians): the process's start until its hello
  // (real mode's image pull), a load from the store (fetch, read, build: a miss) and one from
  // the node's file (read, build: a hit), each until the worker said "loaded".
  double process_start_s = 0;
  double store_load_s = 0;
  double disk_load_s = 0;
  // A real cold start's load does its steps one after the other, where the simulator streams a
  // load at its slowest link's rate: these whole-load rates give the simulator the load's time,
  // for a real-mode scenario's pools.
  double store_load_bandwidth() const;  // a pool's network_bandwidth
  double disk_load_bandwidth() const;   // a pool's disk_read_bandwidth
  std::vector<StepSample> samples;
  StepFit fit;
  std::string error;
};

Calibration calibrate(const CalibrateOptions& options);

// The scenario fragment: gpu_types (one type, `name`) and performance, with the measurements
// as comments.
std::string profile_yaml(const Calibration& c, const CalibrateOptions& options, const std::string& name);
// The measured steps as rows of a performance table (the Splitwise profile format that a model's
// `performance_table` reads, sim/perf_table.hpp), for model `model` on hardware `hardware`,
// tensor parallel 1: a prefill of P tokens is the row (prompt_size P, batch_size 1, token_size 1,
// prompt_time) with token_time empty; a decode step of B sequences of C tokens each the row
// (prompt_size C − 1, batch_size B, token_size 2 — so prompt_size + token_size / 2 = C —,
// token_time) with prompt_time empty. With `header`, the column names first.
std::string step_table_rows(const Calibration& c, const std::string& model, const std::string& hardware, bool header);
// The table printed by the command: each sample, measured and predicted, and the fit.
std::string calibration_table(const Calibration& c);

}  // namespace fleetsim::real
