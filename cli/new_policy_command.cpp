#include "cli/new_policy_command.hpp"

#include <CLI/CLI.hpp>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace fleetsim {

namespace {

// ---- Templates --------------------------------------------------------------------------------
// Placeholders: @NAME@ the policy name (my-packer), @IDENT@ its C++ identifier (my_packer),
// @CLASS@ its class name (MyPacker). Every family's source states the family's contract (the
// header's, shortened) and a minimal implementation that keeps it.

const char* kCMake = R"tpl(# @NAME@: a fleetsim policy plugin. Configure against an installed fleetsim:
#   cmake -S . -B build -DCMAKE_PREFIX_PATH=<fleetsim's install prefix>
cmake_minimum_required(VERSION 3.25)
project(@IDENT@ LANGUAGES CXX)
set(CMAKE_CXX_STANDARD 20)
set(CMAKE_CXX_STANDARD_REQUIRED ON)
find_package(fleetsim 0.1 REQUIRED)

# The plugin: loaded with `fleetsim run --plugin lib@IDENT@.so`.
add_library(@IDENT@ MODULE @IDENT@.cpp)
target_link_libraries(@IDENT@ PRIVATE fleetsim::sdk)

# Its unit test, when Catch2 (v2 or v3) is installed.
find_package(Catch2 QUIET)
if(Catch2_FOUND)
  enable_testing()
  add_executable(test_@IDENT@ test_@IDENT@.cpp @IDENT@.cpp)
  target_link_libraries(test_@IDENT@ PRIVATE fleetsim::sdk)
  if(TARGET Catch2::Catch2WithMain)
    target_link_libraries(test_@IDENT@ PRIVATE Catch2::Catch2WithMain)
  else()
    target_link_libraries(test_@IDENT@ PRIVATE Catch2::Catch2)
    target_compile_definitions(test_@IDENT@ PRIVATE CATCH2_V2_MAIN)
  endif()
  add_test(NAME test_@IDENT@ COMMAND test_@IDENT@)
endif()
)tpl";

const char* kHeader = R"tpl(// @NAME@: what the plugin registers, declared so that the test can make the policy too.
#pragma once
#include "policies/api/plugin.hpp"

fleetsim::PolicyInfo @IDENT@_policy();
)tpl";

const char* kTestPrelude = R"tpl(// Unit tests of @NAME@: hand-built views, hand-computed answers.
#if __has_include(<catch2/catch_test_macros.hpp>)
#include <catch2/catch_test_macros.hpp>
#else
#ifdef CATCH2_V2_MAIN
#define CATCH_CONFIG_MAIN
#endif
#include <catch2/catch.hpp>
#endif

#include "@IDENT@.hpp"

using namespace fleetsim;

namespace {
// The policy as the registry would make it: its name, its parameters at their defaults (numbers
// only; set others by hand), its random stream.
PolicyContext context_for(const PolicyInfo& info, const PolicyRunInfo& run) {
  PolicyContext context{info.name, {}, RngStream(1, info.name), &run};
  for (const ParamSpec& p : info.params) context.params.set_number(p.name, std::stod(p.default_value));
  return context;
}
}  // namespace
)tpl";

const char* kReadme = R"tpl(# @NAME@

A fleetsim @FAMILY@ policy, built as a plugin against an installed fleetsim SDK (`fleetsim
new-policy` wrote this project; `fleetsim policies` lists the built-ins to compare with).

```sh
cmake -S . -B build -DCMAKE_PREFIX_PATH=/path/to/fleetsim/prefix -DCMAKE_BUILD_TYPE=Release
cmake --build build && (cd build && ctest)         # the test runs when Catch2 is installed
fleetsim check-policy build/lib@IDENT@.so              # contracts, determinism, scorecard
```

Then run it in any scenario: `fleetsim run SCENARIO --plugin build/lib@IDENT@.so --set
'@KEY@={impl: @NAME@}'`.
)tpl";

struct FamilyTemplate {
  const char* key;  // where a scenario chooses it
  const char* source;
  const char* test;
};

