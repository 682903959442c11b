#include "sim/simulation.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <unordered_map>

namespace fleetsim {

namespace {

// Durations computed from the performance model are rounded up to the next nanosecond, so a
// batch step never ends before its exact time and progress never overshoots a sequence's end.
SimTime ceil_ns(double seconds) {
  double ns = std::ceil(seconds * 1e9);
  return ns <= 0 ? 0 : static_cast<SimTime>(ns);
}

bool sequence_after(const auto& a, const auto& b) {  // min-heap order for std::push_heap
  return a.finish > b.finish || (a.finish == b.finish && a.request > b.request);
}

constexpr double kProgressEpsilon = 1e-6;  // decode steps; absorbs float rounding
constexpr std::uint32_t kNoModel = 0xFFFFFFFFu;
constexpr std::uint32_t kNoNode = 0xFFFFFFFFu;
constexpr std::size_t kMaxIdlePeriods = 4096;  // idle periods kept between two evaluations

}  // namespace

const char* outcome_name(RequestOutcome outcome) {
  switch (outcome) {
    case RequestOutcome::Completed: return "completed";
    case RequestOutcome::TimedOut: return "timeout";
    case RequestOutcome::TooLong: return "too-long";
    case RequestOutcome::CutOff: return "cut-off";
  }
  return "?";
}

const char* phase_name(ReplicaPhase phase) {
  switch (phase) {
    case ReplicaPhase::PullingImage: return "pulling-image";
    case ReplicaPhase::LoadingWeights: return "loading-weights";
    case ReplicaPhase::StartingEngine: return "starting-engine";
    case ReplicaPhase::Ready: return "ready";
    case ReplicaPhase::Draining: return "draining";
    case ReplicaPhase::Stopped: return "stopped";
  }
  return "?";
}

const char* weight_source_name(WeightSource source) {
  switch (source) {
    case WeightSource::None: return "none";
    case WeightSource::HostMemory: return "host-memory";
    case WeightSource::DiskCache: return "disk-cache";
    case WeightSource::ModelStore: return "model-store";
  }
  return "?";
}

// The inference cluster's nodes as jobs see them: GPUs no replica holds (whole, or what job
// shares leave of one), GPU memory, CPU and host memory of the nodes that are up. What job
// workers take is marked on the NodeViews (holders, milli_used, memory_used, cpu_used,
// host_memory_used), so placement policies and the inference side see it taken.
class Simulation::NodeJobCluster final : public JobCluster {
 public:
  explicit NodeJobCluster(std::vector<NodeView>& nodes) : nodes_(nodes) {}
  std::size_t size() const override { return nodes_.size(); }
  const std::string& gpu_type(std::size_t n) const override { return nodes_[n].gpu_type->name; }
  double gpu_memory(std::size_t n) const override {
    const double m = nodes_[n].gpu_type->memory_bytes;
    return m > 0 ? m : std::numeric_limits<double>::infinity();
  }
  void read(JobClusterState& out) const override { fill(out, false); }
  void read_capacity(JobClusterState& out) const override { fill(out, true); }

 private:
  // Free resources (a GPU held by an inference replica is taken whole; one with job shares has
  // the rest free; a node that is not up offers nothing), or with `all` the whole capacity.
  void fill(JobClusterState& out, bool all) const {
    const double unlimited = std::numeric_limits<double>::infinity();
    out.gpu_begin.assign(1, 0);
    out.milli_free.clear();
    out.gpu_memory_free.clear();
    out.whole_free.clear();
    out.cpu_free.clear();
    out.memory_free.clear();
    for (const NodeView& node : nodes_) {
      const bool offers = all || node.up;
      int whole = 0;
      const double memory = gpu_memory(node.id);
      for (const GpuSlot& g : node.gpus) {
        const int used = all ? 0 : static_cast<int>(std::min<std::uint32_t>(g.milli_used, 1000));
        const int free = offers ? 1000 - used : 0;
        out.milli_free.push_back(free);
        out.gpu_memory_free.push_back(!offers ? 0.0 : all ? memory : std::max(0.0, memory - g.memory_used));
        whole += free == 1000;
      }
      out.gpu_begin.push_back(static_cast<std::uint32_t>(out.milli_free.size()));
      out.whole_free.push_back(whole);
      const double cpu_used = all ? 0 : node.cpu_used, memory_used = all ? 0 : node.host_memory_used;
      out.cpu_free.push_back(!offers ? 0.0 : node.cpu_capacity > 0 ? node.cpu_capacity - cpu_used : unlimited);
      out.memory_free.push_back(!offers                          ? 0.0
                                : node.host_memory_capacity > 0 ? node.host_memory_capacity - memory_used
                                                                : unlimited);
    }
  }

 public:
  void take(const JobAllocation& a, std::uint32_t) override { change(a, +1); }
  void give(const JobAllocation& a, std::uint32_t) override { change(a, -1); }

  // Whole GPUs free on node n, and how many more jobs hold alone (preemption could free them).
  int free_gpus(std::size_t n) const {
    const NodeView& node = nodes_[n];
    if (!node.up) return 0;
    int free = 0;
    for (const GpuSlot& g : node.gpus) free += g.holders == 0;
    return free;
  }
  int job_gpus(std::size_t n) const {
    int count = 0;
    for (std::size_t g = 0; g < nodes_[n].gpus.size(); ++g) {
      const std::uint32_t holders = nodes_[n].gpus[g].holders;
      const auto it = job_holders_.find(key(n, g));
      count += holders > 0 && it != job_holders_.end() && holders == it->second;
    }
    return count;
  }

