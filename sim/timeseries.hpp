// TimeSeriesRecorder: samples a run's state every `interval` of simulated time, per model and
// for all models together, without adding events to the run: state between two signals is
// constant, so samples are written lazily when the next signal (or the end) arrives.
// A sample at time t shows the state just before the events at t; the counters (arrivals,
// completions, cold starts) count the interval [t − interval, t). It also keeps every cold
// start's record for the report's timeline, or hands each to a sink as it ends.
#pragma once
#include <array>
#include <cstdint>
#include <functional>
#include <vector>

#include "sim/observer.hpp"
#include "sim/scenario.hpp"

namespace fleetsim {

enum class Series : std::uint8_t {
  ReplicasReady,
  ReplicasStarting,
  GpusAllocated,
  RequestsInSystem,
  RequestsBuffered,
  Arrivals,
  Completions,
  ColdStarts,
  // Levels the engine samples (SimObserver::on_kv_usage): LLM models only, in GB (10^9 bytes).
  KvCacheUsedGb,  // held by the running requests' blocks
  KvCacheGb,      // capacity of the ready and draining replicas' caches
};
inline constexpr int kSeriesCount = 10;
// Series a sample holds for a model: the kv_cache_* ones only for LLM models, and only when the
// engine sampled them (not in real mode).
bool series_applies(Series s, bool llm_model, bool kv_sampled);
const char* series_name(Series s);  // replicas_ready, replicas_starting, ...

class TimeSeriesRecorder : public SimObserver {
 public:
  using Values = std::array<double, kSeriesCount>;
  struct Sample {
    SimTime time;
    std::vector<Values> models;  // per model, then one more: all models together
    bool kv_sampled = false;     // the kv_cache_* levels are set (the engine sampled them)
  };

  TimeSeriesRecorder(const Scenario& scenario, SimTime interval);
  // With a sink, each sample goes to it as soon as it is complete and is not kept, so a long
  // run's memory does not grow with its length; without one, samples() holds them all.
  using SampleSink = std::function<void(const Sample&)>;
  void set_sink(SampleSink sink) { sink_ = std::move(sink); }
  // Likewise for cold-start records: with a sink, cold_starts() stays empty.
  using ColdStartSink = std::function<void(const ColdStartRecord&)>;
  void set_cold_start_sink(ColdStartSink sink) { cold_start_sink_ = std::move(sink); }

  void on_request_arrived(SimTime now, std::uint32_t model, bool buffered) override;
  void on_request_dispatched(SimTime now, std::uint32_t model) override;
  void on_request_requeued(SimTime now, std::uint32_t model, bool buffered) override;
  void on_request_end(const RequestResult& r) override;
  void on_replica_placed(SimTime now, const ReplicaInfo& info) override;
  void on_replica_phase(SimTime now, const ReplicaInfo& info, ReplicaPhase phase) override;
  void on_cold_start(const ColdStartRecord& record) override;
  void on_run_end(SimTime end) override;
  SimTime kv_sample_interval() const override { return interval_; }
  void on_kv_usage(SimTime t, const std::vector<KvUsage>& per_model) override;

  const std::vector<Sample>& samples() const { return samples_; }
  const std::vector<ColdStartRecord>& cold_starts() const { return cold_starts_; }
  SimTime interval() const { return interval_; }

 private:
  // Closes the intervals that end by `now` (inline: every request's arrival and end asks).
  void advance(SimTime now) {
    if (next_sample_ <= now) take_samples(now);
  }
  void take_samples(SimTime now);
  void add(std::uint32_t model, Series s, double delta) { state_[model].values[static_cast<std::size_t>(s)] += delta; }

  SimTime interval_;
  SimTime next_sample_;
  // Per model: levels and the counters of the open interval. Each row on a line boundary, so
  // that the four a request changes (requests in system and buffered, arrivals, completions:
  // bytes 24 to 56) are one line; at 80 bytes a row, half a fleet's thousand models had them
  // straddle two, each a line out of cache at an arrival and at an end.
  struct alignas(64) ModelRow {
    Values values{};
  };
  std::vector<ModelRow> state_;
  bool kv_sampled_ = false;
  std::vector<std::uint8_t> starting_;  // per replica slot: still counted as starting
  std::vector<Sample> samples_;
  SampleSink sink_;
  std::vector<ColdStartRecord> cold_starts_;
  ColdStartSink cold_start_sink_;
};

}  // namespace fleetsim
