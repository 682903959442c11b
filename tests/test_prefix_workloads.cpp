// Generated workloads with prefix hashes (README "Prefixes in generated workloads";
// traces/prefix_workload.hpp): the hashes each pattern gives, worked out by hand; the prefix hits
// they cause, exactly where the timing leaves no doubt and bounded by an infinite cache where it
// does; determinism; the echo in result.json; bad input.
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <unordered_set>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/support.hpp"
#include "traces/generators.hpp"

using namespace fleetsim;
using namespace fleetsim::test;
using Catch::Matchers::Contains;

namespace {

struct Drawn {
  SimTime time = 0;
  std::uint32_t input = 0, output = 0;
  std::vector<std::uint64_t> hashes;
};

// Every request `source` makes, with copies of its hashes.
std::vector<Drawn> drain(GeneratedSource& source) {
  std::vector<Drawn> out;
  Diagnostics errors;
  Arrival a;
  while (source.next(a, errors)) out.push_back({a.time, a.input_tokens, a.output_tokens, {a.prefix_hashes.begin(), a.prefix_hashes.end()}});
  REQUIRE(errors.empty());
  return out;
}

Distribution fixed(double v) { return Distribution{Distribution::Kind::Fixed, v, 0, 0}; }

WorkloadSpec poisson(double rate) {
  WorkloadSpec w;
  w.rate = rate;
  w.name = "w";
  return w;
}

std::size_t common_prefix(const std::vector<std::uint64_t>& a, const std::vector<std::uint64_t>& b) {
  std::size_t i = 0;
  while (i < a.size() && i < b.size() && a[i] == b[i]) ++i;
  return i;
}

// One H100 replica of an 8B model (fixed), prefix blocks of `block` tokens, and `workload`.
std::string one_replica(const std::string& workload, int block = 512, int replicas = 1,
                        const std::string& router = "least-outstanding") {
  return "duration: 1h\nseed: 3\n"
         "cluster:\n  pools:\n    - {name: a, nodes: 1, gpu: H100-80GB, gpus_per_node: 8}\n"
         "policies: {placement: {impl: spread}, router: {impl: " + router +
         "}, autoscaler: {impl: fixed, replicas: " + std::to_string(replicas) +
         "}}\n"
         "models:\n  - {name: m, parameters: 8e9, kv_cache_per_token: 128KiB, prefix_block_tokens: " +
         std::to_string(block) + "}\n"
         "workloads:\n  - model: m\n" + workload;
}

// Prefill tokens an infinite cache filled at each arrival would save: an upper bound on what
// any replica set can save (a replica caches a prompt's blocks only when its prefill ends).
std::uint64_t infinite_cache_hits(const Scenario& sc, std::uint64_t& prompt_tokens) {
  const WorkloadSpec& w = sc.workloads[0];
  const std::uint32_t block = static_cast<std::uint32_t>(sc.models[0].prefix_block_tokens);
  GeneratedSource source(w, sc.seed, sc.duration, 0, block);
  std::unordered_set<std::uint64_t> seen;
  std::uint64_t hits = 0;
  prompt_tokens = 0;
  for (const Drawn& d : drain(source)) {
    std::size_t k = 0;
    while (k < d.hashes.size() && seen.count(d.hashes[k])) ++k;
    if (d.hashes.empty()) continue;  // the engine counts requests with a whole block only
    hits += std::min<std::uint64_t>(std::uint64_t{k} * block, d.input - 1);
    prompt_tokens += d.input;
    seen.insert(d.hashes.begin(), d.hashes.end());
  }
  return hits;
}

}  // namespace

