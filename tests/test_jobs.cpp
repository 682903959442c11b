// The job simulation against hand computations: FIFO blocking, EASY backfill, SRTF
// preemption with and without lost work, rounds, gang placement across nodes.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "sim/job_simulation.hpp"
#include "sim/rng.hpp"
#include "sim/event_queue.hpp"
#include "tests/support.hpp"

using namespace fleetsim;
using namespace fleetsim::test;

namespace {

using ListSource = ListJobs;

JobSpec job(const std::string& id, double submit_s, int workers, int gpus, double seconds) {
  JobSpec j;
  j.id = id;
  j.submit = from_seconds(submit_s);
  j.workers = workers;
  j.worker.gpus = gpus;
  j.duration = from_seconds(seconds);
  return j;
}

JobRunResult run(std::vector<JobClusterNode> nodes, std::vector<JobSpec> jobs, const std::string& policy,
                 JobRunOptions options = {}) {
  JobSimulation sim(std::move(nodes), std::make_unique<ListSource>(std::move(jobs)),
                    registry().make_queue(PolicyChoice{policy, {}}), options);
  JobRunResult r = sim.run();
  REQUIRE(r.ok);
  return r;
}

double jct(const JobRunResult& r, const std::string& id) {
  for (const auto& j : r.jobs)
    if (j.id == id) return to_seconds(j.end - j.submit);
  FAIL("no job " << id);
  return 0;
}

}  // namespace

TEST_CASE("fifo: a job waits for the gang before it, all or nothing", "[jobs]") {
  // Two GPUs. A needs both for 100 s; B (1 GPU, 50 s, at 10 s) waits until 100 s: JCT 140 s.
  auto r = run({{"g", 2}}, {job("A", 0, 1, 2, 100), job("B", 10, 1, 1, 50)}, "fifo");
  REQUIRE(jct(r, "A") == Approx(100));
  REQUIRE(jct(r, "B") == Approx(140));
  REQUIRE(to_seconds(r.makespan) == 150);
  REQUIRE(summarize_jobs(r).mean_queueing_s == Approx(45));  // (0 + 90) / 2
}

TEST_CASE("EASY backfill starts a short job that does not delay the head", "[jobs]") {
  // Two GPUs. A (1 GPU, 100 s) runs; B (2 GPUs) arrives at 10 s and must wait until 100 s;
  // C (1 GPU, 50 s, at 20 s) would end at 70 s, before B's reservation: it starts at once.
  // Without backfill C waits for B: starts at 200 s.
  std::vector<JobSpec> jobs = {job("A", 0, 1, 1, 100), job("B", 10, 1, 2, 100), job("C", 20, 1, 1, 50)};
  JobRunOptions easy;
  easy.backfill = true;
  auto with = run({{"g", 2}}, jobs, "fifo", easy);
  REQUIRE(jct(with, "C") == Approx(50));
  REQUIRE(jct(with, "B") == Approx(190));  // not delayed: starts at 100 s
  auto without = run({{"g", 2}}, jobs, "fifo");
  REQUIRE(jct(without, "C") == Approx(230));  // starts at 200 s
}

TEST_CASE("srtf preempts a long job for a short one, the long one resumes", "[jobs]") {
  // One GPU. A (100 s) from 0; B (10 s) at 10 s preempts it (90 s left > 10 s), B ends at 20 s,
  // A resumes and ends at 110 s (checkpoint on preemption: no work lost).
  auto r = run({{"g", 1}}, {job("A", 0, 1, 1, 100), job("B", 10, 1, 1, 10)}, "srtf");
  REQUIRE(jct(r, "B") == Approx(10));
  REQUIRE(jct(r, "A") == Approx(110));
  REQUIRE(r.jobs[0].preemptions == 1);
  REQUIRE(r.jobs[0].lost_gpu_seconds == 0);
  // Losing the work instead, with a 5 s restart: A restarts from scratch at 20 s, ends at 125 s.
  JobRunOptions lose;
  lose.checkpoint_on_preemption = false;
  lose.restart_overhead = from_seconds(5);
  auto l = run({{"g", 1}}, {job("A", 0, 1, 1, 100), job("B", 10, 1, 1, 10)}, "srtf", lose);
  REQUIRE(jct(l, "A") == Approx(125));
  REQUIRE(l.jobs[0].lost_gpu_seconds == Approx(10));
  // With a 4 s checkpoint interval: 10 s run -> checkpoints at 4 and 8 s, 2 s lost; restart
  // 5 s: A resumes at 25 s with 92 s left, ends at 117 s.
  auto c = run({{"g", 1}}, {[] { auto a = job("A", 0, 1, 1, 100); a.checkpoint_interval = from_seconds(4); return a; }(),
                            job("B", 10, 1, 1, 10)}, "srtf", lose);
  REQUIRE(jct(c, "A") == Approx(117));
  REQUIRE(c.jobs[0].lost_gpu_seconds == Approx(2));
}

TEST_CASE("rounds: allocations change only at round boundaries", "[jobs]") {
  JobRunOptions rounds;
  rounds.round = from_seconds(360);
  // Arrives at 10 s, starts at the 360 s boundary, runs 100 s.
  auto r = run({{"g", 1}}, {job("A", 10, 1, 1, 100)}, "fifo", rounds);
  REQUIRE(jct(r, "A") == Approx(450));
}

TEST_CASE("a gang spans the fewest nodes, preferring one node that fits it whole", "[jobs]") {
  // Nodes of 4, 2 and 4 GPUs. A (3 GPUs) takes the tightest node that fits it whole (node 0 or
  // 2: both 4 -> the first). B (4 workers x 1 GPU) then fits node 2 whole. C (3 x 1) must span
  // node 0's last GPU and node 1's two.
  auto r = run({{"g", 4}, {"g", 2}, {"g", 4}},
               {job("A", 0, 1, 3, 100), job("B", 1, 4, 1, 100), job("C", 2, 3, 1, 100)}, "fifo");
  for (const auto& j : r.jobs) REQUIRE(to_seconds(j.first_start - j.submit) == 0);
}

TEST_CASE("steps run at the speed of the GPU type the job gets", "[jobs]") {
  // 1,000 steps; 10 steps/s on fast, 2 on slow: the job takes the fast node (100 s).
  auto j = job("A", 0, 1, 1, 0);
  j.duration = 0;
  j.steps = 1000;
  j.steps_per_second = {{"fast", 10}, {"slow", 2}};
  auto r = run({{"slow", 1}, {"fast", 1}}, {j}, "fifo");
  REQUIRE(jct(r, "A") == Approx(100));
  REQUIRE(r.jobs[0].gpu_type == "fast");
}

