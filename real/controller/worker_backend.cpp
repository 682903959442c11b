#include "real/controller/worker_backend.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <thread>

#include "policies/registry.hpp"
#include "real/worker/model_file.hpp"
#include "real/store/store_server.hpp"
#include "real/worker/weight_store.hpp"
#include "real/worker/worker_process.hpp"

namespace fleetsim::real {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// The interrupt's self-pipe: the handler only writes a byte (async-signal-safe); wait() polls
// the read end beside the workers' sockets. One backend at a time installs it.
int g_pipe[2] = {-1, -1};
volatile std::sig_atomic_t g_signal = 0;
struct sigaction g_previous[2];
constexpr int kSignals[2] = {SIGINT, SIGTERM};

extern "C" void on_interrupt(int sig) {
  g_signal = sig;
  const int saved = errno;
  const char byte = 1;
  [[maybe_unused]] const ssize_t ignored = ::write(g_pipe[1], &byte, 1);
  errno = saved;
}

constexpr std::int64_t kDeployTimeoutMs = 120'000;
constexpr std::int64_t kStopGraceNs = 2'000'000'000;

}  // namespace

Diagnostics real_mode_problems(const Scenario& scenario) {
  Diagnostics problems;
  auto add = [&](const std::string& path, const std::string& message) {
    problems.add(Diagnostic{scenario.source_file, 0, 0, path, message});
  };
  for (std::size_t i = 0; i < scenario.models.size(); ++i) {
    const ModelSpec& m = scenario.models[i];
    const std::string path = "models[" + std::to_string(i) + "]";
    if (m.kind != ModelSpec::Kind::Llm)
      add(path, "model '" + m.name + "' is a service-time model: real mode serves LLM models only (so far)");
    else if (m.parameters <= 0)
      add(path + ".parameters", "model '" + m.name + "' states no parameters: real mode needs weights to load");
    if (!m.adapters.empty()) add(path + ".adapters", "LoRA adapters are not run in real mode yet");
    if (m.chunked_prefill) add(path + ".chunked_prefill", "chunked prefill is not run in real mode yet");
    if (m.kv_preemption == ModelSpec::KvPreemption::Swap)
      add(path + ".kv_preemption", "swap preemption is not run in real mode yet (its workers reserve, never preempt)");
    if (m.kv_offload()) add(path + ".kv_offload", "KV offload tiers are not run in real mode yet");
    if (m.role == ModelSpec::Role::Prefill)
      add(path + ".disaggregated", "disaggregated prefill and decode are not run in real mode yet");
  }
  if (scenario.jobs.enabled) add("jobs", "co-located jobs are not run in real mode yet");
  return problems;
}

WorkerBackend::WorkerBackend(const Scenario& scenario, ModelScaling models, WorkerBackendOptions options)
    : scenario_(scenario), models_(std::move(models)), options_(std::move(options)) {
  std::error_code ec;
  if (const fs::path exe = fs::canonical(options_.worker_binary, ec); !ec) options_.worker_binary = exe.string();
  if (options_.catch_signals && g_pipe[0] < 0 && ::pipe2(g_pipe, O_CLOEXEC | O_NONBLOCK) == 0) {
    g_signal = 0;
    struct sigaction action {};
    action.sa_handler = on_interrupt;
    action.sa_flags = SA_RESETHAND;  // a second interrupt kills the controller (its workers die with it)
    sigemptyset(&action.sa_mask);
    for (int i = 0; i < 2; ++i) ::sigaction(kSignals[i], &action, &g_previous[i]);
    signals_installed_ = true;
  }
}

WorkerBackend::~WorkerBackend() {
  shutdown();
  if (signals_installed_) {
    for (int i = 0; i < 2; ++i) ::sigaction(kSignals[i], &g_previous[i], nullptr);
    ::close(g_pipe[0]);
    ::close(g_pipe[1]);
    g_pipe[0] = g_pipe[1] = -1;
  }
}

