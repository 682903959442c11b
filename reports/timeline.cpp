// The Chrome trace-event file of a run (see timeline.hpp for the layout and the size rules).
// Events are written by hand into a buffer flushed every MiB: a day of batch steps is millions
// of events, and building a JSON object per event would cost more than the simulation. Every
// string that comes from the scenario (model, pool and GPU names) is quoted by nlohmann::json
// once, up front; the file's head and tail (small objects) are written with nlohmann::json too.
#include "reports/timeline.hpp"

#include <algorithm>
#include <charconv>
#include <ostream>

#include <nlohmann/json.hpp>

namespace fleetsim {

namespace {

constexpr std::size_t kFlushBytes = 1 << 20;

std::string quoted(const std::string& text) {
  return nlohmann::json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void append_int(std::string& out, std::int64_t value) {
  char digits[24];
  auto [end, ec] = std::to_chars(digits, digits + sizeof digits, value);
  out.append(digits, end);
}

// Nanoseconds as microseconds, exactly: "1234" or "1234.567".
void append_us(std::string& out, SimTime ns) {
  if (ns < 0) {
    out += '-';
    ns = -ns;
  }
  append_int(out, ns / 1000);
  const int frac = static_cast<int>(ns % 1000);
  if (frac == 0) return;
  out += '.';
  out += static_cast<char>('0' + frac / 100);
  out += static_cast<char>('0' + frac / 10 % 10);
  out += static_cast<char>('0' + frac % 10);
}

void append_number(std::string& out, double value) {
  if (!(value == value) || value > 1e300 || value < -1e300) value = 0;  // never NaN or inf in JSON
  char digits[32];
  auto [end, ec] = std::to_chars(digits, digits + sizeof digits, value);
  out.append(digits, end);
}

const char* phase_slice_name(ReplicaPhase phase) {
  switch (phase) {
    case ReplicaPhase::PullingImage: return "\"image pull\"";
    case ReplicaPhase::LoadingWeights: return "\"weight load\"";
    case ReplicaPhase::StartingEngine: return "\"engine start-up\"";
    default: return nullptr;
  }
}

bool starting(ReplicaPhase phase) {
  return phase == ReplicaPhase::PullingImage || phase == ReplicaPhase::LoadingWeights ||
         phase == ReplicaPhase::StartingEngine;
}

}  // namespace

TimelineWriter::TimelineWriter(const Scenario& scenario, std::span<const NodeView> nodes, std::ostream& out,
                               TimelineOptions options)
    : out_(out), options_(options), scenario_name_(scenario.name), seed_(scenario.seed) {
  for (const ModelSpec& m : scenario.models) {
    model_names_.push_back(quoted(m.name));
    model_plain_names_.push_back(m.name);
  }
  for (const NodeView& node : nodes) {
    std::string name = "node " + std::to_string(node.id);
    if (node.pool < scenario.pools.size()) name += " · " + scenario.pools[node.pool].name;
    name += " (" + std::to_string(node.gpus.size()) + "× " + (node.gpu_type ? node.gpu_type->name : "?") + ")";
    node_names_.push_back(std::move(name));
  }
  node_named_.assign(node_names_.size(), false);
  node_thread_named_.assign(node_names_.size(), false);
  node_up_since_.assign(node_names_.size(), kNever);
  lanes_.resize(model_names_.size());
  buf_.reserve(kFlushBytes + 4096);
  buf_ += "{\"displayTimeUnit\":\"ms\",\"traceEvents\":[";
  // Requests' processes are named up front: one per model, after the nodes.
  if (options_.request_sample > 0)
    for (std::uint32_t m = 0; m < model_names_.size(); ++m)
      metadata("process_name", request_pid(m), 0,
               "requests · " + scenario.models[m].name +
                   (options_.request_sample == 1 ? std::string(" (all)")
                                                 : " (1 in " + std::to_string(options_.request_sample) + ")"),
               static_cast<std::int64_t>(node_names_.size() + m + 1));
}

TimelineWriter::~TimelineWriter() = default;

std::uint32_t TimelineWriter::request_pid(std::uint32_t model) const {
  return static_cast<std::uint32_t>(node_names_.size()) + model + 1;
}

// ---------------------------------------------------------------- writing events

void TimelineWriter::event(char ph, std::uint32_t pid, std::uint32_t tid, SimTime ts) {
  buf_ += first_event_ ? "\n{\"ph\":\"" : ",\n{\"ph\":\"";
  first_event_ = false;
  buf_ += ph;
  buf_ += "\",\"pid\":";
  append_int(buf_, pid);
  buf_ += ",\"tid\":";
  append_int(buf_, tid);
  buf_ += ",\"ts\":";
  append_us(buf_, ts);
}

void TimelineWriter::name_field(const std::string& quoted_name, const char* cat) {
  buf_ += ",\"name\":";
  buf_ += quoted_name;
  buf_ += ",\"cat\":\"";
  buf_ += cat;
  buf_ += '"';
}

void TimelineWriter::dur_field(SimTime dur) {
  buf_ += ",\"dur\":";
  append_us(buf_, dur);
}

void TimelineWriter::close() {
  buf_ += '}';
  flush_if_full();
}

void TimelineWriter::slice(std::uint32_t pid, std::uint32_t tid, const std::string& quoted_name, const char* cat,
                           SimTime start, SimTime end) {
  event('X', pid, tid, start);
  dur_field(end - start);
  name_field(quoted_name, cat);
}

void TimelineWriter::metadata(const char* what, std::uint32_t pid, std::uint32_t tid, const std::string& name,
                              std::int64_t sort_index) {
  const bool thread = what[0] == 't';
  nlohmann::json e = {{"ph", "M"}, {"pid", pid}, {"tid", tid}, {"name", what}, {"args", {{"name", name}}}};
  buf_ += first_event_ ? "\n" : ",\n";
  first_event_ = false;
  buf_ += e.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  e["name"] = thread ? "thread_sort_index" : "process_sort_index";
  e["args"] = {{"sort_index", sort_index}};
  buf_ += ",\n";
  buf_ += e.dump();
  flush_if_full();
}

void TimelineWriter::flush_if_full() {
  if (buf_.size() >= kFlushBytes) flush();
}

void TimelineWriter::flush() {
  out_.write(buf_.data(), static_cast<std::streamsize>(buf_.size()));
  flushed_bytes_ += buf_.size();
  buf_.clear();
}

bool TimelineWriter::detail_allowed(SimTime now) {
  if (counts_.detail_stopped != kNever) return false;
  if (flushed_bytes_ + buf_.size() < options_.detail_limit_bytes) return true;
  counts_.detail_stopped = now;
  return false;
}

void TimelineWriter::name_node(std::uint32_t node) {
  if (node >= node_named_.size() || node_named_[node]) return;
  node_named_[node] = true;
  metadata("process_name", node + 1, 0, node_names_[node], node);
}

// ---------------------------------------------------------------- replicas and cold starts

void TimelineWriter::on_replica_placed(SimTime now, const ReplicaInfo& r) {
  name_node(r.node);
  if (replicas_.size() <= r.id) replicas_.resize(r.id + 1);
  ReplicaTrack& t = replicas_[r.id];
  t.pid = r.node + 1;
  t.alive = true;
  t.phase = ReplicaPhase::Ready;  // until a cold-start phase begins (a warm start has none)
  metadata("thread_name", t.pid, r.id + 1,
           "replica " + std::to_string(r.id) + " · " + model_plain_names_.at(r.model) + " (" + std::to_string(r.gpus) +
               (r.gpus == 1 ? " GPU)" : " GPUs)"),
           r.id + 1);
  event('B', t.pid, r.id + 1, now);
  name_field(model_names_[r.model], "replica");
  buf_ += ",\"args\":{\"replica\":";
  append_int(buf_, r.id);
  buf_ += ",\"gpus\":";
  append_int(buf_, r.gpus);
  buf_ += '}';
  close();
}

// The phase under way on `replica` ends now: its slice (if it took any time).
void TimelineWriter::close_phase(std::uint32_t replica, SimTime now) {
  ReplicaTrack& t = replicas_[replica];
  if (!starting(t.phase)) return;
  if (now > t.phase_start) {
    event('X', t.pid, replica + 1, t.phase_start);
    dur_field(now - t.phase_start);
    buf_ += ",\"name\":";
    buf_ += phase_slice_name(t.phase);
    buf_ += ",\"cat\":\"cold-start\"";
    close();
  }
  t.phase = ReplicaPhase::Ready;
}

void TimelineWriter::on_replica_phase(SimTime now, const ReplicaInfo& r, ReplicaPhase phase) {
  if (r.id >= replicas_.size() || !replicas_[r.id].alive) return;
  ReplicaTrack& t = replicas_[r.id];
  if (starting(phase)) {
    if (phase == ReplicaPhase::PullingImage && !t.cold_open) {
      t.cold_open = true;
      event('B', t.pid, r.id + 1, now);
      buf_ += ",\"name\":\"cold start\",\"cat\":\"cold-start\"";
      close();
    }
    close_phase(r.id, now);
    t.phase = phase;
    t.phase_start = now;
    return;
  }
  if (phase == ReplicaPhase::Draining) {
    t.drained = now;
    return;
  }
  if (phase == ReplicaPhase::Stopped) {
    close_phase(r.id, now);
    if (t.cold_open) {  // (on_cold_start closes it; this is only a safeguard)
      t.cold_open = false;
      event('E', t.pid, r.id + 1, now);
      close();
    }
    event('E', t.pid, r.id + 1, now);
    if (t.drained != kNever) {
      buf_ += ",\"args\":{\"drained_s\":";
      append_number(buf_, to_seconds(t.drained));
      buf_ += '}';
    }
    close();
    t.alive = false;
  }
}

void TimelineWriter::on_cold_start(const ColdStartRecord& c) {
  const std::uint32_t id = c.replica.id;
  if (id >= replicas_.size() || !replicas_[id].cold_open) return;
  ReplicaTrack& t = replicas_[id];
  close_phase(id, c.ready);
  t.cold_open = false;
  event('E', t.pid, id + 1, c.ready);
  buf_ += ",\"args\":{\"weights_from\":\"";
  buf_ += weight_source_name(c.source);
  buf_ += "\",\"node_provision_s\":";
  append_number(buf_, to_seconds(c.node_provision));
  buf_ += ",\"aborted\":";
  buf_ += c.aborted ? "true" : "false";
  buf_ += '}';
  close();
}

// ---------------------------------------------------------------- batch steps and requests

void TimelineWriter::on_batch_step(const BatchStepRecord& s) {
  const std::uint32_t id = s.replica.id;
  if (s.end <= s.start || id >= replicas_.size() || !replicas_[id].alive) return;
  if (!detail_allowed(s.end)) return;
  ++counts_.batch_steps;
  event('X', replicas_[id].pid, id + 1, s.start);
  dur_field(s.end - s.start);
  if (s.prefill) {
    buf_ += ",\"name\":\"prefill\",\"cat\":\"batch\",\"args\":{\"requests\":";
    append_int(buf_, s.sequences);
    buf_ += ",\"prompt_tokens\":";
  } else {
    buf_ += ",\"name\":\"decode\",\"cat\":\"batch\",\"args\":{\"sequences\":";
    append_int(buf_, s.sequences);
    buf_ += ",\"iterations\":";
  }
  append_number(buf_, s.tokens);
  buf_ += "}";
  close();
}

void TimelineWriter::on_request_end(const RequestResult& r) {
  if (options_.request_sample == 0 || r.serial % options_.request_sample != 0) return;
  if (r.model >= lanes_.size()) return;
  if (!detail_allowed(r.end)) {
    ++counts_.requests_after_limit;
    return;
  }
  // The lowest lane free at the request's arrival. Requests are written when they end, in end
  // order, so on a lane each starts after the one written before it ended.
  std::vector<SimTime>& lanes = lanes_[r.model];
  std::size_t lane = 0;
  while (lane < lanes.size() && lanes[lane] > r.arrival) ++lane;
  if (lane == lanes.size()) {
    if (lanes.size() >= kMaxLanes) {
      ++counts_.requests_without_lane;
      return;
    }
    lanes.push_back(0);
    metadata("thread_name", request_pid(r.model), static_cast<std::uint32_t>(lane + 1),
             "lane " + std::to_string(lane), static_cast<std::int64_t>(lane));
  }
  lanes[lane] = r.end;
  ++counts_.requests_drawn;
  const std::uint32_t pid = request_pid(r.model);
  const std::uint32_t tid = static_cast<std::uint32_t>(lane + 1);
  event('X', pid, tid, r.arrival);
  dur_field(r.end - r.arrival);
  buf_ += ",\"name\":\"";
  buf_ += r.outcome == RequestOutcome::Completed ? "request" : outcome_name(r.outcome);
  buf_ += "\",\"cat\":\"request\",\"args\":{\"serial\":";
  append_int(buf_, static_cast<std::int64_t>(r.serial));
  buf_ += ",\"model\":";
  buf_ += model_names_[r.model];
  buf_ += ",\"input_tokens\":";
  append_int(buf_, r.input_tokens);
  buf_ += ",\"output_tokens\":";
  append_int(buf_, r.output_tokens);
  if (r.replica != kNoReplica) {
    buf_ += ",\"replica\":";
    append_int(buf_, r.replica);
  }
  buf_ += ",\"outcome\":\"";
  buf_ += outcome_name(r.outcome);
  buf_ += "\"}";
  close();
  // Its parts, in time order; each within [arrival, end].
  auto part = [&](const char* name, SimTime from, SimTime to) {
    from = std::clamp(from, r.arrival, r.end);
    to = std::clamp(to, from, r.end);
    if (to <= from) return;
    event('X', pid, tid, from);
    dur_field(to - from);
    buf_ += ",\"name\":\"";
    buf_ += name;
    buf_ += "\",\"cat\":\"request\"}";
    flush_if_full();
  };
  part("waiting for a replica", r.arrival, r.dispatched);
  if (r.outcome == RequestOutcome::Completed) {
    part("to first token", r.dispatched, r.first_token);
    part("decode", r.first_token, r.end);
  } else if (r.replica != kNoReplica) {
    part("on a replica", r.dispatched, r.end);
  }
}

// ---------------------------------------------------------------- nodes and the end

void TimelineWriter::on_node(SimTime now, std::uint32_t node, bool up) {
  if (node >= node_names_.size()) return;
  name_node(node);
  if (up && node_up_since_[node] == kNever) {
    node_up_since_[node] = now;
    if (!node_thread_named_[node]) {
      node_thread_named_[node] = true;
      metadata("thread_name", node + 1, 0, "node", -1);
    }
    event('B', node + 1, 0, now);
    buf_ += ",\"name\":\"up\",\"cat\":\"node\"";
    close();
  } else if (!up && node_up_since_[node] != kNever) {
    node_up_since_[node] = kNever;
    event('E', node + 1, 0, now);
    close();
  }
}

void TimelineWriter::on_run_end(SimTime end) {
  if (finished_) return;
  for (std::uint32_t id = 0; id < replicas_.size(); ++id) {
    ReplicaTrack& t = replicas_[id];
    if (!t.alive) continue;
    close_phase(id, end);
    if (t.cold_open) {
      t.cold_open = false;
      event('E', t.pid, id + 1, end);
      buf_ += ",\"args\":{\"unfinished\":true}";
      close();
    }
    event('E', t.pid, id + 1, end);
    buf_ += ",\"args\":{\"running_at_end\":true}";
    close();
    t.alive = false;
  }
  for (std::uint32_t n = 0; n < node_up_since_.size(); ++n)
    if (node_up_since_[n] != kNever) {
      node_up_since_[n] = kNever;
      event('E', n + 1, 0, end);
      close();
    }
  nlohmann::json other = {
      {"generator", "fleetsim"},
      {"scenario", scenario_name_},
      {"seed", seed_},
      {"end_s", to_seconds(end)},
      {"request_sample", options_.request_sample},
      {"requests_drawn", counts_.requests_drawn},
      {"requests_without_lane", counts_.requests_without_lane},
      {"requests_after_limit", counts_.requests_after_limit},
      {"batch_steps", counts_.batch_steps},
      {"detail_limit_bytes", options_.detail_limit_bytes},
      {"detail_stopped_s", counts_.detail_stopped == kNever ? nlohmann::json(nullptr)
                                                            : nlohmann::json(to_seconds(counts_.detail_stopped))}};
  buf_ += "\n],\"otherData\":";
  buf_ += other.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  buf_ += "}\n";
  flush();
  out_.flush();
  finished_ = true;
}

bool TimelineWriter::ok() const { return finished_ && static_cast<bool>(out_); }

}  // namespace fleetsim