TEST_CASE("every queue policy runs a mixed trace to completion", "[jobs][smoke]") {
  std::vector<JobSpec> jobs;
  RngStream rng(5, "jobs/smoke");
  for (int i = 0; i < 200; ++i) {
    auto j = job("j" + std::to_string(i), i * 30.0, 1 + static_cast<int>(rng.below(3)), 1 + static_cast<int>(rng.below(2)),
                 60 + rng.uniform() * 3000);
    j.priority = static_cast<int>(rng.below(3));
    j.preemptible = rng.below(4) != 0;
    jobs.push_back(j);
  }
  for (const auto& name : registry().names(PolicyFamily::Queue)) {
    DYNAMIC_SECTION(name) {
      for (bool backfill : {false, true}) {
        JobRunOptions o;
        o.backfill = backfill;
        auto r = run({{"g", 4}, {"g", 4}, {"g", 2}}, jobs, name, o);
        REQUIRE(summarize_jobs(r).completed == 200);
        REQUIRE(r.gpu_seconds_busy <= r.gpu_seconds_capacity + 1e-6);
      }
    }
  }
}

TEST_CASE("fair-share: a tenant borrows idle quota and gives it back when the owner needs it", "[jobs][fair-share]") {
  // Four GPUs, tenants a and b with equal quotas (2 each). a submits four 1-GPU jobs of 100 s
  // at t = 0 and borrows b's idle quota; b's two jobs arrive at 10 s and reclaim it: two of
  // a's jobs are preempted (checkpointed) and resume when b's end at 110 s, ending at 200 s.
  std::vector<JobSpec> jobs;
  for (int i = 0; i < 4; ++i) {
    auto j = job("a" + std::to_string(i), 0, 1, 1, 100);
    j.tenant = "a";
    jobs.push_back(j);
  }
  for (int i = 0; i < 2; ++i) {
    auto j = job("b" + std::to_string(i), 10, 1, 1, 100);
    j.tenant = "b";
    jobs.push_back(j);
  }
  auto r = run({{"g", 4}}, jobs, "fair-share");
  REQUIRE(jct(r, "b0") == Approx(100));
  REQUIRE(jct(r, "b1") == Approx(100));
  int preempted = 0;
  for (const auto& j : r.jobs) preempted += j.preemptions;
  REQUIRE(preempted == 2);
  REQUIRE(jct(r, "a0") == Approx(100));
  REQUIRE(jct(r, "a3") == Approx(200));  // 10 s run, 100 s out, 90 s more
  // Without borrowing and with the quotas stated (without them the cluster is split among the
  // tenants seen so far, and at t = 0 that is a alone), a runs only two jobs at a time.
  ParamValues no_borrow;
  no_borrow.set_number("borrowing", 0);
  no_borrow.set_string("quotas", "a:2,b:2");
  JobSimulation sim({{"g", 4}}, std::make_unique<ListSource>(jobs),
                    registry().make_queue(PolicyChoice{"fair-share", no_borrow}), {});
  auto held = sim.run();
  REQUIRE(held.ok);
  REQUIRE(jct(held, "a2") == Approx(200));
  int none = 0;
  for (const auto& j : held.jobs) none += j.preemptions;
  REQUIRE(none == 0);
}

TEST_CASE("finish-time fairness per tenant and the utilization series", "[jobs][fair-share]") {
  // Two GPUs, tenants a and b (equal share: 1 GPU each). a's 2-GPU job of 100 s at 0; b's 1-GPU
  // job of 100 s at 0 waits (FIFO, a first): JCT 200 s. T_id: a = 100 × max(1, 2/1) = 200 ->
  // rho 0.5; b = 100 × 1 -> rho 2.
  auto a = job("a", 0, 1, 2, 100);
  a.tenant = "a";
  auto b = job("b", 0, 1, 1, 100);
  b.tenant = "b";
  JobRunOptions o;
  o.sample_interval = from_seconds(50);
  auto r = run({{"g", 2}}, {a, b}, "fifo", o);
  auto f = finish_time_fairness(r, 2);
  REQUIRE(f.size() == 2);
  REQUIRE(f[0].tenant == "a");
  REQUIRE(f[0].mean_rho == Approx(0.5));
  REQUIRE(f[1].mean_rho == Approx(2.0));
  // Busy GPUs every 50 s: 2 until 100 s, then 1 until 200 s (samples show the level just before).
  std::vector<std::pair<SimTime, double>> expected = {{0, 0}, {from_seconds(50), 2}, {from_seconds(100), 2},
                                                   {from_seconds(150), 1}, {from_seconds(200), 1}};
  REQUIRE(r.busy_gpus == expected);
}

namespace {
// A scenario: one pool (default: one node with 2 H100s), a scale-to-zero model that gets one
// request at 100 s (60 s timeout), and the job rows given (generic-csv: id,submit_s,duration_s,
// gpus,workers,tenant,priority) as its co-located jobs; `jobs_extra` is added to the jobs
// mapping, `model_extra` to the model's.
std::string one_request_beside_jobs(const std::string& name, const std::string& job_rows, const std::string& jobs_extra,
                                    const std::string& pool = "{name: a, nodes: 1, gpu: H100-80GB, gpus_per_node: 2}",
                                    const std::string& model_extra = "") {
  auto dir = std::filesystem::temp_directory_path() / name;
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "jobs.csv") << "id,submit_s,duration_s,gpus,workers,tenant,priority\n" << job_rows;
  std::ofstream(dir / "requests.csv") << "timestamp,model,input_tokens,output_tokens\n100.0,m,100,5\n";
  return "duration: 1h\nrequest_timeout: 60s\n"
         "cluster: {pools: [" + pool + "]}\n"
         "policies: {autoscaler: {impl: kpa, initial_scale: 0}}\n"
         "models: [{name: m, parameters: 8e9, kv_cache_per_token: 128KiB" + model_extra + "}]\n"
         "workloads: [{trace: " + (dir / "requests.csv").string() + "}]\n"
         "jobs: {trace: " + (dir / "jobs.csv").string() + jobs_extra + "}\n";
}
}  // namespace

TEST_CASE("co-location: an inference scale-up preempts a job, which resumes afterwards", "[jobs][colocation]") {
  // One node, 2 GPUs. Job A (2 GPUs, 1,000 s) starts at 0 and holds both. A request at 100 s
  // finds no replica; the KPA asks for one; placement finds no room, so A is preempted
  // (checkpointed) and the replica cold-starts. After the request, the replica scales to zero
  // and A gets its GPUs back. Without preemption the request waits until it times out.
  const std::string yaml = one_request_beside_jobs("fleetsim_test_coloc", "A,0,1000,2,1,t,0\n", ", restart_overhead: 30s");
  RunOutput with = run_scenario(scenario_from(yaml));
  REQUIRE(with.violations.empty());
  REQUIRE(with.metrics.overall.completed() == 1);
  REQUIRE(with.status.jobs);
  REQUIRE(with.status.jobs->jobs.size() == 1);
  const JobOutcome& a = with.status.jobs->jobs[0];
  REQUIRE(a.preemptions == 1);
  REQUIRE(a.completed());
  // A ran 100 s, was out while the replica lived, then ran 900 s more after a 30 s restart.
  REQUIRE(to_seconds(a.end - a.submit) > 1000 + 30);
  REQUIRE(with.status.gpu_seconds_total == Approx(2 * 3600.0));

  RunOutput without = run_scenario(scenario_from(yaml, LoadOptions{{"jobs.inference_preempts=false"}, std::nullopt}));
  REQUIRE(without.violations.empty());
  REQUIRE(without.metrics.overall.outcomes[static_cast<int>(RequestOutcome::TimedOut)] == 1);
  REQUIRE(without.status.jobs->jobs[0].preemptions == 0);
  REQUIRE(to_seconds(without.status.jobs->jobs[0].end) == Approx(1000));
}

