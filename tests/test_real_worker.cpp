// Real mode's worker on the cpu backend (real/worker/): the transformer's KV cache and batching
// compute what a full forward pass computes, weights come from the seed, and the batch engine
// schedules prefill and decode steps by the simulator's rules (hand-computed sequences).
#include <catch2/catch.hpp>

#include <numeric>

#include "policies/registry.hpp"
#include "real/worker/batch_engine.hpp"
#include "real/worker/cpu_model.hpp"

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
  const CpuModel model(kTiny, 3);
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
