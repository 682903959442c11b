// Job and cluster trace readers (traces/jobs/job_traces.hpp): each format on hand-written files
// with exact values, the public traces in ../shared/traces when present (row counts, first and
// last rows, totals), malformed inputs (strict: one diagnostic with file:line:column; lenient:
// skips counted by reason), node lists and the Philly run-time distribution.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "traces/jobs/job_traces.hpp"
#include "traces/jobs/synthetic_jobs.hpp"
#include "tests/support.hpp"

using Catch::Contains;
using namespace fleetsim;
using fleetsim::test::TempDir;
namespace fs = std::filesystem;

namespace {

std::string shared_traces() { return std::string(FLEETSIM_SOURCE_DIR) + "/../shared/traces/"; }

bool have(const std::string& path) {
  if (fs::exists(path)) return true;
  WARN("skipped: " << path << " is not present");
  return false;
}

JobTraceOptions options(const std::string& format, const std::string& path) {
  JobTraceOptions o;
  o.format = format;
  o.path = path;
  return o;
}

struct Drained {
  std::vector<JobSpec> jobs;
  std::vector<std::string> classes;
  Diagnostics errors;
  std::unique_ptr<JobTraceSource> source;
};

// Opens (must succeed) and reads to the end.
Drained drain(const JobTraceOptions& o) {
  Drained d;
  d.source = open_job_trace(o, d.errors);
  INFO(d.errors.to_string());
  REQUIRE(d.source);
  JobSpec j;
  while (d.source->next(j, d.errors)) {
    d.jobs.push_back(j);
    d.classes.push_back(j.job_class);
  }
  return d;
}

// Reads to the end; requires exactly one error and returns it.
std::string failure(const JobTraceOptions& o) {
  Drained d = drain(o);
  REQUIRE(d.errors.size() == 1);
  return d.errors.to_string();
}

// Opening must fail; returns the diagnostics.
std::string open_failure(const JobTraceOptions& o) {
  Diagnostics e;
  REQUIRE_FALSE(open_job_trace(o, e));
  REQUIRE_FALSE(e.empty());
  return e.to_string();
}

std::string tsv(const std::vector<std::string>& fields) {
  std::string s;
  for (const auto& f : fields) s += (s.empty() ? "" : "\t") + f;
  return s + "\n";
}

// A 10-field Gavel line.
std::string gavel10(const std::string& type, const std::string& steps, const std::string& scale,
                    const std::string& arrival, const std::string& weight = "1") {
  return tsv({type, "python3 main.py --x 1", "wd", "--num_steps", "1", steps, scale, weight, "-1.000000", arrival});
}
// A 7-field (Philly-derived) Gavel line.
std::string gavel7(const std::string& type, const std::string& steps, const std::string& arrival,
                   const std::string& scale) {
  return tsv({type, "cd %s && python3 train.py ", "-step", "1", steps, arrival, scale});
}

const std::string kTable = R"json({
  "v100": {"('ResNet-50 (batch size 64)', 1)": {"null": 4.0, "('A3C', 1)": [3.0, 5.0]},
           "('Transformer (batch size 16)', 2)": {"null": 10.0},
           "('A3C', 1)": {"null": 7.0}},
  "k80": {"('ResNet-50 (batch size 64)', 1)": {"null": 0.0},
          "('Transformer (batch size 16)', 2)": {"null": 2.5},
          "('A3C', 1)": {"null": 3.5}},
  "v100_unconsolidated": {"('ResNet-50 (batch size 64)', 1)": {"null": 1.0}}
})json";

const std::string kOpenbHeader =
    "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_time,scheduled_time\n";

const std::string kDlrmHeader =
    "instance_sn,role,app_name,cpu_request,cpu_limit,gpu_request,gpu_limit,rdma_request,rdma_limit,"
    "memory_request,memory_limit,disk_request,disk_limit,max_instance_per_node,creation_time,scheduled_time,"
    "deletion_time\n";

}  // namespace

// ---------------------------------------------------------------------------------------------
// gavel

TEST_CASE("job traces: gavel 10-field layout with the throughput table", "[job-traces]") {
  TempDir t;
  JobTraceOptions o = options("gavel", t.write("physical.trace", gavel10("ResNet-50 (batch size 64)", "2931", "1", "0") +
                                                                     gavel10("Transformer (batch size 16)", "11005", "2", "30", "2") +
                                                                     "\n" + gavel10("A3C", "8857", "1", "30")));
  o.throughput_table = t.write("tput.json", kTable);
  Drained d = drain(o);
  REQUIRE(d.errors.empty());
  REQUIRE(d.jobs.size() == 3);
  REQUIRE(d.source->rows_read() == 3);
  REQUIRE(d.source->rows_skipped() == 0);

  const JobSpec& a = d.jobs[0];
  REQUIRE(a.id == "physical-0");
  REQUIRE(a.submit == 0);
  REQUIRE(a.end == kNever);
  REQUIRE(a.workers == 1);
  REQUIRE(a.worker.gpus == 1);
  REQUIRE(a.worker.milli_gpu == 0);
  REQUIRE(a.steps == 2931);
  REQUIRE(a.duration == 0);
  // k80's 0 means "cannot run there"; *_unconsolidated is not a GPU type.
  REQUIRE(a.steps_per_second == std::map<std::string, double>{{"v100", 4.0}});
  REQUIRE(a.gpu_types == std::vector<std::string>{"v100"});
  REQUIRE(a.priority == 1);
  REQUIRE(a.tenant.empty());
  REQUIRE(d.classes[0] == "ResNet-50 (batch size 64)");

  const JobSpec& b = d.jobs[1];
  REQUIRE(b.id == "physical-1");
  REQUIRE(b.submit == 30 * kSecond);
  REQUIRE(b.workers == 2);
  REQUIRE(b.worker.gpus == 1);
  REQUIRE(b.steps == 11005);
  REQUIRE(b.steps_per_second == std::map<std::string, double>{{"k80", 2.5}, {"v100", 10.0}});
  REQUIRE(b.gpu_types == std::vector<std::string>{"k80", "v100"});
  REQUIRE(b.priority == 2);
  REQUIRE(d.classes[1] == "Transformer (batch size 16)");

  // The blank line does not count: the third job is Gavel's job 2.
  REQUIRE(d.jobs[2].id == "physical-2");
  REQUIRE(d.jobs[2].steps_per_second == std::map<std::string, double>{{"k80", 3.5}, {"v100", 7.0}});
  REQUIRE(d.classes[2] == "A3C");

  SECTION("without a table the jobs carry steps only") {
    o.throughput_table.clear();
    Drained n = drain(o);
    REQUIRE(n.jobs.size() == 3);
    REQUIRE(n.jobs[1].steps == 11005);
    REQUIRE(n.jobs[1].steps_per_second.empty());
    REQUIRE(n.jobs[1].gpu_types.empty());
  }
}