const std::map<std::string, FamilyTemplate>& families() {
  static const std::map<std::string, FamilyTemplate> all = {
      {"placement",
       {"policies.placement",
        R"tpl(// @NAME@: a placement policy — where a new replica (or job worker, or pod) goes.
//
// Contract (policies/placement/placement.hpp)
//   input   a PlacementRequest (GPUs needed, or a share `milli_gpu` of one; memory per GPU;
//           allowed pools and GPU types; CPU, host memory) and a read-only ClusterView.
//   output  a Placement — one node and exactly `request.gpus` distinct free GPU indices on it
//           (one GPU for a share) with the memory the request needs —, or std::nullopt ("not
//           now": try again later), or PlacementAnswer::never(why) (no node could ever host it).
//           nothing_fits(request, cluster) picks between those two for you.
//   state   may keep state between calls, but reads nothing except its arguments.
//   ties    document yours; fall back to the lowest node id and lowest GPU indices.
//   invalid a GPU taken or over-committed, a wrong count, a node outside the allowed pools stop
//           the run with an error naming the policy.
//
// This one: the first node (lowest id) that fits, its lowest free GPUs.
#include "@IDENT@.hpp"

namespace {

using namespace fleetsim;

class @CLASS@ final : public PlacementPolicy {
 public:
  PlacementAnswer place(const PlacementRequest& request, const ClusterView& cluster) override {
    for (const NodeView& node : cluster.nodes)
      if (node_fits(node, request)) return Placement{node.id, lowest_free_gpus(node, request)};
    return nothing_fits(request, cluster);
  }
};

}  // namespace

PolicyInfo @IDENT@_policy() {
  PolicyInfo info;
  info.family = PolicyFamily::Placement;
  info.name = "@NAME@";
  info.description = "the first node that fits, its lowest free GPUs";
  info.make_placement = [](const PolicyContext&) { return std::make_unique<@CLASS@>(); };
  return info;
}

FLEETSIM_PLUGIN(registrar) { registrar.add(@IDENT@_policy()); }
)tpl",
        R"tpl(
TEST_CASE("@NAME@ takes the first node with room, its lowest free GPUs") {
  const GpuType h100{"H100-80GB", 80e9};
  std::vector<NodeView> nodes(2);
  for (std::uint32_t i = 0; i < 2; ++i) {
    nodes[i].id = i;
    nodes[i].gpu_type = &h100;
    nodes[i].gpus.resize(4);
    nodes[i].free_gpus = 4;
  }
  nodes[0].gpus[0] = GpuSlot{40e9, 1, 1000};  // node 0: GPU 0 taken
  nodes[0].free_gpus = 3;
  ClusterView cluster;
  cluster.nodes = nodes;
  PolicyRunInfo run;
  run.models = {"m"};
  const PolicyInfo info = @IDENT@_policy();
  auto policy = info.make_placement(context_for(info, run));
  PlacementRequest request;
  request.gpus = 2;
  request.memory_per_gpu = 20e9;
  const PlacementAnswer a = policy->place(request, cluster);
  REQUIRE(a);
  CHECK(a->node == 0);
  CHECK(a->gpus == std::vector<int>{1, 2});
  request.gpus = 4;  // only node 1 has four free
  const PlacementAnswer b = policy->place(request, cluster);
  REQUIRE(b);
  CHECK(b->node == 1);
  request.gpus = 8;  // no node has eight GPUs: never
  CHECK(policy->place(request, cluster).never());
}
)tpl"}},
      {"autoscaler",
       {"policies.autoscaler",
        R"tpl(// @NAME@: an autoscaler — how many replicas a model should have. One instance per model.
//
// Contract (policies/autoscaling/autoscaler.hpp)
//   input   a ScalingView: now, the model's replicas by state (ready, starting, draining), the
//           requests in flight and buffered, the concurrency integral (any window's average is
//           exact: (I(t1) - I(t0)) / (t1 - t0)), when the model went idle, recent idle periods.
//   output  desired replicas (>= 0) and the next periodic evaluation (> now, or kNever);
//           optionally a wake-up (> now) honoured even at zero, and wake_on_arrival. The engine
//           starts or drains replicas to reach `desired` (choose_drain picks which one drains).
//   state   may keep state between evaluations.
//   idle    a model at zero with nothing in flight is not evaluated periodically until a
//           request arrives; a model at zero with buffered requests needs at least one replica.
//   invalid a negative count or a next evaluation not after `now` stops the run.
//
// This one: one replica per `target_concurrency` requests in flight or waiting; it keeps what
// it has while requests are in, and for `keep_alive` after the model goes idle, then scales to
// zero.
#include "@IDENT@.hpp"

#include <algorithm>
#include <cmath>

namespace {

using namespace fleetsim;

class @CLASS@ final : public Autoscaler {
 public:
  @CLASS@(double target, SimTime keep_alive) : target_(target), keep_alive_(keep_alive) {}

  ScalingDecision evaluate(const ScalingView& view) override {
    const int load = view.in_flight + view.buffered;
    int desired = static_cast<int>(std::ceil(load / target_));
    const bool idle_long = view.idle_since != kNever && view.now - view.idle_since >= keep_alive_;
    if (load > 0 || !idle_long) desired = std::max(desired, view.ready + view.starting);
    if (view.buffered > 0) desired = std::max(desired, 1);
    ScalingDecision decision;
    decision.desired = desired;
    decision.next_evaluation = view.now + 2 * kSecond;
    decision.wake_on_arrival = true;
    return decision;
  }

 private:
  double target_;
  SimTime keep_alive_;
};

}  // namespace

PolicyInfo @IDENT@_policy() {
  PolicyInfo info;
  info.family = PolicyFamily::Autoscaler;
  info.name = "@NAME@";
  info.description = "a replica per target_concurrency requests; to zero after keep_alive idle";
  info.params = {
      ParamSpec{"target_concurrency", ParamType::Number, "4", 1, 1e6, "requests per replica"},
      ParamSpec{"keep_alive", ParamType::Duration, "60s", 0, 86400, "idle time before scaling to zero"},
  };
  info.make_autoscaler = [](const PolicyContext& context) {
    return std::make_unique<@CLASS@>(context.params.number("target_concurrency"),
                                     context.params.duration("keep_alive"));
  };
  return info;
}

FLEETSIM_PLUGIN(registrar) { registrar.add(@IDENT@_policy()); }
)tpl",
        R"tpl(
TEST_CASE("@NAME@ follows the load and scales to zero after the keep-alive") {
  PolicyRunInfo run;
  run.models = {"m"};
  const PolicyInfo info = @IDENT@_policy();
  PolicyContext context = context_for(info, run);
  context.params.set_number("keep_alive", 60.0 * kSecond);  // durations are nanoseconds
  auto policy = info.make_autoscaler(context);
  ScalingView view;
  view.now = 10 * kSecond;
  view.idle_since = kNever;
  view.in_flight = 9;  // 9 requests at 4 per replica: 3
  ScalingDecision d = policy->evaluate(view);
  CHECK(d.desired == 3);
  CHECK(d.next_evaluation > view.now);
  view.ready = 3;
  view.in_flight = 0;
  view.idle_since = 20 * kSecond;
  view.now = 30 * kSecond;  // idle 10 s: keeps them
  CHECK(policy->evaluate(view).desired == 3);
  view.now = 90 * kSecond;  // idle 70 s: to zero
  CHECK(policy->evaluate(view).desired == 0);
}
)tpl"}},
      {"router",
       {"policies.router",
        R"tpl(// @NAME@: a router — which ready replica of a model receives a request.
//
// Contract (policies/routing/router.hpp)
//   input   the model's ready replicas (never empty), in ascending replica id, and the request.
//   output  an index into `candidates`.
//   state   may keep state; one router serves every model, so key per-model state by
//           request.model.
//   invalid an index out of range stops the run.
//
// This one: the replica with the fewest outstanding requests (ties: the first).
#include "@IDENT@.hpp"

namespace {

using namespace fleetsim;

class @CLASS@ final : public Router {
 public:
  std::size_t route(std::span<const RouteCandidate> candidates, const RouteRequest&) override {
    std::size_t best = 0;
    for (std::size_t i = 1; i < candidates.size(); ++i)
      if (candidates[i].outstanding < candidates[best].outstanding) best = i;
    return best;
  }
};

}  // namespace

PolicyInfo @IDENT@_policy() {
  PolicyInfo info;
  info.family = PolicyFamily::Router;
  info.name = "@NAME@";
  info.description = "the replica with the fewest outstanding requests (ties: the first)";
  info.make_router = [](const PolicyContext&) { return std::make_unique<@CLASS@>(); };
  return info;
}

FLEETSIM_PLUGIN(registrar) { registrar.add(@IDENT@_policy()); }
)tpl",
        R"tpl(
TEST_CASE("@NAME@ routes to the least loaded replica, ties to the first") {
  PolicyRunInfo run;
  run.models = {"m"};
  const PolicyInfo info = @IDENT@_policy();
  auto policy = info.make_router(context_for(info, run));
  const std::vector<RouteCandidate> replicas = {{0, 3, 3, false}, {1, 1, 1, false}, {2, 1, 0, false}};
  CHECK(policy->route(replicas, RouteRequest{}) == 1);
}
)tpl"}},
      {"batching",
       {"policies.batching",
        R"tpl(// @NAME@: a batching policy — at each step boundary of an LLM replica, whether the request
// at the head of its queue joins the prefill step being formed.
//
// Contract (policies/batching/batching.hpp)
//   input   the replica's BatchState (running, waiting, KV cache, this step so far) and the
//           WaitingRequest offered; requests come in the order they reached the replica.
//   output  Admit (it joins this step) or Stop (the step starts with those admitted; when none
//           was, decoding goes on and the policy is asked again later).
//   engine  checks max_batch and the KV cache before asking: a policy may be stricter, never
//           looser.
//   state   may keep state, but may be offered the same request more than once.
//
// This one: admit while the step's prompt tokens stay within max_prefill_tokens (the first
// request always joins, so a long prompt cannot stall the queue).
#include "@IDENT@.hpp"

namespace {

using namespace fleetsim;

class @CLASS@ final : public BatchingPolicy {
 public:
  BatchAdmission admit(const BatchState& batch, const WaitingRequest& request) override {
    if (batch.step_requests == 0) return BatchAdmission::Admit;
    return batch.step_tokens + request.input_tokens <= batch.max_prefill_tokens ? BatchAdmission::Admit
                                                                                 : BatchAdmission::Stop;
  }
};

}  // namespace

PolicyInfo @IDENT@_policy() {
  PolicyInfo info;
  info.family = PolicyFamily::Batching;
  info.name = "@NAME@";
  info.description = "admit while the step's prompt tokens fit max_prefill_tokens";
  info.make_batching = [](const PolicyContext&) { return std::make_unique<@CLASS@>(); };
  return info;
}

FLEETSIM_PLUGIN(registrar) { registrar.add(@IDENT@_policy()); }
)tpl",
        R"tpl(
TEST_CASE("@NAME@ fills a prefill step up to the token budget") {
  PolicyRunInfo run;
  run.models = {"m"};
  const PolicyInfo info = @IDENT@_policy();
  auto policy = info.make_batching(context_for(info, run));
  BatchState batch;
  batch.max_prefill_tokens = 1000;
  WaitingRequest request;
  request.input_tokens = 5000;
  CHECK(policy->admit(batch, request) == BatchAdmission::Admit);  // the first always joins
  batch.step_requests = 1;
  batch.step_tokens = 600;
  request.input_tokens = 400;
  CHECK(policy->admit(batch, request) == BatchAdmission::Admit);
  request.input_tokens = 401;
  CHECK(policy->admit(batch, request) == BatchAdmission::Stop);
}
)tpl"}},
      {"cache",
       {"policies.cache",
        R"tpl(// @NAME@: a cache policy — what a node's disk and host-memory model caches keep.
//
// Contract (policies/cache/cache.hpp)
//   admit   weights pass through a tier on their way to a GPU: true keeps a copy there; the
//           engine then calls victim() until the new entry fits.
//   victim  an index into `entries` (never empty) to evict, or kKeepAll to evict nothing (then
//           the new entry is not admitted).
//   hooks   on_insert / on_hit / on_evict notifications; prefetch_at_start and
//           prefetch_on_scale_up to warm disks.
//   ties    document yours; deterministic.
//   invalid an index out of range stops the run.
//
// This one: keep everything, evict the least recently used (ties: oldest inserted, lowest model).
#include "@IDENT@.hpp"

namespace {

using namespace fleetsim;

class @CLASS@ final : public CachePolicy {
 public:
  bool admit(CacheTier, std::uint32_t, double, const NodeView&) override { return true; }
  std::size_t victim(CacheTier, std::span<const CacheEntry> entries, const NodeView&) override {
    std::size_t v = 0;
    for (std::size_t i = 1; i < entries.size(); ++i) {
      const CacheEntry& a = entries[i];
      const CacheEntry& b = entries[v];
      if (a.last_used != b.last_used ? a.last_used < b.last_used
                                     : a.inserted != b.inserted ? a.inserted < b.inserted : a.model < b.model)
        v = i;
    }
    return v;
  }
};

}  // namespace

PolicyInfo @IDENT@_policy() {
  PolicyInfo info;
  info.family = PolicyFamily::Cache;
  info.name = "@NAME@";
  info.description = "evict the least recently used (ties: oldest inserted, lowest model)";
  info.make_cache = [](const PolicyContext&) { return std::make_unique<@CLASS@>(); };
  return info;
}

FLEETSIM_PLUGIN(registrar) { registrar.add(@IDENT@_policy()); }
)tpl",
        R"tpl(
TEST_CASE("@NAME@ evicts the least recently used entry") {
  PolicyRunInfo run;
  run.models = {"a", "b", "c"};
  const PolicyInfo info = @IDENT@_policy();
  auto policy = info.make_cache(context_for(info, run));
  const std::vector<CacheEntry> entries = {{0, 1e9, 0, 50, 3}, {1, 1e9, 5, 20, 1}, {2, 1e9, 1, 20, 0}};
  NodeView node;
  CHECK(policy->victim(CacheTier::Disk, entries, node) == 2);  // last used 20, inserted first
}
)tpl"}},
      {"queue",
       {"jobs.policy",
        R"tpl(// @NAME@: a queue policy — the order in which training and batch jobs get GPUs.
//
// Contract (policies/queueing/queue_policy.hpp)
//   input   every waiting or running job (JobView) and a QueueContext (now, cluster totals).
//   output  the jobs' indices in priority order (normally a permutation; a job left out is held).
//           The scheduler gives each job its whole gang if it fits, in this order. preemptive():
//           whether a running job ranked below a waiting one may lose its GPUs to it.
//   state   may keep state.
//   ties    by submit time, then job index (order_by does this for you).
//
// This one: first come, first served, never preempting.
#include "@IDENT@.hpp"

namespace {

using namespace fleetsim;

class @CLASS@ final : public QueuePolicy {
 public:
  bool preemptive() const override { return false; }
  void order(const QueueContext&, std::span<const JobView> jobs, std::vector<std::uint32_t>& out) override {
    order_by(jobs, out, [](const JobView& job) { return job.submit; });
  }
};

}  // namespace

PolicyInfo @IDENT@_policy() {
  PolicyInfo info;
  info.family = PolicyFamily::Queue;
  info.name = "@NAME@";
  info.description = "first come, first served; never preempts";
  info.make_queue = [](const PolicyContext&) { return std::make_unique<@CLASS@>(); };
  return info;
}

FLEETSIM_PLUGIN(registrar) { registrar.add(@IDENT@_policy()); }
)tpl",
        R"tpl(
TEST_CASE("@NAME@ orders jobs by submit time, ties by index") {
  PolicyRunInfo run;
  run.models = {"m"};
  const PolicyInfo info = @IDENT@_policy();
  auto policy = info.make_queue(context_for(info, run));
  std::vector<JobView> jobs(3);
  jobs[0].index = 0;
  jobs[0].submit = 20;
  jobs[1].index = 1;
  jobs[1].submit = 10;
  jobs[2].index = 2;
  jobs[2].submit = 10;
  std::vector<std::uint32_t> order;
  policy->order(QueueContext{}, jobs, order);
  CHECK(order == std::vector<std::uint32_t>{1, 2, 0});
  CHECK_FALSE(policy->preemptive());
}
)tpl"}},
  };
  return all;
}