std::string WorkerBackend::prepare() {
  std::error_code ec;
  fs::create_directories(store_dir(), ec);
  if (ec) return "cannot make " + store_dir() + ": " + ec.message();
  for (const ScaledModel& m : models_.models)
    if (const std::string why = write_model_file(store_dir() + "/" + m.file, m.shape, m.seed); !why.empty())
      return "model '" + m.name + "': " + why;
  // The model store serves the folder over loopback HTTP (no bandwidth limit yet: the scaled
  // models are far smaller than the scenario's, so its link rates would not carry over).
  StoreOptions store;
  store.directory = store_dir();
  store_server_ = std::make_unique<StoreServer>(store);
  if (const std::string why = store_server_->start(); !why.empty()) return "the model store: " + why;
  return "";
}

std::string WorkerBackend::store_location() const {
  return "http://127.0.0.1:" + std::to_string(store_server_ ? store_server_->port() : 0);
}

std::string WorkerBackend::node_dir(std::uint32_t node) const {
  return options_.work_dir + "/node-" + std::to_string(node);
}

std::string WorkerBackend::cache_file(std::uint32_t node, std::uint32_t model) const {
  std::error_code ec;
  fs::create_directories(node_dir(node), ec);
  return node_dir(node) + "/" + models_.models[model].file;
}

WorkerBackend::Worker* WorkerBackend::worker(std::uint32_t replica) {
  return replica < workers_.size() ? workers_[replica].get() : nullptr;
}

SimTime WorkerBackend::run_time(std::int64_t monotonic) const {
  const double t = static_cast<double>(monotonic - start_) * options_.speedup;
  return t <= 0 ? 0 : static_cast<SimTime>(t);
}

std::int64_t WorkerBackend::wall_time(SimTime run) const {
  return start_ + static_cast<std::int64_t>(static_cast<double>(run) / options_.speedup);
}

std::string WorkerBackend::describe(const Worker& w) const {
  return "the worker of replica " + std::to_string(w.replica.id) + " (model '" +
         scenario_.models[w.replica.model].name + "', node " + std::to_string(w.replica.node) + ")";
}

void WorkerBackend::start_clock() {
  start_ = monotonic_ns();
  computing_since_ = start_;
  started_ = true;
}

bool WorkerBackend::busy() const {
  for (const auto& w : workers_)
    if (w && !w->stopped && (w->loading || !w->requests.empty())) return true;
  return false;
}

void WorkerBackend::note_computing() {
  int computing = 0;
  for (const auto& w : workers_)
    if (w && !w->stopped && (w->loading || !w->requests.empty())) ++computing;
  const std::int64_t now = monotonic_ns();
  if (computing_ > options_.cores) facts_.contended_seconds += static_cast<double>(now - computing_since_) * 1e-9;
  computing_since_ = now;
  computing_ = computing;
  facts_.peak_computing = std::max(facts_.peak_computing, computing);
}

void WorkerBackend::spawn(const ReplicaInfo& replica) {
  if (workers_.size() <= replica.id) workers_.resize(replica.id + 1);
  auto w = std::make_unique<Worker>();
  w->replica = replica;
  w->loading = true;
  std::string error;
  const WorkerProcess process = start_worker_process(options_.worker_binary, options_.plugins, error);
  if (process.pid < 0) {
    early_.push_back(BackendEvent{BackendEvent::Kind::Stop, run_time(monotonic_ns()), replica.id, 0, error});
    w->stopped = true;
    workers_[replica.id] = std::move(w);
    return;
  }
  w->pid = process.pid;
  w->channel = std::make_unique<Channel>(process.fd);
  workers_[replica.id] = std::move(w);
  ++facts_.spawned;
  facts_.peak_live = std::max(facts_.peak_live, ++live_);
  note_computing();
}