TEST_CASE("job traces: gavel 7-field (Philly-derived) layout, and both layouts in one file", "[job-traces]") {
  TempDir t;
  const std::string path =
      t.write("0e4a51.trace", gavel7("Transformer (batch size 128)", "95121", "0.000000", "1") +
                                  gavel7("A3C", "1066", "6.500000", "1") +
                                  gavel10("Transformer (batch size 16)", "11005", "2", "7"));
  Drained d = drain(options("gavel", path));
  REQUIRE(d.errors.empty());
  REQUIRE(d.jobs.size() == 3);
  REQUIRE(d.jobs[0].id == "0e4a51-0");
  REQUIRE(d.jobs[0].steps == 95121);
  REQUIRE(d.jobs[0].workers == 1);
  REQUIRE(d.jobs[0].tenant == "0e4a51");  // the file is a Philly virtual cluster
  REQUIRE(d.jobs[0].priority == 1);       // Gavel's default weight
  REQUIRE(d.jobs[1].submit == 6'500'000'000);
  REQUIRE(d.jobs[1].steps == 1066);
  REQUIRE(d.classes[1] == "A3C");
  REQUIRE(d.jobs[2].workers == 2);
  REQUIRE(d.jobs[2].submit == 7 * kSecond);
  REQUIRE(d.jobs[2].tenant.empty());

  SECTION("with the table, a 7-field row needs its key too") {
    JobTraceOptions o = options("gavel", t.write("vc.trace", gavel7("A3C", "1066", "1.0", "4")));
    o.throughput_table = t.write("tput.json", kTable);
    REQUIRE_THAT(failure(o), Contains("vc.trace:1:1: job_type: the throughput table has no key ('A3C', 4) "
                                      "(scale factors for this job type: 1)"));
  }
}

TEST_CASE("job traces: gavel malformed lines name the file, line and column", "[job-traces]") {
  TempDir t;
  const std::string good = gavel10("A3C", "8857", "1", "0");

  SECTION("wrong field count") {
    const std::string bad = tsv({"A3C", "cmd", "wd", "--x", "1", "8857", "1", "1"});
    REQUIRE_THAT(failure(options("gavel", t.write("f.trace", good + good + bad))),
                 Contains("f.trace:3:1: expected 10 tab-separated fields") && Contains("got 8"));
  }
  SECTION("bad number") {
    const std::string bad = gavel10("A3C", "12x", "1", "5");
    const int col = static_cast<int>(bad.find("12x")) + 1;
    REQUIRE_THAT(failure(options("gavel", t.write("f.trace", good + bad))),
                 Contains("f.trace:2:" + std::to_string(col) +
                          ": total_steps: expected an integer number of steps >= 1, got \"12x\""));
  }
  SECTION("negative GPUs") {
    REQUIRE_THAT(failure(options("gavel", t.write("f.trace", gavel7("A3C", "10", "3.0", "-2")))),
                 Contains("f.trace:1:") && Contains("scale_factor: expected an integer number of GPUs >= 1, "
                                                    "got \"-2\" (negative)"));
  }
  SECTION("unknown throughput key: a job type the table lacks") {
    JobTraceOptions o = options("gavel", t.write("f.trace", good + gavel10("ResNet-51 (batch size 64)", "5", "1", "9")));
    o.throughput_table = t.write("tput.json", kTable);
    REQUIRE_THAT(failure(o), Contains("f.trace:2:1: job_type: job type \"ResNet-51 (batch size 64)\" is not in "
                                      "the throughput table") &&
                                 Contains("did you mean \"ResNet-50 (batch size 64)\"?"));
  }
  SECTION("time going backwards") {
    const std::string late = gavel10("A3C", "8857", "1", "30");
    const std::string early = gavel10("A3C", "8857", "1", "10");
    const int col = static_cast<int>(early.rfind("10")) + 1;
    REQUIRE_THAT(failure(options("gavel", t.write("f.trace", late + early))),
                 Contains("f.trace:2:" + std::to_string(col) +
                          ": arrival_time: submit time \"10\" is earlier than the previous row's (30 s)"));
  }
  SECTION("empty file") {
    REQUIRE_THAT(failure(options("gavel", t.write("f.trace", ""))), Contains("f.trace:1: no data rows"));
    REQUIRE_THAT(failure(options("gavel", t.write("g.trace", "\n\n"))), Contains("g.trace:2: no data rows"));
  }
  SECTION("a bad throughput table stops at open") {
    JobTraceOptions o = options("gavel", t.write("f.trace", good));
    o.throughput_table = t.write("tput.json", R"({"v100": {"A3C": {"null": 1.0}}})");
    REQUIRE_THAT(open_failure(o), Contains("v100.A3C: expected a key \"('<job type>', <scale factor>)\""));
    o.throughput_table = t.write("tput2.json", "{");
    REQUIRE_THAT(open_failure(o), Contains("tput2.json: throughput_table: not valid JSON"));
  }
}

TEST_CASE("job traces: lenient skips bad rows and counts them by reason", "[job-traces]") {
  TempDir t;
  JobTraceOptions o =
      options("gavel", t.write("mixed.trace", gavel10("A3C", "100", "1", "5") +                          // ok
                                                  tsv({"A3C", "x", "y"}) +                                // wrong-field-count
                                                  gavel10("A3C", "1e", "1", "6") +                        // bad-number
                                                  gavel10("A3C", "100", "-1", "6") +                      // negative-gpus
                                                  gavel10("A3C", "100", "4", "6") +                       // unknown key
                                                  gavel10("A3C", "100", "1", "1") +                       // out-of-order
                                                  gavel10("A3C", "100", "1", "-3") +                      // bad-time
                                                  gavel10("Transformer (batch size 16)", "7", "2", "8")));  // ok
  o.throughput_table = t.write("tput.json", kTable);
  o.lenient = true;
  Drained d = drain(o);
  REQUIRE(d.errors.empty());
  REQUIRE(d.jobs.size() == 2);
  REQUIRE(d.jobs[0].id == "mixed-0");
  REQUIRE(d.jobs[1].id == "mixed-7");
  REQUIRE(d.source->rows_read() == 8);
  REQUIRE(d.source->rows_skipped() == 6);
  REQUIRE(d.source->skipped() == std::map<std::string, std::uint64_t>{{"bad-number", 1},
                                                                       {"bad-time", 1},
                                                                       {"negative-gpus", 1},
                                                                       {"out-of-order", 1},
                                                                       {"unknown-throughput-key", 1},
                                                                       {"wrong-field-count", 1}});
  REQUIRE(d.source->skipped_examples().size() == 5);
  REQUIRE(d.source->skipped_examples()[0].line == 2);
  REQUIRE_THAT(d.source->skipped_examples()[4].to_string(),
               Contains("mixed.trace:6:") && Contains("arrival_time: submit time \"1\" is earlier"));
}

// ---------------------------------------------------------------------------------------------
// openb

TEST_CASE("job traces: openb pods, whole and fractional GPUs, types, QoS and times", "[job-traces]") {
  TempDir t;
  const std::string path = t.write("pods.csv", kOpenbHeader +
                                                   "p0,12000,16384,1,1000,,LS,Running,0,12537496,0\n"
                                                   "p1,6000,12288,1,460,,BE,Running,10,20,10\n"
                                                   "p2,88000,327680,8,1000,V100M16|V100M32|V100M32,Guaranteed,Succeeded,10,10,\n"
                                                   "p3,4000,8192,0,0,,Burstable,Pending,15,99,\n");
  Drained d = drain(options("openb", path));
  REQUIRE(d.errors.empty());
  REQUIRE(d.jobs.size() == 4);
  const JobSpec& p0 = d.jobs[0];
  REQUIRE(p0.id == "p0");
  REQUIRE(p0.workers == 1);
  REQUIRE(p0.worker.gpus == 1);
  REQUIRE(p0.worker.milli_gpu == 0);
  REQUIRE(p0.worker.cpu == 12.0);
  REQUIRE(p0.worker.memory_bytes == 16384.0 * 1024 * 1024);
  REQUIRE(p0.submit == 0);
  REQUIRE(p0.end == 12537496 * kSecond);
  REQUIRE(p0.duration == 0);
  REQUIRE(p0.steps == 0);
  REQUIRE(p0.priority == 2);
  REQUIRE_FALSE(p0.preemptible);
  REQUIRE(p0.gpu_types.empty());
  REQUIRE(d.classes[0] == "LS");
  REQUIRE(d.jobs[1].worker.gpus == 0);
  REQUIRE(d.jobs[1].worker.milli_gpu == 460);
  REQUIRE(d.jobs[1].worker.cpu == 6.0);
  REQUIRE(d.jobs[1].priority == 0);
  REQUIRE(d.jobs[1].preemptible);
  REQUIRE(d.jobs[1].end == 20 * kSecond);
  REQUIRE(d.jobs[2].worker.gpus == 8);
  REQUIRE(d.jobs[2].gpu_types == std::vector<std::string>{"V100M16", "V100M32"});
  REQUIRE(d.jobs[2].priority == 3);
  REQUIRE(d.jobs[2].end == d.jobs[2].submit);  // zero lifetime is allowed
  REQUIRE(d.jobs[3].worker.gpus == 0);
  REQUIRE(d.jobs[3].worker.milli_gpu == 0);
  REQUIRE(d.jobs[3].priority == 1);
  REQUIRE(d.jobs[3].preemptible);

  SECTION("file_order drops the times") {
    JobTraceOptions o = options("openb", path);
    o.file_order = true;
    Drained f = drain(o);
    REQUIRE(f.jobs.size() == 4);
    for (const auto& j : f.jobs) {
      REQUIRE(j.submit == 0);
      REQUIRE(j.end == kNever);
    }
  }
}

TEST_CASE("job traces: openb variants without time columns replay in file order", "[job-traces]") {
  TempDir t;
  Drained d = drain(options("openb", t.write("multigpu.csv", "name,cpu_milli,memory_mib,num_gpu,gpu_milli\n"
                                                             "a,1000,1024,2,1000\n"
                                                             "b,500,512,1,250\n")));
  REQUIRE(d.errors.empty());
  REQUIRE(d.jobs.size() == 2);
  REQUIRE(d.jobs[0].id == "a");
  REQUIRE(d.jobs[0].worker.gpus == 2);
  REQUIRE(d.jobs[0].submit == 0);
  REQUIRE(d.jobs[0].end == kNever);
  REQUIRE(d.jobs[1].worker.milli_gpu == 250);
  REQUIRE(d.jobs[1].worker.cpu == 0.5);
  REQUIRE(d.classes[1].empty());
}

TEST_CASE("job traces: openb malformed rows", "[job-traces]") {
  TempDir t;
  SECTION("negative GPUs") {
    const std::string row = "p1,1000,1024,-1,1000,,BE,Running,5,6,5\n";
    REQUIRE_THAT(failure(options("openb", t.write("p.csv", kOpenbHeader + "p0,1000,1024,1,1000,,BE,Running,0,6,0\n" + row))),
                 Contains("p.csv:3:" + std::to_string(row.find("-1") + 1) +
                          ": num_gpu: expected an integer number of GPUs >= 0, got \"-1\" (negative)"));
  }
  SECTION("a share spread over several GPUs") {
    REQUIRE_THAT(failure(options("openb", t.write("p.csv", kOpenbHeader + "p0,1000,1024,2,500,,BE,Running,0,6,0\n"))),
                 Contains("p.csv:2:") && Contains("gpu_milli: a GPU share (gpu_milli \"500\") needs num_gpu 1"));
  }
  SECTION("missing column in the header") {
    REQUIRE_THAT(open_failure(options("openb", t.write("p.csv", "name,cpu_milli,memory_mib,num_gpu,gpu_mili\n"
                                                                "p0,1,1,0,0\n"))),
                 Contains("p.csv:1:1: gpu_milli: missing column \"gpu_milli\" (the header has: name, "
                          "cpu_milli, memory_mib, num_gpu, gpu_mili)"));
  }
  SECTION("out-of-order creation times") {
    const std::string msg =
        failure(options("openb", t.write("p.csv", kOpenbHeader + "p0,1,1,0,0,,BE,Running,100,200,\n"
                                                                 "p1,1,1,0,0,,BE,Running,50,200,\n")));
    REQUIRE_THAT(msg, Contains("p.csv:3:") &&
                          Contains("creation_time: submit time \"50\" is earlier than the previous row's (100 s)") &&
                          Contains("use file_order"));
  }
  SECTION("empty file and header only") {
    REQUIRE_THAT(open_failure(options("openb", t.write("e.csv", ""))), Contains("e.csv:1: header: the file is empty"));
    REQUIRE_THAT(failure(options("openb", t.write("h.csv", kOpenbHeader))), Contains("h.csv:1: no data rows"));
  }
  SECTION("unknown QoS, field count, deletion before creation; lenient counts them") {
    JobTraceOptions o = options("openb", t.write("p.csv", kOpenbHeader + "p0,1,1,0,0,,XX,Running,0,1,\n"
                                                                         "p1,1,1,0,0,,BE,Running,0,1\n"
                                                                         "p2,1,1,0,0,,BE,Running,5,4,\n"
                                                                         "p3,1,1,0,0,,BE,Running,5,9,\n"));
    REQUIRE_THAT(failure(o), Contains("p.csv:2:") && Contains("qos: expected a QoS class"));
    o.lenient = true;
    Drained d = drain(o);
    REQUIRE(d.jobs.size() == 1);
    REQUIRE(d.jobs[0].id == "p3");
    REQUIRE(d.source->skipped() ==
            std::map<std::string, std::uint64_t>{{"bad-time", 1}, {"bad-value", 1}, {"wrong-field-count", 1}});
  }
}

// ---------------------------------------------------------------------------------------------
// dlrm-2025

TEST_CASE("job traces: dlrm-2025 instances, absent times, a bounded reorder buffer", "[job-traces]") {
  TempDir t;
  const std::string path = t.write("dlrm.csv", kDlrmHeader +
                                                   "instance_0,HN,app_0,12,12,1,1,25,25,120.0,120.0,640.0,800.0,8,,,\n"
                                                   "instance_1,CN,app_1,64,64,0,0,100,100,320.0,320.0,255.0,300.0,2,"
                                                   "2676503.0,2676503.0,2676635.0\n"
                                                   "instance_2,CN,app_1,8,8,0,0,1,1,40.0,40.0,1,1,-1,475.5,476,NaN\n");
  Drained d = drain(options("dlrm-2025", path));  // default window 4096 reorders
  REQUIRE(d.errors.empty());
  REQUIRE(d.jobs.size() == 3);
  REQUIRE(d.jobs[0].id == "instance_0");
  REQUIRE(d.jobs[0].submit == 0);
  REQUIRE(d.jobs[0].end == kNever);
  REQUIRE(d.jobs[0].worker.gpus == 1);
  REQUIRE(d.jobs[0].worker.cpu == 12);
  REQUIRE(d.jobs[0].worker.memory_bytes == 120.0 * 1024 * 1024 * 1024);
  REQUIRE(d.jobs[0].tenant == "app_0");
  REQUIRE_FALSE(d.jobs[0].preemptible);
  REQUIRE(d.classes[0] == "HN");
  REQUIRE(d.jobs[1].id == "instance_2");  // created at 475.5 s: before instance_1
  REQUIRE(d.jobs[1].submit == 475'500'000'000);
  REQUIRE(d.jobs[1].end == kNever);
  REQUIRE(d.jobs[2].id == "instance_1");
  REQUIRE(d.jobs[2].submit == 2676503 * kSecond);
  REQUIRE(d.jobs[2].end == 2676635 * kSecond);
  REQUIRE(d.jobs[2].worker.gpus == 0);
  REQUIRE(d.classes[2] == "CN");

  SECTION("a row earlier than the buffer allows is out of order") {
    JobTraceOptions o = options("dlrm-2025", path);
    o.reorder_window = 0;
    REQUIRE_THAT(failure(o), Contains("dlrm.csv:4:") &&
                                 Contains("creation_time: submit time \"475.5\" is earlier than the previous row's "
                                          "(2676503 s)"));
  }
  SECTION("a missing column") {
    std::string header = kDlrmHeader;
    header.replace(header.find("gpu_request"), 11, "gpus");
    REQUIRE_THAT(open_failure(options("dlrm-2025", t.write("bad.csv", header))),
                 Contains("bad.csv:1:1: gpu_request: missing column \"gpu_request\""));
  }
}

// ---------------------------------------------------------------------------------------------
// generic-csv

TEST_CASE("job traces: generic-csv maps named columns with units", "[job-traces]") {
  TempDir t;
  JobTraceOptions o = options("generic-csv", t.write("jobs.tsv", "jid\tt_ms\tdur_min\tn\tfrac\tcores\tmem_gib\ttype\tteam\tprio\n"
                                                                 "a\t0\t1.5\t4\t1\t8\t32\tA100|H100\tnlp\t2\n"
                                                                 "b\t1500\t10\t1\t0.25\t2\t4\t\tcv\t\n"));
  GenericJobColumns& c = o.columns;
  c.delimiter = "tab";
  c.id = "jid";
  c.submit = "t_ms";
  c.submit_unit = "ms";
  c.duration = "dur_min";
  c.duration_unit = "min";
  c.reference_gpu_type = "A100-80GB";
  c.workers = "n";
  c.gpu_fraction = "frac";
  c.cpu = "cores";
  c.memory = "mem_gib";
  c.memory_unit = "GiB";
  c.gpu_type = "type";
  c.tenant = "team";
  c.priority = "prio";
  Drained d = drain(o);
  REQUIRE(d.errors.empty());
  REQUIRE(d.jobs.size() == 2);
  const JobSpec& a = d.jobs[0];
  REQUIRE(a.id == "a");
  REQUIRE(a.submit == 0);
  REQUIRE(a.duration == 90 * kSecond);
  REQUIRE(a.reference_gpu_type == "A100-80GB");
  REQUIRE(a.workers == 4);
  REQUIRE(a.worker.gpus == 1);
  REQUIRE(a.worker.cpu == 8);
  REQUIRE(a.worker.memory_bytes == 32.0 * 1024 * 1024 * 1024);
  REQUIRE(a.gpu_types == std::vector<std::string>{"A100", "H100"});
  REQUIRE(a.tenant == "nlp");
  REQUIRE(a.priority == 2);
  const JobSpec& b = d.jobs[1];
  REQUIRE(b.submit == 1'500'000'000);
  REQUIRE(b.duration == 600 * kSecond);
  REQUIRE(b.worker.gpus == 0);
  REQUIRE(b.worker.milli_gpu == 250);
  REQUIRE(b.priority == 0);

  SECTION("ISO 8601 submit times are relative to the first row; ids default to job-<n>") {
    JobTraceOptions i = options("generic-csv", t.write("iso.csv", "when,secs,g\n2024-01-01 00:00:00,5,2\n"
                                                                  "2024-01-01 00:01:00.5,7,0\n"));
    i.columns.submit = "when";
    i.columns.submit_unit = "iso8601";
    i.columns.duration = "secs";
    i.columns.gpus = "g";
    Drained n = drain(i);
    REQUIRE(n.jobs.size() == 2);
    REQUIRE(n.jobs[0].id == "job-0");
    REQUIRE(n.jobs[0].worker.gpus == 2);
    REQUIRE(n.jobs[1].id == "job-1");
    REQUIRE(n.jobs[1].submit == 60'500'000'000);
    REQUIRE(n.jobs[1].duration == 7 * kSecond);
  }
  SECTION("options are checked") {
    JobTraceOptions bad = options("generic-csv", o.path);
    bad.columns.submit_unit = "days";
    REQUIRE_THAT(open_failure(bad), Contains("columns.submit: generic-csv needs the submit time's column") &&
                                        Contains("columns.duration: generic-csv needs") &&
                                        Contains("columns.submit_unit: expected s, ms"));
  }
  SECTION("two GPU columns on one row, a zero duration") {
    JobTraceOptions g = options("generic-csv", t.write("g.csv", "t,d,g,m\n0,5,1,500\n"));
    g.columns.submit = "t";
    g.columns.duration = "d";
    g.columns.gpus = "g";
    g.columns.milli_gpu = "m";
    REQUIRE_THAT(failure(g), Contains("g.csv:2:") && Contains("m: more than one of the GPU columns is non-zero"));
    g.path = t.write("z.csv", "t,d,g,m\n0,0,1,0\n");
    REQUIRE_THAT(failure(g), Contains("z.csv:2:3: d: expected a duration > 0 in s, got \"0\""));
  }
}

TEST_CASE("job traces: generic-csv gpu_memory is per GPU, in memory_unit", "[job-traces]") {
  TempDir t;
  JobTraceOptions o = options("generic-csv", t.write("gm.csv", "t,d,g,mem,gmem\n"
                                                               "0,10,2,16,40\n"
                                                               "5,10,0.5,2,0.5\n"
                                                               "7,10,1,0,0\n"));
  GenericJobColumns& c = o.columns;
  c.submit = "t";
  c.duration = "d";
  c.gpus = "g";
  c.memory = "mem";
  c.gpu_memory = "gmem";
  c.memory_unit = "GiB";
  Drained d = drain(o);
  REQUIRE(d.errors.empty());
  REQUIRE(d.jobs.size() == 3);
  REQUIRE(d.jobs[0].worker.gpus == 2);
  REQUIRE(d.jobs[0].worker.gpu_memory_bytes == 40.0 * 1024 * 1024 * 1024);
  REQUIRE(d.jobs[0].worker.memory_bytes == 16.0 * 1024 * 1024 * 1024);
  REQUIRE(d.jobs[1].worker.milli_gpu == 500);
  REQUIRE(d.jobs[1].worker.gpu_memory_bytes == 0.5 * 1024 * 1024 * 1024);
  REQUIRE(d.jobs[2].worker.gpu_memory_bytes == 0);

  SECTION("without the column, GPU memory is not stated") {
    c.gpu_memory.clear();
    Drained n = drain(o);
    REQUIRE(n.jobs.size() == 3);
    REQUIRE(n.jobs[0].worker.gpu_memory_bytes == 0);
  }
  SECTION("a negative value") {
    const std::string bad = "5,10,1,2,-8\n";
    const int col = static_cast<int>(bad.find("-8")) + 1;
    o.path = t.write("neg.csv", "t,d,g,mem,gmem\n0,10,1,2,4\n" + bad);
    REQUIRE_THAT(failure(o), Contains("neg.csv:3:" + std::to_string(col) +
                                      ": gmem: expected GPU memory >= 0 in GiB, got \"-8\""));
  }
  SECTION("not a number") {
    const std::string bad = "0,10,1,2,lots\n";
    const int col = static_cast<int>(bad.find("lots")) + 1;
    o.path = t.write("nan.csv", "t,d,g,mem,gmem\n" + bad);
    REQUIRE_THAT(failure(o), Contains("nan.csv:2:" + std::to_string(col) +
                                      ": gmem: expected GPU memory >= 0 in GiB, got \"lots\""));
  }
  SECTION("a header without the named column") {
    o.path = t.write("hdr.csv", "t,d,g,mem\n0,10,1,2\n");
    REQUIRE_THAT(open_failure(o), Contains("hdr.csv:1:1: gmem: missing column \"gmem\""));
  }
  SECTION("lenient skips bad values and counts them by reason") {
    o.path = t.write("mixed.csv", "t,d,g,mem,gmem\n0,10,1,2,4\n1,10,1,2,-1\n2,10,1,2,x\n3,10,1,2,80\n");
    o.lenient = true;
    Drained l = drain(o);
    REQUIRE(l.errors.empty());
    REQUIRE(l.jobs.size() == 2);
    REQUIRE(l.jobs[1].worker.gpu_memory_bytes == 80.0 * 1024 * 1024 * 1024);
    REQUIRE(l.source->skipped() == std::map<std::string, std::uint64_t>{{"bad-number", 1}, {"bad-value", 1}});
  }
}

TEST_CASE("job traces: bad options", "[job-traces]") {
  Diagnostics e;
  REQUIRE_FALSE(open_job_trace(options("gavle", "x"), e));
  REQUIRE_THAT(e.to_string(), Contains("format: unknown job trace format \"gavle\"") && Contains("did you mean \"gavel\"?"));
  Diagnostics e2;
  REQUIRE_FALSE(open_job_trace(options("pai-machines", "x"), e2));
  REQUIRE_THAT(e2.to_string(), Contains("use read_node_list"));
  Diagnostics e3;
  REQUIRE_FALSE(open_job_trace(options("openb", "/no/such/file.csv"), e3));
  REQUIRE_THAT(e3.to_string(), Contains("path: no such file: \"/no/such/file.csv\""));
}

// ---------------------------------------------------------------------------------------------
// Node lists and run times

TEST_CASE("job traces: node lists (openb, pai-machines)", "[job-traces]") {
  TempDir t;
  Diagnostics e;
  auto openb = read_node_list("openb", t.write("nodes.csv", "sn,cpu_milli,memory_mib,gpu,model\n"
                                                            "n0,32000,262144,0,\n"
                                                            "n1,96000,393216,8,G2\n"),
                              e);
  REQUIRE(e.empty());
  REQUIRE(openb.size() == 2);
  REQUIRE(openb[0].id == "n0");
  REQUIRE(openb[0].gpu_type.empty());
  REQUIRE(openb[0].gpus == 0);
  REQUIRE(openb[0].cpu == 32);
  REQUIRE(openb[0].memory_bytes == 262144.0 * 1024 * 1024);
  REQUIRE(openb[1].gpu_type == "G2");
  REQUIRE(openb[1].gpus == 8);

  auto pai = read_node_list("pai-machines", t.write("pai.csv", "machine,gpu_type,cap_cpu,cap_mem,cap_gpu\n"
                                                               "m0,CPU,96,512,0\n"
                                                               "m1,T4,64,512,2\n"),
                            e);
  REQUIRE(e.empty());
  REQUIRE(pai.size() == 2);
  REQUIRE(pai[0].gpu_type.empty());
  REQUIRE(pai[0].cpu == 96);
  REQUIRE(pai[0].memory_bytes == 512.0 * 1024 * 1024 * 1024);
  REQUIRE(pai[1].gpu_type == "T4");
  REQUIRE(pai[1].gpus == 2);

  Diagnostics bad;
  REQUIRE(read_node_list("openb", t.write("bad.csv", "sn,cpu_milli,memory_mib,gpu,model\n"
                                                     "n0,1,1,2,\n"
                                                     "n1,1,1,0,\n"
                                                     "n1,1,1,0,\n"
                                                     "n2,x,1,0,\n"),
                         bad)
              .empty());
  REQUIRE(bad.size() == 3);
  REQUIRE_THAT(bad.to_string(), Contains("bad.csv:2:") && Contains("model: a node with \"2\" GPUs needs a GPU type"));
  REQUIRE_THAT(bad.to_string(), Contains("bad.csv:4:1: sn: node \"n1\" appears twice"));
  REQUIRE_THAT(bad.to_string(), Contains("bad.csv:5:4: cpu_milli: expected CPU in milli-cores >= 0, got \"x\""));
  Diagnostics missing;
  REQUIRE(read_node_list("pai-machines", t.write("m.csv", "machine,gpu_type,cap_cpu,cap_mem\n"), missing).empty());
  REQUIRE_THAT(missing.to_string(), Contains("m.csv:1:1: cap_gpu: missing column \"cap_gpu\""));
}

TEST_CASE("job traces: Philly run times as an empirical distribution", "[job-traces]") {
  TempDir t;
  Diagnostics e;
  EmpiricalDistribution d = read_philly_runtimes(t.write("rt.csv", "runtime\n30.0\n0.0\n10.0\n20.0\n"), e);
  REQUIRE(e.empty());
  REQUIRE(d.size() == 4);
  REQUIRE(d.min() == 0);
  REQUIRE(d.max() == 30);
  REQUIRE(d.mean() == 15);
  REQUIRE(d.quantile(0) == 0);
  REQUIRE(d.quantile(0.5) == 15);
  REQUIRE(d.quantile(1) == 30);
  REQUIRE(d.quantile(0.9) == Approx(27));
  RngStream rng(7, "philly");
  std::map<double, int> seen;
  for (int i = 0; i < 4000; ++i) ++seen[d.sample(rng)];
  REQUIRE(seen.size() == 4);  // only observed values, each about a quarter of the time
  for (const auto& [v, n] : seen) REQUIRE(n == Approx(1000).margin(150));

  Diagnostics bad;
  REQUIRE(read_philly_runtimes(t.write("bad.csv", "runtime\n1\n-5\n"), bad).empty());
  REQUIRE_THAT(bad.to_string(), Contains("bad.csv:3:1: runtime: expected a run time in seconds >= 0, got \"-5\""));
  Diagnostics empty;
  REQUIRE(read_philly_runtimes(t.write("empty.csv", ""), empty).empty());
  REQUIRE_THAT(empty.to_string(), Contains("empty.csv:1: header: the file is empty"));
}

// ---------------------------------------------------------------------------------------------
// The public traces

TEST_CASE("job traces: shared gavel traces", "[job-traces]") {
  const std::string table = shared_traces() + "gavel-generated/gavel_simulation_throughputs.json";
  const std::string generated = shared_traces() + "gavel-generated/gavel_1000jobs_lam300_seed0.trace";
  if (have(generated) && have(table)) {
    JobTraceOptions o = options("gavel", generated);
    o.throughput_table = table;
    Drained d = drain(o);
    REQUIRE(d.errors.empty());
    REQUIRE(d.jobs.size() == 1000);
    int gpus = 0;
    for (const auto& j : d.jobs) gpus += j.workers;
    REQUIRE(gpus == 786 + 2 * 78 + 4 * 136);
    const JobSpec& first = d.jobs.front();
    REQUIRE(first.id == "gavel_1000jobs_lam300_seed0-0");
    REQUIRE(d.classes.front() == "Transformer (batch size 128)");
    REQUIRE(first.steps == 19605);
    REQUIRE(first.submit == 0);
    REQUIRE(first.gpu_types == std::vector<std::string>{"k80", "p100", "v100"});
    // The generator drew 1 h on a V100 and converted it to steps with the same table.
    REQUIRE(first.steps / first.steps_per_second.at("v100") == Approx(3600).margin(1));
    REQUIRE(d.jobs.back().submit == 311953 * kSecond);
    REQUIRE(d.jobs.back().steps == 22970);
    REQUIRE(d.classes.back() == "Transformer (batch size 256)");
  }
  const std::string physical = shared_traces() + "gavel-traces/physical_cluster/";
  if (have(physical + "max_min_fairness.trace") && have(table)) {
    const std::map<std::string, std::size_t> rows = {{"artifact_evaluation", 15}, {"debug", 14}, {"debug_v2", 14},
                                                     {"highmem_test", 8},         {"max_min_fairness", 96},
                                                     {"medium_test", 20},         {"minimize_makespan", 100},
                                                     {"small_test", 20}};
    for (const auto& [name, n] : rows) {
      JobTraceOptions o = options("gavel", physical + name + ".trace");
      o.throughput_table = table;
      Drained d = drain(o);
      INFO(name << ": " << d.errors.to_string());
      REQUIRE(d.errors.empty());
      REQUIRE(d.jobs.size() == n);
      REQUIRE(d.jobs.back().submit == (name == "max_min_fairness" ? 46317 * kSecond : 0));
    }
  }
  const std::string vc = shared_traces() + "gavel-traces/msr-seed0/0e4a51.trace";
  if (have(vc)) {
    Drained d = drain(options("gavel", vc));  // 7-field layout, no table
    REQUIRE(d.errors.empty());
    REQUIRE(d.jobs.size() == 1181);
    REQUIRE(d.jobs.front().steps == 95121);
    REQUIRE(d.jobs.front().tenant == "0e4a51");
    REQUIRE(d.classes.front() == "Transformer (batch size 128)");
    REQUIRE(d.jobs.back().id == "0e4a51-1180");
    REQUIRE(d.jobs.back().submit == 7363956 * kSecond);
    REQUIRE(d.jobs.back().steps == 236751);
    REQUIRE(d.classes.back() == "CycleGAN");
    if (have(table)) {
      // The table has scale factors 1/2/4/8 only, and only 1 for Recommendation, A3C, CycleGAN.
      JobTraceOptions o = options("gavel", vc);
      o.throughput_table = table;
      REQUIRE_THAT(failure(o), Contains("0e4a51.trace:42:1: job_type: the throughput table has no key "
                                        "('Recommendation (batch size 512)', 4)"));
      o.lenient = true;
      Drained l = drain(o);
      REQUIRE(l.jobs.size() == 984);
      REQUIRE(l.source->skipped() == std::map<std::string, std::uint64_t>{{"unknown-throughput-key", 197}});
    }
  }
}

TEST_CASE("job traces: shared openb pod lists", "[job-traces]") {
  const std::string dir = shared_traces() + "alibaba-openb-2023/";
  if (have(dir + "openb_pod_list_default.csv")) {
    Drained d = drain(options("openb", dir + "openb_pod_list_default.csv"));
    REQUIRE(d.errors.empty());
    REQUIRE(d.jobs.size() == 8152);
    int fractional = 0, gpu_pods = 0;
    long milli = 0;
    for (const auto& j : d.jobs) {
      if (j.worker.milli_gpu > 0) ++fractional;
      if (j.worker.milli_gpu > 0 || j.worker.gpus > 0) ++gpu_pods;
      milli += j.worker.milli_gpu + 1000L * j.worker.gpus;
    }
    REQUIRE(fractional == 3078);
    REQUIRE(gpu_pods == 7064);
    REQUIRE(milli == 6'086'800);
    REQUIRE(d.jobs.front().id == "openb-pod-0000");
    REQUIRE(d.jobs.front().worker.gpus == 1);
    REQUIRE(d.jobs.front().end == 12537496 * kSecond);
    REQUIRE(d.jobs.back().id == "openb-pod-8151");
    REQUIRE(d.jobs.back().worker.milli_gpu == 590);
    REQUIRE(d.jobs.back().submit == 12901761 * kSecond);
    REQUIRE(d.jobs.back().end == 12901792 * kSecond);
  }
  if (have(dir + "openb_pod_list_cpu050.csv")) {
    // Not sorted by creation time: an error in time order, fine in file order.
    REQUIRE_THAT(failure(options("openb", dir + "openb_pod_list_cpu050.csv")),
                 Contains("openb_pod_list_cpu050.csv:3:") && Contains("use file_order"));
    JobTraceOptions o = options("openb", dir + "openb_pod_list_cpu050.csv");
    o.file_order = true;
    Drained d = drain(o);
    REQUIRE(d.errors.empty());
    REQUIRE(d.jobs.size() == 7439);
  }
  if (have(dir + "openb_pod_list_multigpu20.csv")) {
    Drained d = drain(options("openb", dir + "openb_pod_list_multigpu20.csv"));
    REQUIRE(d.errors.empty());
    REQUIRE(d.jobs.size() == 8324);
    REQUIRE(d.jobs.back().worker.gpus == 8);
    REQUIRE(d.jobs.back().submit == 0);
    REQUIRE(d.jobs.back().end == kNever);
  }
  if (have(dir + "openb_pod_list_gpuspec10.csv")) {
    Drained d = drain(options("openb", dir + "openb_pod_list_gpuspec10.csv"));
    REQUIRE(d.jobs.size() == 8152);
    int constrained = 0;
    for (const auto& j : d.jobs) constrained += j.gpu_types.empty() ? 0 : 1;
    REQUIRE(constrained == 732);
    REQUIRE(d.jobs[31].gpu_types == std::vector<std::string>{"V100M16", "V100M32"});  // "V100M16|V100M32|V100M32"
  }
}

TEST_CASE("job traces: shared dlrm-2025 instances", "[job-traces]") {
  const std::string path = shared_traces() + "alibaba-dlrm-2025/disaggregated_DLRM_trace.csv";
  if (!have(path)) return;
  Drained d = drain(options("dlrm-2025", path));
  REQUIRE(d.errors.empty());
  REQUIRE(d.jobs.size() == 23871);
  int gpus = 0, ended = 0, at_zero = 0;
  for (std::size_t i = 0; i < d.jobs.size(); ++i) {
    gpus += d.jobs[i].worker.gpus;
    ended += d.jobs[i].end != kNever ? 1 : 0;
    at_zero += d.jobs[i].submit == 0 ? 1 : 0;
    if (i > 0) REQUIRE(d.jobs[i].submit >= d.jobs[i - 1].submit);
  }
  REQUIRE(gpus == 7386);
  REQUIRE(ended == 14993);
  REQUIRE(at_zero == 7280);
  REQUIRE(d.jobs.front().id == "instance_0");
  REQUIRE(d.jobs.back().id == "instance_23869");
  REQUIRE(d.jobs.back().submit == 2676636 * kSecond);
}

TEST_CASE("job traces: shared node lists and Philly run times", "[job-traces]") {
  const std::string openb = shared_traces() + "alibaba-openb-2023/";
  auto totals = [](const std::vector<NodeRecord>& nodes) {
    int g = 0;
    for (const auto& n : nodes) g += n.gpus;
    return g;
  };
  if (have(openb + "openb_node_list_all_node.csv")) {
    Diagnostics e;
    auto nodes = read_node_list("openb", openb + "openb_node_list_all_node.csv", e);
    REQUIRE(e.empty());
    REQUIRE(nodes.size() == 1523);
    REQUIRE(totals(nodes) == 6212);
    REQUIRE(nodes.front().id == "openb-node-0000");
    REQUIRE(nodes.front().gpus == 0);
    REQUIRE(nodes.back().gpu_type == "G2");
    REQUIRE(nodes.back().gpus == 8);
    REQUIRE(nodes.back().cpu == 96);
    auto gpu_nodes = read_node_list("openb", openb + "openb_node_list_gpu_node.csv", e);
    REQUIRE(gpu_nodes.size() == 1213);
    REQUIRE(totals(gpu_nodes) == 6212);
  }
  const std::string pai = shared_traces() + "alibaba-pai-2020-machine-spec/pai_machine_spec.csv";
  if (have(pai)) {
    Diagnostics e;
    auto nodes = read_node_list("pai-machines", pai, e);
    REQUIRE(e.empty());
    REQUIRE(nodes.size() == 1897);
    REQUIRE(totals(nodes) == 6742);
    int cpu_only = 0;
    for (const auto& n : nodes) cpu_only += n.gpu_type.empty() ? 1 : 0;
    REQUIRE(cpu_only == 83);
    REQUIRE(nodes.back().gpu_type == "V100M32");
  }
  const std::string philly = shared_traces() + "philly-runtime/philly_runtime.csv";
  if (have(philly)) {
    Diagnostics e;
    EmpiricalDistribution d = read_philly_runtimes(philly, e);
    REQUIRE(e.empty());
    REQUIRE(d.size() == 83154);
    REQUIRE(d.quantile(0.5) == 1186);
    REQUIRE(d.quantile(0.9) == Approx(12859.4));
    REQUIRE(d.mean() == Approx(14613.33).epsilon(1e-6));
    REQUIRE(d.min() == 0);
    REQUIRE(d.max() == 4628239);
  }
}

// ---------------------------------------------------------------------------------------------
// Synthetic jobs

TEST_CASE("synthetic jobs: Poisson arrivals, observed run times, weighted gangs, same seed same jobs", "[job-traces][synthetic]") {
  SyntheticJobOptions o;
  o.jobs = 4000;
  o.arrival_rate = 2.0;  // per second
  o.gpus = {{1, 3}, {16, 1}};
  o.gpus_per_node = 8;
  o.tenants = 2;
  o.min_duration_s = 5;
  auto read = [&](std::uint64_t seed) {
    o.seed = seed;
    auto source = synthetic_jobs(o, EmpiricalDistribution({0, 10, 20}));
    std::vector<JobSpec> jobs;
    Diagnostics e;
    for (JobSpec j; source->next(j, e);) jobs.push_back(j);
    return jobs;
  };
  const auto jobs = read(1);
  REQUIRE(jobs.size() == 4000);
  REQUIRE(jobs.front().id == "syn-0");
  int big = 0, t1 = 0;
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    const JobSpec& j = jobs[i];
    if (i) REQUIRE(j.submit >= jobs[i - 1].submit);
    const double d = to_seconds(j.duration);
    REQUIRE((d == 5 || d == 10 || d == 20));  // 0 is clamped to the minimum
    if (j.workers * j.worker.gpus == 16) {
      ++big;
      REQUIRE(j.workers == 2);  // 16 GPUs: two workers of a node's 8
      REQUIRE(j.worker.gpus == 8);
    } else {
      REQUIRE((j.workers == 1 && j.worker.gpus == 1));
    }
    REQUIRE((j.tenant == "t0" || j.tenant == "t1"));
    t1 += j.tenant == "t1";
  }
  // Weights 3:1 -> a quarter are 16-GPU jobs; mean gap 0.5 s (4,000 draws: within a few %).
  REQUIRE(big == Approx(1000).epsilon(0.08));
  REQUIRE(t1 == Approx(2000).epsilon(0.06));
  REQUIRE(to_seconds(jobs.back().submit) / 4000 == Approx(0.5).epsilon(0.05));
  // Deterministic: the same seed gives the same jobs, another seed others.
  const auto again = read(1);
  REQUIRE(again.back().submit == jobs.back().submit);
  REQUIRE(again[17].duration == jobs[17].duration);
  REQUIRE(read(2).back().submit != jobs.back().submit);
}

TEST_CASE("synthetic jobs: bad options and gang lists are refused with a reason", "[job-traces][synthetic]") {
  SyntheticJobOptions o;
  o.arrival_rate = 1;
  REQUIRE(check(o).empty());
  auto with = [&](auto change) {
    SyntheticJobOptions c = o;
    change(c);
    return check(c);
  };
  REQUIRE_THAT(with([](auto& c) { c.jobs = 0; }), Catch::Contains("jobs: must be >= 1"));
  REQUIRE_THAT(with([](auto& c) { c.arrival_rate = 0; }), Catch::Contains("arrival rate: must be > 0"));
  REQUIRE_THAT(with([](auto& c) { c.tenants = 0; }), Catch::Contains("tenants: must be >= 1"));
  REQUIRE_THAT(with([](auto& c) { c.gpus = {{12, 1}}; }), Catch::Contains("12 GPUs is not a multiple of 8"));
  REQUIRE_THAT(with([](auto& c) { c.gpus = {{0, 1}}; }), Catch::Contains("GPUs must be >= 1"));
  REQUIRE_THAT(with([](auto& c) { c.gpus = {{1, -1}}; }), Catch::Contains("weights must be > 0"));
  REQUIRE_THAT(with([](auto& c) { c.gpus.clear(); }), Catch::Contains("none given"));
  std::vector<std::pair<int, double>> g;
  std::string error;
  REQUIRE(parse_gang_weights("1:70,2:10,8", g, error));
  REQUIRE(g == std::vector<std::pair<int, double>>{{1, 70}, {2, 10}, {8, 1}});
  for (const char* bad : {"", "x:1", "1:y", "1:2:3", "1.5:2"}) {
    INFO(bad);
    REQUIRE_FALSE(parse_gang_weights(bad, g, error));
    REQUIRE_THAT(error, Catch::Contains("expected GPUS[:WEIGHT]"));
  }
}

TEST_CASE("job traces: a job id given twice is an error naming both lines", "[job-traces]") {
  // Bug (issue 10): duplicate ids were accepted silently, and their outcomes confused.
  TempDir t;
  JobTraceOptions o = options("generic-csv", t.write("dup.csv", "id,submit_s,duration_s,gpus\n"
                                                                "A,0,10,1\nB,1,10,1\nA,2,10,1\n"));
  o.columns.id = "id";
  o.columns.submit = "submit_s";
  o.columns.duration = "duration_s";
  o.columns.gpus = "gpus";
  REQUIRE_THAT(failure(o), Contains(o.path + ":4: id: job id \"A\" appears twice: on line 2 and on line 4"));
  o.lenient = true;
  Drained d = drain(o);
  REQUIRE(d.errors.empty());
  REQUIRE(d.jobs.size() == 2);
  REQUIRE(d.source->skipped().at("duplicate-id") == 1);
}

TEST_CASE("job traces: an ISO 8601 date after 2262 is an out-of-range row error", "[job-traces]") {
  TempDir t;
  JobTraceOptions o = options("generic-csv", t.write("late.csv", "when,secs,g\n2024-01-01 00:00:00,5,1\n"
                                                                 "2300-01-01 00:00:00,5,1\n"));
  o.columns.submit = "when";
  o.columns.submit_unit = "iso8601";
  o.columns.duration = "secs";
  o.columns.gpus = "g";
  REQUIRE_THAT(failure(o), Contains(o.path + ":3:1: when: date \"2300-01-01 00:00:00\" is out of range"));
}
