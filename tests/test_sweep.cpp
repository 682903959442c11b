// Parameter sweeps (cli/sweep): point order, strict sweep files, byte-identical merged
// outputs for any thread count and for shards merged afterwards, resume, Slurm and Kubernetes
// job files, the Pareto frontier, and the `fleetsim sweep` command.
#include <catch2/catch.hpp>

#include <yaml-cpp/yaml.h>

#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <map>

#include "cli/sweep/emit.hpp"
#include "cli/sweep/sweep.hpp"
#include "tests/support.hpp"

using Catch::Contains;
namespace fs = std::filesystem;
using namespace fleetsim;

namespace {

// One small model for five minutes: a point runs in milliseconds.
const char* kTinyScenario = R"(name: tiny
seed: 1
duration: 5min
cluster:
  pools:
    - {name: p, nodes: 1, gpu: L40S, gpus_per_node: 2, disk_cache: 100GB}
policies:
  autoscaler: {impl: kpa, target_concurrency: 8}
models:
  - {name: chat-3.1-1b, parameters: 1.0e9, kv_cache_per_token: 64KiB, image_size: 2GB, startup_time: 5s}
workloads:
  - model: chat-3.1-1b
    arrivals: {process: on-off, rate: 2/s, on: 1min, off: 2min}
    input_tokens: {dist: fixed, value: 100}
    output_tokens: {dist: fixed, value: 20}
)";

using fleetsim::test::read_file;
using fleetsim::test::write_file;

// A scratch folder holding tiny.yaml, the base scenario of the sweeps below.
struct SweepDir : fleetsim::test::TempDir {
  SweepDir() : TempDir("sweep") { write("tiny.yaml", kTinyScenario); }
  // Writes a sweep file beside tiny.yaml and loads it.
  SweepLoadResult load(const std::string& text, const std::string& name = "sweep.yaml") const {
    return load_sweep_file(write(name, text));
  }
  SweepSpec sweep(const std::string& text, const std::string& name = "sweep.yaml") const {
    SweepLoadResult r = load(text, name);
    INFO(r.errors.to_string());
    REQUIRE(r.sweep);
    return *r.sweep;
  }
};

std::string errors_of(const SweepLoadResult& r) {
  REQUIRE_FALSE(r.sweep);
  return r.errors.to_string();
}

const char* kSmallSweep = R"(base: tiny.yaml
grid:
  policies.autoscaler: [{impl: kpa}, {impl: fixed-keepalive}]
seeds: [1, 2]
metrics:
  - overall.requests
  - overall.slo_attainment
  - overall.cold_starts.count
  - models.chat-3.1-1b.ttft_s.p99
pareto: {x: overall.cold_starts.share_of_requests_waited, y: overall.gpu_seconds.idle}
)";

SweepRunOptions test_options() {
  SweepRunOptions o;
  o.version = "test";
  o.registry = &fleetsim::test::registry();
  return o;
}

const std::vector<std::string> kMergedFiles = {"merged.csv", "merged.json", "pareto.csv", "pareto.svg"};

// Every file below `root` (relative paths, sorted) with its bytes.
std::map<std::string, std::string> tree_files(const fs::path& root) {
  std::map<std::string, std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(root))
    if (e.is_regular_file()) files[fs::relative(e.path(), root).generic_string()] = read_file(e.path());
  return files;
}

}  // namespace