TEST_CASE("hand-computed schedules: sjf, priority and las on small examples", "[jobs]") {
  SECTION("sjf: the shortest waiting job goes first") {
    // One GPU. A (100 s) runs from 0; B (50 s) and C (20 s) arrive at 10 s and 11 s.
    // At 100 s SJF starts C (20 s) then B: C ends at 120 s, B at 170 s (FIFO: B 150, C 170).
    auto r = run({{"g", 1}}, {job("A", 0, 1, 1, 100), job("B", 10, 1, 1, 50), job("C", 11, 1, 1, 20)}, "sjf");
    REQUIRE(jct(r, "C") == Approx(109));  // 120 - 11
    REQUIRE(jct(r, "B") == Approx(160));  // 170 - 10
    auto f = run({{"g", 1}}, {job("A", 0, 1, 1, 100), job("B", 10, 1, 1, 50), job("C", 11, 1, 1, 20)}, "fifo");
    REQUIRE(jct(f, "B") == Approx(140));
    REQUIRE(jct(f, "C") == Approx(159));
  }
  SECTION("priority: a higher class preempts a preemptible lower one; a non-preemptible one is kept") {
    // Two GPUs. L1 (priority 0, preemptible, 1 GPU, 100 s) and L2 (priority 0, not preemptible,
    // 1 GPU, 100 s) start at 0; H (priority 5, 1 GPU, 10 s) at 5 s takes L1's GPU; L1 resumes
    // at 15 s and ends at 110 s; L2 is untouched (ends at 100 s).
    auto l1 = job("L1", 0, 1, 1, 100);
    auto l2 = job("L2", 0, 1, 1, 100);
    l2.preemptible = false;
    auto h = job("H", 5, 1, 1, 10);
    h.priority = 5;
    auto r = run({{"g", 2}}, {l1, l2, h}, "priority");
    REQUIRE(jct(r, "H") == Approx(10));
    REQUIRE(jct(r, "L1") == Approx(110));
    REQUIRE(jct(r, "L2") == Approx(100));
  }
  SECTION("las: a newcomer with no attained service preempts a job past the threshold") {
    // One GPU, threshold 0.01 GPU-hours = 36 s. A (200 s) from 0; at 50 s A has 50 GPU-s, in
    // the second queue; B (30 s) arrives at 50 s in the first queue and preempts A; B ends at
    // 80 s; A resumes and ends at 230 s.
    ParamValues p;
    p.set_number("threshold_gpu_hours", 0.01);
    p.set_number("queues", 2);
    p.set_number("starvation_factor", 0);
    JobSimulation sim({{"g", 1}}, std::make_unique<ListSource>(std::vector<JobSpec>{job("A", 0, 1, 1, 200), job("B", 50, 1, 1, 30)}),
                      registry().make_queue(PolicyChoice{"las", p}), {});
    auto r = sim.run();
    REQUIRE(r.ok);
    REQUIRE(jct(r, "B") == Approx(30));
    REQUIRE(jct(r, "A") == Approx(230));
  }
}

TEST_CASE("gangs are never partially placed", "[jobs]") {
  // Three 2-GPU nodes; a gang of 4 workers x 1 GPU needs two whole free nodes' worth: while a
  // 1-GPU job holds part of each node, the gang waits rather than taking 3 of its 4.
  std::vector<JobSpec> jobs = {job("a", 0, 1, 1, 100), job("b", 0, 1, 1, 100), job("c", 0, 1, 1, 100),
                               job("G", 1, 4, 1, 50)};
  auto r = run({{"g", 2}, {"g", 2}, {"g", 2}}, jobs, "fifo");
  // 3 GPUs free (one per node) < 4: G starts only at 100 s.
  REQUIRE(jct(r, "G") == Approx(149));
}

TEST_CASE("long-running instances run until their end, or for ever", "[jobs]") {
  // One GPU. I (no work, ends at 500 s) holds it from 0 to 500 s; J (100 s) waits until then.
  JobSpec instance;
  instance.id = "I";
  instance.workers = 1;
  instance.worker.gpus = 1;
  instance.end = from_seconds(500);
  auto r = run({{"g", 1}}, {instance, job("J", 10, 1, 1, 100)}, "fifo");
  REQUIRE(jct(r, "I") == Approx(500));
  REQUIRE(jct(r, "J") == Approx(590));
  // Without an end it never finishes: J never starts, and the run ends with both unfinished.
  instance.end = kNever;
  JobSimulation sim({{"g", 1}}, std::make_unique<ListSource>(std::vector<JobSpec>{instance, job("J", 10, 1, 1, 100)}),
                    registry().make_queue(PolicyChoice{"fifo", {}}), {});
  auto f = sim.run();
  REQUIRE(f.ok);
  REQUIRE_FALSE(f.jobs[0].completed());
  REQUIRE_FALSE(f.jobs[1].completed());
}

// ---------------------------------------------------------------------------------------------
// Resources beyond whole GPUs: shares of a GPU, GPU memory, CPU and host memory.

namespace {

constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;

JobSpec share_job(const std::string& id, double submit_s, int milli, double seconds) {
  JobSpec j = job(id, submit_s, 1, 0, seconds);
  j.worker.milli_gpu = milli;
  return j;
}

// A cluster that checks, on every take, that nothing is over-committed, and counts what moves.
struct CheckingCluster {
  CheckingCluster(int nodes, int gpus, double gpu_memory, double cpu, double memory)
      : state(job_cluster(std::vector<JobClusterNode>(static_cast<std::size_t>(nodes),
                                                      JobClusterNode{"g", gpus, gpu_memory, cpu, memory}))) {
    state.watch([this](const Allocation& a, bool reserved) {
      if (!reserved) {
        ++gives;
        return;
      }
      ++takes;
      for (const NodeView& n : state.nodes()) {
        for (const GpuSlot& g : n.gpus)
          if (g.milli_used > 1000 || g.memory_used > n.gpu_type->memory_bytes * (1 + 1e-9)) ++violations;
        if ((n.cpu_capacity > 0 && n.cpu_used > n.cpu_capacity + 1e-9) ||
            (n.host_memory_capacity > 0 && n.host_memory_used > n.host_memory_capacity * (1 + 1e-9)))
          ++violations;
      }
      for (const auto& g : a.gpus)  // a whole GPU is held alone; a share never takes a whole one
        if (g.milli <= 0 || g.milli > 1000) ++violations;
    });
  }
  bool back_to_initial() const {
    for (const NodeView& n : state.nodes()) {
      if (n.free_gpus != static_cast<int>(n.gpus.size()) || std::abs(n.cpu_used) > 1e-6) return false;
      for (const GpuSlot& g : n.gpus)
        if (g.holders != 0 || g.milli_used != 0) return false;
    }
    return true;
  }
  ClusterState state;
  int takes = 0, gives = 0, violations = 0;
};

}  // namespace

