#include "sim/metrics.hpp"

#include <algorithm>

namespace fleetsim {

MetricsCollector::MetricsCollector(const Scenario& scenario)
    : lag_(scenario.models.size() >= kLagFromModels ? kLatencyLag : 0), scenario_(scenario) {
  result_.models.resize(scenario.models.size());
}

void MetricsCollector::on_request_end(const RequestResult& r) {
  ModelMetrics& m = result_.models[r.model];
  ++m.requests;
  ++m.outcomes[static_cast<std::size_t>(r.outcome)];
  if (r.waited_for_replica) {
    ++m.requests_waited;
    m.wait_for_replica.add(to_seconds(r.dispatched - r.arrival));
  }
  if (r.outcome != RequestOutcome::Completed) return;
  const SloSpec& slo = scenario_.models[r.model].slo;
  if ((slo.ttft == 0 || r.first_token - r.arrival <= slo.ttft) &&
      (slo.e2e == 0 || r.end - r.arrival <= slo.e2e))
    ++m.slo_met;
  const double ttft = to_seconds(r.first_token - r.arrival);
  const double e2e = to_seconds(r.end - r.arrival);
  const double tpot = r.output_tokens > 1 ? to_seconds(r.end - r.first_token) / (r.output_tokens - 1) : -1;
  if (lag_ == 0) {
    m.ttft.add(ttft);
    m.e2e.add(e2e);
    m.ttft_buckets.add(ttft);
    m.e2e_buckets.add(e2e);
    if (tpot >= 0) {
      m.tpot.add(tpot);
      m.tpot_buckets.add(tpot);
    }
    return;
  }
  Latencies l{&m, ttft, e2e, tpot, m.ttft.place(ttft), m.e2e.place(e2e), 0,
              static_cast<std::uint32_t>(m.ttft_buckets.place(ttft)),
              static_cast<std::uint32_t>(m.e2e_buckets.place(e2e)), 0};
  if (tpot >= 0) {
    l.tpot_bucket = m.tpot.place(tpot);
    l.tpot_le = static_cast<std::uint32_t>(m.tpot_buckets.place(tpot));
  }
  Latencies& slot = lagging_[lagging_next_];  // the oldest, when the ring is full
  if (lagging_size_ == lag_)
    count(slot);
  else
    ++lagging_size_;
  slot = l;
  lagging_next_ = (lagging_next_ + 1) % lag_;
}

void MetricsCollector::count(const Latencies& l) {
  ModelMetrics& m = *l.model;
  m.ttft.add(l.ttft, l.ttft_bucket);
  m.e2e.add(l.e2e, l.e2e_bucket);
  m.ttft_buckets.add_at(l.ttft_le);
  m.e2e_buckets.add_at(l.e2e_le);
  if (l.tpot >= 0) {
    m.tpot.add(l.tpot, l.tpot_bucket);
    m.tpot_buckets.add_at(l.tpot_le);
  }
}

void MetricsCollector::change_replicas(ModelMetrics& m, SimTime now, int delta) {
  m.replica_seconds += m.replicas_now * to_seconds(now - m.replicas_since);
  m.replicas_since = now;
  m.replicas_now += delta;
  m.peak_replicas = std::max(m.peak_replicas, m.replicas_now);
}

void MetricsCollector::on_replica_placed(SimTime now, const ReplicaInfo& info) {
  if (replicas_.size() <= info.slot) replicas_.resize(info.slot + 1);
  replicas_[info.slot] = ReplicaAccount{Mode::Starting, now, info.gpus, info.model, info.memory_bytes, info.id};
  change_replicas(result_.models[info.model], now, +1);
  change_replicas(result_.overall, now, +1);
}

void MetricsCollector::close_interval(ReplicaAccount& a, SimTime now) {
  const double gpu_seconds = a.gpus * to_seconds(now - a.since);
  ModelMetrics& m = result_.models[a.model];
  switch (a.mode) {
    case Mode::Starting: m.gpu_seconds_starting += gpu_seconds; break;
    case Mode::Busy: m.gpu_seconds_busy += gpu_seconds; break;
    case Mode::Idle:
      m.gpu_seconds_idle += gpu_seconds;
      m.gpu_memory_byte_seconds_idle += a.memory_bytes * to_seconds(now - a.since);
      break;
    case Mode::Stopped: return;
  }
  m.gpu_seconds_allocated += gpu_seconds;
  a.since = now;
}

void MetricsCollector::on_replica_phase(SimTime now, const ReplicaInfo& info, ReplicaPhase phase) {
  ReplicaAccount& a = replicas_[info.slot];
  if (phase == ReplicaPhase::Ready) {
    close_interval(a, now);
    a.mode = Mode::Idle;
  } else if (phase == ReplicaPhase::Stopped) {
    close_interval(a, now);
    a.mode = Mode::Stopped;
    change_replicas(result_.models[info.model], now, -1);
    change_replicas(result_.overall, now, -1);
  }
}

void MetricsCollector::on_replica_busy(SimTime now, const ReplicaInfo& info, bool busy) {
  ReplicaAccount& a = replicas_[info.slot];
  close_interval(a, now);
  a.mode = busy ? Mode::Busy : Mode::Idle;
}

void MetricsCollector::on_cold_start(const ColdStartRecord& c) {
  ModelMetrics& m = result_.models[c.replica.model];
  if (c.aborted) {
    ++m.cold_starts_aborted;
    return;
  }
  ++m.cold_starts;
  m.image_pull_seconds += to_seconds(c.image_pull);
  m.weight_load_seconds += to_seconds(c.weight_load);
  m.engine_startup_seconds += to_seconds(c.engine_startup);
  const double load = to_seconds(c.weight_load);
  if (c.source == WeightSource::HostMemory) ++m.loads_from_host_memory, m.load_seconds_host_memory += load;
  if (c.source == WeightSource::DiskCache) ++m.loads_from_disk_cache, m.load_seconds_disk_cache += load;
  if (c.source == WeightSource::ModelStore) ++m.loads_from_model_store, m.load_seconds_model_store += load;
  m.cold_start_duration.add(to_seconds(c.ready - c.placed + c.node_provision));
  m.node_provision_seconds += to_seconds(c.node_provision);
}

void MetricsCollector::on_adapter_load(SimTime, const ReplicaInfo& info, bool from_disk) {
  ++result_.models[info.model].adapter_loads;
  if (from_disk) ++result_.models[info.model].adapter_loads_from_disk;
}

void MetricsCollector::on_unschedulable(SimTime, std::uint32_t model) {
  ++result_.models[model].unschedulable;
}

void MetricsCollector::on_cache(SimTime, std::uint32_t, std::uint32_t, CacheEvent event) {
  switch (event) {
    case CacheEvent::Hit: ++result_.cache_hits; break;
    case CacheEvent::Insert: ++result_.cache_inserts; break;
    case CacheEvent::Evict: ++result_.cache_evictions; break;
  }
}

void MetricsCollector::on_run_end(SimTime end) {
  for (std::size_t i = 0; i < lagging_size_; ++i)  // oldest first
    count(lagging_[(lagging_next_ + lag_ - lagging_size_ + i) % lag_]);
  lagging_size_ = 0;
  result_.end_time = end;
  // In public id order, as the sums were always added (slots are reused in no order).
  std::vector<ReplicaAccount*> open;
  for (auto& a : replicas_)
    if (a.mode != Mode::Stopped) open.push_back(&a);
  std::sort(open.begin(), open.end(), [](const ReplicaAccount* a, const ReplicaAccount* b) { return a->id < b->id; });
  for (ReplicaAccount* a : open) close_interval(*a, end);
  ModelMetrics& all = result_.overall;
  change_replicas(all, end, 0);
  for (ModelMetrics& m : result_.models) {
    change_replicas(m, end, 0);
    all.requests += m.requests;
    for (std::size_t i = 0; i < m.outcomes.size(); ++i) all.outcomes[i] += m.outcomes[i];
    all.slo_met += m.slo_met;
    all.ttft.merge(m.ttft);
    all.tpot.merge(m.tpot);
    all.e2e.merge(m.e2e);
    all.ttft_buckets.merge(m.ttft_buckets);
    all.tpot_buckets.merge(m.tpot_buckets);
    all.e2e_buckets.merge(m.e2e_buckets);
    all.cold_starts += m.cold_starts;
    all.cold_starts_aborted += m.cold_starts_aborted;
    all.loads_from_host_memory += m.loads_from_host_memory;
    all.loads_from_disk_cache += m.loads_from_disk_cache;
    all.loads_from_model_store += m.loads_from_model_store;
    all.image_pull_seconds += m.image_pull_seconds;
    all.node_provision_seconds += m.node_provision_seconds;
    all.weight_load_seconds += m.weight_load_seconds;
    all.engine_startup_seconds += m.engine_startup_seconds;
    all.cold_start_duration.merge(m.cold_start_duration);
    all.requests_waited += m.requests_waited;
    all.wait_for_replica.merge(m.wait_for_replica);
    all.unschedulable += m.unschedulable;
    all.adapter_loads += m.adapter_loads;
    all.adapter_loads_from_disk += m.adapter_loads_from_disk;
    all.gpu_seconds_allocated += m.gpu_seconds_allocated;
    all.gpu_seconds_starting += m.gpu_seconds_starting;
    all.gpu_seconds_busy += m.gpu_seconds_busy;
    all.gpu_seconds_idle += m.gpu_seconds_idle;
    all.gpu_memory_byte_seconds_idle += m.gpu_memory_byte_seconds_idle;
    all.load_seconds_host_memory += m.load_seconds_host_memory;
    all.load_seconds_disk_cache += m.load_seconds_disk_cache;
    all.load_seconds_model_store += m.load_seconds_model_store;
  }
}

}  // namespace fleetsim