void WorkerBackend::send_load(Worker& w, WeightSource source, double kv_capacity_tokens) {
  const std::uint32_t model = w.replica.model;
  const ModelSpec& spec = scenario_.models[model];
  json message = {{"op", "load"},
                  {"kv_tokens", kv_capacity_tokens},
                  {"max_batch", spec.max_batch},
                  {"max_prefill_tokens", spec.max_prefill_tokens},
                  {"model", model},
                  {"backend", options_.model_backend},
                  {"t0", start_}};
  json batching = {{"impl", scenario_.batching.impl}};
  for (const auto& [name, value] : scenario_.batching.params.numbers()) batching[name] = value;
  message["batching"] = batching;
  const std::string cached = cache_file(w.replica.node, model);
  std::error_code ec;
  if (source != WeightSource::ModelStore && fs::exists(cached, ec)) {
    message["path"] = cached;
  } else {  // a miss: fetched into a staging file, which the cache policy may then admit
    w.staged = node_dir(w.replica.node) + "/.fetch-r" + std::to_string(w.replica.id) + ".bin";
    message["path"] = w.staged;
    message["fetch"] = {{"store", store_location()}, {"name", models_.models[model].file}};
  }
  w.channel->send(message);  // a worker that has gone is noticed by wait()
}

void WorkerBackend::load(const ReplicaInfo& replica, WeightSource source, double kv_capacity_tokens) {
  if (Worker* w = worker(replica.id); w && !w->stopped) send_load(*w, source, kv_capacity_tokens);
}

void WorkerBackend::deploy(const ReplicaInfo& replica, double kv_capacity_tokens) {
  const std::int64_t before = monotonic_ns();
  spawn(replica);
  Worker* w = worker(replica.id);
  if (w && !w->stopped) {
    send_load(*w, WeightSource::DiskCache, kv_capacity_tokens);  // the node's cache, where the engine put it
    std::vector<BackendEvent> reports;
    while (w->loading && !w->stopped) {
      auto message = w->channel->receive(static_cast<int>(kDeployTimeoutMs));
      if (!message) {
        if (w->channel->closed())
          worker_gone(*w, reports);
        else
          fail(reports, describe(*w) + " did not load within " + std::to_string(kDeployTimeoutMs / 1000) + " s");
        break;
      }
      handle(*w, *message, reports);
    }
    // The replica is ready at t = 0: its phases are no cold start. Only a failure counts.
    for (BackendEvent& e : reports)
      if (e.kind == BackendEvent::Kind::Stop || e.kind == BackendEvent::Kind::ReplicaFailed)
        early_.push_back(std::move(e));
  }
  if (started_) start_ += monotonic_ns() - before;  // the clock stood still
}

void WorkerBackend::submit(const ReplicaInfo& replica, const BackendRequest& request) {
  Worker* w = worker(replica.id);
  if (!w || w->stopped) return;
  w->requests[request.serial] = request.id;
  w->channel->send({{"op", "request"},
                    {"id", request.serial},
                    {"input", request.input_tokens},
                    {"output", request.output_tokens},
                    {"arrival", static_cast<std::int64_t>(static_cast<double>(request.arrival) / options_.speedup)},
                    {"lora", request.adapter}});
  note_computing();
}

void WorkerBackend::stop(const ReplicaInfo& replica) {
  Worker* w = worker(replica.id);
  if (!w || w->stopped) return;
  w->channel->send({{"op", "stop"}});
  ::close(w->channel->fd());
  w->stopped = true;
  w->loading = false;
  w->requests.clear();
  exiting_.push_back(w->pid);
  --live_;
  note_computing();
}

// A real kill: the process gets no chance to say goodbye. wait() notices its socket close and
// reports the replica failed (worker_gone), as for a worker that died on its own.
void WorkerBackend::kill(const ReplicaInfo& replica) {
  Worker* w = worker(replica.id);
  if (!w || w->stopped || w->pid <= 0) return;
  ::kill(w->pid, SIGKILL);
  w->killed = true;
  ++facts_.killed;
}

void WorkerBackend::store_outage(bool down) {
  if (store_server_) store_server_->set_unavailable(down);
}