// ---- Names ------------------------------------------------------------------------------------

// A policy name: lowercase letters, digits and single dashes, starting with a letter, not ending
// with a dash. Returns why not, or "".
std::string name_problem(const std::string& name) {
  if (name.empty()) return "is empty";
  if (name.size() > 64) return "is longer than 64 characters";
  if (name[0] < 'a' || name[0] > 'z') return "must start with a lowercase letter";
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
    if (!ok) return std::string("has '") + c + "': use lowercase letters, digits and dashes";
    if (c == '-' && (i + 1 == name.size() || name[i + 1] == '-')) return "has a dash at the end or two in a row";
  }
  return "";
}

std::string identifier(const std::string& name) {  // my-packer -> my_packer
  std::string out = name;
  for (char& c : out)
    if (c == '-') c = '_';
  return out;
}

std::string class_name(const std::string& name) {  // my-packer -> MyPacker
  std::string out;
  bool upper = true;
  for (char c : name) {
    if (c == '-') {
      upper = true;
      continue;
    }
    out += upper && c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
    upper = false;
  }
  return out;
}

std::string fill(std::string text, const std::map<std::string, std::string>& values) {
  for (const auto& [key, value] : values)
    for (std::size_t at = text.find(key); at != std::string::npos; at = text.find(key, at + value.size()))
      text.replace(at, key.size(), value);
  return text;
}