TEST_CASE("GPU shares: two halves share a GPU, a third share waits for room", "[jobs][fractional]") {
  // One 1-GPU node. A (500 milli, 100 s) and B (500, 100 s) at 0 run side by side on the one
  // GPU; C (600, 50 s) at 1 s fits only when A and B leave at 100 s: JCT 149 s. D (1 whole GPU,
  // 10 s) at 2 s waits behind C under FIFO (C blocks the queue), starts at 150 s: JCT 158 s.
  auto r = run({{"g", 1}}, {share_job("A", 0, 500, 100), share_job("B", 0, 500, 100), share_job("C", 1, 600, 50),
                            job("D", 2, 1, 1, 10)},
               "fifo");
  REQUIRE(jct(r, "A") == Approx(100));
  REQUIRE(jct(r, "B") == Approx(100));
  REQUIRE(jct(r, "C") == Approx(149));
  REQUIRE(jct(r, "D") == Approx(158));
  // Busy GPUs count shares as fractions: 1.0 from 0 to 100 s, 0.6 to 150 s, 1 to 160 s.
  REQUIRE(r.gpu_seconds_busy == Approx(100 * 1.0 + 50 * 0.6 + 10 * 1.0));
  auto c = std::find_if(r.jobs.begin(), r.jobs.end(), [](const JobOutcome& o) { return o.id == "C"; });
  REQUIRE(c->gpus == Approx(0.6));
}

TEST_CASE("GPU shares: GPU memory and CPU bound who fits, and best fit packs shares", "[jobs][fractional]") {
  SECTION("GPU memory: two 30% shares that need 10 GiB each cannot share a 16 GiB GPU") {
    auto a = share_job("A", 0, 300, 100);
    auto b = share_job("B", 0, 300, 100);
    a.worker.gpu_memory_bytes = b.worker.gpu_memory_bytes = 10 * kGiB;
    auto r = run({{"g", 1, 16 * kGiB}}, {a, b}, "fifo");
    REQUIRE(jct(r, "A") == Approx(100));
    REQUIRE(jct(r, "B") == Approx(200));  // waits for A's memory
    auto two = run({{"g", 2, 16 * kGiB}}, {a, b}, "fifo");
    REQUIRE(jct(two, "B") == Approx(100));  // the second GPU takes it
  }
  SECTION("CPU: two 6-core jobs on an 8-core node run one after the other; a CPU-only job takes no GPU") {
    auto a = job("A", 0, 1, 1, 100);
    auto b = job("B", 0, 1, 1, 100);
    a.worker.cpu = b.worker.cpu = 6;
    auto r = run({{"g", 2, 0, 8}}, {a, b}, "fifo");
    REQUIRE(jct(r, "B") == Approx(200));
    // A CPU-only job (2 cores) beside a job holding both GPUs: it runs at once, on no GPU.
    auto whole = job("W", 0, 1, 2, 100);
    auto cpu = job("C", 0, 1, 0, 50);
    cpu.worker.cpu = 2;
    auto s = run({{"g", 2, 0, 8}}, {whole, cpu}, "fifo");
    REQUIRE(jct(s, "C") == Approx(50));
    REQUIRE(s.gpu_seconds_busy == Approx(2 * 100.0));
  }
  SECTION("best fit: a share goes to the GPU with the least room left, keeping a whole GPU free") {
    // Two GPUs. A (700) lands on GPU 0; B (300) fills GPU 0 rather than breaking GPU 1, so W
    // (a whole GPU) starts at once.
    auto r = run({{"g", 2}}, {share_job("A", 0, 700, 100), share_job("B", 1, 300, 100), job("W", 2, 1, 1, 10)}, "fifo");
    REQUIRE(jct(r, "W") == Approx(10));
  }
}

TEST_CASE("a job that can never fit the cluster is rejected, not left blocking the queue", "[jobs]") {
  // One 4-GPU node. X needs 8 GPUs: rejected at arrival (reported), and FIFO goes on with Y.
  auto gpu = job("Y", 1, 1, 1, 10);
  auto typed = job("Z", 2, 1, 1, 10);
  typed.gpu_types = {"h100"};
  auto r = run({{"g", 4}}, {job("X", 0, 8, 1, 100), gpu, typed}, "fifo");
  REQUIRE(r.rejected == 2);
  REQUIRE(r.rejected_examples.size() == 2);
  REQUIRE_THAT(r.rejected_examples[0], Catch::Contains("job X") && Catch::Contains("does not fit even the empty cluster"));
  REQUIRE(r.rejected_examples[1] == "job Z: no GPU type of the cluster can run it: g (not allowed)");
  // Each reason in the user's terms.
  JobSpec steps = job("S", 0, 1, 1, 0);
  steps.duration = 0;
  steps.steps = 100;
  JobSpec elsewhere = steps;
  elsewhere.id = "E";
  elsewhere.steps_per_second = {{"a100", 1.0}, {"t4", 2.0}};
  JobSpec big = job("M", 0, 1, 1, 10);
  big.worker.gpu_memory_bytes = 100 * kGiB;
  JobSpec mixed = elsewhere;  // may only use v100, has a k80 throughput only
  mixed.id = "X";
  mixed.steps_per_second = {{"k80", 1.0}};
  mixed.gpu_types = {"v100"};
  mixed.worker.gpu_memory_bytes = 1.9 * kGiB;
  auto reasons = run({{"g", 4, 80 * kGiB}, {"v100", 1, 16 * kGiB}, {"k80", 1, 12 * kGiB}, {"", 0, 0, 8}},
                     {steps, elsewhere, big, mixed}, "fifo");
  REQUIRE(reasons.rejected_examples ==
          std::vector<std::string>{
              "job S: its work is in steps, with no throughput for any GPU type (gavel traces: give the throughput table)",
              "job E: no GPU type of the cluster can run it: g (no throughput), v100 (no throughput), k80 (no throughput)",
              "job M: no GPU type of the cluster can run it: g (80.0 GiB of GPU memory, 100.0 asked), v100 (16.0 GiB of "
              "GPU memory, 100.0 asked), k80 (12.0 GiB of GPU memory, 100.0 asked)",
              "job X: no GPU type of the cluster can run it: g (not allowed), v100 (no throughput), k80 (not allowed)"});
  REQUIRE(jct(r, "Y") == Approx(10));
  REQUIRE_FALSE(r.jobs[0].completed());
}