TEST_CASE("generated prefixes: system prompts share their whole blocks, a block across the end is the request's own",
          "[prefix-workloads]") {
  // Two tenants of 1,000-token system prompts, 100 tokens of each request's own, blocks of 256:
  // 1,100 tokens = 4 whole blocks, of which 3 lie inside the system prompt (768 tokens); the
  // fourth (768..1023) holds the prompt's last 232 tokens and the request's first 24.
  WorkloadSpec w = poisson(1);
  w.input_tokens = fixed(100);
  w.output_tokens = fixed(10);
  w.prefixes.tenants = 2;
  w.prefixes.tenant_zipf = 0;  // equally likely
  w.prefixes.system_prompt_tokens = fixed(1000);
  GeneratedSource source(w, 1, 200 * kSecond, 0, 256);
  const std::vector<Drawn> all = drain(source);
  REQUIRE(all.size() > 150);
  std::map<std::uint64_t, std::vector<const Drawn*>> by_first;
  std::set<std::uint64_t> fourth;
  for (const Drawn& d : all) {
    REQUIRE(d.input == 1100);
    REQUIRE(d.output == 10);
    REQUIRE(d.hashes.size() == 4);
    by_first[d.hashes[0]].push_back(&d);
    fourth.insert(d.hashes[3]);
  }
  REQUIRE(by_first.size() == 2);  // one first block per tenant
  for (const auto& [first, group] : by_first) {
    CHECK(group.size() > 50);  // zipf 0: about half each
    for (const Drawn* d : group) CHECK(common_prefix(d->hashes, group.front()->hashes) >= 3);
  }
  CHECK(common_prefix(by_first.begin()->second.front()->hashes, by_first.rbegin()->second.front()->hashes) == 0);
  CHECK(fourth.size() == all.size());  // every request's own block differs

  SECTION("a multiple of the block size shares every block it covers") {
    // 1,024 + 100 tokens: 4 whole blocks, all inside the system prompt: two prompts in all.
    w.prefixes.system_prompt_tokens = fixed(1024);
    GeneratedSource whole(w, 1, 200 * kSecond, 0, 256);
    std::set<std::vector<std::uint64_t>> distinct;
    for (const Drawn& d : drain(whole)) {
      REQUIRE(d.input == 1124);
      REQUIRE(d.hashes.size() == 4);
      distinct.insert(d.hashes);
    }
    CHECK(distinct.size() == 2);
  }
}

TEST_CASE("generated prefixes: a conversation's turns extend the previous prompt and its output",
          "[prefix-workloads]") {
  // Three turns 10 s apart, 300 new tokens and 200 output tokens each, blocks of 256:
  //   turn 1: 300 tokens            -> 1 block
  //   turn 2: 300 + 200 + 300 = 800  -> 3 blocks, the first turn 1's
  //   turn 3: 800 + 200 + 300 = 1300 -> 5 blocks, the first three turn 2's
  WorkloadSpec w = poisson(0.05);
  w.input_tokens = fixed(300);
  w.output_tokens = fixed(200);
  w.prefixes.conversations = true;
  w.prefixes.turns = fixed(3);
  w.prefixes.think_time = fixed(10);
  GeneratedSource source(w, 2, kHour, 0, 256);
  const std::vector<Drawn> all = drain(source);
  std::map<std::uint64_t, std::vector<const Drawn*>> conversations;
  SimTime last = 0;
  for (const Drawn& d : all) {
    REQUIRE(d.time >= last);  // turns merge into the arrival order
    last = d.time;
    REQUIRE(!d.hashes.empty());
    conversations[d.hashes[0]].push_back(&d);
  }
  REQUIRE(conversations.size() > 100);
  std::size_t complete = 0;
  for (const auto& [first, turns] : conversations) {
    REQUIRE(turns.size() <= 3);
    if (turns.size() < 3) {  // only the last conversations are cut by the end of the run
      CHECK(turns.front()->time + 10 * (turns.size()) * kSecond >= kHour);
      continue;
    }
    ++complete;
    CHECK(turns[0]->input == 300);
    CHECK(turns[1]->input == 800);
    CHECK(turns[2]->input == 1300);
    CHECK(turns[1]->time - turns[0]->time == 10 * kSecond);
    CHECK(turns[2]->time - turns[1]->time == 10 * kSecond);
    CHECK(turns[1]->hashes.size() == 3);
    CHECK(turns[2]->hashes.size() == 5);
    CHECK(common_prefix(turns[0]->hashes, turns[1]->hashes) == 1);
    CHECK(common_prefix(turns[1]->hashes, turns[2]->hashes) == 3);
  }
  CHECK(all.size() >= 3 * complete);
}