 private:
  std::uint64_t key(std::size_t n, std::size_t g) const { return (static_cast<std::uint64_t>(n) << 32) | g; }
  // A whole GPU takes all its memory (a job using it alone); a share takes what it asked.
  void change(const JobAllocation& a, int sign) {
    for (const auto& piece : a.gpus) {
      NodeView& node = nodes_[piece.node];
      GpuSlot& slot = node.gpus[piece.gpu];
      const bool whole = piece.milli >= 1000;
      const double memory = whole ? node.gpu_type->memory_bytes : piece.memory;
      if (sign > 0) {
        if (slot.holders == 0) --node.free_gpus;
        ++slot.holders;
        ++job_holders_[key(piece.node, piece.gpu)];
        slot.milli_used += static_cast<std::uint32_t>(piece.milli);
        slot.memory_used += memory;
      } else {
        --slot.holders;
        if (--job_holders_[key(piece.node, piece.gpu)] == 0) job_holders_.erase(key(piece.node, piece.gpu));
        slot.milli_used -= static_cast<std::uint32_t>(piece.milli);
        slot.memory_used -= memory;
        if (slot.holders == 0) {
          ++node.free_gpus;
          slot.memory_used = 0;
          slot.milli_used = 0;
        }
      }
    }
    for (const auto& host : a.hosts) {
      NodeView& node = nodes_[host.node];
      node.cpu_used += sign * host.cpu;
      node.host_memory_used += sign * host.memory;
    }
  }
  std::vector<NodeView>& nodes_;
  std::unordered_map<std::uint64_t, std::uint32_t> job_holders_;  // (node, GPU) -> job pieces on it
};

Simulation::Simulation(SimulationSetup setup) : setup_(std::move(setup)) {
  const Scenario& sc = setup_.scenario;
  gpu_types_ = sc.gpu_types;
  std::size_t slots = 0;
  for (const PoolSpec& pool : sc.pools) slots += static_cast<std::size_t>(std::max(pool.nodes, pool.max_nodes));
  nodes_.reserve(slots);
  pools_.resize(sc.pools.size());
  for (std::uint32_t p = 0; p < sc.pools.size(); ++p) {
    const PoolSpec& pool = sc.pools[p];
    pools_[p].provisioning = RngStream(sc.seed, "provisioning/" + pool.name);
    pools_[p].usage.pool = pool.name;
    pools_[p].up = pool.nodes;
    pools_[p].usage.peak_nodes = pool.nodes;
    // Slots beyond `nodes` are the pool's room to grow: down until provisioned.
    for (int i = 0; i < std::max(pool.nodes, pool.max_nodes); ++i) {
      NodeView node;
      node.up = i < pool.nodes;
      node.id = static_cast<std::uint32_t>(nodes_.size());
      node.pool = p;
      node.gpu_type = &gpu_types_[pool.gpu_type];
      node.gpus.assign(static_cast<std::size_t>(pool.gpus_per_node), GpuSlot{});
      node.free_gpus = pool.gpus_per_node;
      node.disk_cache_capacity = pool.disk_cache_bytes;
      node.host_cache_capacity = pool.host_cache_bytes;
      node.disk_read_bandwidth = pool.disk_read_bandwidth;
      node.network_bandwidth = pool.network_bandwidth;
      node_network_link_.push_back(network_.add_link(pool.network_bandwidth));
      node_disk_link_.push_back(network_.add_link(pool.disk_read_bandwidth));
      nodes_.push_back(std::move(node));
      node_epoch_.push_back(0);
      node_adapters_.emplace_back();
    }
  }
  store_link_ = network_.add_link(sc.model_store_bandwidth);
  registry_link_ = network_.add_link(sc.registry_bandwidth);
  models_.resize(sc.models.size());
  for (std::uint32_t m = 0; m < sc.models.size(); ++m)
    models_[m].service_rng = RngStream(sc.seed, "service/" + sc.models[m].name);
  if (sc.jobs.enabled && setup_.job_source && setup_.job_policy) {
    JobRunOptions options;
    options.backfill = sc.jobs.backfill;
    options.checkpoint_on_preemption = sc.jobs.checkpoint_on_preemption;
    options.restart_overhead = sc.jobs.restart_overhead;
    options.placement = std::move(setup_.job_placement);
    options.placement_name = sc.jobs.placement.impl;
    auto cluster = std::make_unique<NodeJobCluster>(nodes_);
    job_cluster_ = cluster.get();
    jobs_ = std::make_unique<JobSimulation>(std::move(cluster), std::move(setup_.job_source),
                                            std::move(setup_.job_policy), options);
  }
  perf_models_.resize(sc.models.size() * gpu_types_.size());
  pending_arrivals_.resize(setup_.sources.size());
  setup_.sees_future.resize(sc.models.size(), false);
  lookahead_pending_.resize(setup_.lookahead.size());
  lookahead_live_.assign(setup_.lookahead.size(), true);
  Diagnostics ignored;  // the real sources report the same records
  for (std::size_t s = 0; s < setup_.lookahead.size(); ++s)
    lookahead_live_[s] = setup_.lookahead[s]->next(lookahead_pending_[s], ignored);
}

Simulation::~Simulation() = default;

RunStatus Simulation::run() {
  RunStatus status;
  const Scenario& sc = setup_.scenario;
  const SimTime hard_end = sc.duration + sc.drain_limit;
  try {
    for (std::uint32_t s = 0; s < setup_.sources.size(); ++s)
      if (setup_.sources[s]->next(pending_arrivals_[s], errors_))
        schedule(pending_arrivals_[s].time, EventKind::Arrival, s);
    // Before the run: caches the policy prefetches, then the deployed state at t = 0 (every
    // model's autoscaler is asked once).
    for (NodeView& node : nodes_)
      if (node.up) prefetch_at_start(node);
    for (std::uint32_t m = 0; m < models_.size(); ++m) evaluate(m);

    while (!queue_.empty() && errors_.empty()) {
      const auto& top = queue_.top();
      if (top.time >= sc.duration && live_requests_ == 0) break;
      if (top.time > hard_end) break;
      if (jobs_) jobs_->advance(top.time);  // job events first when simultaneous
      auto entry = queue_.pop();
      now_ = entry.time;
      if ((++status.events & 0xFFFF) == 0) {
        for (auto* o : observers_) o->on_progress(now_, status.events, next_serial_);
        for (std::uint32_t i = 0; i < setup_.test_slowdown; ++i) spin_ = spin_ + 1;  // tests only
      }
      const Event& e = entry.payload;
      switch (e.kind) {
        case EventKind::Arrival: on_arrival(e.target); break;
        case EventKind::ReplicaPhase:
          if (replicas_[e.target].epoch == e.epoch) on_replica_phase(e.target);
          break;
        case EventKind::BatchStep:
          if (replicas_[e.target].epoch == e.epoch) on_batch_step(e.target);
          break;
        case EventKind::ServiceDone: on_service_done(e.target, e.extra); break;
        case EventKind::Autoscale:
          if (models_[e.target].evaluation_epoch == e.epoch) on_autoscale(e.target);
          break;
        case EventKind::BufferTimeout:
          if (models_[e.target].buffer_epoch == e.epoch) on_buffer_timeout(e.target);
          break;
        case EventKind::TransferDone:
          if (transfer_epoch_ == e.epoch) on_transfer_done();
          break;
        case EventKind::NodeUp: on_node_up(e.target, e.extra); break;
        case EventKind::NodeIdle:
          if (node_epoch_[e.target] == e.epoch) on_node_idle(e.target);
          break;
      }
    }
    if (errors_.empty()) {
      if (live_requests_ > 0) {
        now_ = hard_end;
        for (std::uint32_t model = 0; model < models_.size(); ++model)
          for (std::size_t i = models_[model].buffer.size(); i > 0; --i) {
            models_[model].buffer.pop();
            for (auto* o : observers_) o->on_request_dispatched(now_, model);
          }
        for (std::uint32_t r = 0; r < requests_.size(); ++r)
          if (requests_[r].live) finish_request(r, RequestOutcome::CutOff);
      } else {
        now_ = std::max(sc.duration, last_request_end_);
      }
    }
  } catch (const PolicyError& error) {
    errors_.add(Diagnostic{"", 0, 0, "", error.message});
  }
  status.end_time = now_;
  status.requests = next_serial_;
  if (jobs_ && errors_.empty()) status.jobs = std::make_shared<JobRunResult>(jobs_->finish(now_));
  int gpus = 0;
  for (const NodeView& node : nodes_) gpus += static_cast<int>(node.gpus.size());
  status.gpu_seconds_total = gpus * to_seconds(now_);
  auto usage = [&](const std::string& name, TransferNetwork::LinkId link) {
    if (network_.bytes_moved(link) > 0)
      status.links.push_back(LinkUsage{name, network_.bandwidth(link), network_.bytes_moved(link)});
  };
  for (std::uint32_t p = 0; p < pools_.size(); ++p) {
    count_nodes(p, 0);
    status.pools.push_back(pools_[p].usage);
  }
  usage("model-store", store_link_);
  usage("registry", registry_link_);
  for (std::size_t n = 0; n < nodes_.size(); ++n) {
    usage("node-" + std::to_string(n) + "/network", node_network_link_[n]);
    usage("node-" + std::to_string(n) + "/disk", node_disk_link_[n]);
  }
  status.ok = errors_.empty();
  status.errors = errors_;
  if (status.ok)
    for (auto* o : observers_) o->on_run_end(now_);
  return status;
}

// ---------------------------------------------------------------- requests

std::uint32_t Simulation::new_request() {
  if (!free_requests_.empty()) {
    std::uint32_t id = free_requests_.back();
    free_requests_.pop_back();
    return id;
  }
  requests_.emplace_back();
  return static_cast<std::uint32_t>(requests_.size() - 1);
}

void Simulation::on_arrival(std::uint32_t source) {
  const Arrival a = pending_arrivals_[source];
  if (a.time >= setup_.scenario.duration) return;  // arrivals stop at the end of the run
  std::uint32_t id = new_request();
  Request& r = requests_[id];
  r = Request{};
  r.serial = next_serial_++;
  r.arrival = now_;
  r.dispatched = now_;
  r.model = a.model;
  r.input_tokens = a.input_tokens;
  r.output_tokens = std::max<std::uint32_t>(1, a.output_tokens);
  r.adapter = a.adapter;
  r.live = true;
  ++live_requests_;
  ModelState& m = models_[a.model];
  if (m.wake_on_arrival) {
    m.wake_on_arrival = false;
    request_evaluation(a.model, now_);
  }
  if (setup_.sees_future[a.model]) {
    if (m.arrivals_read_ahead > m.arrivals_seen) m.future.pop_front();
    ++m.arrivals_seen;
  }
  change_concurrency(a.model, +1);
  dispatch_or_buffer(id);

  Arrival next;
  if (setup_.sources[source]->next(next, errors_)) {
    if (next.time < a.time) {
      errors_.add(Diagnostic{"", 0, 0, "workloads",
                             "request source went back in time (" + std::to_string(next.time) +
                                 "ns after " + std::to_string(a.time) + "ns)"});
      return;
    }
    pending_arrivals_[source] = next;
    schedule(next.time, EventKind::Arrival, source);
  }
}

void Simulation::change_concurrency(std::uint32_t model, int delta) {
  ModelState& m = models_[model];
  m.concurrency_integral += m.concurrency * to_seconds(now_ - m.integral_time);
  m.integral_time = now_;
  const bool was_idle = m.concurrency == 0;
  m.concurrency += delta;
  if (was_idle && m.concurrency > 0) {
    // Bounded: an autoscaler evaluated rarely (fixed) must not make this grow with the run.
    if (m.had_request && m.idle_periods.size() < kMaxIdlePeriods) m.idle_periods.push_back(now_ - m.idle_since);
    m.had_request = true;
    m.idle_since = kNever;
  } else if (!was_idle && m.concurrency == 0) {
    m.idle_since = now_;
  }
}

// The oracle's knowledge: read the lookahead copy of the sources until the model's next
// arrival is known (or the sources end). Arrivals the run has already consumed are skipped.
SimTime Simulation::next_arrival_of(std::uint32_t model) {
  ModelState& m = models_[model];
  Diagnostics ignored;
  while (m.future.empty()) {
    std::size_t best = lookahead_pending_.size();
    for (std::size_t s = 0; s < lookahead_pending_.size(); ++s)
      if (lookahead_live_[s] && (best == lookahead_pending_.size() ||
                                 lookahead_pending_[s].time < lookahead_pending_[best].time))
        best = s;
    if (best == lookahead_pending_.size()) return kNever;
    const Arrival a = lookahead_pending_[best];
    lookahead_live_[best] = setup_.lookahead[best]->next(lookahead_pending_[best], ignored);
    if (a.time >= setup_.scenario.duration) {
      lookahead_live_[best] = false;
      continue;
    }
    if (!setup_.sees_future[a.model]) continue;  // only oracle models keep their future
    ModelState& owner = models_[a.model];
    if (owner.arrivals_read_ahead++ >= owner.arrivals_seen) owner.future.push_back(a.time);
  }
  return m.future.front();
}

void Simulation::dispatch_or_buffer(std::uint32_t id) {
  Request& r = requests_[id];
  ModelState& m = models_[r.model];
  if (!m.ready.empty()) {
    for (auto* o : observers_) o->on_request_arrived(now_, r.model, false);
    route(id);
    return;
  }
  for (auto* o : observers_) o->on_request_arrived(now_, r.model, true);
  // No ready replica: wait in the buffer (Knative's activator) and make sure one is coming.
  r.waited = true;
  m.buffer.push(id);
  if (m.buffer.size() == 1) arm_buffer_timer(r.model);
  if (m.starting.empty()) request_evaluation(r.model, now_);
}

void Simulation::route(std::uint32_t id) {
  Request& r = requests_[id];
  ModelState& m = models_[r.model];
  candidates_.clear();
  for (std::uint32_t rep : m.ready)
    candidates_.push_back(RouteCandidate{rep, replicas_[rep].outstanding, replicas_[rep].running,
                                         r.adapter != kNoAdapter && holds_adapter(replicas_[rep], r.adapter)});
  std::size_t pick = setup_.router->route(
      candidates_, RouteRequest{r.model, r.input_tokens, r.output_tokens, r.adapter});
  if (pick >= candidates_.size())
    throw PolicyError{"router policy '" + setup_.scenario.router.impl + "' returned index " +
                      std::to_string(pick) + " for " + std::to_string(candidates_.size()) +
                      " candidates"};
  enqueue(id, candidates_[pick].replica);
}

void Simulation::enqueue(std::uint32_t id, std::uint32_t rep_id) {
  Request& r = requests_[id];
  Replica& rep = replicas_[rep_id];
  r.dispatched = now_;
  const ModelSpec& spec = setup_.scenario.models[r.model];
  if (spec.kind == ModelSpec::Kind::Llm &&
      static_cast<double>(r.input_tokens) + r.output_tokens > rep.kv_capacity) {
    finish_request(id, RequestOutcome::TooLong);
    return;
  }
  ++models_[r.model].in_flight;
  rep.waiting.push(id);
  if (rep.outstanding++ == 0) set_busy(rep, true);
  if (spec.kind == ModelSpec::Kind::Llm)
    llm_try_schedule(rep, rep_id);
  else
    service_try_start(rep, rep_id);
}

void Simulation::finish_request(std::uint32_t id, RequestOutcome outcome) {
  Request& r = requests_[id];
  // A request that ends while still in the buffer (timeout, cut-off) waited until its end.
  if (r.waited && r.dispatched == r.arrival && outcome != RequestOutcome::Completed) r.dispatched = now_;
  change_concurrency(r.model, -1);
  RequestResult result;
  result.serial = r.serial;
  result.model = r.model;
  result.input_tokens = r.input_tokens;
  result.output_tokens = r.output_tokens;
  result.outcome = outcome;
  result.arrival = r.arrival;
  result.dispatched = r.dispatched;
  result.first_token = r.first_token;
  result.end = now_;
  result.waited_for_replica = r.waited && r.dispatched > r.arrival;
  for (auto* o : observers_) o->on_request_end(result);
  r.live = false;
  --live_requests_;
  last_request_end_ = now_;
  free_requests_.push_back(id);
}

void Simulation::complete(std::uint32_t id, std::uint32_t rep_id) {
  Replica& rep = replicas_[rep_id];
  Request& r = requests_[id];
  if (setup_.scenario.models[r.model].kind == ModelSpec::Kind::ServiceTime) r.first_token = now_;
  rep.kv_reserved -= static_cast<double>(r.input_tokens) + r.output_tokens;
  for (AdapterSlot& slot : rep.adapters)
    if (slot.adapter == r.adapter) --slot.in_use;
  --rep.running;
  --rep.outstanding;
  --models_[r.model].in_flight;
  finish_request(id, RequestOutcome::Completed);
}

void Simulation::after_request_left(Replica& rep, std::uint32_t rep_id) {
  if (rep.outstanding > 0) return;
  set_busy(rep, false);
  if (rep.phase == ReplicaPhase::Draining) stop(rep_id);
}

void Simulation::set_busy(Replica& rep, bool busy) {
  for (auto* o : observers_) o->on_replica_busy(now_, rep.info, busy);
}

void Simulation::arm_buffer_timer(std::uint32_t model) {
  ModelState& m = models_[model];
  ++m.buffer_epoch;
  if (m.buffer.empty()) return;
  SimTime deadline = requests_[m.buffer.front()].arrival + setup_.scenario.request_timeout;
  schedule(std::max(deadline, now_), EventKind::BufferTimeout, model, m.buffer_epoch);
}

void Simulation::on_buffer_timeout(std::uint32_t model) {
  ModelState& m = models_[model];
  const SimTime timeout = setup_.scenario.request_timeout;
  while (!m.buffer.empty() && requests_[m.buffer.front()].arrival + timeout <= now_) {
    for (auto* o : observers_) o->on_request_dispatched(now_, model);
    finish_request(m.buffer.pop(), RequestOutcome::TimedOut);
  }
  arm_buffer_timer(model);
}

// ---------------------------------------------------------------- LLM batching

bool Simulation::admissible(const Replica& rep, const Request& r) const {
  const ModelSpec& spec = setup_.scenario.models[r.model];
  return rep.running < spec.max_batch &&
         rep.kv_reserved + r.input_tokens + r.output_tokens <= rep.kv_capacity;
}

void Simulation::llm_try_schedule(Replica& rep, std::uint32_t rep_id) {
  if (rep.step == BatchStepKind::Prefill || rep.waiting.empty()) return;
  if (!admissible(rep, requests_[rep.waiting.front()])) return;
  const std::uint32_t adapter = requests_[rep.waiting.front()].adapter;
  if (adapter != kNoAdapter && !adapter_ready(rep, rep_id, adapter)) return;
  if (rep.step == BatchStepKind::Decode) {
    advance_decode(rep);
    // Sequences whose last token is due this very instant finish before the prefill starts.
    complete_finished(rep, rep_id);
  }
  start_prefill(rep, rep_id);
}

// Prefill runs as its own step and pauses decoding, as vLLM's default scheduler does when new
// requests are waiting (prefill first, FCFS, no chunking). A request is admitted only if its
// whole KV need (prompt + output) fits, so a running sequence is never preempted.
void Simulation::start_prefill(Replica& rep, std::uint32_t rep_id) {
  const ModelSpec& spec = setup_.scenario.models[rep.info.model];
  rep.prefill_batch.clear();
  double tokens = 0;
  while (!rep.waiting.empty()) {
    const Request& r = requests_[rep.waiting.front()];
    if (!admissible(rep, r)) break;
    if (!rep.prefill_batch.empty() && tokens + r.input_tokens > spec.max_prefill_tokens) break;
    if (r.adapter != kNoAdapter) {
      if (!adapter_ready(rep, rep_id, r.adapter)) break;
      for (AdapterSlot& slot : rep.adapters)
        if (slot.adapter == r.adapter) ++slot.in_use, slot.last_used = now_;
    }
    tokens += r.input_tokens;
    rep.kv_reserved += static_cast<double>(r.input_tokens) + r.output_tokens;
    ++rep.running;
    rep.prefill_batch.push_back(rep.waiting.pop());
  }
  rep.step = BatchStepKind::Prefill;
  ++rep.epoch;
  schedule(now_ + ceil_ns(rep.perf->prefill_seconds(tokens)), EventKind::BatchStep, rep_id,
           rep.epoch);
}

void Simulation::advance_decode(Replica& rep) {
  if (rep.decoding.empty()) return;
  const double batch = static_cast<double>(rep.decoding.size());
  double steps = rep.perf->decode_steps_in(to_seconds(now_ - rep.progress_time), batch, rep.context);
  steps = std::min(steps, rep.decoding.front().finish - rep.progress);
  rep.progress += steps;
  rep.context += batch * steps;
  rep.progress_time = now_;
}

void Simulation::complete_finished(Replica& rep, std::uint32_t rep_id) {
  while (!rep.decoding.empty() && rep.decoding.front().finish <= rep.progress + kProgressEpsilon) {
    std::pop_heap(rep.decoding.begin(), rep.decoding.end(),
                  [](const Sequence& a, const Sequence& b) { return sequence_after(a, b); });
    std::uint32_t id = rep.decoding.back().request;
    rep.decoding.pop_back();
    const Request& r = requests_[id];
    rep.context -= static_cast<double>(r.input_tokens) + r.output_tokens;
    complete(id, rep_id);
  }
  if (rep.decoding.empty()) rep.context = 0;  // drop accumulated rounding
}

void Simulation::schedule_decode(Replica& rep, std::uint32_t rep_id) {
  const double batch = static_cast<double>(rep.decoding.size());
  const double steps = rep.decoding.front().finish - rep.progress;
  rep.step = BatchStepKind::Decode;
  ++rep.epoch;
  schedule(now_ + ceil_ns(rep.perf->decode_seconds(steps, batch, rep.context)),
           EventKind::BatchStep, rep_id, rep.epoch);
}

void Simulation::on_batch_step(std::uint32_t rep_id) {
  Replica& rep = replicas_[rep_id];
  if (rep.step == BatchStepKind::Prefill) {
    // First tokens come out of the prefill; the rest are decode steps.
    for (std::uint32_t id : rep.prefill_batch) {
      Request& r = requests_[id];
      r.first_token = now_;
      if (r.output_tokens <= 1) {
        complete(id, rep_id);
        continue;
      }
      rep.decoding.push_back(Sequence{rep.progress + (r.output_tokens - 1), id});
      std::push_heap(rep.decoding.begin(), rep.decoding.end(),
                     [](const Sequence& a, const Sequence& b) { return sequence_after(a, b); });
      rep.context += static_cast<double>(r.input_tokens) + 1;
    }
    rep.prefill_batch.clear();
  } else if (rep.step == BatchStepKind::Decode) {
    const double batch = static_cast<double>(rep.decoding.size());
    const double target = rep.decoding.front().finish;
    rep.context += batch * (target - rep.progress);
    rep.progress = target;
    complete_finished(rep, rep_id);
  }
  rep.progress_time = now_;
  rep.step = BatchStepKind::Idle;
  llm_try_schedule(rep, rep_id);
  if (rep.step == BatchStepKind::Idle && !rep.decoding.empty()) schedule_decode(rep, rep_id);
  after_request_left(rep, rep_id);
}

// ---------------------------------------------------------------- service-time models

void Simulation::service_try_start(Replica& rep, std::uint32_t rep_id) {
  const ModelSpec& spec = setup_.scenario.models[rep.info.model];
  ModelState& m = models_[rep.info.model];
  while (rep.running < spec.max_concurrency && !rep.waiting.empty()) {
    std::uint32_t id = rep.waiting.pop();
    ++rep.running;
    const Distribution& d = spec.service_time;
    double seconds = 0;
    switch (d.kind) {
      case Distribution::Kind::Fixed: seconds = d.a; break;
      case Distribution::Kind::Uniform: seconds = m.service_rng.uniform(d.a, d.b); break;
      case Distribution::Kind::Lognormal:
        seconds = m.service_rng.lognormal(std::log(d.a), d.b);
        break;
      case Distribution::Kind::Exponential: seconds = m.service_rng.exponential(d.a); break;
    }
    if (d.max > 0) seconds = std::min(seconds, d.max);
    schedule(now_ + ceil_ns(seconds), EventKind::ServiceDone, rep_id, 0, id);
  }
}

void Simulation::on_service_done(std::uint32_t rep_id, std::uint32_t id) {
  Replica& rep = replicas_[rep_id];
  complete(id, rep_id);
  service_try_start(rep, rep_id);
  after_request_left(rep, rep_id);
}

// ---------------------------------------------------------------- autoscaling

void Simulation::request_evaluation(std::uint32_t model, SimTime at) {
  ModelState& m = models_[model];
  if (m.next_evaluation <= at) return;
  m.next_evaluation = at;
  schedule(at, EventKind::Autoscale, model, ++m.evaluation_epoch);
}

void Simulation::on_autoscale(std::uint32_t model) {
  models_[model].next_evaluation = kNever;
  evaluate(model);
}

void Simulation::evaluate(std::uint32_t model) {
  ModelState& m = models_[model];
  change_concurrency(model, 0);  // bring the integral up to now
  ScalingView view;
  view.now = now_;
  view.model = model;
  view.ready = static_cast<int>(m.ready.size());
  view.starting = static_cast<int>(m.starting.size());
  view.draining = m.draining;
  view.in_flight = m.in_flight;
  view.buffered = static_cast<int>(m.buffer.size());
  view.concurrency_integral = m.concurrency_integral;
  view.idle_since = m.idle_since;
  view.idle_periods = m.idle_periods;
  view.last_cold_start = m.last_cold_start;
  if (setup_.sees_future[model]) view.next_arrival = next_arrival_of(model);
  ScalingDecision decision = setup_.autoscalers[model]->evaluate(view);
  m.idle_periods.clear();
  const std::string& policy = setup_.scenario.models[model].autoscaler.impl;
  if (decision.desired < 0)
    throw PolicyError{"autoscaler policy '" + policy + "' asked for " +
                      std::to_string(decision.desired) + " replicas of model '" +
                      setup_.scenario.models[model].name + "'"};
  const int current = view.ready + view.starting;
  for (auto* o : observers_) o->on_scale(now_, model, current, decision.desired);
  const bool warm = now_ == 0 && setup_.scenario.warm_start;
  for (int i = current; i < decision.desired; ++i)
    if (!start_replica(model, warm)) break;
  for (int i = decision.desired; i < current; ++i) {
    // Surplus: drop the newest replica still starting, else the ready replica with the fewest
    // outstanding requests (ties: the newest).
    if (!m.starting.empty()) {
      drain(m.starting.back());
      continue;
    }
    std::uint32_t victim = m.ready.back();
    for (std::uint32_t rep : m.ready)
      if (replicas_[rep].outstanding < replicas_[victim].outstanding ||
          (replicas_[rep].outstanding == replicas_[victim].outstanding && rep > victim))
        victim = rep;
    drain(victim);
  }
  for (SimTime t : {decision.next_evaluation, decision.wakeup})
    if (t != kNever && t <= now_)
      throw PolicyError{"autoscaler policy '" + policy + "' asked for its next evaluation at " +
                        std::to_string(t) + "ns, not after now (" + std::to_string(now_) + "ns)"};
  // Idle at zero: only an explicit wake-up brings the model back before its next request.
  const bool idle = m.ready.empty() && m.starting.empty() && m.in_flight == 0 && m.buffer.empty();
  const SimTime next = std::min(idle ? kNever : decision.next_evaluation, decision.wakeup);
  if (next != kNever) request_evaluation(model, next);
  m.wake_on_arrival = decision.wake_on_arrival;
}

// ---------------------------------------------------------------- replicas

const LlmPerfModel* Simulation::perf_for(std::uint32_t model, std::uint32_t gpu_type) {
  auto& slot = perf_models_[model * gpu_types_.size() + gpu_type];
  if (!slot)
    slot = std::make_unique<LlmPerfModel>(setup_.scenario.models[model], gpu_types_[gpu_type],
                                          setup_.scenario.perf);
  return slot.get();
}

// An LLM engine (vLLM-style) claims gpu_memory_utilization of every GPU it runs on, and its
// GPUs must be big enough for the weights; a service-time model claims a fixed amount.
PlacementRequest Simulation::placement_request(std::uint32_t model) const {
  const ModelSpec& spec = setup_.scenario.models[model];
  PlacementRequest request;
  request.model = model;
  request.gpus = spec.gpus_per_replica;
  request.pools = spec.pools;
  request.weight_bytes = spec.weight_bytes();
  request.image_bytes = spec.image_bytes;
  if (spec.kind == ModelSpec::Kind::Llm) {
    request.memory_fraction = spec.gpu_memory_utilization;
    request.min_gpu_memory =
        spec.weight_bytes() / spec.gpus_per_replica / spec.gpu_memory_utilization;
  } else {
    request.memory_per_gpu = spec.memory_per_gpu;
    request.min_gpu_memory = spec.memory_per_gpu;
  }
  return request;
}

bool Simulation::start_replica(std::uint32_t model, bool warm) {
  const ModelSpec& spec = setup_.scenario.models[model];
  const PlacementRequest request = placement_request(model);
  std::optional<Placement> placement = setup_.placement->place(request, cluster_view());
  bool preempted = false;
  if (!placement && make_room_for(model)) {
    preempted = true;
    placement = setup_.placement->place(request, cluster_view());
  }
  if (!placement) {
    if (preempted) jobs_->resources_changed(now_);  // the room went unused: jobs may take it back
    for (auto* o : observers_) o->on_unschedulable(now_, model);
    request_node(model);
    return false;
  }
  const std::string who = "placement policy '" + setup_.scenario.placement.impl + "'";
  if (placement->node >= nodes_.size())
    throw PolicyError{who + " chose node " + std::to_string(placement->node) + ", which does not exist"};
  NodeView& node = nodes_[placement->node];
  if (!node.up)
    throw PolicyError{who + " chose node " + std::to_string(node.id) + ", which is not up"};
  if (!spec.pools.empty() &&
      std::find(spec.pools.begin(), spec.pools.end(), node.pool) == spec.pools.end())
    throw PolicyError{who + " put model '" + spec.name + "' on node " + std::to_string(node.id) +
                      ", outside its allowed pools"};
  if (static_cast<int>(placement->gpus.size()) != spec.gpus_per_replica)
    throw PolicyError{who + " gave " + std::to_string(placement->gpus.size()) + " GPUs to model '" +
                      spec.name + "', which needs " + std::to_string(spec.gpus_per_replica)};
  if (node.gpu_type->memory_bytes < request.min_gpu_memory)
    throw PolicyError{who + " put model '" + spec.name + "' on node " + std::to_string(node.id) +
                      ", whose GPUs are too small for its weights"};
  const double claim = memory_claim(node, request);
  std::vector<int> seen;
  for (int g : placement->gpus) {
    if (g < 0 || g >= static_cast<int>(node.gpus.size()))
      throw PolicyError{who + " chose GPU " + std::to_string(g) + " of node " +
                        std::to_string(node.id) + ", which has " + std::to_string(node.gpus.size())};
    if (std::find(seen.begin(), seen.end(), g) != seen.end())
      throw PolicyError{who + " chose GPU " + std::to_string(g) + " of node " +
                        std::to_string(node.id) + " twice"};
    seen.push_back(g);
    const GpuSlot& slot = node.gpus[static_cast<std::size_t>(g)];
    if (slot.holders > 0)
      throw PolicyError{who + " over-committed GPU " + std::to_string(g) + " of node " +
                        std::to_string(node.id) + ": it is already allocated"};
    if (slot.memory_used + claim > node.gpu_type->memory_bytes)
      throw PolicyError{who + " over-committed the memory of GPU " + std::to_string(g) +
                        " of node " + std::to_string(node.id)};
  }

  std::uint32_t id = static_cast<std::uint32_t>(replicas_.size());
  replicas_.emplace_back();
  Replica& rep = replicas_.back();
  rep.info = ReplicaInfo{id, model, node.id, spec.gpus_per_replica, claim * spec.gpus_per_replica};
  rep.gpus = placement->gpus;
  rep.memory_per_gpu = claim;
  for (int g : rep.gpus) {
    node.gpus[static_cast<std::size_t>(g)].memory_used += claim;
    node.gpus[static_cast<std::size_t>(g)].holders += 1;
    node.gpus[static_cast<std::size_t>(g)].milli_used = 1000;
    --node.free_gpus;
  }
  ++node.replicas;
  const std::uint32_t gpu_type = static_cast<std::uint32_t>(node.gpu_type - gpu_types_.data());
  if (spec.kind == ModelSpec::Kind::Llm) {
    rep.perf = perf_for(model, gpu_type);
    rep.kv_capacity = rep.perf->kv_capacity_tokens();
  }
  rep.cold.replica = rep.info;
  rep.cold.placed = now_;
  ++node_epoch_[node.id];  // cancels a pending idle release
  ModelState& ms = models_[model];
  if (ms.awaited_node == node.id) {
    rep.cold.node_provision = now_ - ms.node_requested;
    ms.awaited_node = kNoNode;
  }
  for (auto* o : observers_) o->on_replica_placed(now_, rep.info);
  models_[model].starting.push_back(id);
  if (preempted) jobs_->resources_changed(now_);  // what the preemptions freed beyond this replica
  if (warm) {
    // A deployed system at t = 0: the image is on the node and weights are where the cache
    // policy would have kept them.
    if (!node.has_image(model)) node.images.push_back(model);
    if (!node.has_cached(model)) cache_admit(node, CacheTier::Disk, model);
    if (!node.has_in_memory(model)) cache_admit(node, CacheTier::HostMemory, model);
    make_ready(id);
  } else {
    begin_phase(id, ReplicaPhase::PullingImage);
    prefetch(model);
  }
  return true;
}

ClusterView Simulation::cluster_view() {
  for (std::size_t n = 0; n < nodes_.size(); ++n) {
    nodes_[n].network_transfers = network_.transfers_on(node_network_link_[n]);
    nodes_[n].disk_transfers = network_.transfers_on(node_disk_link_[n]);
  }
  ClusterView view{now_, nodes_};
  view.model_store_bandwidth = network_.bandwidth(store_link_);
  view.model_store_transfers = network_.transfers_on(store_link_);
  view.registry_bandwidth = network_.bandwidth(registry_link_);
  view.registry_transfers = network_.transfers_on(registry_link_);
  return view;
}

// Cold start: pull the image (skipped when the node has it), load the weights from the fastest
// tier that holds them — the node's host-memory cache, its disk cache, else the model store
// over the node's network link — into the GPUs, then start the engine. Pulls and loads are
// transfers on shared links (max-min fair, see sim/transfers.hpp); a load also never goes
// faster than the replica's combined host-to-device links. Each phase's duration is measured.
void Simulation::begin_phase(std::uint32_t rep_id, ReplicaPhase phase) {
  Replica& rep = replicas_[rep_id];
  const ModelSpec& spec = setup_.scenario.models[rep.info.model];
  NodeView& node = nodes_[rep.info.node];
  const std::uint32_t n = node.id;
  rep.phase = phase;
  rep.phase_started = now_;
  for (auto* o : observers_) o->on_replica_phase(now_, rep.info, phase);
  if (phase == ReplicaPhase::PullingImage) {
    if (node.has_image(rep.info.model) || spec.image_bytes <= 0) {
      end_phase(rep_id);
      return;
    }
    start_transfer(rep_id, spec.image_bytes, TransferNetwork::kUnlimited,
                   {node_network_link_[n], registry_link_}, rep_id);
  } else if (phase == ReplicaPhase::LoadingWeights) {
    if (spec.weight_bytes() <= 0) {  // nothing to load (service-time models state no weights)
      rep.cold.source = WeightSource::None;
      end_phase(rep_id);
      return;
    }
    const double cap = spec.gpus_per_replica * node.gpu_type->host_to_device_bandwidth;
    rep.cold.source = WeightSource::ModelStore;
    auto hit = [&](CacheTier tier, std::vector<CacheEntry>& entries) {
      for (auto& entry : entries) {
        if (entry.model != rep.info.model) continue;
        entry.last_used = now_;
        ++entry.hits;
        setup_.cache->on_hit(tier, entry, node);
        for (auto* o : observers_) o->on_cache(now_, node.id, rep.info.model, CacheEvent::Hit);
        return true;
      }
      return false;
    };
    if (hit(CacheTier::HostMemory, node.host_cache)) {
      rep.cold.source = WeightSource::HostMemory;
      start_transfer(rep_id, spec.weight_bytes(), cap, {}, rep_id);
    } else if (hit(CacheTier::Disk, node.disk_cache)) {
      rep.cold.source = WeightSource::DiskCache;
      start_transfer(rep_id, spec.weight_bytes(), cap, {node_disk_link_[n]}, rep_id);
    } else {
      start_transfer(rep_id, spec.weight_bytes(), cap, {node_network_link_[n], store_link_}, rep_id);
    }
  } else if (phase == ReplicaPhase::StartingEngine) {
    schedule(now_ + spec.startup_time, EventKind::ReplicaPhase, rep_id, rep.epoch);
  }
}

void Simulation::start_transfer(std::uint64_t owner, double bytes, double cap,
                                std::initializer_list<TransferNetwork::LinkId> links,
                                std::uint32_t replica) {
  auto id = network_.start(now_, bytes, cap, std::span<const TransferNetwork::LinkId>(links.begin(), links.size()), owner);
  last_transfer_ = id;
  if (replica != TransferNetwork::kNone) replicas_[replica].transfer = id;
  reschedule_transfers();
}

void Simulation::reschedule_transfers() {
  ++transfer_epoch_;
  const SimTime next = network_.next_completion();
  if (next != kNever) schedule(std::max(next, now_), EventKind::TransferDone, 0, transfer_epoch_);
}

// Transfer owners: a replica id (its cold-start phase), kPrefetchOwner + index into
// prefetches_, or kAdapterOwner + (replica << 20) + adapter (a LoRA adapter load).
namespace {
constexpr std::uint64_t kPrefetchOwner = 1ULL << 40;
constexpr std::uint64_t kAdapterOwner = 1ULL << 60;
}

bool Simulation::holds_adapter(const Replica& rep, std::uint32_t adapter) const {
  for (const AdapterSlot& slot : rep.adapters)
    if (slot.adapter == adapter && !slot.loading) return true;
  return false;
}

// True when `adapter` is resident on the replica. Otherwise starts loading it (from the node's
// disk if a replica on this node loaded it before, else from the model store, at most at the
// replica's host-to-device rate), evicting the least recently used adapter no admitted request
// uses; when every slot is busy, the request waits for one to free up.
bool Simulation::adapter_ready(Replica& rep, std::uint32_t rep_id, std::uint32_t adapter) {
  for (const AdapterSlot& slot : rep.adapters)
    if (slot.adapter == adapter) return !slot.loading;
  const ModelSpec& spec = setup_.scenario.models[rep.info.model];
  if (static_cast<int>(rep.adapters.size()) >= spec.max_adapters) {
    std::size_t victim = rep.adapters.size();
    for (std::size_t i = 0; i < rep.adapters.size(); ++i) {
      const AdapterSlot& s = rep.adapters[i];
      if (s.in_use > 0 || s.loading) continue;
      if (victim == rep.adapters.size() || s.last_used < rep.adapters[victim].last_used) victim = i;
    }
    if (victim == rep.adapters.size()) return false;
    rep.adapters.erase(rep.adapters.begin() + static_cast<std::ptrdiff_t>(victim));
  }
  rep.adapters.push_back(AdapterSlot{adapter, now_, 0, true, TransferNetwork::kNone});
  NodeView& node = nodes_[rep.info.node];
  const double cap = spec.gpus_per_replica * node.gpu_type->host_to_device_bandwidth;
  const std::uint64_t key = (static_cast<std::uint64_t>(rep.info.model) << 20) | adapter;
  const bool on_disk = std::find(node_adapters_[node.id].begin(), node_adapters_[node.id].end(), key) !=
                       node_adapters_[node.id].end();
  const std::uint64_t owner = kAdapterOwner + (static_cast<std::uint64_t>(rep_id) << 20) + adapter;
  const double bytes = spec.adapters[adapter].bytes;
  if (on_disk)
    start_transfer(owner, bytes, cap, {node_disk_link_[node.id]}, TransferNetwork::kNone);
  else
    start_transfer(owner, bytes, cap, {node_network_link_[node.id], store_link_}, TransferNetwork::kNone);
  rep.adapters.back().transfer = last_transfer_;
  for (auto* o : observers_) o->on_adapter_load(now_, rep.info, on_disk);
  return false;
}

void Simulation::on_transfer_done() {
  finished_transfers_.clear();
  network_.complete_until(now_, finished_transfers_);
  // Handle in a stable order (owners, ascending), whatever order the network listed them.
  std::sort(finished_transfers_.begin(), finished_transfers_.end());
  const std::vector<std::uint64_t> finished = finished_transfers_;
  for (std::uint64_t owner : finished) {
    if (owner >= kAdapterOwner) {
      const auto rep_id = static_cast<std::uint32_t>((owner - kAdapterOwner) >> 20);
      const auto adapter = static_cast<std::uint32_t>((owner - kAdapterOwner) & 0xFFFFF);
      Replica& rep = replicas_[rep_id];
      const std::uint64_t key = (static_cast<std::uint64_t>(rep.info.model) << 20) | adapter;
      auto& on_node = node_adapters_[rep.info.node];
      if (std::find(on_node.begin(), on_node.end(), key) == on_node.end()) on_node.push_back(key);
      for (AdapterSlot& slot : rep.adapters)
        if (slot.adapter == adapter) slot.loading = false, slot.transfer = TransferNetwork::kNone;
      if (rep.phase == ReplicaPhase::Ready || rep.phase == ReplicaPhase::Draining) llm_try_schedule(rep, rep_id);
      continue;
    }
    if (owner >= kPrefetchOwner) {
      Prefetch& p = prefetches_[owner - kPrefetchOwner];
      if (!nodes_[p.node].has_cached(p.model)) cache_admit(nodes_[p.node], CacheTier::Disk, p.model);
      p.model = kNoModel;
      continue;
    }
    replicas_[owner].transfer = TransferNetwork::kNone;
    end_phase(static_cast<std::uint32_t>(owner));
  }
  reschedule_transfers();
}

// What the cache policy keeps on a node's disk from the moment it is up (pinned models).
void Simulation::prefetch_at_start(NodeView& node) {
  for (std::uint32_t model : setup_.cache->prefetch_at_start(node))
    if (model < models_.size() && !node.has_cached(model)) cache_admit(node, CacheTier::Disk, model);
}

// The cache policy may ask to warm other nodes' disks when a replica of `model` starts.
void Simulation::prefetch(std::uint32_t model) {
  for (std::uint32_t n : setup_.cache->prefetch_on_scale_up(model, cluster_view())) {
    if (n >= nodes_.size())
      throw PolicyError{"cache policy '" + setup_.scenario.cache.impl + "' asked to prefetch onto node " +
                        std::to_string(n) + ", which does not exist"};
    if (nodes_[n].has_cached(model)) continue;
    bool in_flight = false;
    for (const Prefetch& p : prefetches_) in_flight = in_flight || (p.node == n && p.model == model);
    if (in_flight) continue;
    std::size_t slot = prefetches_.size();
    for (std::size_t i = 0; i < prefetches_.size(); ++i)
      if (prefetches_[i].model == kNoModel) slot = i;
    if (slot == prefetches_.size()) prefetches_.push_back({});
    prefetches_[slot] = Prefetch{n, model};
    start_transfer(kPrefetchOwner + slot, setup_.scenario.models[model].weight_bytes(),
                   TransferNetwork::kUnlimited, {node_network_link_[n], store_link_}, TransferNetwork::kNone);
  }
}

void Simulation::on_replica_phase(std::uint32_t rep_id) { end_phase(rep_id); }

void Simulation::end_phase(std::uint32_t rep_id) {
  Replica& rep = replicas_[rep_id];
  NodeView& node = nodes_[rep.info.node];
  const SimTime took = now_ - rep.phase_started;
  switch (rep.phase) {
    case ReplicaPhase::PullingImage:
      rep.cold.image_pull = took;
      if (!node.has_image(rep.info.model)) node.images.push_back(rep.info.model);
      begin_phase(rep_id, ReplicaPhase::LoadingWeights);
      break;
    case ReplicaPhase::LoadingWeights:
      rep.cold.weight_load = took;
      // Fill the tiers the weights passed through.
      if (rep.cold.source == WeightSource::ModelStore && !node.has_cached(rep.info.model))
        cache_admit(node, CacheTier::Disk, rep.info.model);
      if (rep.cold.source != WeightSource::HostMemory && rep.cold.source != WeightSource::None &&
          !node.has_in_memory(rep.info.model))
        cache_admit(node, CacheTier::HostMemory, rep.info.model);
      begin_phase(rep_id, ReplicaPhase::StartingEngine);
      break;
    case ReplicaPhase::StartingEngine:
      rep.cold.engine_startup = took;
      rep.cold.ready = now_;
      models_[rep.info.model].last_cold_start = now_ - rep.cold.placed;
      for (auto* o : observers_) o->on_cold_start(rep.cold);
      make_ready(rep_id);
      break;
    default: break;
  }
}

void Simulation::cache_admit(NodeView& node, CacheTier tier, std::uint32_t model) {
  const bool disk = tier == CacheTier::Disk;
  std::vector<CacheEntry>& entries = disk ? node.disk_cache : node.host_cache;
  double& used = disk ? node.disk_cache_used : node.host_cache_used;
  const double capacity = disk ? node.disk_cache_capacity : node.host_cache_capacity;
  const double bytes = setup_.scenario.models[model].weight_bytes();
  if (bytes <= 0 || bytes > capacity) return;
  if (!setup_.cache->admit(tier, model, bytes, node)) return;
  while (used + bytes > capacity) {
    std::size_t v = setup_.cache->victim(tier, entries, node);
    if (v == CachePolicy::kKeepAll) return;
    if (v >= entries.size())
      throw PolicyError{"cache policy '" + setup_.scenario.cache.impl + "' chose victim " +
                        std::to_string(v) + " of " + std::to_string(entries.size())};
    used -= entries[v].bytes;
    setup_.cache->on_evict(tier, entries[v], node);
    for (auto* o : observers_) o->on_cache(now_, node.id, entries[v].model, CacheEvent::Evict);
    entries.erase(entries.begin() + static_cast<std::ptrdiff_t>(v));
  }
  entries.push_back(CacheEntry{model, bytes, now_, now_, 0});
  used += bytes;
  setup_.cache->on_insert(tier, entries.back(), node);
  for (auto* o : observers_) o->on_cache(now_, node.id, model, CacheEvent::Insert);
}

// Co-location: an inference replica that finds no room may take GPUs from preemptible jobs,
// on the node where that needs the fewest preemptions (most GPUs free already; ties: lowest id);
// a node where the jobs that may be preempted would not free enough is passed over.
bool Simulation::make_room_for(std::uint32_t model) {
  if (!jobs_ || !setup_.scenario.jobs.inference_preempts) return false;
  const PlacementRequest request = placement_request(model);
  std::vector<std::pair<int, std::size_t>> candidates;  // (-free GPUs, node)
  for (std::size_t n = 0; n < nodes_.size(); ++n) {
    const NodeView& node = nodes_[n];
    if (!node.up || node.gpu_type->memory_bytes < request.min_gpu_memory) continue;
    if (!request.pools.empty() &&
        std::find(request.pools.begin(), request.pools.end(), node.pool) == request.pools.end())
      continue;
    const int free = job_cluster_->free_gpus(n);
    if (free + job_cluster_->job_gpus(n) < request.gpus || free >= request.gpus) continue;
    candidates.push_back({-free, n});
  }
  std::sort(candidates.begin(), candidates.end());
  for (auto [minus_free, n] : candidates)
    if (jobs_->make_room(now_, n, request.gpus, setup_.scenario.jobs.inference_priority)) return true;
  return false;
}

std::uint32_t Simulation::pool_first_node(std::uint32_t pool) const {
  std::uint32_t first = 0;
  for (std::uint32_t p = 0; p < pool; ++p)
    first += static_cast<std::uint32_t>(std::max(setup_.scenario.pools[p].nodes, setup_.scenario.pools[p].max_nodes));
  return first;
}

void Simulation::count_nodes(std::uint32_t pool, int delta) {
  PoolState& p = pools_[pool];
  p.usage.node_seconds += p.up * to_seconds(now_ - p.usage_since);
  p.usage_since = now_;
  p.up += delta;
  p.usage.peak_nodes = std::max(p.usage.peak_nodes, p.up);
}

// Grow a pool for `model`: the first of its allowed pools with room to grow whose GPUs can
// host it. One node at a time per model: a model waiting for a node asks for no other.
bool Simulation::request_node(std::uint32_t model) {
  ModelState& m = models_[model];
  // One node at a time per model, while it is on its way up; once up it may have gone to
  // another model, and this one may ask again.
  if (m.awaited_node != kNoNode && node_epoch_[m.awaited_node] == kProvisioning) return false;
  const ModelSpec& spec = setup_.scenario.models[model];
  const PlacementRequest request = placement_request(model);
  for (std::uint32_t p = 0; p < setup_.scenario.pools.size(); ++p) {
    const PoolSpec& pool = setup_.scenario.pools[p];
    if (!spec.pools.empty() && std::find(spec.pools.begin(), spec.pools.end(), p) == spec.pools.end()) continue;
    if (pool.gpus_per_node < spec.gpus_per_replica ||
        gpu_types_[pool.gpu_type].memory_bytes < request.min_gpu_memory)
      continue;
    if (pools_[p].up + pools_[p].pending >= pool.max_nodes) continue;
    const std::uint32_t first = pool_first_node(p);
    for (std::uint32_t n = first; n < first + static_cast<std::uint32_t>(pool.max_nodes); ++n) {
      if (nodes_[n].up || node_epoch_[n] == kProvisioning) continue;
      node_epoch_[n] = kProvisioning;
      ++pools_[p].pending;
      m.awaited_node = n;
      m.node_requested = now_;
      const Distribution& d = pool.provisioning_time;
      RngStream& rng = pools_[p].provisioning;
      double seconds = d.a;
      if (d.kind == Distribution::Kind::Uniform) seconds = rng.uniform(d.a, d.b);
      if (d.kind == Distribution::Kind::Lognormal) seconds = rng.lognormal(std::log(d.a), d.b);
      if (d.kind == Distribution::Kind::Exponential) seconds = rng.exponential(d.a);
      if (d.max > 0) seconds = std::min(seconds, d.max);
      schedule(now_ + ceil_ns(seconds), EventKind::NodeUp, n, 0, model);
      return true;
    }
  }
  return false;
}

void Simulation::on_node_up(std::uint32_t n, std::uint32_t model) {
  NodeView& node = nodes_[n];
  node.up = true;
  if (jobs_) jobs_->capacity_added();  // jobs that did not fit may now
  node_epoch_[n] = 0;
  prefetch_at_start(node);
  --pools_[node.pool].pending;
  ++pools_[node.pool].usage.provisioned;
  count_nodes(node.pool, +1);
  for (auto* o : observers_) o->on_node(now_, n, true);
  // Idle until a replica lands on it.
  schedule(now_ + setup_.scenario.pools[node.pool].node_idle_timeout, EventKind::NodeIdle, n, node_epoch_[n]);
  request_evaluation(model, now_);
}

void Simulation::on_node_idle(std::uint32_t n) {
  NodeView& node = nodes_[n];
  if (!node.up || node.replicas > 0) return;
  // Co-located jobs keep a grown node up while they run on it: look again a timeout later.
  const bool jobs_on_it = std::any_of(node.gpus.begin(), node.gpus.end(), [](const GpuSlot& g) { return g.holders > 0; }) ||
                          node.cpu_used > 1e-9 || node.host_memory_used > 1.0;
  if (jobs_on_it) {
    // (at least a minute later: a timeout of 0 must not re-check at the same instant for ever)
    schedule(now_ + std::max(setup_.scenario.pools[node.pool].node_idle_timeout, 60 * kSecond), EventKind::NodeIdle,
             node.id, node_epoch_[node.id]);
    return;
  }
  // A fresh machine next time: nothing cached, no images, no adapters.
  node.up = false;
  for (const CacheEntry& e : node.disk_cache) setup_.cache->on_evict(CacheTier::Disk, e, node);
  for (const CacheEntry& e : node.host_cache) setup_.cache->on_evict(CacheTier::HostMemory, e, node);
  node.disk_cache.clear();
  node.host_cache.clear();
  node_adapters_[n].clear();
  node.disk_cache_used = node.host_cache_used = 0;
  node.images.clear();
  ++pools_[node.pool].usage.released;
  count_nodes(node.pool, -1);
  for (auto* o : observers_) o->on_node(now_, n, false);
  for (ModelState& m : models_)
    if (m.awaited_node == n) m.awaited_node = kNoNode;
}

void Simulation::make_ready(std::uint32_t rep_id) {
  Replica& rep = replicas_[rep_id];
  ModelState& m = models_[rep.info.model];
  m.starting.erase(std::find(m.starting.begin(), m.starting.end(), rep_id));
  m.ready.insert(std::lower_bound(m.ready.begin(), m.ready.end(), rep_id), rep_id);
  rep.phase = ReplicaPhase::Ready;
  rep.progress_time = now_;
  for (auto* o : observers_) o->on_replica_phase(now_, rep.info, ReplicaPhase::Ready);
  if (m.buffer.empty()) return;
  while (!m.buffer.empty()) {
    for (auto* o : observers_) o->on_request_dispatched(now_, rep.info.model);
    route(m.buffer.pop());
  }
  arm_buffer_timer(rep.info.model);
}

void Simulation::drain(std::uint32_t rep_id) {
  Replica& rep = replicas_[rep_id];
  ModelState& m = models_[rep.info.model];
  if (rep.phase == ReplicaPhase::Ready) {
    m.ready.erase(std::find(m.ready.begin(), m.ready.end(), rep_id));
    rep.phase = ReplicaPhase::Draining;
    ++m.draining;
    for (auto* o : observers_) o->on_replica_phase(now_, rep.info, ReplicaPhase::Draining);
    if (rep.outstanding == 0) stop(rep_id);
    return;
  }
  // Still starting: abandon the cold start.
  m.starting.erase(std::find(m.starting.begin(), m.starting.end(), rep_id));
  ++rep.epoch;
  if (rep.transfer != TransferNetwork::kNone) {
    network_.cancel(now_, rep.transfer);
    rep.transfer = TransferNetwork::kNone;
    reschedule_transfers();
  }
  rep.cold.aborted = true;
  rep.cold.ready = now_;
  for (auto* o : observers_) o->on_cold_start(rep.cold);
  ++m.draining;  // stop() counts it down
  stop(rep_id);
}

void Simulation::stop(std::uint32_t rep_id) {
  Replica& rep = replicas_[rep_id];
  NodeView& node = nodes_[rep.info.node];
  for (int g : rep.gpus) {
    GpuSlot& slot = node.gpus[static_cast<std::size_t>(g)];
    slot.memory_used -= rep.memory_per_gpu;
    if (slot.memory_used < 1.0) slot.memory_used = 0;
    slot.holders -= 1;
    slot.milli_used = 0;
    ++node.free_gpus;
  }
  --node.replicas;
  --models_[rep.info.model].draining;
  // A node the pool grew by goes back after standing empty for the pool's idle timeout.
  const PoolSpec& pool = setup_.scenario.pools[node.pool];
  if (node.replicas == 0 && node.id - pool_first_node(node.pool) >= static_cast<std::uint32_t>(pool.nodes))
    schedule(now_ + pool.node_idle_timeout, EventKind::NodeIdle, node.id, node_epoch_[node.id]);
  rep.phase = ReplicaPhase::Stopped;
  ++rep.epoch;
  rep.gpus.clear();
  if (jobs_) jobs_->resources_changed(now_);  // jobs may use the freed GPUs
  bool cancelled = false;
  for (const AdapterSlot& slot : rep.adapters)
    if (slot.loading && slot.transfer != TransferNetwork::kNone) {
      network_.cancel(now_, slot.transfer);
      cancelled = true;
    }
  rep.adapters.clear();
  if (cancelled) reschedule_transfers();
  for (auto* o : observers_) o->on_replica_phase(now_, rep.info, ReplicaPhase::Stopped);
}

}  // namespace fleetsim