TEST_CASE("EASY backfill reserves by shape: a 4-GPU worker needs 4 on one node", "[jobs][backfill]") {
  // Two 4-GPU nodes. A (3 GPUs, 100 s) takes node 0, B (3 GPUs, 200 s) node 1. H (one worker
  // of 4 GPUs) at 1 s: 1 + 1 GPUs are free, the wrong shape; its reservation is node 0 at
  // 100 s (when A ends), leaving node 1's free GPU spare.
  //   S (1 GPU, 50 s) at 2 s ends before 100 s: backfilled at once (on node 0).
  //   L (1 GPU, 500 s) at 3 s runs past 100 s but fits in the spare GPU: starts at once.
  //   M (1 GPU, 500 s) at 4 s: S's GPU frees at 52 s, but M would run past 100 s on H's node
  //   and nothing is spare: it waits until B ends at 200 s.
  JobRunOptions o;
  o.backfill = true;
  auto r = run({{"g", 4}, {"g", 4}},
               {job("A", 0, 1, 3, 100), job("B", 0, 1, 3, 200), job("H", 1, 1, 4, 100), job("S", 2, 1, 1, 50),
                job("L", 3, 1, 1, 500), job("M", 4, 1, 1, 500)},
               "fifo", o);
  REQUIRE(jct(r, "S") == Approx(50));
  REQUIRE(jct(r, "L") == Approx(500));
  REQUIRE(jct(r, "H") == Approx(199));  // starts at 100 s
  REQUIRE(jct(r, "M") == Approx(696));  // starts at 200 s
}

TEST_CASE("resources are never over-committed and all come back, for every queue policy", "[jobs][fractional][invariants]") {
  for (const std::string policy : {"fifo", "sjf", "srtf", "las", "priority", "fair-share"}) {
    for (std::uint64_t seed = 1; seed <= 6; ++seed) {
      RngStream rng(seed, "test/jobs");
      std::vector<JobSpec> jobs;
      double t = 0;
      for (int i = 0; i < 120; ++i) {
        t += rng.uniform() * 20;
        JobSpec j = job("j" + std::to_string(i), t, 1 + static_cast<int>(rng.uniform() * 2), 0, 10 + rng.uniform() * 200);
        const double kind = rng.uniform();
        if (kind < 0.4) j.worker.gpus = 1 + static_cast<int>(rng.uniform() * 2);
        else if (kind < 0.8) j.worker.milli_gpu = 100 + static_cast<int>(rng.uniform() * 800);
        j.worker.gpu_memory_bytes = rng.uniform() * 8 * kGiB;
        j.worker.cpu = rng.uniform() * 8;
        j.worker.memory_bytes = rng.uniform() * 32 * kGiB;
        j.priority = static_cast<int>(rng.uniform() * 3);
        j.tenant = rng.uniform() < 0.5 ? "a" : "b";
        jobs.push_back(j);
      }
      auto check = std::make_unique<CheckingCluster>(3, 4, 16 * kGiB, 16, 64 * kGiB);
      // The built-in placement, and placement policies (fgd, best-fit) placing each worker.
      const std::string placement = seed % 3 == 1 ? "" : seed % 3 == 2 ? "fgd" : "best-fit";
      JobRunOptions options;
      options.backfill = policy == "fifo";
      options.round = seed > 3 ? from_seconds(60) : 0;  // half the runs in Gavel-style rounds
      if (!placement.empty()) {
        options.placement = registry().make_placement(PolicyChoice{placement, {}});
        options.placement_name = placement;
      }
      JobSimulation sim(check->state, std::make_unique<ListSource>(jobs),
                        registry().make_queue(PolicyChoice{policy, {}}), options);
      auto r = sim.run();
      INFO(policy << " seed " << seed << " placement " << placement << (options.round ? " rounds" : "") << " "
                  << r.errors.to_string());
      REQUIRE(r.ok);
      REQUIRE(check->violations == 0);
      REQUIRE(check->takes > 0);
      REQUIRE(check->takes == check->gives);
      REQUIRE(check->back_to_initial());
      for (const auto& o : r.jobs) REQUIRE(o.completed());
      REQUIRE(r.futile_preemptions == 0);
    }
  }
}

TEST_CASE("co-location: shares pack on one GPU, and a scale-up preempts only jobs below inference's priority", "[jobs][colocation][fractional]") {
  // One node, 2 GPUs. A and B (half a GPU each, from 0 and 1 s) share GPU 0 (best fit); C (a
  // whole GPU, priority 0, from 2 s) holds GPU 1; A and B have priority 2. A request at 100 s
  // needs a replica: C, the lowest priority, is preempted; the shares keep running. With
  // inference_priority 0 no job is below it, so none may be preempted: the request times out.
  const std::string yaml = one_request_beside_jobs(
      "fleetsim_test_coloc_shares", "A,0,1000,0.5,1,t,2\nB,1,1000,0.5,1,t,2\nC,2,1000,1,1,t,0\n", "");
  RunOutput with = run_scenario(scenario_from(yaml));
  REQUIRE(with.violations.empty());
  REQUIRE(with.metrics.overall.completed() == 1);
  const auto& jobs = with.status.jobs->jobs;
  REQUIRE(jobs.size() == 3);
  REQUIRE(jobs[0].preemptions == 0);
  REQUIRE(jobs[1].preemptions == 0);
  REQUIRE(jobs[2].preemptions == 1);
  REQUIRE(jobs[0].gpus == Approx(0.5));
  REQUIRE(to_seconds(jobs[1].end - jobs[1].submit) == Approx(1000));

  // The same with a placement policy placing the job workers: best-fit packs the shares too.
  RunOutput placed = run_scenario(scenario_from(yaml, LoadOptions{{"jobs.placement.impl=best-fit"}, std::nullopt}));
  REQUIRE(placed.violations.empty());
  REQUIRE(placed.status.jobs->jobs[0].preemptions == 0);
  REQUIRE(placed.status.jobs->jobs[2].preemptions == 1);
  REQUIRE_THAT(errors_of(yaml, LoadOptions{{"jobs.placement.impl=nope"}, std::nullopt}),
               Catch::Contains("jobs.placement.impl: unknown placement policy \"nope\""));

  RunOutput kept = run_scenario(scenario_from(yaml, LoadOptions{{"jobs.inference_priority=0"}, std::nullopt}));
  REQUIRE(kept.violations.empty());
  REQUIRE(kept.metrics.overall.outcomes[static_cast<int>(RequestOutcome::TimedOut)] == 1);
  for (const auto& j : kept.status.jobs->jobs) REQUIRE(j.preemptions == 0);
}