int new_policy(const std::string& name, const std::string& family, std::string dir) {
  if (const std::string why = name_problem(name); !why.empty()) {
    std::cerr << "new-policy: name '" << name << "' " << why << " (e.g. my-packer)\n";
    return 2;
  }
  const auto f = families().find(family);
  if (f == families().end()) {
    std::cerr << "new-policy: --family " << family
              << ": unknown (placement, autoscaler, router, batching, cache, queue)\n";
    return 2;
  }
  if (dir.empty()) dir = name;
  std::error_code ec;
  if (std::filesystem::exists(dir, ec) &&
      (!std::filesystem::is_directory(dir, ec) || !std::filesystem::is_empty(dir, ec))) {
    std::cerr << "new-policy: " << dir << " exists and is not an empty folder; nothing written\n";
    return 2;
  }
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    std::cerr << "new-policy: cannot create " << dir << ": " << ec.message() << "\n";
    return 2;
  }
  const std::string ident = identifier(name);
  const std::map<std::string, std::string> values = {
      {"@NAME@", name}, {"@IDENT@", ident}, {"@CLASS@", class_name(name)}, {"@FAMILY@", family},
      {"@KEY@", f->second.key}};
  const std::vector<std::pair<std::string, std::string>> files = {
      {"CMakeLists.txt", kCMake},
      {ident + ".hpp", kHeader},
      {ident + ".cpp", f->second.source},
      {"test_" + ident + ".cpp", std::string(kTestPrelude) + f->second.test},
      {"README.md", kReadme},
  };
  for (const auto& [file, text] : files) {
    const std::filesystem::path path = std::filesystem::path(dir) / file;
    std::ofstream out(path, std::ios::binary);
    out << fill(text, values);
    if (!out) {
      std::cerr << "new-policy: cannot write " << path.string() << "\n";
      return 2;
    }
  }
  std::cout << "wrote " << family << " policy " << name << " into " << dir << "/ (";
  for (std::size_t i = 0; i < files.size(); ++i) std::cout << (i ? ", " : "") << files[i].first;
  std::cout << "); see " << dir << "/README.md\n";
  return 0;
}

}  // namespace

void add_new_policy_command(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("new-policy", "write a buildable plugin project for a new policy");
  auto name = std::make_shared<std::string>();
  auto family = std::make_shared<std::string>();
  auto dir = std::make_shared<std::string>();
  cmd->add_option("name", *name, "the policy's name: lowercase letters, digits, dashes")->required();
  cmd->add_option("--family", *family, "placement, autoscaler, router, batching, cache or queue")->required();
  cmd->add_option("--dir", *dir, "where to write it (default ./NAME; must not exist or be empty)");
  cmd->callback([&exit_code, name, family, dir] { exit_code = new_policy(*name, *family, *dir); });
}

}  // namespace fleetsim