TEST_CASE("sweep points: grid in file order, then zip, then seeds, the last axis fastest", "[sweep]") {
  SweepDir t;
  const SweepSpec s = t.sweep(R"(base: tiny.yaml
set:
  duration: 2min
grid:
  policies.autoscaler:
    - {impl: kpa}
    - impl: fixed-keepalive
      target_concurrency: 4
  cluster.pools[0].nodes: [1, 2, 3]
zip:
  models[0].startup_time: [5s, 10s]
  models.0.image_size: [2GB, 4GB]
seeds: [7, 8]
)");
  REQUIRE(s.base_path == (t.dir / "tiny.yaml").lexically_normal().string());
  REQUIRE(s.name == "sweep");
  REQUIRE(s.metrics == default_sweep_metrics());
  REQUIRE_FALSE(s.pareto);
  REQUIRE(sweep_point_count(s) == 2 * 3 * 2 * 2);
  REQUIRE(sweep_axis_columns(s) == std::vector<std::string>{"policies.autoscaler", "cluster.pools[0].nodes",
                                                            "models[0].startup_time", "models.0.image_size"});
  const std::vector<SweepPoint> points = sweep_points(s);
  REQUIRE(points.size() == 24);
  REQUIRE(points[0].overrides == std::vector<std::string>{"duration=2min", "policies.autoscaler={impl: kpa}",
                                                          "cluster.pools[0].nodes=1", "models[0].startup_time=5s",
                                                          "models.0.image_size=2GB"});
  REQUIRE(points[0].seed == 7u);
  REQUIRE(points[1].seed == 8u);  // seeds fastest
  REQUIRE(points[1].choice == std::vector<std::size_t>{0, 0, 0});
  REQUIRE(points[2].choice == std::vector<std::size_t>{0, 0, 1});  // then the zip axis
  REQUIRE(points[2].overrides[3] == "models[0].startup_time=10s");
  REQUIRE(points[2].overrides[4] == "models.0.image_size=4GB");  // varied together
  REQUIRE(points[4].choice == std::vector<std::size_t>{0, 1, 0});
  REQUIRE(points[12].choice == std::vector<std::size_t>{1, 0, 0});  // the first grid axis slowest
  // A block mapping becomes flow YAML.
  REQUIRE(points[12].overrides[1] == "policies.autoscaler={impl: fixed-keepalive, target_concurrency: 4}");
  REQUIRE(points[23].choice == std::vector<std::size_t>{1, 2, 1});
  REQUIRE(points[23].seed == 8u);
  for (std::size_t i = 0; i < points.size(); ++i) REQUIRE(points[i].index == i);
  REQUIRE(point_dir_name(s, 7) == "point-0007");

  // Without seeds the scenario keeps its own.
  const SweepSpec plain = t.sweep(
      "base: tiny.yaml\ngrid: {duration: [1min, 2min, 3min]}\nmetrics: [overall.requests]\n"
      "pareto: {x: overall.ttft_s.p99, y: max:overall.slo_attainment}\n",
      "plain.yaml");
  REQUIRE(plain.name == "plain");
  REQUIRE(plain.pareto);
  REQUIRE((!plain.pareto->maximize_x && plain.pareto->maximize_y));
  REQUIRE(plain.pareto->y == "overall.slo_attainment");
  REQUIRE(plain.metrics == std::vector<std::string>{"overall.requests", "overall.ttft_s.p99", "overall.slo_attainment"});
  REQUIRE(sweep_point_count(plain) == 3);
  REQUIRE_FALSE(sweep_point(plain, 2).seed);
  REQUIRE(sweep_point(plain, 2).overrides == std::vector<std::string>{"duration=3min"});
}