namespace {
// Always answers node 0, GPU 0: wrong as soon as that GPU is taken.
class StubbornPlacement final : public PlacementPolicy {
 public:
  PlacementAnswer place(const PlacementRequest&, const ClusterView&) override { return Placement{0, {0}}; }
};
}  // namespace

TEST_CASE("jobs placed by a placement policy: same packing, all or nothing, wrong decisions stop the run", "[jobs][fractional]") {
  JobRunOptions best_fit;
  best_fit.placement = registry().make_placement(PolicyChoice{"best-fit", {}});
  best_fit.placement_name = "best-fit";
  SECTION("shares pack on one GPU under best-fit as under the built-in placement") {
    auto r = run({{"g", 2}}, {share_job("A", 0, 700, 100), share_job("B", 1, 300, 100), job("W", 2, 1, 1, 10)}, "fifo",
                 best_fit);
    REQUIRE(jct(r, "W") == Approx(10));
  }
  SECTION("a gang of three 1-GPU workers on two 1-GPU nodes never starts; the two placed are undone") {
    auto check = std::make_unique<CheckingCluster>(2, 1, 0, 0, 0);
    JobSimulation sim(check->state, std::make_unique<ListSource>(std::vector<JobSpec>{job("G", 0, 3, 1, 10), job("S", 1, 1, 1, 10)}),
                      registry().make_queue(PolicyChoice{"fifo", {}}), best_fit);
    auto r = sim.run();
    REQUIRE(r.ok);
    REQUIRE(r.rejected == 1);  // the gang does not fit the empty cluster
    REQUIRE(jct(r, "S") == Approx(10));
    REQUIRE(check->takes == 1);
    REQUIRE(check->back_to_initial());
  }
  SECTION("a policy that over-commits a GPU stops the run with an error naming it") {
    JobRunOptions stubborn;
    stubborn.placement = std::make_shared<StubbornPlacement>();
    stubborn.placement_name = "stubborn";
    JobSimulation sim({{"g", 2}}, std::make_unique<ListSource>(std::vector<JobSpec>{job("A", 0, 1, 1, 100), job("B", 1, 1, 1, 100)}),
                      registry().make_queue(PolicyChoice{"fifo", {}}), stubborn);
    auto r = sim.run();
    REQUIRE_FALSE(r.ok);
    REQUIRE_THAT(r.errors.to_string(), Catch::Contains("placement policy 'stubborn' over-committed GPU 0 of node 0: it is already allocated (job B)"));
  }
}

// ---------------------------------------------------------------------------------------------
// Regressions found in review (each failed before its fix).

TEST_CASE("backfill: an instance that runs for ever does not pass the reservation", "[jobs][backfill]") {
  // Two GPUs. A (1 GPU, 100 s); head B (2 GPUs) at 10 s waits for 100 s; C (1 GPU, no end) at
  // 20 s would never end: it must wait behind B (its run time once overflowed to "ends now").
  JobSpec forever;
  forever.id = "C";
  forever.submit = from_seconds(20);
  forever.worker.gpus = 1;
  JobRunOptions easy;
  easy.backfill = true;
  JobSimulation sim({{"g", 2}}, std::make_unique<ListSource>(std::vector<JobSpec>{job("A", 0, 1, 1, 100), job("B", 10, 1, 2, 10), forever}),
                    registry().make_queue(PolicyChoice{"fifo", {}}), easy);
  auto r = sim.run();
  REQUIRE(to_seconds(r.jobs[1].end) == Approx(110));
  REQUIRE(to_seconds(r.jobs[2].first_start) == Approx(110));
}

TEST_CASE("backfill: the reservation counts jobs started earlier in the same pass", "[jobs][backfill]") {
  // Four GPUs, all at 0: X (2 GPUs, 100 s) starts; head H (4 GPUs) fits when X ends at 100 s;
  // Y (2 GPUs, 1,000 s) would delay it and must wait.
  JobRunOptions easy;
  easy.backfill = true;
  auto r = run({{"g", 4}}, {job("X", 0, 1, 2, 100), job("H", 0, 1, 4, 10), job("Y", 0, 1, 2, 1000)}, "fifo", easy);
  REQUIRE(jct(r, "H") == Approx(110));
  REQUIRE(jct(r, "Y") == Approx(1110));
}

TEST_CASE("GPU memory is per node: one type name with two memory sizes", "[jobs][fractional]") {
  JobSpec x = job("X", 0, 1, 1, 100), y = job("Y", 1, 1, 1, 100);
  x.worker.gpu_memory_bytes = y.worker.gpu_memory_bytes = 60 * kGiB;
  auto r = run({{"A100", 1, 80 * kGiB}, {"A100", 1, 40 * kGiB}}, {x, y}, "fifo");
  REQUIRE(jct(r, "Y") == Approx(199));  // not on the 40 GiB GPU: after X
  auto reversed = run({{"A100", 1, 40 * kGiB}, {"A100", 1, 80 * kGiB}}, {x}, "fifo");
  REQUIRE(reversed.rejected == 0);
  REQUIRE(jct(reversed, "X") == Approx(100));
}

TEST_CASE("a reused job slot ignores the completion event of the job that had it", "[jobs]") {
  // X (1,000 steps; fast 10/s, slow 1/s) starts on slow at 0 (Y holds fast); Z preempts it at
  // 10 s; it resumes on fast at 50 s and ends at 149 s, before its first run's completion event
  // (1,000 s). W, arriving at 200 s in X's slot, must not end at 1,000 s but at 5,200 s.
  JobSpec x;
  x.id = "X";
  x.worker.gpus = 1;
  x.steps = 1000;
  x.steps_per_second = {{"fast", 10}, {"slow", 1}};
  JobSpec y = x;
  y.id = "Y";
  y.steps = 500;
  y.steps_per_second = {{"fast", 10}};
  y.priority = 5;
  JobSpec z = x;
  z.id = "Z";
  z.submit = from_seconds(10);
  z.steps = 60;
  z.steps_per_second = {{"slow", 1}};
  z.priority = 5;
  auto r = run({{"fast", 1}, {"slow", 1}}, {x, y, z, job("W", 200, 1, 1, 5000)}, "priority");
  REQUIRE(jct(r, "X") == Approx(149));
  REQUIRE(jct(r, "W") == Approx(5000));
}

