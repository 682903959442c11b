#include "sim/metrics.hpp"

#include <algorithm>

namespace fleetsim {

MetricsCollector::MetricsCollector(const Scenario& scenario)
    : batched_(scenario.models.size() >= kBatchFromModels) {
  result_.models.resize(scenario.models.size());
  tallies_.assign(scenario.models.size() * kTalliesPerModel, 0);
  for (const ModelSpec& model : scenario.models) slos_.push_back(model.slo);
  if (batched_) {
    batch_.reserve(kBatch);
    first_.assign(scenario.models.size(), kEndOfList);
    touched_.reserve(scenario.models.size());
    order_.reserve(kBatch);
  }
}

namespace {
double time_per_output_token(SimTime decode, std::uint32_t output_tokens) {
  return to_seconds(decode) / (output_tokens - 1);
}
}  // namespace

// (Inlined in both callers, so that the default path, counted at once, is what it was before batching.)
[[gnu::always_inline]] inline void MetricsCollector::count(ModelMetrics& m, const Ended& e, bool placed) {
  ++m.requests;
  ++m.outcomes[static_cast<std::size_t>(e.outcome)];
  if (e.waited) {
    ++m.requests_waited;
    m.wait_for_replica.add(to_seconds(e.wait));
  }
  if (e.outcome != RequestOutcome::Completed) return;
  const SloSpec& slo = slos_[e.model];
  if ((slo.ttft == 0 || e.ttft <= slo.ttft) && (slo.e2e == 0 || e.e2e <= slo.e2e)) ++m.slo_met;
  // (The seconds place() computed too, recomputed here: a few operations, and Ended stays one
  // cache line.)
  const double ttft = to_seconds(e.ttft), e2e = to_seconds(e.e2e);
  const double tpot = e.output_tokens > 1 ? time_per_output_token(e.decode, e.output_tokens) : -1;
  const int ttft_bucket = placed ? e.ttft_bucket : m.ttft.bucket_for(ttft);
  const int e2e_bucket = placed ? e.e2e_bucket : m.e2e.bucket_for(e2e);
  std::uint64_t* const tallies = &tallies_[e.model * kTalliesPerModel];
  m.ttft.add(ttft, ttft_bucket);
  ttft_tallies_->note(ttft_bucket, ttft, tallies + kTtftTallies);
  m.e2e.add(e2e, e2e_bucket);
  e2e_tallies_->note(e2e_bucket, e2e, tallies + kE2eTallies);
  if (tpot >= 0) {
    const int tpot_bucket = placed ? e.tpot_bucket : m.tpot.bucket_for(tpot);
    m.tpot.add(tpot, tpot_bucket);
    tpot_tallies_->note(tpot_bucket, tpot, tallies + kTpotTallies);
  }
}

void MetricsCollector::on_request_end(const RequestResult& r) {
  Ended e;
  e.ttft = r.first_token - r.arrival;
  e.e2e = r.end - r.arrival;
  e.decode = r.end - r.first_token;
  e.wait = r.dispatched - r.arrival;
  e.model = r.model;
  e.output_tokens = r.output_tokens;
  e.outcome = r.outcome;
  e.waited = r.waited_for_replica;
  if (batched_) {
    batch_.push_back(e);
    if (batch_.size() == kBatch) count_batch();
    return;
  }
  count(result_.models[r.model], e, /*placed=*/false);
}

void MetricsCollector::count_batch() {
  // Each model's requests linked in the order they ended (built from the last), then listed
  // model by model.
  for (std::size_t i = batch_.size(); i-- > 0;) {
    Ended& e = batch_[i];
    if (first_[e.model] == kEndOfList) touched_.push_back(e.model);
    e.next = first_[e.model];
    first_[e.model] = static_cast<std::uint32_t>(i);
  }
  for (const std::uint32_t model : touched_) {
    for (std::uint32_t i = first_[model]; i != kEndOfList; i = batch_[i].next) order_.push_back(i);
    first_[model] = kEndOfList;
  }
  const std::size_t n = order_.size();
  for (std::size_t j = 0; j < n + kPlaceAhead; ++j) {
    if (j < n) {
      Ended& e = batch_[order_[j]];
      place(result_.models[e.model], e);
    }
    if (j >= kPlaceAhead) {
      const Ended& e = batch_[order_[j - kPlaceAhead]];
      count(result_.models[e.model], e, /*placed=*/true);
    }
  }
  touched_.clear();
  order_.clear();
  batch_.clear();
}

void MetricsCollector::place(const ModelMetrics& m, Ended& e) const {
  if (e.outcome != RequestOutcome::Completed) return;
  const double ttft = to_seconds(e.ttft), e2e = to_seconds(e.e2e);
  e.ttft_bucket = m.ttft.place(ttft);
  e.e2e_bucket = m.e2e.place(e2e);
  if (e.output_tokens > 1) e.tpot_bucket = m.tpot.place(time_per_output_token(e.decode, e.output_tokens));
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
  if (batched_) count_batch();
  result_.end_time = end;
  // In public id order, as the sums were always added (slots are reused in no order).
  std::vector<ReplicaAccount*> open;
  for (auto& a : replicas_)
    if (a.mode != Mode::Stopped) open.push_back(&a);
  std::sort(open.begin(), open.end(), [](const ReplicaAccount* a, const ReplicaAccount* b) { return a->id < b->id; });
  for (ReplicaAccount* a : open) close_interval(*a, end);
  ModelMetrics& all = result_.overall;
  change_replicas(all, end, 0);
  for (std::size_t model = 0; model < result_.models.size(); ++model) {  // vLLM's histograms
    ModelMetrics& m = result_.models[model];
    const std::uint64_t* tallies = &tallies_[model * kTalliesPerModel];
    ttft_tallies_->fill(m.ttft, tallies + kTtftTallies, m.ttft_buckets);
    tpot_tallies_->fill(m.tpot, tallies + kTpotTallies, m.tpot_buckets);
    e2e_tallies_->fill(m.e2e, tallies + kE2eTallies, m.e2e_buckets);
  }
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