TEST_CASE("bad sweep files are reported with file:line, nothing guessed", "[sweep]") {
  SweepDir t;
  SECTION("unknown key, with a suggestion") {
    const std::string e = errors_of(t.load("base: tiny.yaml\nseeds: [1]\ngrids:\n  duration: [1min]\n"));
    REQUIRE_THAT(e, Contains("sweep.yaml:3:1: grids: unknown key, did you mean grid?"));
  }
  SECTION("unknown key inside pareto") {
    const std::string e = errors_of(t.load("base: tiny.yaml\npareto: {x: overall.requests, z: overall.requests}\n"));
    REQUIRE_THAT(e, Contains("sweep.yaml:2:"));
    REQUIRE_THAT(e, Contains("pareto.z: unknown key"));
  }
  SECTION("zip lists of different lengths") {
    const std::string e = errors_of(t.load(R"(base: tiny.yaml
zip:
  duration: [1min, 2min]
  seed: [1, 2, 3]
)"));
    REQUIRE_THAT(e, Contains("sweep.yaml:4:9: zip.seed: zip lists must all have one length"));
    REQUIRE_THAT(e, Contains("has 2 values, this one 3"));
  }
  SECTION("a missing base scenario") {
    REQUIRE_THAT(errors_of(t.load("base: nowhere.yaml\n")),
                 Contains("sweep.yaml:1:7: base: cannot open the base scenario"));
    REQUIRE_THAT(errors_of(t.load("grid: {duration: [1min]}\n")), Contains("base: required key is missing"));
  }
  SECTION("wrong shapes") {
    REQUIRE_THAT(errors_of(t.load("base: tiny.yaml\ngrid: {duration: 1min}\n")),
                 Contains("grid.duration: expected a non-empty list of values"));
    REQUIRE_THAT(errors_of(t.load("base: tiny.yaml\nseeds: [1, x]\n")), Contains("sweep.yaml:2:12: seeds: expected a seed"));
    REQUIRE_THAT(errors_of(t.load("base: tiny.yaml\nset: {duration: 1min}\ngrid: {duration: [2min]}\n")),
                 Contains("grid.duration: this key path is already varied or set at line 2"));
    REQUIRE_THAT(errors_of(t.load("base: tiny.yaml\npareto: {x: overall.requests}\n")),
                 Contains("sweep.yaml:2:9: pareto.y: required key is missing"));
    REQUIRE_THAT(errors_of(t.load("base: [tiny.yaml\n")), Contains("not valid YAML"));
    REQUIRE_THAT(load_sweep_file((t.dir / "absent.yaml").string()).errors.to_string(),
                 Contains("cannot open the sweep file"));
  }
  SECTION("a bad axis path: the scenario loader's error, with the points and the sweep file's line") {
    const SweepSpec s = t.sweep("base: tiny.yaml\ngrid:\n  polices.autoscaler: [{impl: kpa}]\nseeds: [1, 2]\n");
    const Diagnostics d = check_sweep_points(s, builtin_policies());
    REQUIRE(d.size() == 1);
    REQUIRE_THAT(d.to_string(), Contains("sweep.yaml:3:24: polices: points 0-1: unknown key, did you mean policies?"));
    // Nothing runs.
    const SweepReport r = run_sweep(s, (t.dir / "out").string(), 2, 0, 1, test_options());
    REQUIRE(r.errors.size() == 1);
    REQUIRE(r.ran == 0);
    REQUIRE_FALSE(fs::exists(t.dir / "out" / "point-0000"));
  }
  SECTION("a bad value names only its points and its line") {
    const SweepSpec s = t.sweep("base: tiny.yaml\ngrid:\n  policies.autoscaler:\n    - {impl: kpa}\n    - {impl: kpz}\n");
    const std::string e = check_sweep_points(s, builtin_policies()).to_string();
    REQUIRE_THAT(e, Contains("sweep.yaml:5:7: policies.autoscaler.impl: point 1: unknown autoscaler policy \"kpz\""));
    REQUIRE_THAT(e, !Contains("point 0"));
  }
}

TEST_CASE("merged outputs are byte-identical for any thread count and for merged shards", "[sweep]") {
  SweepDir t;
  const SweepSpec s = t.sweep(kSmallSweep);
  REQUIRE(sweep_point_count(s) == 4);
  const fs::path one = t.dir / "jobs1", two = t.dir / "jobs2", a = t.dir / "shard0", b = t.dir / "shard1";

  const SweepReport r1 = run_sweep(s, one.string(), 1, 0, 1, test_options());
  INFO(r1.errors.to_string());
  REQUIRE(r1.errors.empty());
  REQUIRE(r1.ran == 4);
  REQUIRE(r1.merged);
  REQUIRE(r1.written.size() == 4);
  const SweepReport r2 = run_sweep(s, two.string(), 2, 0, 1, test_options());
  REQUIRE(r2.errors.empty());
  REQUIRE(r2.merged);

  const SweepReport s0 = run_sweep(s, a.string(), 2, 0, 2, test_options());
  const SweepReport s1 = run_sweep(s, b.string(), 2, 1, 2, test_options());
  REQUIRE(s0.errors.empty());
  REQUIRE(s0.in_shard == 2);
  REQUIRE(s0.ran == 2);
  REQUIRE_FALSE(s0.merged);
  REQUIRE(s0.missing == std::vector<std::size_t>{1, 3});  // shard i: points p % 2 == i
  REQUIRE(s1.missing == std::vector<std::size_t>{0, 2});
  REQUIRE(fs::exists(a / "point-0002" / "point.json"));
  REQUIRE_FALSE(fs::exists(a / "merged.csv"));

  // Merging one shard alone lists what is missing.
  const MergeReport partial = merge_sweep(s, a.string());
  REQUIRE(partial.missing == std::vector<std::size_t>{1, 3});
  REQUIRE_THAT(partial.errors.to_string(), Contains("2 of 4 points have no result.json yet (points 1, 3"));
  REQUIRE(partial.written.empty());

  for (const char* p : {"point-0001", "point-0003"}) fs::copy(b / p, a / p, fs::copy_options::recursive);
  const MergeReport merged = merge_sweep(s, a.string());
  INFO(merged.errors.to_string());
  REQUIRE(merged.errors.empty());
  for (const std::string& f : kMergedFiles) {
    INFO(f);
    REQUIRE_FALSE(read_file(one / f).empty());
    REQUIRE(read_file(one / f) == read_file(two / f));
    REQUIRE(read_file(one / f) == read_file(a / f));
  }

  // The table: point order, the axis value, the seed, metrics (a model name with dots).
  const std::string csv = read_file(one / "merged.csv");
  REQUIRE(csv.rfind("point,policies.autoscaler,seed,overall.requests,overall.slo_attainment,"
                    "overall.cold_starts.count,models.chat-3.1-1b.ttft_s.p99,"
                    "overall.cold_starts.share_of_requests_waited,overall.gpu_seconds.idle\n0,{impl: kpa},1,",
                    0) == 0);
  REQUIRE_THAT(csv, Contains("\n1,{impl: kpa},2,"));
  REQUIRE_THAT(csv, Contains("\n3,{impl: fixed-keepalive},2,"));
  REQUIRE(std::count(csv.begin(), csv.end(), '\n') == 5);
  const YAML::Node json = YAML::LoadFile((one / "merged.json").string());
  REQUIRE(json["points"].size() == 4);
  REQUIRE(json["points"][3]["values"]["policies.autoscaler"]["impl"].as<std::string>() == "fixed-keepalive");
  REQUIRE(json["points"][3]["seed"].as<int>() == 2);
  REQUIRE_FALSE(json["pareto"]["maximize_y"].as<bool>());
  // kpa scales to zero in the off periods (cold starts), fixed-keepalive keeps idle replicas:
  // a trade-off, so the frontier has more than one point.
  REQUIRE(json["pareto"]["frontier"].size() >= 2);
  const std::string svg = read_file(one / "pareto.svg");
  REQUIRE(svg.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0) == 0);
  REQUIRE_THAT(svg, Contains("Pareto frontier"));
  REQUIRE_THAT(svg, Contains("<polyline"));
  REQUIRE_THAT(svg, Contains("<g id=\"points\">") && Contains("<g id=\"frontier\">"));
  REQUIRE(std::count(csv.begin(), csv.end(), '\n') == 5);
  REQUIRE(read_file(one / "pareto.csv").rfind(csv.substr(0, csv.find('\n') + 1), 0) == 0);
}