TEST_CASE("generated prefixes: a Zipf set of whole prompts repeats each prompt exactly", "[prefix-workloads]") {
  // Three prompts, Zipf(1): weights 1, 1/2, 1/3 of 11/6, so the first is 6/11 of requests.
  WorkloadSpec w = poisson(10);
  w.input_tokens = Distribution{Distribution::Kind::Uniform, 600, 1000, 0};
  w.output_tokens = fixed(5);
  w.prefixes.prompts = 3;
  w.prefixes.prompt_zipf = 1;
  GeneratedSource source(w, 4, 1000 * kSecond, 0, 100);
  std::map<std::vector<std::uint64_t>, std::pair<std::uint32_t, std::size_t>> prompts;  // -> input, count
  const std::vector<Drawn> all = drain(source);
  for (const Drawn& d : all) {
    REQUIRE(d.hashes.size() == d.input / 100);
    auto [it, fresh] = prompts.try_emplace(d.hashes, d.input, 0);
    CHECK(it->second.first == d.input);  // a prompt keeps its length
    ++it->second.second;
  }
  REQUIRE(prompts.size() == 3);
  std::size_t most = 0;
  for (const auto& [h, v] : prompts) most = std::max(most, v.second);
  CHECK(static_cast<double>(most) / all.size() == Approx(6.0 / 11).epsilon(0.03));
}

TEST_CASE("generated prefixes: two tenants on one replica save their system prompts' blocks, counted by hand",
          "[prefix-workloads]") {
  // Blocks of 512. System prompts of 1,024 tokens (2 blocks) and 1..511 tokens of the request's
  // own: every prompt has exactly 2 whole blocks, both its tenant's. Requests are ~50 s apart and
  // a prefill takes milliseconds, so every request but each tenant's first finds its tenant's two
  // blocks cached: hits = 1,024 × (requests − 2). With 1,000-token system prompts only the
  // first block is shared (the second straddles the end): 512 × (requests − 2).
  auto workload = [](int system) {
    return "    arrivals: {process: poisson, rate: 0.02/s}\n"
           "    input_tokens: {dist: uniform, low: 1, high: 511}\n"
           "    output_tokens: {dist: fixed, value: 20}\n"
           "    prefixes: {system_prompts: {tenants: 2, zipf: 0, tokens: {dist: fixed, value: " +
           std::to_string(system) + "}}}\n";
  };
  for (const int system : {1024, 1000}) {
    INFO("system prompt of " << system << " tokens");
    const Scenario sc = scenario_from(one_replica(workload(system)));
    const RunOutput out = run_scenario(sc);
    REQUIRE(out.violations.empty());
    const std::uint64_t n = out.status.requests;
    REQUIRE(n > 40);
    const std::uint64_t per_hit = system == 1024 ? 1024 : 512;
    CHECK(out.status.kv[0].prefix_hit_tokens == per_hit * (n - 2));
    std::uint64_t bound_prompt = 0;
    CHECK(infinite_cache_hits(sc, bound_prompt) == per_hit * (n - 2));
    CHECK(out.status.kv[0].prompt_tokens == bound_prompt);
  }
}