void WorkerBackend::cache_changed(std::uint32_t node, std::uint32_t model, CacheTier tier, CacheEvent event) {
  if (tier != CacheTier::Disk || model >= models_.models.size()) return;
  const std::string path = cache_file(node, model);
  std::error_code ec;
  if (event == CacheEvent::Evict) {
    if (fs::remove(path, ec)) ++facts_.files_deleted;
    return;
  }
  if (event != CacheEvent::Insert || fs::exists(path, ec)) return;
  for (auto it = staged_.begin(); it != staged_.end(); ++it)
    if (it->node == node && it->model == model) {  // the fetch that just loaded: kept
      fs::rename(it->path, path, ec);
      staged_.erase(it);
      if (!ec) {
        ++facts_.files_written;
        return;
      }
      break;
    }
  // Admitted without a fetch of ours (a prefetch, a warm start): copied from the store here,
  // the clock standing still meanwhile.
  const std::int64_t before = monotonic_ns();
  std::string why;
  if (auto store = open_weight_store(store_location(), why)) {
    const FetchResult got = store->fetch(models_.models[model].file, path);
    if (got.error.empty())
      ++facts_.files_written;
    else
      early_.push_back(BackendEvent{BackendEvent::Kind::Stop, run_time(before), 0, 0,
                                    "cannot fill node " + std::to_string(node) + "'s cache: " + got.error});
  }
  if (started_) start_ += monotonic_ns() - before;
}

void WorkerBackend::fail(std::vector<BackendEvent>& out, const std::string& why) {
  out.push_back(BackendEvent{BackendEvent::Kind::Stop, run_time(monotonic_ns()), 0, 0, why});
}

void WorkerBackend::worker_gone(Worker& w, std::vector<BackendEvent>& out) {
  std::string how = "exited";
  int status = 0;
  if (::waitpid(w.pid, &status, WNOHANG) == w.pid) {
    how = WIFSIGNALED(status) ? "was killed by signal " + std::to_string(WTERMSIG(status))
                              : "exited with status " + std::to_string(WEXITSTATUS(status));
  } else {
    exiting_.push_back(w.pid);
  }
  // One that never said hello cannot start at all (a broken binary): replacing it would fail
  // the same way, again and again, so that stops the run. Any other death fails the replica.
  if (!w.started && !w.killed)
    fail(out, describe(w) + " " + how + " before it started");
  else
    out.push_back(BackendEvent{BackendEvent::Kind::ReplicaFailed, run_time(monotonic_ns()), w.replica.id, 0,
                               describe(w) + " " + how + (w.killed ? " (an injected fault)" : " unexpectedly")});
  ++facts_.died;
  if (!w.staged.empty()) {  // its fetch, half written: no cache file
    std::error_code ec;
    fs::remove(w.staged, ec);
    w.staged.clear();
  }
  ::close(w.channel->fd());
  w.stopped = true;
  w.loading = false;
  w.requests.clear();
  --live_;
  note_computing();
}

void WorkerBackend::handle(Worker& w, const json& m, std::vector<BackendEvent>& out) {
  using Kind = BackendEvent::Kind;
  const std::string ev = m.value("ev", "");
  const std::uint32_t id = w.replica.id;
  if (ev == "hello") {
    w.started = true;
    out.push_back(BackendEvent{Kind::Spawned, run_time(m.value("t", std::int64_t{0})), id, 0, ""});
  } else if (ev == "loaded") {
    const std::int64_t t = m.value("t", std::int64_t{0});
    const double startup = m.value("startup_s", 0.0);
    out.push_back(BackendEvent{Kind::WeightsLoaded, run_time(t - static_cast<std::int64_t>(startup * 1e9)), id, 0, ""});
    out.push_back(BackendEvent{Kind::EngineStarted, run_time(t), id, 0, ""});
    w.loading = false;
    ++facts_.loads;
    facts_.fetched_bytes += m.value("fetched_bytes", std::uint64_t{0});
    facts_.read_bytes += m.value("bytes", std::uint64_t{0});
    facts_.direct_io = facts_.direct_io && m.value("direct", false);
    facts_.fetch_seconds += m.value("fetch_s", 0.0);
    facts_.read_seconds += m.value("read_s", 0.0);
    if (!w.staged.empty()) {
      staged_.push_back(Staged{w.replica.node, w.replica.model, w.staged});
      w.staged.clear();
    }
    note_computing();
  } else if (ev == "token") {
    const auto it = w.requests.find(m.value("id", std::uint64_t{0}));
    if (it == w.requests.end()) return;
    const SimTime t = run_time(m.value("t", std::int64_t{0}));
    if (m.value("first", false)) out.push_back(BackendEvent{Kind::FirstToken, t, id, it->second, ""});
    if (m.value("last", false)) {
      out.push_back(BackendEvent{Kind::LastToken, t, id, it->second, ""});
      w.requests.erase(it);
      note_computing();
    }
  } else if (ev == "step") {
    ++(m.value("prefill", false) ? facts_.prefill_steps : facts_.decode_steps);
  } else if (ev == "rejected") {
    fail(out, describe(w) + " rejected request " + std::to_string(m.value("id", std::uint64_t{0})) + " (" +
                  m.value("why", std::string("?")) + "), which the engine had found room for");
  } else if (ev == "error") {
    fail(out, describe(w) + ": " + m.value("message", std::string("an error")));
  }
}