TEST_CASE("every output file of a sweep is byte-identical for --jobs 1 and --jobs 2", "[sweep]") {
  // Two processes (the command line), as two sweeps of one file would be: a point's report.html
  // must name the point's own folder, not the temporary one it was written into.
  SweepDir t;
  write_file(t.dir / "s.yaml", kSmallSweep);
  const fs::path one = t.dir / "jobs1", two = t.dir / "jobs2";
  for (const auto& [jobs, out] : {std::pair{1, one}, std::pair{2, two}}) {
    const std::string command = std::string("'") + FLEETSIM_BINARY + "' sweep '" + (t.dir / "s.yaml").string() +
                                "' -q --jobs " + std::to_string(jobs) + " --out '" + out.string() + "' > '" +
                                (t.dir / "log.txt").string() + "' 2>&1";
    INFO(command);
    REQUIRE(std::system(command.c_str()) == 0);
  }
  const auto files1 = tree_files(one), files2 = tree_files(two);
  std::vector<std::string> names1, names2;
  for (const auto& [name, bytes] : files1) names1.push_back(name);
  for (const auto& [name, bytes] : files2) names2.push_back(name);
  REQUIRE(names1 == names2);
  // Four points of result.json, point.json, report.html, result.prom and two CSVs; the merged files.
  REQUIRE(files1.size() == 4 * 6 + kMergedFiles.size());
  for (const auto& [name, bytes] : files1) {
    INFO(name);
    CHECK(bytes == files2.at(name));
  }
  const std::string& report = files1.at("point-0002/report.html");
  REQUIRE_THAT(report, Contains("<dd>point-0002</dd>"));
  REQUIRE_THAT(report, !Contains("partial"));
}

