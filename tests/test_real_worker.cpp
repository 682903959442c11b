// Real mode's worker on the cpu backend (real/worker/): the transformer's KV cache and batching
// compute what a full forward pass computes, weights come from the seed or a model file, the
// batch engine schedules prefill and decode steps by the simulator's rules (hand-computed
// sequences), and the worker process ends every request exactly once.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <map>

#include "policies/registry.hpp"
#include "real/calibration/calibrate.hpp"
#include "real/worker/batch_engine.hpp"
#include "real/worker/channel.hpp"
#include "real/worker/cpu_model.hpp"
#include "real/worker/model_file.hpp"
#include "real/worker/weight_store.hpp"
#include "tests/support.hpp"

using namespace fleetsim;
using namespace fleetsim::real;

namespace {

const ModelShape kTiny{2, 32, 4, 64, 50};

std::vector<int> tokens(int n, int salt = 0) {
  std::vector<int> t(n);
  for (int i = 0; i < n; ++i) t[i] = (7 * i + 3 + salt) % kTiny.vocab;
  return t;
}

float max_difference(const std::vector<float>& a, const std::vector<float>& b) {
  REQUIRE(a.size() == b.size());
  float worst = 0;
  for (std::size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::abs(a[i] - b[i]));
  return worst;
}

}  // namespace

TEST_CASE("the cpu model's KV cache gives what a full forward pass gives", "[real][worker]") {
  const CpuModel model(kTiny, 5);
  const std::vector<int> prompt = tokens(10);
  std::vector<float> whole(kTiny.vocab), split(kTiny.vocab), decoded(kTiny.vocab);
  KvCache a(kTiny, 10);
  model.prefill(a, prompt, whole);
  CHECK(a.length() == 10);
  // The same prompt in two prefills: 7 tokens, then the 3 that follow against the cache.
  KvCache b(kTiny, 10);
  model.prefill(b, std::span(prompt).first(7), split);
  model.prefill(b, std::span(prompt).subspan(7), split);
  CHECK(max_difference(whole, split) < 1e-4f);
  // Nine tokens of prefill, then the tenth as a decode step.
  KvCache c(kTiny, 10);
  model.prefill(c, std::span(prompt).first(9), decoded);
  KvCache* batch[] = {&c};
  const int last[] = {prompt[9]};
  model.decode(batch, last, decoded);
  CHECK(c.length() == 10);
  CHECK(max_difference(whole, decoded) < 1e-4f);
  // The logits are not all alike (the check above could not pass by accident).
  CHECK(*std::max_element(whole.begin(), whole.end()) - *std::min_element(whole.begin(), whole.end()) > 1e-3f);
  // A cache that is full takes nothing more.
  CHECK_THROWS_AS(model.decode(batch, last, decoded), std::length_error);
}

TEST_CASE("a batched decode step computes each sequence as if it were alone", "[real][worker]") {
  const CpuModel model(kTiny, 5);
  std::vector<float> ignored(kTiny.vocab);
  KvCache x(kTiny, 12), y(kTiny, 12);
  model.prefill(x, tokens(5, 1), ignored);
  model.prefill(y, tokens(8, 2), ignored);
  KvCache x_alone = x, y_alone = y;
  std::vector<float> together(2 * kTiny.vocab), alone_x(kTiny.vocab), alone_y(kTiny.vocab);
  KvCache* both[] = {&x, &y};
  const int next[] = {11, 23};
  model.decode(both, next, together);
  KvCache* only_x[] = {&x_alone};
  KvCache* only_y[] = {&y_alone};
  model.decode(only_x, std::span(next).first(1), alone_x);
  model.decode(only_y, std::span(next).subspan(1), alone_y);
  CHECK(max_difference(std::vector<float>(together.begin(), together.begin() + kTiny.vocab), alone_x) < 1e-5f);
  CHECK(max_difference(std::vector<float>(together.begin() + kTiny.vocab, together.end()), alone_y) < 1e-5f);
}

