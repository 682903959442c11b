#include "real/worker/worker.hpp"

#include <unistd.h>

#include <memory>

#include "policies/registry.hpp"
#include "real/worker/batch_engine.hpp"
#include "real/worker/channel.hpp"
#include "real/worker/model_file.hpp"
#include "real/worker/weight_store.hpp"

namespace fleetsim::real {

namespace {

using nlohmann::json;

double seconds_between(std::int64_t a, std::int64_t b) { return static_cast<double>(b - a) * 1e-9; }

class Worker {
 public:
  Worker(int fd, const PolicyRegistry& registry) : channel_(fd), registry_(registry) {}

  int serve() {
    channel_.send({{"ev", "hello"}, {"pid", ::getpid()}, {"t", monotonic_ns()}});
    for (;;) {
      const bool busy = engine_ && engine_->busy();
      if (auto message = channel_.receive(busy ? 0 : -1)) {
        if (!handle(*message)) return 0;
        continue;  // take every message that is waiting before the next step
      }
      if (channel_.closed()) return 0;
      if (busy) step();
    }
  }

 private:
  // False when told to stop.
  bool handle(const json& m) {
    const std::string op = m.value("op", "");
    if (op == "stop") return false;
    if (op == "load") {
      load(m);
    } else if (op == "request") {
      request(m);
    } else {
      error("unknown op \"" + op + "\"");
    }
    return true;
  }

  void error(const std::string& message) { channel_.send({{"ev", "error"}, {"message", message}}); }

  void load(const json& m) {
    if (model_) return error("load: a model is loaded already");
    const std::int64_t start = monotonic_ns();
    const std::string path = m.value("path", "");
    std::uint64_t fetched = 0;
    if (m.contains("fetch")) {  // a cache miss: from the model store into the node's folder first
      const json& fetch = m["fetch"];
      std::string why;
      const std::unique_ptr<WeightStore> store =
          open_weight_store(fetch.is_object() ? fetch.value("store", "") : "", why);
      if (!store) return error("load: " + why);
      const FetchResult got = store->fetch(fetch.value("name", ""), path);
      if (!got.error.empty()) return error("load: fetch: " + got.error);
      fetched = got.bytes;
    }
    const std::int64_t fetch_done = monotonic_ns();
    ModelFileRead file = read_model_file(path);
    if (!file.error.empty()) return error("load: " + file.error);
    const std::int64_t read = monotonic_ns();
    // The "host to device copy": into the model's own matrices (cpu), or through a pinned
    // buffer into GPU memory (cuda).
    std::string why;
    model_ = make_backend(m.value("backend", "cpu"), file.shape, file.weights, why);
    if (!model_) return error("load: " + why);
    file.weights = {};
    const std::int64_t copied = monotonic_ns();
    PolicyChoice choice;
    const json batching = m.value("batching", json::object());
    choice.impl = batching.value("impl", "fcfs");
    for (const auto& [key, value] : batching.items())
      if (key != "impl" && value.is_number()) choice.params.set_number(key, value.get<double>());
    if (!registry_.find(PolicyFamily::Batching, choice.impl)) {
      model_.reset();
      return error("load: no batching policy \"" + choice.impl + "\"");
    }
    batching_ = registry_.make_batching(choice);
    EngineLimits limits;
    limits.model = m.value("model", 0u);
    limits.max_batch = m.value("max_batch", 256u);
    limits.kv_capacity_tokens = m.value("kv_tokens", 0.0);
    limits.max_prefill_tokens = m.value("max_prefill_tokens", 8192.0);
    engine_ = std::make_unique<BatchEngine>(*model_, limits, *batching_);
    t0_ = m.value("t0", start);
    const std::int64_t ready = monotonic_ns();
    channel_.send({{"ev", "loaded"},
                   {"bytes", file.bytes},
                   {"direct", file.direct},
                   {"backend", model_->name()},
                   {"fetch_s", seconds_between(start, fetch_done)},
                   {"fetched_bytes", fetched},
                   {"read_s", seconds_between(fetch_done, read)},
                   {"copy_s", seconds_between(read, copied)},
                   {"startup_s", seconds_between(copied, ready)},
                   {"t", ready}});
  }

  void request(const json& m) {
    if (!engine_) return error("request before load");
    EngineRequest r;
    r.id = m.value("id", std::uint64_t{0});
    r.input_tokens = m.value("input", 1u);
    r.output_tokens = m.value("output", 1u);
    r.arrival = m.value("arrival", std::int64_t{0});
    r.lora = m.value("lora", false);
    if (!engine_->submit(r)) channel_.send({{"ev", "rejected"}, {"id", r.id}, {"why", "too-long"}});
  }

  void step() {
    events_.clear();
    const std::int64_t start = monotonic_ns();
    const StepSummary s = engine_->step(start - t0_, events_);
    const std::int64_t end = monotonic_ns();
    for (const TokenEvent& e : events_)
      channel_.send({{"ev", "token"}, {"id", e.id}, {"first", e.first}, {"last", e.last}, {"t", end}});
    if (s.sequences > 0)
      channel_.send({{"ev", "step"}, {"prefill", s.prefill}, {"sequences", s.sequences}, {"tokens", s.tokens},
                     {"s", seconds_between(start, end)}});
  }

  Channel channel_;
  const PolicyRegistry& registry_;
  std::unique_ptr<ModelBackend> model_;
  std::unique_ptr<BatchingPolicy> batching_;
  std::unique_ptr<BatchEngine> engine_;
  std::vector<TokenEvent> events_;
  std::int64_t t0_ = 0;
};

}  // namespace

int run_worker(int fd, const PolicyRegistry& registry) { return Worker(fd, registry).serve(); }

}  // namespace fleetsim::real