TEST_CASE("generated prefixes: multi-turn hits are positive and never beat an infinite cache", "[prefix-workloads]") {
  const std::string workload =
      "    arrivals: {process: poisson, rate: 1/s}\n"
      "    input_tokens: {dist: lognormal, median: 300, sigma: 0.8, max: 3000}\n"
      "    output_tokens: {dist: lognormal, median: 200, sigma: 0.6, max: 1500}\n"
      "    prefixes:\n"
      "      system_prompts: {tenants: 4, tokens: {dist: uniform, low: 500, high: 2000}}\n"
      "      conversations: {turns: {dist: uniform, low: 1, high: 6}, think_time: {dist: fixed, value: 40s}}\n";
  SECTION("one replica, turns long after the reply: every reusable block is found") {
    // A turn comes 40 s after the previous one, long after its prefill ended; one replica with
    // ~430k tokens of KV cache evicts only blocks of conversations that have ended (LRU), so it
    // saves what an infinite cache saves.
    const Scenario sc = scenario_from(one_replica(workload, 256));
    const RunOutput out = run_scenario(sc);
    REQUIRE(out.violations.empty());
    std::uint64_t prompt = 0;
    const std::uint64_t bound = infinite_cache_hits(sc, prompt);
    CHECK(out.status.kv[0].prompt_tokens == prompt);
    CHECK(bound > prompt / 2);  // most of a conversation's prompt is its past
    CHECK(out.status.kv[0].prefix_hit_tokens == bound);
  }
  SECTION("four replicas: least-outstanding scatters the turns, prefix-affinity finds them") {
    const Scenario lo = scenario_from(one_replica(workload, 256, 4));
    const Scenario pa = scenario_from(one_replica(workload, 256, 4, "prefix-affinity"));
    const RunOutput a = run_scenario(lo), b = run_scenario(pa);
    REQUIRE(a.violations.empty());
    REQUIRE(b.violations.empty());
    std::uint64_t prompt = 0;
    const std::uint64_t bound = infinite_cache_hits(lo, prompt);
    CHECK(a.status.kv[0].prompt_tokens == prompt);
    CHECK(a.status.kv[0].prefix_hit_tokens > 0);
    CHECK(a.status.kv[0].prefix_hit_tokens < bound);
    CHECK(b.status.kv[0].prefix_hit_tokens <= bound);
    CHECK(b.status.kv[0].prefix_hit_tokens > a.status.kv[0].prefix_hit_tokens);
  }
}

TEST_CASE("generated prefixes: the same seed gives the same bytes, the echo names the options", "[prefix-workloads]") {
  TempDir dir;
  const std::string base = "run scenarios/prefix-cache.yaml -q --set duration=3min --out ";
  const CliRun a = run_fleetsim(base + shell_quote(dir.path("a")));
  const CliRun b = run_fleetsim(base + shell_quote(dir.path("b")));
  REQUIRE(a.code == 0);
  REQUIRE(b.code == 0);
  const std::string ja = read_file(dir.path("a") + "/result.json");
  REQUIRE_FALSE(ja.empty());
  CHECK(ja == read_file(dir.path("b") + "/result.json"));
  CHECK(read_file(dir.path("a") + "/timeseries.csv") == read_file(dir.path("b") + "/timeseries.csv"));
  const auto j = nlohmann::json::parse(ja);
  const auto& chat = j["scenario"]["workloads"][0]["prefixes"];
  CHECK(chat["system_prompts"]["tenants"] == 6);
  CHECK(chat["system_prompts"]["tokens"]["dist"] == "uniform");
  CHECK(chat["conversations"]["turns"]["high"] == 8);
  CHECK(chat["conversations"]["think_time"]["mean"] == "30s");
  CHECK(j["scenario"]["workloads"][1]["prefixes"]["prompts"]["count"] == 40);
  CHECK(j["overall"]["kv_cache"]["prefix_hit_tokens"].get<double>() > 0);
  // Another seed: other traffic, other hits.
  const CliRun c = run_fleetsim(base + shell_quote(dir.path("c")) + " --seed 14");
  REQUIRE(c.code == 0);
  const auto jc = nlohmann::json::parse(read_file(dir.path("c") + "/result.json"));
  CHECK(jc["overall"]["kv_cache"]["prefix_hit_tokens"] != j["overall"]["kv_cache"]["prefix_hit_tokens"]);
}