TEST_CASE("the cpu model's weights come from its seed", "[real][worker]") {
  const CpuModel a(kTiny, 9), b(kTiny, 9), c(kTiny, 10);
  std::vector<float> la(kTiny.vocab), lb(kTiny.vocab), lc(kTiny.vocab);
  KvCache ka(kTiny, 4), kb(kTiny, 4), kc(kTiny, 4);
  a.prefill(ka, tokens(4), la);
  b.prefill(kb, tokens(4), lb);
  c.prefill(kc, tokens(4), lc);
  CHECK(la == lb);
  CHECK(la != lc);
  // Sizes: 2 layers of 4·32² + 2·32·64 + 2·32, the embeddings 50·32 and the final norm.
  CHECK(kTiny.parameters() == 2 * (4 * 32 * 32 + 2 * 32 * 64 + 2 * 32) + 50 * 32 + 32);
  CHECK(a.weight_bytes() == kTiny.parameters() * 4);
  CHECK(ModelShape{2, 30, 4, 64, 50}.check() != "");
  CHECK_THROWS_AS(CpuModel(ModelShape{2, 30, 4, 64, 50}, 1), std::invalid_argument);
}

namespace {

struct Step {
  bool prefill;
  std::uint32_t sequences;
  std::string events;  // "A+" first token, "A$" last, "A+$" both
};

// Runs `engine` until it is idle, naming request ids 0, 1, 2, ... A, B, C, ...
std::vector<Step> run_until_idle(BatchEngine& engine) {
  std::vector<Step> steps;
  for (int guard = 0; engine.busy() && guard < 1000; ++guard) {
    std::vector<TokenEvent> events;
    const StepSummary s = engine.step(guard, events);
    std::string text;
    for (const TokenEvent& e : events) {
      if (!text.empty()) text += " ";
      text += static_cast<char>('A' + e.id);
      if (e.first) text += "+";
      if (e.last) text += "$";
    }
    steps.push_back(Step{s.prefill, s.sequences, text});
  }
  return steps;
}

std::string describe(const std::vector<Step>& steps) {
  std::string out;
  for (const Step& s : steps)
    out += std::string(s.sequences == 0 ? "idle" : s.prefill ? "P" : "D") + std::to_string(s.sequences) + "[" + s.events + "] ";
  return out;
}

}  // namespace

TEST_CASE("the batch engine schedules prefill and decode steps by the simulator's rules", "[real][worker]") {
  const auto model_ptr = make_cpu_backend(kTiny, random_weights(kTiny, 3));
  const ModelBackend& model = *model_ptr;
  auto fcfs = builtin_policies().make_batching(PolicyChoice{"fcfs", {}});
  SECTION("the prefill token budget splits prefill steps; decodes wait for prefills") {
    // Budget 25: A (10) alone, since A + B = 30; then B (20), since B + C = 30; then C, whose
    // one output token is its first and last. Then decodes: A has 2 tokens to go, B 1.
    BatchEngine engine(model, EngineLimits{0, 8, 100, 25}, *fcfs);
    REQUIRE(engine.submit(EngineRequest{0, 10, 3}));
    REQUIRE(engine.submit(EngineRequest{1, 20, 2}));
    REQUIRE(engine.submit(EngineRequest{2, 10, 1}));
    CHECK(describe(run_until_idle(engine)) == "P1[A+] P1[B+] P1[C+$] D2[B$] D1[A$] ");
    CHECK(engine.kv_reserved_tokens() == 0);
  }
  SECTION("a request waits until its whole KV need fits") {
    // KV 40: A holds 30 (20 + 10) until it ends, B needs 20, so B's prefill follows A's last
    // token, after A's 9 decode steps.
    BatchEngine engine(model, EngineLimits{0, 8, 40, 8192}, *fcfs);
    REQUIRE(engine.submit(EngineRequest{0, 20, 10}));
    REQUIRE(engine.submit(EngineRequest{1, 15, 5}));
    CHECK(describe(run_until_idle(engine)) ==
          "P1[A+] D1[] D1[] D1[] D1[] D1[] D1[] D1[] D1[] D1[A$] P1[B+] D1[] D1[] D1[] D1[B$] ");
    // More than the whole cache can never run.
    CHECK_FALSE(engine.submit(EngineRequest{2, 30, 11}));
    CHECK(engine.submit(EngineRequest{2, 30, 10}));
  }
  SECTION("the batch has max_batch slots") {
    BatchEngine engine(model, EngineLimits{0, 2, 1000, 8192}, *fcfs);
    for (std::uint64_t id = 0; id < 3; ++id) REQUIRE(engine.submit(EngineRequest{id, 4, 3}));
    CHECK(describe(run_until_idle(engine)) == "P2[A+ B+] D2[] D2[A$ B$] P1[C+] D1[] D1[C$] ");
  }
}