TEST_CASE("a sweep resumes: completed points are skipped, changed points refused", "[sweep]") {
  SweepDir t;
  const SweepSpec s = t.sweep(kSmallSweep);
  const fs::path out = t.dir / "out";
  REQUIRE(run_sweep(s, out.string(), 2, 0, 1, test_options()).ran == 4);
  const std::string csv = read_file(out / "merged.csv");

  SweepReport again = run_sweep(s, out.string(), 2, 0, 1, test_options());
  REQUIRE(again.errors.empty());
  REQUIRE(again.ran == 0);
  REQUIRE(again.skipped == 4);
  REQUIRE(again.merged);

  fs::remove_all(out / "point-0002");
  fs::create_directories(out / "point-0001-unrelated");
  std::vector<std::size_t> progress;
  SweepRunOptions options = test_options();
  options.on_point = [&](const SweepProgress& p) { progress.push_back(p.point); };
  again = run_sweep(s, out.string(), 2, 0, 1, options);
  REQUIRE(again.errors.empty());
  REQUIRE(again.ran == 1);
  REQUIRE(again.skipped == 3);
  REQUIRE(progress == std::vector<std::size_t>{2});
  REQUIRE(read_file(out / "merged.csv") == csv);

  // Same folder, other settings for the same point numbers: refused, nothing overwritten.
  const SweepSpec other = t.sweep("base: tiny.yaml\ngrid:\n  policies.autoscaler: [{impl: kpa}, {impl: fixed}]\nseeds: [1, 2]\n",
                                  "other.yaml");
  const SweepReport refused = run_sweep(other, out.string(), 1, 0, 1, test_options());
  REQUIRE(refused.ran == 0);
  REQUIRE_THAT(refused.errors.to_string(), Contains("point-0002: was run with other settings"));
  REQUIRE(read_file(out / "merged.csv") == csv);

  // A metric that is not in result.json.
  SweepSpec typo = s;
  typo.metrics.push_back("overall.no_such_metric");
  REQUIRE_THAT(merge_sweep(typo, out.string()).errors.to_string(),
               Contains("points 0-3: overall.no_such_metric is not in result.json"));
}

TEST_CASE("Slurm array script and Kubernetes Indexed Job", "[sweep]") {
  SweepDir t;
  EmitOptions options;
  options.name = "Keep Alive";
  options.image = "ghcr.io/example/fleetsim:1.2";
  options.jobs_per_task = 2;

  const std::string slurm = emit_slurm("scenarios/sweeps/keepalive.yaml", "out/sweeps/it's here", 6, options);
  REQUIRE_THAT(slurm, Contains("#SBATCH --array=0-5\n"));
  REQUIRE_THAT(slurm, Contains("--shard \"${SLURM_ARRAY_TASK_ID}/6\""));
  REQUIRE_THAT(slurm, Contains("#SBATCH --cpus-per-task=2"));
  write_file(t.dir / "job.sh", slurm);
  const std::string check = "bash -n '" + (t.dir / "job.sh").string() + "'";
  REQUIRE(std::system(check.c_str()) == 0);

  const std::string k8s = emit_k8s("scenarios/sweeps/keepalive.yaml", "/sweeps/keepalive", 6, options);
  const YAML::Node job = YAML::Load(k8s);
  REQUIRE(job["apiVersion"].as<std::string>() == "batch/v1");
  REQUIRE(job["kind"].as<std::string>() == "Job");
  REQUIRE(job["metadata"]["name"].as<std::string>() == "fleetsim-sweep-keep-alive");
  REQUIRE(job["spec"]["completionMode"].as<std::string>() == "Indexed");
  REQUIRE(job["spec"]["completions"].as<int>() == 6);
  REQUIRE(job["spec"]["parallelism"].as<int>() == 6);
  const YAML::Node container = job["spec"]["template"]["spec"]["containers"][0];
  REQUIRE(job["spec"]["template"]["spec"]["restartPolicy"].as<std::string>() == "Never");
  REQUIRE(container["image"].as<std::string>() == "ghcr.io/example/fleetsim:1.2");
  const auto command = container["command"].as<std::vector<std::string>>();
  REQUIRE(command == std::vector<std::string>{"fleetsim", "sweep", "scenarios/sweeps/keepalive.yaml", "--shard",
                                              "$(JOB_COMPLETION_INDEX)/6", "--out", "/sweeps/keepalive", "--jobs",
                                              "2"});
  REQUIRE(container["env"][0]["name"].as<std::string>() == "JOB_COMPLETION_INDEX");

  std::size_t i = 9, n = 9;
  REQUIRE(parse_shard("2/5", i, n).empty());
  REQUIRE((i == 2 && n == 5));
  REQUIRE_FALSE(parse_shard("5/5", i, n).empty());
  REQUIRE_FALSE(parse_shard("1-4", i, n).empty());
}