TEST_CASE("generated prefixes: bad values are reported with their path", "[prefix-workloads][bad-input]") {
  auto errors = [](const std::string& prefixes) {
    return errors_of(one_replica("    arrivals: {process: poisson, rate: 1/s}\n"
                                 "    input_tokens: {dist: fixed, value: 10}\n"
                                 "    output_tokens: {dist: fixed, value: 10}\n"
                                 "    prefixes: " + prefixes + "\n"));
  };
  CHECK_THAT(errors("{}"), Contains("workloads[0].prefixes") && Contains("names none of system_prompts, conversations, prompts"));
  CHECK_THAT(errors("{system_prompts: {tenants: 0, tokens: {dist: fixed, value: 100}}}"),
             Contains("workloads[0].prefixes.system_prompts.tenants"));
  CHECK_THAT(errors("{system_prompts: {tenants: 3}}"), Contains("workloads[0].prefixes.system_prompts.tokens") &&
                                                           Contains("required"));
  CHECK_THAT(errors("{system_prompts: {tenants: 3, zipf: -1, tokens: {dist: fixed, value: 100}}}"),
             Contains("workloads[0].prefixes.system_prompts.zipf"));
  CHECK_THAT(errors("{system_prompts: {tenant: 3, tokens: {dist: fixed, value: 100}}}"),
             Contains("tenant: unknown key, did you mean tenants?"));
  CHECK_THAT(errors("{conversations: {turns: {dist: fixed, value: 0}, think_time: {dist: fixed, value: 1s}}}"),
             Contains("workloads[0].prefixes.conversations.turns.value"));
  CHECK_THAT(errors("{conversations: {turns: {dist: fixed, value: 2}, think_time: {dist: fixed, value: 30}}}"),
             Contains("workloads[0].prefixes.conversations.think_time.value"));
  CHECK_THAT(errors("{conversations: {turns: {dist: fixed, value: 2}}}"),
             Contains("workloads[0].prefixes.conversations.think_time") && Contains("required"));
  CHECK_THAT(errors("{prompts: {count: 0}}"), Contains("workloads[0].prefixes.prompts.count"));
  CHECK_THAT(errors("{prompts: {count: 5, zipf: nan}}"), Contains("workloads[0].prefixes.prompts.zipf"));
  CHECK_THAT(errors("{prompts: {count: 5}, conversations: {turns: {dist: fixed, value: 2}, think_time: {dist: fixed, value: 1s}}}"),
             Contains("workloads[0].prefixes.prompts") && Contains("cannot be combined"));
  CHECK_THAT(errors("{prompt: {count: 5}}"), Contains("prompt: unknown key, did you mean prompts?"));
  CHECK_THAT(errors("7"), Contains("workloads[0].prefixes") && Contains("expected a mapping"));

  SECTION("only generated LLM workloads take prefixes") {
    TempDir dir;
    const std::string trace = dir.write("t.csv", "timestamp,model,input_tokens,output_tokens\n0,m,10,10\n");
    CHECK_THAT(errors_of(one_replica("").substr(0, one_replica("").find("workloads:")) +
                         "workloads:\n  - trace: " + trace + "\n    prefixes: {prompts: {count: 2}}\n"),
               Contains("workloads[0].prefixes") && Contains("prefix_hashes column"));
    CHECK_THAT(errors_of("duration: 1h\n"
                         "cluster:\n  pools:\n    - {name: a, nodes: 1, gpu: H100-80GB}\n"
                         "models:\n  - {name: e, kind: service-time, memory_per_gpu: 4GiB,\n"
                         "     service_time: {dist: fixed, value: 10ms}}\n"
                         "workloads:\n  - model: e\n    arrivals: {process: poisson, rate: 1/s}\n"
                         "    prefixes: {prompts: {count: 2}}\n"),
               Contains("workloads[0].prefixes") && Contains("service-time model"));
  }
}