SimTime WorkerBackend::wait(SimTime deadline, std::vector<BackendEvent>& out) {
  // The engine has acted on every report an earlier wait() gave: a fetch its cache policy did
  // not admit is no cache file.
  for (const Staged& s : staged_) {
    std::error_code ec;
    fs::remove(s.path, ec);
  }
  staged_.clear();
  reap(false);
  const std::size_t first = out.size();
  if (!early_.empty()) {
    for (BackendEvent& e : early_) out.push_back(std::move(e));
    early_.clear();
  }
  const std::int64_t until = wall_time(deadline);
  std::vector<pollfd> fds;
  std::vector<Worker*> owners;
  while (out.size() == first) {
    fds.clear();
    owners.clear();
    if (signals_installed_) {
      fds.push_back(pollfd{g_pipe[0], POLLIN, 0});
      owners.push_back(nullptr);
    }
    for (const auto& w : workers_)
      if (w && !w->stopped) {
        fds.push_back(pollfd{w->channel->fd(), POLLIN, 0});
        owners.push_back(w.get());
      }
    const std::int64_t left = std::max<std::int64_t>(0, until - monotonic_ns());
    const timespec timeout{static_cast<time_t>(left / 1'000'000'000), static_cast<long>(left % 1'000'000'000)};
    const int ready = ::ppoll(fds.data(), fds.size(), &timeout, nullptr);
    if (ready < 0 && errno != EINTR) {
      fail(out, std::string("poll: ") + std::strerror(errno));
      break;
    }
    for (std::size_t i = 0; ready > 0 && i < fds.size(); ++i) {
      if (fds[i].revents == 0) continue;
      if (!owners[i]) {
        char drain[64];
        while (::read(g_pipe[0], drain, sizeof drain) > 0) {
        }
        fail(out, std::string("interrupted (") + (g_signal == SIGTERM ? "SIGTERM" : "SIGINT") + ")");
        continue;
      }
      Worker& w = *owners[i];
      while (!w.stopped) {
        auto message = w.channel->receive(0);
        if (!message) break;
        handle(w, *message, out);
      }
      if (!w.stopped && w.channel->closed()) worker_gone(w, out);
    }
    if (monotonic_ns() >= until) break;
  }
  // In time order; none later than the clock (the workers' times come from the same clock).
  std::stable_sort(out.begin() + static_cast<std::ptrdiff_t>(first), out.end(),
                   [](const BackendEvent& a, const BackendEvent& b) { return a.time < b.time; });
  const SimTime clock = run_time(monotonic_ns());
  for (std::size_t i = first; i < out.size(); ++i) out[i].time = std::min(out[i].time, clock);
  return clock;
}

void WorkerBackend::reap(bool block) {
  const std::int64_t give_up = monotonic_ns() + kStopGraceNs;
  for (;;) {
    std::erase_if(exiting_, [](pid_t pid) { return ::waitpid(pid, nullptr, WNOHANG) != 0; });
    if (!block || exiting_.empty()) return;
    if (monotonic_ns() >= give_up) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  for (pid_t pid : exiting_) {  // past the grace period: killed
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
  }
  exiting_.clear();
}

void WorkerBackend::shutdown() {
  for (const auto& w : workers_)
    if (w && !w->stopped) stop(w->replica);
  reap(true);
  if (store_server_) store_server_->stop();
}

}  // namespace fleetsim::real
