#include "sim/llm_perf_model.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>

namespace fleetsim {

LlmPerfModel::LlmPerfModel(const ModelSpec& model, const GpuType& gpu, const PerfSpec& perf, const PerfTable* table)
    : table_(table) {
  const double tp = model.gpus_per_replica;
  const double flops = tp * gpu.bf16_flops * perf.compute_efficiency;
  const double bandwidth = tp * gpu.memory_bandwidth * perf.memory_efficiency;
  prefill_flop_seconds_per_token_ = 2.0 * model.parameters / flops;
  weight_pass_seconds_ = model.weight_bytes() / bandwidth;
  overhead_ = to_seconds(perf.iteration_overhead) + (tp - 1) * to_seconds(perf.tensor_parallel_overhead);
  base_ = weight_pass_seconds_ + overhead_;
  per_seq_ = 2.0 * model.parameters / flops;
  per_token_ = model.kv_bytes_per_token / bandwidth;
  double usable = tp * gpu.memory_bytes * model.gpu_memory_utilization - model.weight_bytes();
  kv_capacity_tokens_ =
      model.kv_bytes_per_token > 0 ? std::max(0.0, std::floor(usable / model.kv_bytes_per_token)) : 0;
}

bool LlmPerfModel::same_as(const LlmPerfModel& other) const {
  const auto bits = [](double x) { return std::bit_cast<std::uint64_t>(x); };
  return bits(prefill_flop_seconds_per_token_) == bits(other.prefill_flop_seconds_per_token_) &&
         bits(weight_pass_seconds_) == bits(other.weight_pass_seconds_) && bits(overhead_) == bits(other.overhead_) &&
         bits(base_) == bits(other.base_) && bits(per_seq_) == bits(other.per_seq_) &&
         bits(per_token_) == bits(other.per_token_) && bits(kv_capacity_tokens_) == bits(other.kv_capacity_tokens_) &&
         table_ == other.table_;
}

double LlmPerfModel::mixed_step_seconds(double prompt_tokens, double batch, double context) const {
  const double kv_reads = batch > 0 ? decode_seconds(1, batch, context) - decode_seconds(1, batch, 0) : 0;
  return prefill_seconds(prompt_tokens + batch) + std::max(0.0, kv_reads);
}

}  // namespace fleetsim