TEST_CASE("co-location: no preemption when it cannot make room, and freed GPUs go back to jobs", "[jobs][colocation]") {
  SECTION("A (priority 0) would be preempted for a 2-GPU replica, but B (priority 5) cannot be: nobody is") {
    const std::string yaml = one_request_beside_jobs("fleetsim_test_coloc_futile", "A,0,1000,1,1,t,0\nB,0,3000,1,1,t,5\n",
                                                     ", inference_priority: 3",
                                                     "{name: a, nodes: 1, gpu: H100-80GB, gpus_per_node: 2}",
                                                     ", gpus_per_replica: 2");
    RunOutput out = run_scenario(scenario_from(yaml));
    REQUIRE(out.violations.empty());
    const auto& a = out.status.jobs->jobs[0];
    REQUIRE(a.preemptions == 0);
    REQUIRE(to_seconds(a.end) == Approx(1000));
  }
  SECTION("a gang preempted for a replica on one node leaves its other node's GPU to waiting jobs at once") {
    // G (2 workers x 1 GPU, both 1-GPU nodes) is preempted at 100 s; W (1 GPU, from 10 s)
    // starts on the other node at once, not when the replica stops.
    const std::string yaml = one_request_beside_jobs("fleetsim_test_coloc_gang", "G,0,1000,1,2,t,0\nW,10,500,1,1,t,0\n",
                                                     ", policy: {impl: sjf}",
                                                     "{name: a, nodes: 2, gpu: H100-80GB, gpus_per_node: 1}");
    RunOutput out = run_scenario(scenario_from(yaml));
    REQUIRE(out.violations.empty());
    REQUIRE(out.status.jobs->jobs[0].preemptions == 1);
    REQUIRE(to_seconds(out.status.jobs->jobs[1].first_start) == Approx(100));
  }
}

TEST_CASE("co-location: a grown node stays up while a job runs on it", "[jobs][colocation]") {
  // One node and room for a second. J holds the first; the request at 100 s grows the pool; the
  // replica leaves and K takes the grown node's GPU. The node must stay up until K is done (it
  // may go as soon as K ends).
  const std::string yaml = one_request_beside_jobs(
      "fleetsim_test_coloc_grown", "J,0,3000,1,1,t,0\nK,50,3000,1,1,t,0\n", ", inference_preempts: false",
      "{name: a, nodes: 1, max_nodes: 2, gpu: H100-80GB, gpus_per_node: 1, node_idle_timeout: 5min}");
  RunOutput out = run_scenario(scenario_from(yaml, LoadOptions{{"request_timeout=600s"}, std::nullopt}));
  REQUIRE(out.violations.empty());
  const auto& k = out.status.jobs->jobs[1];
  REQUIRE(k.completed());
  // K ran on the grown node the whole time, so that node was up at least as long (before the
  // fix it was released 5 minutes after the replica left, under K).
  REQUIRE(out.status.pools[0].node_seconds >= 3600 + to_seconds(k.end - k.first_start) - 1);
  // With a node idle timeout of 0 the run still ends (a node held by jobs is looked at again a
  // minute later, not at the same instant for ever).
  const std::string zero = one_request_beside_jobs(
      "fleetsim_test_coloc_grown0", "J,0,3000,1,1,t,0\nK,50,3000,1,1,t,0\n", ", inference_preempts: false",
      "{name: a, nodes: 1, max_nodes: 2, gpu: H100-80GB, gpus_per_node: 1, node_idle_timeout: 0s}");
  RunOutput quick = run_scenario(scenario_from(zero, LoadOptions{{"request_timeout=600s"}, std::nullopt}));
  REQUIRE(quick.violations.empty());
  REQUIRE(quick.status.jobs->jobs[1].first_start != kNever);
}

TEST_CASE("make_room preempts only jobs whose release is needed", "[jobs][colocation]") {
  // One node, 2 GPUs. S1 (half a GPU, priority 0) and S2 (half, not preemptible) share GPU 0; W
  // (a whole GPU, priority 1) has GPU 1. Room for one whole GPU: S1 goes first by priority, but
  // frees nothing while S2 stays; only W's release is needed, so only W is preempted.
  auto s1 = share_job("S1", 0, 500, 1000);
  auto s2 = share_job("S2", 0, 500, 1000);
  s2.preemptible = false;
  auto w = job("W", 0, 1, 1, 1000);
  w.priority = 1;
  JobSimulation sim({{"g", 2}}, std::make_unique<ListSource>(std::vector<JobSpec>{s1, s2, w}),
                    registry().make_queue(PolicyChoice{"fifo", {}}), {});
  sim.advance(from_seconds(1));
  REQUIRE(sim.make_room(from_seconds(1), 0, 1, 10));
  REQUIRE_FALSE(sim.make_room(from_seconds(1), 0, 2, 10));  // S2 holds GPU 0: never two; nobody else goes
  auto r = sim.finish(from_seconds(2));
  REQUIRE(r.jobs[0].preemptions == 0);
  REQUIRE(r.jobs[2].preemptions == 1);
}

TEST_CASE("preemption happens only when the waiting job cannot run on free capacity", "[jobs][preemption]") {
  // Issue 9's case. Two 1-GPU V100 nodes, 30 s restart overhead. a (0 s, 10 h, 1 GPU) runs on
  // node 0; b (7,200 s, 1 h) arrives while node 1 is idle: it starts there, a is never
  // preempted and ends at 36,000 s, b at 10,800 s. One 2-GPU node gives the same.
  const std::string policy = GENERATE(as<std::string>{}, "las", "srtf");
  JobRunOptions options;
  options.restart_overhead = from_seconds(30);
  std::vector<JobSpec> jobs = {job("a", 0, 1, 1, 36000), job("b", 7200, 1, 1, 3600)};
  for (const std::vector<JobClusterNode>& nodes :
       {std::vector<JobClusterNode>{{"v100", 1}, {"v100", 1}}, std::vector<JobClusterNode>{{"v100", 2}}}) {
    INFO(policy << " on " << nodes.size() << " node(s)");
    auto r = run(nodes, jobs, policy, options);
    REQUIRE(jct(r, "a") == Approx(36000));
    REQUIRE(jct(r, "b") == Approx(3600));
    REQUIRE(r.jobs[0].preemptions == 0);
    REQUIRE(r.futile_preemptions == 0);
  }
}

TEST_CASE("SRTF ranks running and waiting jobs at the same GPU speed", "[jobs][preemption]") {
  // One V100 (1 step/s) and one K80 (0.25 step/s); four identical jobs of 36,000 steps at 0 s
  // (10 h on the V100, 40 h on the K80). Every job is ranked by its time on the V100: J1 takes
  // the V100, J2 the K80. At 10 h J1 ends; J2 has 27,000 steps left (7.5 h at V100 speed)
  // and keeps the K80, J3 takes the V100 (ends 20 h); at 20 h J2 has 18,000 steps left (5 h)
  // and keeps it, J4 takes the V100 (ends 30 h); J2 ends at 40 h. No preemption: the same
  // schedule as FIFO. (Ranked at the K80's speed, J2's 30 h left put it behind J3 and J4 and it
  // was preempted back and forth.)
  std::vector<JobSpec> jobs;
  for (int i = 1; i <= 4; ++i) {
    JobSpec j = job("J" + std::to_string(i), 0, 1, 1, 0);
    j.duration = 0;
    j.steps = 36000;
    j.steps_per_second = {{"v100", 1.0}, {"k80", 0.25}};
    jobs.push_back(j);
  }
  for (const std::string policy : {"srtf", "sjf", "fifo"}) {
    INFO(policy);
    auto r = run({{"v100", 1}, {"k80", 1}}, jobs, policy);
    REQUIRE(jct(r, "J1") == Approx(36000));
    REQUIRE(jct(r, "J2") == Approx(144000));
    REQUIRE(jct(r, "J3") == Approx(72000));
    REQUIRE(jct(r, "J4") == Approx(108000));
    REQUIRE(to_seconds(r.makespan) == Approx(144000));
    for (const auto& o : r.jobs) REQUIRE(o.preemptions == 0);
  }
}