TEST_CASE("Pareto frontier of hand-made points", "[sweep]") {
  //                                    0       1       2       3       4       5       6
  const std::vector<ParetoCandidate> p = {{1, 5}, {2, 3}, {3, 4}, {4, 1}, {2, 3}, {5, 1}, {1, 6}};
  // Minimise both: (3,4) is dominated by (2,3), (5,1) by (4,1), (1,6) by (1,5); equal points stay.
  REQUIRE(pareto_frontier(p, false, false) == std::vector<std::size_t>{0, 1, 4, 3});
  // Maximise y: high y and low x win.
  REQUIRE(pareto_frontier(p, false, true) == std::vector<std::size_t>{6});
  // Maximise x, minimise y.
  REQUIRE(pareto_frontier(p, true, false) == std::vector<std::size_t>{5});
  // Maximise both.
  REQUIRE(pareto_frontier(p, true, true) == std::vector<std::size_t>{6, 2, 5});
  REQUIRE(pareto_frontier({}, false, false).empty());
}

TEST_CASE("the example sweep validates", "[sweep]") {
  SweepLoadResult r = load_sweep_file(std::string(FLEETSIM_SOURCE_DIR) + "/scenarios/sweeps/keepalive.yaml");
  INFO(r.errors.to_string());
  REQUIRE(r.sweep);
  REQUIRE(sweep_point_count(*r.sweep) == 10);
  REQUIRE(r.sweep->pareto);
  const Diagnostics d = check_sweep_points(*r.sweep, builtin_policies(), 2);
  INFO(d.to_string());
  REQUIRE(d.empty());
}

TEST_CASE("fleetsim sweep: run, shards, merge, emit, exit codes", "[sweep]") {
  SweepDir t;
  write_file(t.dir / "s.yaml", kSmallSweep);
  const std::string bin = std::string("'") + FLEETSIM_BINARY + "' ";
  const std::string sweep = "'" + (t.dir / "s.yaml").string() + "' ";
  const std::string out = "'" + (t.dir / "out").string() + "' ";
  const std::string quiet = " > '" + (t.dir / "log.txt").string() + "' 2>&1";
  auto run = [&](const std::string& args) {
    const int status = std::system((bin + args + quiet).c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  };
  REQUIRE(run("sweep " + sweep + "--shard 0/2 --jobs 2 --out " + out) == 0);
  REQUIRE_THAT(read_file(t.dir / "log.txt"), Contains("fleetsim sweep merge"));
  REQUIRE(run("sweep merge " + sweep + "--out " + out) == 2);  // shard 1 missing
  REQUIRE_THAT(read_file(t.dir / "log.txt"), Contains("points 1, 3"));
  REQUIRE(run("sweep " + sweep + "--shard 1/2 -q --out " + out) == 0);
  REQUIRE(fs::exists(t.dir / "out" / "merged.csv"));  // the last shard merges
  REQUIRE(run("sweep merge " + sweep + "--out " + out) == 0);
  REQUIRE(run("sweep " + sweep + "--emit slurm --shards 3") == 0);
  REQUIRE_THAT(read_file(t.dir / "log.txt"), Contains("--array=0-2"));
  REQUIRE(run("sweep " + sweep + "--emit k8s --image img:1") == 0);
  REQUIRE_THAT(read_file(t.dir / "log.txt"), Contains("completions: 4"));
  REQUIRE(run("sweep " + sweep + "--shard 2/2") == 2);
  REQUIRE(run("sweep " + sweep + "--emit pbs") == 2);
  write_file(t.dir / "bad.yaml", "base: tiny.yaml\nseedz: [1]\n");
  REQUIRE(run("sweep '" + (t.dir / "bad.yaml").string() + "'") == 2);
  REQUIRE_THAT(read_file(t.dir / "log.txt"), Contains("bad.yaml:2:1: seedz: unknown key, did you mean seeds?"));
}
