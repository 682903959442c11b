#include "sim/timeseries.hpp"

namespace fleetsim {

const char* series_name(Series s) {
  switch (s) {
    case Series::ReplicasReady: return "replicas_ready";
    case Series::ReplicasStarting: return "replicas_starting";
    case Series::GpusAllocated: return "gpus_allocated";
    case Series::RequestsInSystem: return "requests_in_system";
    case Series::RequestsBuffered: return "requests_buffered";
    case Series::Arrivals: return "arrivals";
    case Series::Completions: return "completions";
    case Series::ColdStarts: return "cold_starts";
    case Series::KvCacheUsedGb: return "kv_cache_used_gb";
    case Series::KvCacheGb: return "kv_cache_gb";
  }
  return "?";
}

namespace {
constexpr bool is_counter(int s) {
  return s >= static_cast<int>(Series::Arrivals) && s <= static_cast<int>(Series::ColdStarts);
}
}  // namespace

bool series_applies(Series s, bool llm_model, bool kv_sampled) {
  if (s == Series::KvCacheUsedGb || s == Series::KvCacheGb) return llm_model && kv_sampled;
  return true;
}

TimeSeriesRecorder::TimeSeriesRecorder(const Scenario& scenario, SimTime interval)
    : interval_(interval), next_sample_(interval), state_(scenario.models.size()) {}

void TimeSeriesRecorder::take_samples(SimTime now) {
  while (next_sample_ <= now) {
    Sample sample{next_sample_, {}, kv_sampled_};
    sample.models.reserve(state_.size() + 1);
    Values all{};
    for (const ModelRow& row : state_) {
      sample.models.push_back(row.values);
      for (int s = 0; s < kSeriesCount; ++s) all[static_cast<std::size_t>(s)] += row.values[static_cast<std::size_t>(s)];
    }
    sample.models.push_back(all);
    if (sink_)
      sink_(sample);
    else
      samples_.push_back(std::move(sample));
    for (ModelRow& row : state_)
      for (int s = 0; s < kSeriesCount; ++s)
        if (is_counter(s)) row.values[static_cast<std::size_t>(s)] = 0;
    next_sample_ += interval_;
  }
}

void TimeSeriesRecorder::on_request_arrived(SimTime now, std::uint32_t model, bool buffered) {
  advance(now);
  add(model, Series::Arrivals, 1);
  add(model, Series::RequestsInSystem, 1);
  if (buffered) add(model, Series::RequestsBuffered, 1);
}

void TimeSeriesRecorder::on_request_dispatched(SimTime now, std::uint32_t model) {
  advance(now);
  add(model, Series::RequestsBuffered, -1);
}

void TimeSeriesRecorder::on_request_requeued(SimTime now, std::uint32_t model, bool buffered) {
  advance(now);
  if (buffered) add(model, Series::RequestsBuffered, 1);  // leaves it through on_request_dispatched
}

void TimeSeriesRecorder::on_request_end(const RequestResult& r) {
  advance(r.end);
  add(r.model, Series::RequestsInSystem, -1);
  if (r.outcome == RequestOutcome::Completed) add(r.model, Series::Completions, 1);
}

void TimeSeriesRecorder::on_replica_placed(SimTime now, const ReplicaInfo& info) {
  advance(now);
  if (starting_.size() <= info.slot) starting_.resize(info.slot + 1, 0);
  starting_[info.slot] = 1;
  add(info.model, Series::ReplicasStarting, 1);
  add(info.model, Series::GpusAllocated, info.gpus);
}

void TimeSeriesRecorder::on_replica_phase(SimTime now, const ReplicaInfo& info, ReplicaPhase phase) {
  advance(now);
  if (phase == ReplicaPhase::Ready) {
    starting_[info.slot] = 0;
    add(info.model, Series::ReplicasStarting, -1);
    add(info.model, Series::ReplicasReady, 1);
  } else if (phase == ReplicaPhase::Draining) {
    add(info.model, Series::ReplicasReady, -1);
  } else if (phase == ReplicaPhase::Stopped) {
    if (starting_[info.slot]) add(info.model, Series::ReplicasStarting, -1);
    starting_[info.slot] = 0;
    add(info.model, Series::GpusAllocated, -info.gpus);
  }
}

void TimeSeriesRecorder::on_cold_start(const ColdStartRecord& record) {
  advance(record.ready);
  if (!record.aborted) add(record.replica.model, Series::ColdStarts, 1);
  if (cold_start_sink_)
    cold_start_sink_(record);
  else
    cold_starts_.push_back(record);
}

void TimeSeriesRecorder::on_kv_usage(SimTime t, const std::vector<KvUsage>& per_model) {
  advance(t - 1);  // earlier samples, with the levels they had
  kv_sampled_ = true;
  for (std::size_t m = 0; m < per_model.size() && m < state_.size(); ++m) {
    state_[m].values[static_cast<std::size_t>(Series::KvCacheUsedGb)] = per_model[m].used_bytes / 1e9;
    state_[m].values[static_cast<std::size_t>(Series::KvCacheGb)] = per_model[m].capacity_bytes / 1e9;
  }
  advance(t);
}

void TimeSeriesRecorder::on_run_end(SimTime end) { advance(end); }

}  // namespace fleetsim