TEST_CASE("a minimum run time delays a preemption until it has passed", "[jobs][preemption]") {
  // One 1-GPU node, priority policy. L (priority 0, 1,000 s) at 0 s; H (priority 5, 100 s) at
  // 10 s. Without a floor H preempts L at once: H ends at 110 s, L (checkpointed) at 1,100 s.
  // With a 60 s minimum run time L keeps the GPU until 60 s: H ends at 160 s, L at 1,100 s.
  JobSpec low = job("L", 0, 1, 1, 1000);
  JobSpec high = job("H", 10, 1, 1, 100);
  high.priority = 5;
  auto free_run = run({{"g", 1}}, {low, high}, "priority");
  REQUIRE(jct(free_run, "H") == Approx(100));
  REQUIRE(jct(free_run, "L") == Approx(1100));
  JobRunOptions floor;
  floor.min_run_time = from_seconds(60);
  auto floored = run({{"g", 1}}, {low, high}, "priority", floor);
  REQUIRE(jct(floored, "H") == Approx(150));
  REQUIRE(jct(floored, "L") == Approx(1100));
  REQUIRE(floored.jobs[0].preemptions == 1);
  REQUIRE(floored.futile_preemptions == 0);
}

TEST_CASE("co-located jobs schedule their events on the driver's queue", "[jobs][colocation]") {
  // With a sink, every event (arrivals, completions) goes to the driver, which hands each
  // back: one event queue per run. Two 1-GPU jobs on one GPU: A 0-100 s, B 100-150 s.
  ClusterState cluster = job_cluster(std::vector<JobClusterNode>{{"g", 1}});
  EventQueue<JobEvent> driver;
  JobSimulation sim(cluster, std::make_unique<ListSource>(std::vector<JobSpec>{job("A", 0, 1, 1, 100), job("B", 0, 1, 1, 50)}),
                    registry().make_queue(PolicyChoice{"fifo", {}}), {},
                    [&](SimTime at, const JobEvent& e) { driver.push(at, e); });
  REQUIRE(driver.size() == 1);  // the first arrival
  std::vector<JobEventKind> kinds;
  while (!driver.empty()) {
    const auto e = driver.pop();
    kinds.push_back(e.payload.kind);
    sim.handle(e.time, e.payload, driver.empty() || driver.top().time != e.time);
  }
  const JobRunResult r = sim.finish(from_seconds(200));
  REQUIRE(kinds == std::vector<JobEventKind>{JobEventKind::Arrival, JobEventKind::Arrival, JobEventKind::Completion,
                                             JobEventKind::Completion});
  REQUIRE(jct(r, "A") == Approx(100));
  REQUIRE(jct(r, "B") == Approx(150));
  REQUIRE(cluster.node(0).free_gpus == 1);
}

TEST_CASE("the queue policy ranks the victims of an inference scale-up", "[jobs][colocation][preemption]") {
  // One node, 2 GPUs: A (1 GPU) starts at 0 s, B (1 GPU) at 10 s, both priority 0. A replica
  // needs one GPU at 20 s. The default preempts the most recently started (B: least work
  // lost); a policy that ranks the longest-running first preempts A instead.
  struct OldestFirst final : QueuePolicy {
    explicit OldestFirst(std::vector<JobView>& seen) : seen(seen) {}
    bool preemptive() const override { return false; }
    void order(const QueueContext&, std::span<const JobView> jobs, std::vector<std::uint32_t>& out) override {
      order_by(jobs, out, [](const JobView& j) { return j.submit; });
    }
    void rank_victims(const QueueContext&, std::span<const JobView> running, std::vector<std::uint32_t>& out) override {
      seen.assign(running.begin(), running.end());
      order_by(running, out, [](const JobView& j) { return j.last_start; });
    }
    std::vector<JobView>& seen;
  };
  const std::vector<JobSpec> jobs = {job("A", 0, 1, 1, 1000), job("B", 10, 1, 1, 1000)};
  auto preempted_by = [&](std::unique_ptr<QueuePolicy> policy) {
    JobSimulation sim({{"g", 2}}, std::make_unique<ListSource>(jobs), std::move(policy), {});
    sim.advance(from_seconds(20));
    REQUIRE(sim.make_room(from_seconds(20), 0, 1, 10));
    const JobRunResult r = sim.finish(from_seconds(21));
    std::string out;
    for (const JobOutcome& o : r.jobs) out += o.preemptions ? o.id : "";
    return out;
  };
  REQUIRE(preempted_by(registry().make_queue(PolicyChoice{"fifo", {}})) == "B");
  std::vector<JobView> seen;
  REQUIRE(preempted_by(std::make_unique<OldestFirst>(seen)) == "A");
  // What the policy saw: both running jobs, with when they started and the service so far.
  REQUIRE(seen.size() == 2);
  for (const JobView& v : seen) {
    REQUIRE(v.running);
    REQUIRE(v.last_start == from_seconds(v.submit == 0 ? 0 : 10));
    REQUIRE(v.attained_gpu_seconds == Approx(v.submit == 0 ? 20 : 10));
  }
}

TEST_CASE("a queue policy's order that names a job twice or out of range stops the run, naming the policy",
          "[jobs][contract]") {
  struct Broken final : QueuePolicy {
    explicit Broken(std::uint32_t extra) : extra(extra) {}
    bool preemptive() const override { return false; }
    void order(const QueueContext&, std::span<const JobView> jobs, std::vector<std::uint32_t>& out) override {
      order_by(jobs, out, [](const JobView& j) { return j.submit; });
      out.push_back(extra);
    }
    std::uint32_t extra;
  };
  for (std::uint32_t extra : {0u, 7u}) {
    auto policy = std::make_unique<Broken>(extra);
    policy->set_name("broken");
    JobSimulation sim({{"g", 2}}, std::make_unique<ListSource>(std::vector<JobSpec>{job("A", 0, 1, 1, 100)}),
                      std::move(policy), {});
    const JobRunResult r = sim.run();
    REQUIRE_FALSE(r.ok);
    REQUIRE_THAT(r.errors.to_string(), Catch::Contains("queue policy 'broken' order: index " + std::to_string(extra)) &&
                                           Catch::Contains(extra == 0 ? "given twice" : "out of range"));
  }
}