// ------------------------------------------------------------------ model files and the worker process

namespace {

// `fleetsim worker` on one end of a socket pair; the test holds the other.
struct WorkerProcess {
  pid_t pid = -1;
  int fd = -1;
  WorkerProcess() {
    int pair[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) == 0);
    pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      ::dup2(pair[1], 3);  // dup2 clears FD_CLOEXEC on the copy
      ::execl(FLEETSIM_BINARY, FLEETSIM_BINARY, "worker", "--fd", "3", static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(pair[1]);
    fd = pair[0];
  }
  ~WorkerProcess() {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
    if (fd >= 0) ::close(fd);
  }
  int wait_exit() {
    int status = 0;
    ::waitpid(pid, &status, 0);
    pid = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
};

}  // namespace

TEST_CASE("model files round-trip the seeded weights and refuse what is not one", "[real][worker]") {
  fleetsim::test::TempDir dir("model-file");
  const std::string file = dir.path("m.bin");
  REQUIRE(write_model_file(file, kTiny, 4) == "");
  CHECK(std::filesystem::file_size(file) == kModelFileHeader + 4 * kTiny.parameters());
  CHECK_FALSE(std::filesystem::exists(file + ".part"));
  const ModelFileRead read = read_model_file(file);
  REQUIRE(read.error == "");
  CHECK(read.shape.layers == kTiny.layers);
  CHECK(read.shape.vocab == kTiny.vocab);
  CHECK(read.weights == random_weights(kTiny, 4));
  // The model built from the file computes what the seeded one does.
  const CpuModel from_file(read.shape, read.weights), seeded(kTiny, 4);
  std::vector<float> a(kTiny.vocab), b(kTiny.vocab);
  KvCache ca(kTiny, 3), cb(kTiny, 3);
  from_file.prefill(ca, tokens(3), a);
  seeded.prefill(cb, tokens(3), b);
  CHECK(a == b);
  // Bad files.
  CHECK_THAT(read_model_file(dir.path("none.bin")).error, Catch::Contains("cannot open"));
  CHECK_THAT(read_model_file(dir.write("text.bin", "hello, this is not a model file at all!!")).error,
             Catch::Contains("not a model file"));
  std::string cut = fleetsim::test::read_file(file);
  cut.resize(cut.size() - 8);
  CHECK_THAT(read_model_file(dir.write("cut.bin", cut)).error, Catch::Contains("weights, the header's shape has"));
  std::string huge = fleetsim::test::read_file(file);
  huge[8] = '\xff', huge[9] = '\xff', huge[10] = '\xff', huge[11] = '\x7f';  // 2^31 - 1 layers
  CHECK_THAT(read_model_file(dir.write("huge.bin", huge)).error, Catch::Contains("bad shape"));
}

TEST_CASE("a worker process loads a model file and ends every request exactly once", "[real][worker][cli]") {
  fleetsim::test::TempDir dir("worker");
  std::filesystem::create_directories(dir.path("store"));
  std::filesystem::create_directories(dir.path("node"));
  REQUIRE(write_model_file(dir.path("store/m.bin"), kTiny, 4) == "");
  const std::string file = dir.path("node/m.bin");  // fetched from the store by the load
  WorkerProcess worker;
  Channel channel(worker.fd);
  const std::int64_t t0 = monotonic_ns();
  // It says hello first, once it serves.
  auto hello = channel.receive(30000);
  REQUIRE(hello);
  CHECK((*hello)["ev"] == "hello");
  CHECK((*hello)["pid"] == worker.pid);
  REQUIRE(channel.send({{"op", "load"}, {"path", file}, {"kv_tokens", 200}, {"max_batch", 4},
                        {"max_prefill_tokens", 64}, {"batching", {{"impl", "fcfs"}}}, {"t0", t0},
                        {"fetch", {{"store", "dir:" + dir.path("store")}, {"name", "m.bin"}}}}));
  auto loaded = channel.receive(30000);
  REQUIRE(loaded);
  INFO(loaded->dump());
  REQUIRE((*loaded)["ev"] == "loaded");
  CHECK((*loaded)["bytes"] == kModelFileHeader + 4 * kTiny.parameters());
  CHECK((*loaded)["fetched_bytes"] == kModelFileHeader + 4 * kTiny.parameters());
  CHECK(fleetsim::test::read_file(file) == fleetsim::test::read_file(dir.path("store/m.bin")));
  CHECK((*loaded)["read_s"].get<double>() > 0);
  CHECK((*loaded)["t"].get<std::int64_t>() >= t0);
  // Ten requests, one too long for the 200-token KV budget.
  for (int id = 0; id < 10; ++id)
    REQUIRE(channel.send({{"op", "request"}, {"id", id}, {"input", 10 + id}, {"output", id == 7 ? 300 : 1 + id % 4}}));
  std::map<int, int> firsts, lasts;
  std::map<int, std::int64_t> first_time;
  int rejected = -1;
  while (lasts.size() < 9) {
    auto m = channel.receive(30000);
    REQUIRE(m);
    INFO(m->dump());
    if ((*m)["ev"] == "rejected") {
      rejected = (*m)["id"];
      CHECK((*m)["why"] == "too-long");
    } else if ((*m)["ev"] == "token") {
      const int id = (*m)["id"];
      if ((*m)["first"].get<bool>()) {
        ++firsts[id];
        first_time[id] = (*m)["t"];
      }
      if ((*m)["last"].get<bool>()) {
        ++lasts[id];
        REQUIRE(firsts.count(id));
        CHECK((*m)["t"].get<std::int64_t>() >= first_time[id]);
      }
    } else {
      REQUIRE((*m)["ev"] == "step");
    }
  }
  CHECK(rejected == 7);
  for (int id = 0; id < 10; ++id) {
    CHECK(firsts[id] == (id == 7 ? 0 : 1));
    CHECK(lasts[id] == (id == 7 ? 0 : 1));
  }
  // Messages it cannot act on are answered with an error, and it keeps serving; stop ends it.
  REQUIRE(channel.send({{"op", "fly"}}));
  auto answer = channel.receive(30000);
  while (answer && (*answer)["ev"] == "step") answer = channel.receive(30000);  // the last step's summary
  REQUIRE(answer);
  CHECK((*answer)["ev"] == "error");
  REQUIRE(channel.send({{"op", "stop"}}));
  CHECK(worker.wait_exit() == 0);
}

TEST_CASE("a folder model store copies a file whole or not at all", "[real][worker]") {
  fleetsim::test::TempDir dir("weight-store");
  const std::string source = dir.write("store/a.bin", std::string(10 << 20, 'x') + "end");
  std::string why;
  CHECK_FALSE(open_weight_store("ftp://127.0.0.1:1", why));
  CHECK_THAT(why, Catch::Contains("expected dir:PATH or http://127.0.0.1:PORT"));
  CHECK_FALSE(open_weight_store("http://127.0.0.1:99999", why));
  CHECK(open_weight_store("http://127.0.0.1:8080", why));  // the HTTP store: tests/test_store.cpp
  auto store = open_weight_store("dir:" + dir.path("store"), why);
  REQUIRE(store);
  const FetchResult got = store->fetch("a.bin", dir.path("copy.bin"));
  CHECK(got.error == "");
  CHECK(got.bytes == (10u << 20) + 3);
  CHECK(fleetsim::test::read_file(dir.path("copy.bin")) == fleetsim::test::read_file(source));
  CHECK_THAT(store->fetch("none.bin", dir.path("none.bin")).error, Catch::Contains("cannot open"));
  CHECK_THAT(store->fetch("../store/a.bin", dir.path("x.bin")).error, Catch::Contains("bad model file name"));
  CHECK_THAT(store->fetch("a.bin", dir.path("no-such-folder/x.bin")).error, Catch::Contains("cannot write"));
  CHECK_FALSE(std::filesystem::exists(dir.path("none.bin")));
  CHECK_FALSE(std::filesystem::exists(dir.path("copy.bin.part")));
}

TEST_CASE("a worker reports a model file it cannot load, and exits when the controller goes away", "[real][worker][cli]") {
  WorkerProcess worker;
  Channel channel(worker.fd);
  REQUIRE(channel.send({{"op", "load"}, {"path", "/nonexistent/m.bin"}, {"kv_tokens", 100}}));
  auto m = channel.receive(30000);
  REQUIRE(m);
  CHECK((*m)["ev"] == "hello");
  m = channel.receive(30000);
  REQUIRE(m);
  CHECK((*m)["ev"] == "error");
  CHECK_THAT((*m)["message"].get<std::string>(), Catch::Contains("cannot open /nonexistent/m.bin"));
  // A fetch from a store that does not have the file is an error too, and nothing is left.
  REQUIRE(channel.send({{"op", "load"}, {"path", "/tmp/fleetsim-never.bin"}, {"kv_tokens", 100},
                        {"fetch", {{"store", "dir:/nonexistent"}, {"name", "m.bin"}}}}));
  m = channel.receive(30000);
  REQUIRE(m);
  CHECK_THAT((*m)["message"].get<std::string>(), Catch::Contains("fetch: store: cannot open /nonexistent/m.bin"));
  REQUIRE(channel.send({{"op", "load"}, {"path", "/tmp/fleetsim-never.bin"}, {"fetch", {{"store", "ftp://x"}}}}));
  m = channel.receive(30000);
  REQUIRE(m);
  CHECK_THAT((*m)["message"].get<std::string>(), Catch::Contains("unknown model store location"));
  ::close(worker.fd);
  worker.fd = -1;
  CHECK(worker.wait_exit() == 0);
}

// ------------------------------------------------------------------ calibration

TEST_CASE("the step fit recovers the figures that generated the steps", "[real][calibrate]") {
  const ModelFigures model{1e6, 4e6, 2048};
  StepFit truth;
  truth.flops = 5e10;
  truth.bandwidth = 2e10;
  truth.overhead_s = 0.002;
  std::vector<StepSample> samples;
  for (double p : {16.0, 64.0, 256.0}) samples.push_back(StepSample{true, p, 0, 0, 0});
  for (double b : {1.0, 4.0, 16.0})
    for (double c : {64.0, 1024.0}) samples.push_back(StepSample{false, 0, b, b * c, 0});
  for (StepSample& s : samples) s.seconds = predict(truth, model, s);
  const StepFit fit = fit_steps(samples, model);
  REQUIRE(fit.problem == "");
  CHECK(fit.flops == Approx(truth.flops).epsilon(1e-6));
  CHECK(fit.bandwidth == Approx(truth.bandwidth).epsilon(1e-6));
  CHECK(fit.overhead_s == Approx(truth.overhead_s).epsilon(1e-6));
  CHECK(fit.prefill_mape < 1e-9);
  CHECK(fit.decode_mape < 1e-9);
  // Decode steps that got cheaper with more context cannot be explained by a positive bandwidth
  // term: the fit drops it instead of returning a negative one.
  std::vector<StepSample> odd = samples;
  for (StepSample& s : odd)
    if (!s.prefill) s.seconds = 0.01 - s.context * 1e-7;
  const StepFit clamped = fit_steps(odd, model);
  CHECK(clamped.flops >= 0);
  CHECK(clamped.bandwidth >= 0);
  CHECK(clamped.overhead_s >= 0);
  // Without decode samples there is nothing to fit.
  CHECK(fit_steps(std::vector<StepSample>(samples.begin(), samples.begin() + 3), model).problem != "");
}

TEST_CASE("fleetsim calibrate writes a profile that a scenario runs on", "[real][calibrate][cli]") {
  fleetsim::test::TempDir dir("calibrate");
  const std::string profile = dir.path("cpu.yaml");
  const fleetsim::test::CliRun made = fleetsim::test::run_fleetsim(
      "calibrate --quick --repetitions 1 --layers 1 --hidden 64 --heads 4 --ffn 128 --vocab 256 --name my-cpu --out " +
      fleetsim::test::shell_quote(profile));
  INFO(made.err);
  REQUIRE(made.code == 0);
  CHECK_THAT(made.out, Catch::Contains("prefill") && Catch::Contains("decode") && Catch::Contains("MAPE"));
  const std::string fragment = fleetsim::test::read_file(profile);
  CHECK_THAT(fragment, Catch::Contains("name: my-cpu"));
  // A worker process was started and greeted; the whole loads' rates are derived for the pools.
  CHECK_THAT(made.out, Catch::Contains("a worker process starts in"));
  CHECK_THAT(fragment, Catch::Contains("#   pools: network_bandwidth: ") && Catch::Contains("models: startup_time: "));
  const std::string scenario = dir.write(
      "on-cpu.yaml", fragment +
                         "name: on-cpu\nduration: 2min\n"
                         "cluster: {pools: [{name: cpu, nodes: 1, gpu: my-cpu, gpus_per_node: 2}]}\n"
                         "policies: {autoscaler: {impl: fixed, replicas: 1}}\n"
                         "models: [{name: tiny, parameters: 1e6, kv_cache_per_token: 1KiB}]\n"
                         "workloads: [{model: tiny, arrivals: {process: poisson, rate: 2/s},"
                         " input_tokens: {dist: fixed, value: 64}, output_tokens: {dist: fixed, value: 16}}]\n");
  const fleetsim::test::CliRun ran =
      fleetsim::test::run_fleetsim("run " + fleetsim::test::shell_quote(scenario) + " -q --out " + fleetsim::test::shell_quote(dir.path("out")));
  INFO(ran.err);
  CHECK(ran.code == 0);
#ifndef FLEETSIM_HAS_CUDA
  const fleetsim::test::CliRun cuda = fleetsim::test::run_fleetsim("calibrate --backend cuda --quick");
  CHECK(cuda.code == 2);
  CHECK_THAT(cuda.err, Catch::Contains("built without CUDA"));
#endif
}

// ------------------------------------------------------------------ the cuda backend

TEST_CASE("the cuda backend computes what the cpu backend computes (skipped without a GPU)", "[real][cuda]") {
  const std::vector<float> weights = random_weights(kTiny, 5);
  std::string why;
  const auto cuda = make_backend("cuda", kTiny, weights, why);
  if (!cuda) {
#ifdef FLEETSIM_HAS_CUDA
    CHECK_THAT(why, Catch::Contains("no CUDA device"));
#else
    CHECK_THAT(why, Catch::Contains("built without CUDA"));
#endif
    WARN("cuda backend not tested here: " << why);
    return;
  }
  const auto cpu = make_cpu_backend(kTiny, weights);
  // A prefill in two pieces, then a batched decode of two sequences.
  std::vector<float> on_cpu(kTiny.vocab), on_gpu(kTiny.vocab);
  auto a_cpu = cpu->new_sequence(12), a_gpu = cuda->new_sequence(12);
  cpu->prefill(*a_cpu, tokens(6), on_cpu);
  cuda->prefill(*a_gpu, tokens(6), on_gpu);
  CHECK(max_difference(on_cpu, on_gpu) < 1e-3f);
  cpu->prefill(*a_cpu, tokens(3, 5), on_cpu);
  cuda->prefill(*a_gpu, tokens(3, 5), on_gpu);
  CHECK(max_difference(on_cpu, on_gpu) < 1e-3f);
  auto b_cpu = cpu->new_sequence(12), b_gpu = cuda->new_sequence(12);
  cpu->prefill(*b_cpu, tokens(4, 2), on_cpu);
  cuda->prefill(*b_gpu, tokens(4, 2), on_gpu);
  std::vector<float> batch_cpu(2 * kTiny.vocab), batch_gpu(2 * kTiny.vocab);
  SequenceState* on_cpu_batch[] = {a_cpu.get(), b_cpu.get()};
  SequenceState* on_gpu_batch[] = {a_gpu.get(), b_gpu.get()};
  const int next[] = {4, 9};
  cpu->decode(on_cpu_batch, next, batch_cpu);
  cuda->decode(on_gpu_batch, next, batch_gpu);
  CHECK(max_difference(batch_cpu, batch_gpu) < 1e-3f);
  CHECK(a_gpu->length() == 10);
  CHECK(b_gpu->clone()->length() == 5);
}
