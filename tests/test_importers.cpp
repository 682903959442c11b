// Trace importers (traces/importers.hpp): each format on hand-written inputs with exact values,
// on the public traces in ../shared/traces when present, malformed inputs (strict: one
// diagnostic with file:line; lenient: skips counted by reason), the transformations (window,
// time scale, rate scale, model assignment), a round trip through RequestCsvReader, and the
// `fleetsim trace import` command.
#include <catch2/catch.hpp>

#include "tests/support.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <limits>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "traces/importers.hpp"
#include "traces/request_csv.hpp"
#include "traces/text.hpp"  // parse_iso8601_ns

using Catch::Contains;
using namespace fleetsim;
using fleetsim::test::read_file;
using fleetsim::test::TempDir;
namespace fs = std::filesystem;

namespace {

std::vector<std::string> lines_of(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

ImportOptions options(const std::string& format, const std::string& input, const std::string& output) {
  ImportOptions o;
  o.format = format;
  o.input = input;
  o.output = output;
  return o;
}

// Imports and requires success.
ImportReport ok_import(const ImportOptions& o) {
  ImportReport r = import_trace(o);
  INFO(r.errors.to_string());
  REQUIRE(r.ok());
  return r;
}

// Imports, requires one error, checks nothing was written, returns the error's text.
std::string failed_import(const ImportOptions& o) {
  ImportReport r = import_trace(o);
  REQUIRE_FALSE(r.ok());
  REQUIRE(r.errors.size() == 1);
  REQUIRE_FALSE(fs::exists(o.output));
  REQUIRE_FALSE(fs::exists(o.output + ".part"));
  return r.errors.to_string();
}

double time_of(const std::string& row) { return std::stod(row.substr(0, row.find(','))); }
std::string model_of(const std::string& row) {
  const auto a = row.find(',');
  return row.substr(a + 1, row.find(',', a + 1) - a - 1);
}

bool sorted_by_time(const std::vector<std::string>& lines) {
  for (std::size_t i = 2; i < lines.size(); ++i)
    if (time_of(lines[i]) < time_of(lines[i - 1])) return false;
  return true;
}

// n rows at t = i * step seconds, model m<i % 3>, tokens i+1 and 2.
std::string synthetic_csv(int n, double step) {
  std::ostringstream s;
  s << "t,model,in,out\n";
  for (int i = 0; i < n; ++i) s << i * step << ",m" << i % 3 << "," << i + 1 << ",2\n";
  return s.str();
}

ImportOptions synthetic_options(const std::string& in, const std::string& out) {
  ImportOptions o = options("generic-csv", in, out);
  o.time_column = std::string("t");
  o.model_column = std::string("model");
  o.input_column = std::string("in");
  o.output_column = std::string("out");
  return o;
}

std::string shared_traces() { return std::string(FLEETSIM_SOURCE_DIR) + "/../shared/traces/"; }

const std::string kAzureSmall =
    "TIMESTAMP,ContextTokens,GeneratedTokens\r\n"
    "2023-11-16 18:17:03.9799600,4808,10\r\n"
    "2023-11-16 18:17:04.0319600,3180,8\r\n"
    "2023-11-16 18:17:05.5,110,27\r\n"
    "2023-11-16 18:18:00,7433,14";  // CRLF and no final newline, as in the published file

}  // namespace

TEST_CASE("importers: ISO 8601 datetimes to epoch nanoseconds", "[importers]") {
  REQUIRE(parse_iso8601_ns("1970-01-01T00:00:00Z") == 0);
  REQUIRE(parse_iso8601_ns("2000-03-01 00:00:00") == 951868800LL * 1'000'000'000);
  REQUIRE(parse_iso8601_ns("1970-01-01 01:00:00+01:00") == 0);
  REQUIRE(parse_iso8601_ns("1970-01-01T00:00:00.5-0030") == 1800LL * 1'000'000'000 + 500'000'000);
  REQUIRE(parse_iso8601_ns("1970-01-01 00:00:01.1234567891") == 1'123'456'789);
  REQUIRE(*parse_iso8601_ns("2023-11-17 00:00:00.25") - *parse_iso8601_ns("2023-11-16 23:59:59.5") ==
          750'000'000);
  REQUIRE_FALSE(parse_iso8601_ns("2023-02-29 00:00:00"));
  REQUIRE(parse_iso8601_ns("2024-02-29 00:00:00"));
  REQUIRE_FALSE(parse_iso8601_ns("2023-11-16"));
  REQUIRE_FALSE(parse_iso8601_ns("2023-11-16 25:00:00"));
  REQUIRE_FALSE(parse_iso8601_ns("2023-11-16 18:17:03.98 junk"));
  // Bug (issue 10): dates after 2262 overflowed seconds * 1e9 (signed overflow, UB); now the
  // range is checked before multiplying and said to be the problem.
  bool out_of_range = false;
  REQUIRE(parse_iso8601_ns("2262-04-11T23:47:16.854775807Z", &out_of_range) == std::numeric_limits<std::int64_t>::max());
  REQUIRE_FALSE(out_of_range);
  for (const char* late : {"2262-04-11T23:47:16.854775808Z", "2262-04-12 00:00:00", "9999-12-31T23:59:59.999999999",
                           "1969-12-31T23:59:59Z", "0000-01-01 00:00:00", "1970-01-01T00:00:00+00:01"}) {
    INFO(late);
    REQUIRE_FALSE(parse_iso8601_ns(late, &out_of_range));
    REQUIRE(out_of_range);
  }
  REQUIRE_FALSE(parse_iso8601_ns("junk", &out_of_range));
  REQUIRE_FALSE(out_of_range);
}

TEST_CASE("quote: diagnostics show values cut short and invisible bytes escaped", "[importers]") {
  REQUIRE(quote("abc") == "\"abc\"");
  REQUIRE(quote("say \"hi\" \\ there") == "\"say \\\"hi\\\" \\\\ there\"");
  REQUIRE(quote(std::string("a\0b\tc\x7f", 6)) == "\"a\\x00b\\x09c\\x7F\"");
  REQUIRE(quote("\xEF\xBB\xBFid") == "\"\\xEF\\xBB\\xBFid\"");
  REQUIRE(quote("mod\xC3\xA8le") == "\"mod\xC3\xA8le\"");   // UTF-8 text as it is
  REQUIRE(quote("bad\xFF\xC3") == "\"bad\\xFF\\xC3\"");   // not UTF-8: escaped
  const std::string big(10'000'000, 'y');
  REQUIRE(quote(big) == "\"" + std::string(60, 'y') + "...\" (10000000 bytes)");
  // The cut never splits a UTF-8 character.
  REQUIRE(quote(std::string(59, 'a') + "\xC3\xA8" + "zzz") == "\"" + std::string(59, 'a') + "...\" (64 bytes)");
}

TEST_CASE("importers: azure-llm-2023 rows become relative seconds with a fixed model", "[importers]") {
  TempDir t;
  ImportOptions o = options("azure-llm-2023", t.write("code.csv", kAzureSmall), t.path("out.csv"));
  ImportReport r = ok_import(o);
  REQUIRE(r.rows_read == 4);
  REQUIRE(r.rows_written == 4);
  REQUIRE(r.rows_skipped == 0);
  REQUIRE(r.first_time_s == 0);
  REQUIRE(r.last_time_s == Approx(56.02004));
  REQUIRE(lines_of(o.output) == std::vector<std::string>{"timestamp,model,input_tokens,output_tokens",
                                                         "0,azure-llm,4808,10", "0.052,azure-llm,3180,8",
                                                         "1.52004,azure-llm,110,27",
                                                         "56.02004,azure-llm,7433,14"});

  SECTION("--assign fixed names the model") {
    o.assign = ModelAssign::Fixed;
    o.model = "llama-3.1-8b";
    ok_import(o);
    REQUIRE(lines_of(o.output)[1] == "0,llama-3.1-8b,4808,10");
  }
  SECTION("it has no model column") {
    o.output = t.path("other.csv");
    o.assign = ModelAssign::FromColumn;
    REQUIRE_THAT(failed_import(o), Contains("--assign: azure-llm-2023 has no model column"));
  }
}

TEST_CASE("importers: mooncake JSON lines, with and without prefix hashes", "[importers]") {
  TempDir t;
  const std::string in =
      t.write("trace.jsonl",
              "{\"timestamp\": 0, \"input_length\": 6758, \"output_length\": 500, \"hash_ids\": [0, 1, 2]}\n"
              "{\"timestamp\": 0, \"input_length\": 700, \"output_length\": 3, \"hash_ids\": [0, 3]}\n"
              "\n"
              "{\"timestamp\": 1500, \"input_length\": 20, \"output_length\": 1, \"hash_ids\": [4]}\n");
  ImportOptions o = options("mooncake", in, t.path("out.csv"));
  ImportReport r = ok_import(o);
  REQUIRE(r.rows_read == 3);
  REQUIRE(r.rows_written == 3);
  REQUIRE(lines_of(o.output) == std::vector<std::string>{"timestamp,model,input_tokens,output_tokens",
                                                         "0,mooncake,6758,500", "0,mooncake,700,3",
                                                         "1.5,mooncake,20,1"});

  o.keep_prefix_hashes = true;
  ok_import(o);
  REQUIRE(lines_of(o.output) ==
          std::vector<std::string>{"timestamp,model,input_tokens,output_tokens,prefix_hashes",
                                   "0,mooncake,6758,500,0 1 2", "0,mooncake,700,3,0 3",
                                   "1.5,mooncake,20,1,4"});
  // fleetsim's own reader takes the fifth column: the prompt's prefix blocks.
  RequestCsvReader reader(o.output, {{"mooncake", ModelRef{0}}});
  Diagnostics errors;
  Arrival a;
  REQUIRE(reader.next(a, errors));
  REQUIRE(std::vector<std::uint64_t>(a.prefix_hashes.begin(), a.prefix_hashes.end()) ==
          std::vector<std::uint64_t>{0, 1, 2});
  REQUIRE(reader.next(a, errors));
  REQUIRE(std::vector<std::uint64_t>(a.prefix_hashes.begin(), a.prefix_hashes.end()) ==
          std::vector<std::uint64_t>{0, 3});
  REQUIRE(errors.empty());
}

TEST_CASE("importers: servegen windows generate Gamma arrivals with PMF token lengths", "[importers]") {
  TempDir t;
  // client 0: 0.5/s evenly (cv 0) in [0, 600), idle, 1/s in [1200, 1800) (the last window is as
  // long as the one before). Its dataset's second period has empty PMFs: the first one is used.
  t.write("deepseek-mini/chunk-0-trace.csv", "0,0.5,0,Gamma,0,0\n600,0,0,,0,0\n1200,1,0,Gamma,1,1\n");
  t.write(
      "deepseek-mini/chunk-0-dataset.json",
      R"({"0": {"input_tokens": "{100: 1.0}", "output_tokens": "{7: 0.5, 9: 0.5}", "reason_ratio": "{0.5: 1.0}"},
              "1000": {"input_tokens": "{}", "output_tokens": "{}", "reason_ratio": "{}"}})");
  // client 3: 0.25/s in [0, 600), no dataset.json.
  t.write("deepseek-mini/chunk-3-trace.csv", "0,0.25,0,Gamma,0,0\n");
  ImportOptions o = options("servegen", t.path("deepseek-mini"), t.path("out.csv"));

  SECTION("a client without a dataset needs default tokens") {
    REQUIRE_THAT(failed_import(o), Contains("chunk-3-trace.csv: no token lengths for client-3") &&
                                       Contains("--default-tokens"));
  }
  o.default_tokens = std::make_pair(50u, 5u);

  SECTION("evenly spaced arrivals, merged by time then client, default model = folder name") {
    ImportReport r = ok_import(o);
    REQUIRE(r.rows_read == 299 + 599 + 149);
    REQUIRE(r.rows_written == 299 + 599 + 149);
    auto lines = lines_of(o.output);
    REQUIRE(lines.size() == 1 + 1047);
    REQUIRE(sorted_by_time(lines));
    REQUIRE(lines[1].rfind("2,deepseek-mini,100,", 0) == 0);
    REQUIRE(lines[2].rfind("4,deepseek-mini,100,", 0) == 0);  // client-0 first on the tie
    REQUIRE(lines[3] == "4,deepseek-mini,50,5");
    REQUIRE(lines.back().rfind("1799,deepseek-mini,100,", 0) == 0);
    std::map<std::string, int> outputs;
    for (std::size_t i = 1; i < lines.size(); ++i)
      if (lines[i].find(",100,") != std::string::npos) ++outputs[lines[i].substr(lines[i].rfind(',') + 1)];
    REQUIRE(outputs.size() == 2);
    REQUIRE(outputs["7"] + outputs["9"] == 898);
    REQUIRE(outputs["7"] > 380);  // 449 expected
    REQUIRE(outputs["9"] > 380);
  }
  SECTION("--assign column names models after clients") {
    o.assign = ModelAssign::FromColumn;
    ok_import(o);
    auto lines = lines_of(o.output);
    REQUIRE(lines[2] == "4,client-0,100," + lines[2].substr(lines[2].rfind(',') + 1));
    REQUIRE(lines[3] == "4,client-3,50,5");
  }
  SECTION("a window keeps its part, re-based to the window start") {
    o.window_start = 1000;
    o.window_end = 1500;
    ImportReport r = ok_import(o);
    REQUIRE(r.rows_written == 299);
    auto lines = lines_of(o.output);
    REQUIRE(lines[1].rfind("201,", 0) == 0);
    REQUIRE(lines.back().rfind("499,", 0) == 0);
  }
}

TEST_CASE("importers: servegen is seeded per client window", "[importers]") {
  TempDir t;
  t.write("m/chunk-1-trace.csv", "0,2,3,Gamma,0.1,5\n600,1,0.5,Weibull,2,1\n1200,4,1.5,Gamma,0.4,0.6\n");
  t.write("m/chunk-1-dataset.json",
          R"({"0": {"input_tokens": "{10: 0.2, 20: 0.8}", "output_tokens": "{3: 1}"}})");
  ImportOptions o = options("servegen", t.path("m"), t.path("a.csv"));
  const ImportReport full = ok_import(o);
  // Expected 2*600 + 600 + 4*600 = 4200 arrivals; a renewal process restarted per window.
  REQUIRE(full.rows_written > 3000);
  REQUIRE(full.rows_written < 5500);
  REQUIRE(sorted_by_time(lines_of(o.output)));
  const std::string a = read_file(o.output);
  ok_import(o);
  REQUIRE(read_file(o.output) == a);  // same seed, same bytes
  o.seed = 2;
  ok_import(o);
  REQUIRE(read_file(o.output) != a);

  // A window is exactly the matching part of the full import, shifted.
  o.seed = 1;
  ok_import(o);
  REQUIRE(read_file(o.output) == a);
  o.output = t.path("w.csv");
  o.window_start = 600;
  o.window_end = 1200;
  ok_import(o);
  std::vector<std::string> expected;
  for (const auto& line : lines_of(t.path("a.csv"))) {
    if (line[0] == 't') continue;
    const double s = time_of(line);
    if (s >= 600 && s < 1200) expected.push_back(line);
  }
  auto got = lines_of(o.output);
  got.erase(got.begin());
  REQUIRE(got.size() == expected.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    REQUIRE(time_of(got[i]) == Approx(time_of(expected[i]) - 600).margin(1e-9));
    REQUIRE(got[i].substr(got[i].find(',')) == expected[i].substr(expected[i].find(',')));
  }
}

TEST_CASE("importers: generic-csv with named columns, delimiters, quotes and time units", "[importers]") {
  TempDir t;
  SECTION("iso8601 with zones, ';' and a quoted field") {
    ImportOptions o = options("generic-csv",
                              t.write("in.csv",
                                      "when;who;in;out\n"
                                      "\"2023-11-16T10:00:00Z\";llama;10;5\n"
                                      "2023-11-16T11:00:00.5+01:00;\"mis;tral\";20;6\n"),
                              t.path("out.csv"));
    o.time_column = "when";
    o.time_format = "iso8601";
    o.model_column = "who";
    o.input_column = "in";
    o.output_column = "out";
    o.delimiter = ";";
    ok_import(o);
    REQUIRE(lines_of(o.output) == std::vector<std::string>{"timestamp,model,input_tokens,output_tokens",
                                                           "0,llama,10,5", "0.5,mis;tral,20,6"});
  }
  SECTION("milliseconds, an extra column, spaces around fields") {
    ImportOptions o =
        options("generic-csv",
                t.write("in.csv", "t_ms, model ,prompt,completion,extra\n1000, a ,5,6,x\n1250.5,b,7,8,y\n"),
                t.path("out.csv"));
    o.time_column = "t_ms";
    o.time_unit = "ms";
    o.model_column = "model";
    o.input_column = "prompt";
    o.output_column = "completion";
    ImportReport r = ok_import(o);
    REQUIRE(r.rows_written == 2);
    REQUIRE(lines_of(o.output) == std::vector<std::string>{"timestamp,model,input_tokens,output_tokens",
                                                           "0,a,5,6", "0.2505,b,7,8"});
  }
  SECTION("tab-delimited, nanoseconds, no model column needs an assignment") {
    ImportOptions o =
        options("generic-csv", t.write("in.tsv", "ns\tp\tg\n5\t1\t2\n1000000005\t3\t4\n"), t.path("out.csv"));
    o.time_column = "ns";
    o.time_unit = "ns";
    o.input_column = "p";
    o.output_column = "g";
    o.delimiter = "tab";
    REQUIRE_THAT(failed_import(o), Contains("--model-column"));
    o.assign = ModelAssign::Fixed;
    o.model = "m";
    ok_import(o);
    REQUIRE(lines_of(o.output) ==
            std::vector<std::string>{"timestamp,model,input_tokens,output_tokens", "0,m,1,2", "1,m,3,4"});
  }
}

TEST_CASE("importers: malformed input stops the import with file, line, column and value", "[importers]") {
  TempDir t;
  const std::string out = t.path("out.csv");
  auto azure = [&](const std::string& text) {
    return options("azure-llm-2023", t.write("in.csv", text), out);
  };
  const std::string file = t.path("in.csv");
  const std::string header = "TIMESTAMP,ContextTokens,GeneratedTokens\n";
  const std::string row1 = "2023-11-16 18:17:03.9799600,4808,10\n";

  SECTION("bad number") {
    REQUIRE_THAT(failed_import(azure(header + row1 + "2023-11-16 18:17:04.0319600,abc,8\n")),
                 Contains(file + ":3:29: ContextTokens: expected an integer >= 1, got \"abc\""));
  }
  SECTION("missing column") {
    REQUIRE_THAT(failed_import(azure("TIMESTAMP,ContextTokens,GenTokens\n" + row1)),
                 Contains(file + ":1:1: GeneratedTokens: missing column \"GeneratedTokens\" (the header has: "
                                 "TIMESTAMP, ContextTokens, GenTokens)"));
  }
  SECTION("out-of-order time") {
    REQUIRE_THAT(failed_import(azure(header + row1 + "2023-11-16 18:17:05,1,1\n2023-11-16 18:17:04,2,2\n")),
                 Contains(file + ":4:1: TIMESTAMP: time \"2023-11-16 18:17:04\" is earlier than the previous "
                                 "row's \"2023-11-16 18:17:05\""));
  }
  SECTION("negative tokens") {
    REQUIRE_THAT(failed_import(azure(header + row1 + "2023-11-16 18:17:05,12,-5\n")),
                 Contains(file + ":3:24: GeneratedTokens: expected an integer >= 1, got \"-5\" (negative)"));
  }
  SECTION("zero tokens") {
    REQUIRE_THAT(failed_import(azure(header + "2023-11-16 18:17:05,0,5\n")),
                 Contains(file + ":2:21: ContextTokens: expected an integer >= 1, got \"0\""));
  }
  SECTION("wrong field count") {
    REQUIRE_THAT(failed_import(azure(header + row1 + row1 + "2023-11-16 18:17:05,12\n")),
                 Contains(file + ":4:1: expected 3 fields (TIMESTAMP,ContextTokens,GeneratedTokens), got 2"));
  }
  SECTION("bad time") {
    REQUIRE_THAT(failed_import(azure(header + "16/11/2023 18:17,1,1\n")),
                 Contains(file + ":2:1: TIMESTAMP: expected an ISO 8601 date and time") &&
                     Contains("got \"16/11/2023 18:17\""));
  }
  SECTION("empty file") {
    REQUIRE_THAT(failed_import(azure("")), Contains(file + ":1: header: the file is empty"));
    ImportOptions o = options("mooncake", t.write("empty.jsonl", "\n\n"), out);
    REQUIRE_THAT(failed_import(o), Contains(t.path("empty.jsonl") + ":1: the file is empty"));
  }
  SECTION("bad JSON line") {
    ImportOptions o = options("mooncake",
                              t.write("in.jsonl",
                                      "{\"timestamp\": 0, \"input_length\": 5, \"output_length\": 1}\n"
                                      "{\"timestamp\": 5, \"input_length\": \n"),
                              out);
    REQUIRE_THAT(failed_import(o), Contains(t.path("in.jsonl") + ":2:") && Contains("not valid JSON"));
  }
  SECTION("JSON: missing field, non-integer tokens, time going backwards") {
    const std::string first = "{\"timestamp\": 10, \"input_length\": 5, \"output_length\": 1}\n";
    ImportOptions o =
        options("mooncake", t.write("in.jsonl", first + "{\"timestamp\": 20, \"input_length\": 5}\n"), out);
    REQUIRE_THAT(failed_import(o),
                 Contains(t.path("in.jsonl") + ":2: output_length: missing field \"output_length\""));
    t.write("in.jsonl", first + "{\"timestamp\": 20, \"input_length\": 5.5, \"output_length\": 1}\n");
    REQUIRE_THAT(failed_import(o), Contains(":2: input_length: expected an integer >= 1, got \"5.5\""));
    t.write("in.jsonl", first + "{\"timestamp\": 9, \"input_length\": 5, \"output_length\": 1}\n");
    REQUIRE_THAT(failed_import(o),
                 Contains(":2: timestamp: time \"9\" is earlier than the previous row's \"10\""));
  }
  SECTION("generic-csv: bad numeric time and an unterminated quote") {
    ImportOptions o = synthetic_options(t.write("in.csv", "t,model,in,out\n1,a,1,1\nsoon,a,1,1\n"), out);
    REQUIRE_THAT(failed_import(o), Contains(file + ":3:1: t: expected a number of s, got \"soon\""));
    t.write("in.csv", "t,model,in,out\n1,\"a,1,1\n");
    REQUIRE_THAT(failed_import(o), Contains(file + ":2:1: unterminated quoted field"));
  }
  SECTION("servegen: a bad rate") {
    t.write("sg/chunk-0-trace.csv", "0,1,1,Gamma,1,1\n600,fast,1,Gamma,1,1\n");
    ImportOptions o = options("servegen", t.path("sg"), out);
    o.default_tokens = std::make_pair(1u, 1u);
    REQUIRE_THAT(failed_import(o), Contains(t.path("sg/chunk-0-trace.csv") +
                                            ":2:5: rate: expected a number >= 0, got \"fast\""));
  }
  SECTION("servegen: a rate or cv too large to generate from is refused, not generated forever") {
    // Found by fuzz_import_servegen: cv 4.4e62 (and a rate of 1e12/s) never left the window.
    ImportOptions o = options("servegen", t.path("sg"), out);
    o.default_tokens = std::make_pair(1u, 1u);
    t.write("sg/chunk-0-trace.csv", "0,0.2,444444444444444444444444444444444444444444444444444444444444442,Gamma,1,1\n600,0,0,,0,0\n");
    REQUIRE_THAT(failed_import(o), Contains(":1:7: cv: expected a cv <= 1000, got \"4444"));
    t.write("sg/chunk-0-trace.csv", "0,1e12,0,Gamma,1,1\n600,0,0,,0,0\n");
    REQUIRE_THAT(failed_import(o), Contains(":1:3: rate: expected a rate <= 1e6 requests/s, got \"1e12\""));
    t.write("sg/chunk-0-trace.csv", "0,1,0,Gamma,1,1\n1.3e111,0,0,,0,0\n");
    REQUIRE_THAT(failed_import(o), Contains(":2:1: window_start: expected seconds from 0 to 3.15e9 (100 years), got \"1.3e111\""));
  }
  SECTION("servegen: an empty client file") {
    t.write("sg/chunk-0-trace.csv", "");
    ImportOptions o = options("servegen", t.path("sg"), out);
    o.default_tokens = std::make_pair(1u, 1u);
    REQUIRE_THAT(failed_import(o), Contains(t.path("sg/chunk-0-trace.csv") + ":1: the file is empty"));
  }
  SECTION("bad options") {
    ImportOptions o = azure(header + row1);
    o.format = "azure";
    REQUIRE_THAT(failed_import(o), Contains("unknown format \"azure\""));
    o = azure(header + row1);
    o.time_scale = 0;
    REQUIRE_THAT(failed_import(o), Contains("--time-scale: must be a number > 0"));
    o = azure(header + row1);
    o.window_start = 10;
    o.window_end = 5;
    REQUIRE_THAT(failed_import(o), Contains("--window: the end must come after the start"));
  }
}

TEST_CASE("importers: lenient mode skips bad rows and counts them by reason", "[importers]") {
  TempDir t;
  ImportOptions o = options("azure-llm-2023",
                            t.write("in.csv",
                                    "TIMESTAMP,ContextTokens,GeneratedTokens\n"
                                    "2023-11-16 18:17:03,100,10\n"    // ok
                                    "2023-11-16 18:17:04,abc,10\n"    // bad-number
                                    "2023-11-16 18:17:05,100,-1\n"    // negative-tokens
                                    "2023-11-16 18:17:06,0,1\n"       // zero-tokens
                                    "2023-11-16 18:17:07,100\n"       // wrong-field-count
                                    "2023-11-16 18:17:08,100,20\n"    // ok
                                    "2023-11-16 18:17:02,100,10\n"    // out-of-order
                                    "yesterday,100,10\n"              // bad-time
                                    "2023-11-16 18:17:09,100,30\n"),  // ok
                            t.path("out.csv"));
  o.lenient = true;
  ImportReport r = ok_import(o);
  REQUIRE(r.rows_read == 9);
  REQUIRE(r.rows_written == 3);
  REQUIRE(r.rows_skipped == 6);
  REQUIRE(r.skipped_by_reason == std::map<std::string, std::uint64_t>{{"bad-number", 1},
                                                                      {"bad-time", 1},
                                                                      {"negative-tokens", 1},
                                                                      {"out-of-order", 1},
                                                                      {"wrong-field-count", 1},
                                                                      {"zero-tokens", 1}});
  REQUIRE(r.skipped_examples.size() == 5);
  REQUIRE(r.skipped_examples[0].line == 3);
  REQUIRE(r.skipped_examples[0].path == "ContextTokens");
  REQUIRE(lines_of(o.output) == std::vector<std::string>{"timestamp,model,input_tokens,output_tokens",
                                                         "0,azure-llm,100,10", "5,azure-llm,100,20",
                                                         "6,azure-llm,100,30"});

  SECTION("JSON lines too") {
    ImportOptions m = options("mooncake",
                              t.write("in.jsonl",
                                      "{\"timestamp\": 0, \"input_length\": 5, \"output_length\": 1}\n"
                                      "not json\n"
                                      "[1, 2]\n"
                                      "{\"timestamp\": 1, \"input_length\": 5}\n"
                                      "{\"timestamp\": 2, \"input_length\": 5, \"output_length\": 2}\n"),
                              t.path("out2.csv"));
    m.lenient = true;
    ImportReport rm = ok_import(m);
    REQUIRE(rm.rows_written == 2);
    REQUIRE(rm.skipped_by_reason ==
            std::map<std::string, std::uint64_t>{{"bad-json", 2}, {"missing-field", 1}});
  }
  SECTION("a missing header column still stops a lenient import") {
    t.write("in.csv", "TIMESTAMP,ContextToken,GeneratedTokens\n2023-11-16 18:17:03,100,10\n");
    ImportReport bad = import_trace(o);
    REQUIRE_THAT(bad.errors.to_string(),
                 Contains("missing column \"ContextTokens\"") && Contains("did you mean \"ContextToken\"?"));
  }
}

TEST_CASE("importers: window and time scale", "[importers]") {
  TempDir t;
  ImportOptions o = synthetic_options(t.write("in.csv", synthetic_csv(3000, 0.01)), t.path("out.csv"));
  SECTION("time scale 0.5 replays twice as fast") {
    o.time_scale = 0.5;
    ImportReport r = ok_import(o);
    REQUIRE(r.rows_written == 3000);
    auto lines = lines_of(o.output);
    REQUIRE(lines[2] == "0.005,m1,2,2");
    REQUIRE(lines.back() == "14.995,m2,3000,2");
  }
  SECTION("window [10, 20) s, re-based, before scaling") {
    o.window_start = 10;
    o.window_end = 20;
    o.time_scale = 2;
    ImportReport r = ok_import(o);
    REQUIRE(r.rows_written == 1000);
    REQUIRE(r.rows_outside_window == 1001);  // 1000 before, and the one that ends the reading
    REQUIRE(r.rows_read == 2001);            // reading stops at the first row past the end
    auto lines = lines_of(o.output);
    REQUIRE(lines[1] == "0,m1,1001,2");
    REQUIRE(lines.back() == "19.98,m1,2000,2");
  }
}

TEST_CASE("importers: rate scale is a seeded subsample or a jittered replication", "[importers]") {
  TempDir t;
  ImportOptions o = synthetic_options(t.write("in.csv", synthetic_csv(10000, 0.01)), t.path("out.csv"));
  o.seed = 7;
  SECTION("0.5 keeps about half, the same half for the same seed") {
    o.rate_scale = 0.5;
    ImportReport r = ok_import(o);
    REQUIRE(r.rows_written + r.rows_sampled_out == 10000);
    REQUIRE(r.rows_written > 4700);
    REQUIRE(r.rows_written < 5300);
    const std::string a = read_file(o.output);
    ok_import(o);
    REQUIRE(read_file(o.output) == a);
    o.seed = 8;
    ok_import(o);
    REQUIRE(read_file(o.output) != a);
    // Kept rows are unchanged input rows.
    for (const auto& line : lines_of(o.output)) {
      if (line[0] == 't') continue;
      const int i = std::stoi(line.substr(line.find(',', line.find(',') + 1) + 1)) - 1;
      REQUIRE(time_of(line) == Approx(i * 0.01));
    }
  }
  SECTION("2 writes every request twice, the copy between it and the next one") {
    o.rate_scale = 2;
    ImportReport r = ok_import(o);
    REQUIRE(r.rows_written == 20000);
    auto lines = lines_of(o.output);
    REQUIRE(sorted_by_time(lines));
    REQUIRE(lines[1] == "0,m0,1,2");
    REQUIRE(lines[2].rfind("0.00", 0) == 0);  // the copy, in [0, 0.01)
    REQUIRE(lines[2].substr(lines[2].find(',')) == ",m0,1,2");
    REQUIRE(lines[3] == "0.01,m1,2,2");
    REQUIRE(lines.back() == "99.99,m0,10000,2");  // the last one's copy stays at its time
    const std::string a = read_file(o.output);
    ok_import(o);
    REQUIRE(read_file(o.output) == a);
  }
  SECTION("2.5 writes 2 or 3 copies") {
    o.rate_scale = 2.5;
    ImportReport r = ok_import(o);
    REQUIRE(r.rows_written > 24500);
    REQUIRE(r.rows_written < 25500);
    REQUIRE(sorted_by_time(lines_of(o.output)));
  }
}

TEST_CASE("importers: model assignment by hash and Zipf", "[importers]") {
  TempDir t;
  SECTION("zipf over unkeyed rows: deterministic and skewed 1/k^s") {
    std::ostringstream csv;
    csv << "TIMESTAMP,ContextTokens,GeneratedTokens\n";
    for (int i = 0; i < 20000; ++i)
      csv << "2023-11-16 18:00:00." << std::setw(7) << std::setfill('0') << i * 10 << ",5,5\n";
    ImportOptions o = options("azure-llm-2023", t.write("in.csv", csv.str()), t.path("out.csv"));
    o.assign = ModelAssign::Zipf;
    o.models = 4;
    o.zipf_s = 1.2;
    ok_import(o);
    std::map<std::string, int> count;
    for (const auto& line : lines_of(o.output))
      if (line[0] != 't') ++count[model_of(line)];
    REQUIRE(count.size() == 4);
    REQUIRE(count["model-0"] > count["model-1"]);
    REQUIRE(count["model-1"] > count["model-2"]);
    REQUIRE(count["model-2"] > count["model-3"]);
    const double ratio = static_cast<double>(count["model-0"]) / count["model-1"];
    REQUIRE(ratio == Approx(std::pow(2.0, 1.2)).epsilon(0.12));  // 2.30
    const std::string a = read_file(o.output);
    ok_import(o);
    REQUIRE(read_file(o.output) == a);
    o.seed = 99;
    ok_import(o);
    REQUIRE(read_file(o.output) != a);
  }
  SECTION("keyed rows keep one model per key (hash and zipf)") {
    ImportOptions o = synthetic_options(t.write("in.csv", synthetic_csv(300, 1)), t.path("out.csv"));
    for (ModelAssign assign : {ModelAssign::Hash, ModelAssign::Zipf}) {
      o.assign = assign;
      o.models = 5;
      ok_import(o);
      auto lines = lines_of(o.output);
      // The input's model of row i is m<i % 3>.
      std::map<int, std::string> by_key;
      for (std::size_t i = 1; i < lines.size(); ++i) {
        const std::string m = model_of(lines[i]);
        REQUIRE(m.rfind("model-", 0) == 0);
        auto [it, inserted] = by_key.emplace(static_cast<int>((i - 1) % 3), m);
        REQUIRE(it->second == m);
      }
    }
  }
  SECTION("hash over unkeyed rows spreads them") {
    ImportOptions o = options("azure-llm-2023", t.write("in.csv", kAzureSmall), t.path("out.csv"));
    o.assign = ModelAssign::Hash;
    o.models = 1;
    ok_import(o);
    REQUIRE(model_of(lines_of(o.output)[1]) == "model-0");
  }
}

TEST_CASE("importers: the output is readable by RequestCsvReader", "[importers]") {
  TempDir t;
  ImportOptions o = options("azure-llm-2023", t.write("in.csv", kAzureSmall), t.path("out.csv"));
  ok_import(o);
  RequestCsvReader reader(o.output, {{"azure-llm", ModelRef{3}}});
  Diagnostics errors;
  std::vector<Arrival> got;
  for (Arrival a; reader.next(a, errors);) got.push_back(a);
  INFO(errors.to_string());
  REQUIRE(errors.empty());
  REQUIRE(got.size() == 4);
  REQUIRE(got[1].time == 52'000'000);
  REQUIRE(got[3].time == 56'020'040'000);
  REQUIRE(got[3].model == 3);
  REQUIRE(got[3].input_tokens == 7433);
  REQUIRE(got[3].output_tokens == 14);

  ImportOptions g = synthetic_options(t.write("syn.csv", synthetic_csv(50, 0.5)), t.path("syn-out.csv"));
  g.rate_scale = 3;
  g.time_scale = 0.1;
  ok_import(g);
  Diagnostics errors2;
  REQUIRE(check_request_csv(g.output, {{"m0", ModelRef{0}}, {"m1", ModelRef{1}}, {"m2", ModelRef{2}}}, errors2) == 150);
  REQUIRE(errors2.empty());
}

TEST_CASE("importers: the shared Azure code trace", "[importers]") {
  const std::string in = shared_traces() + "azure-llm-2023/AzureLLMInferenceTrace_code.csv";
  if (!fs::exists(in)) {
    WARN("skipped: " << in << " is absent");
    return;
  }
  TempDir t;
  ImportOptions o = options("azure-llm-2023", in, t.path("out.csv"));
  ImportReport r = ok_import(o);
  REQUIRE(r.rows_read == 8819);
  REQUIRE(r.rows_written == 8819);
  REQUIRE(r.last_time_s == Approx(3435.948056));
  auto lines = lines_of(o.output);
  REQUIRE(lines.size() == 8820);
  REQUIRE(lines[1] == "0,azure-llm,4808,10");
  REQUIRE(lines[2] == "0.052,azure-llm,3180,8");
  REQUIRE(lines.back() == "3435.948056,azure-llm,549,173");
  Diagnostics errors;
  REQUIRE(check_request_csv(o.output, {{"azure-llm", ModelRef{0}}}, errors) == 8819);
  REQUIRE(errors.empty());
}

TEST_CASE("importers: the shared Mooncake conversation trace", "[importers]") {
  const std::string in = shared_traces() + "mooncake-fast25/conversation_trace.jsonl";
  if (!fs::exists(in)) {
    WARN("skipped: " << in << " is absent");
    return;
  }
  TempDir t;
  ImportOptions o = options("mooncake", in, t.path("out.csv"));
  ImportReport r = ok_import(o);
  REQUIRE(r.rows_read == 12031);
  REQUIRE(r.rows_written == 12031);
  auto lines = lines_of(o.output);
  REQUIRE(lines[1] == "0,mooncake,6758,500");
  REQUIRE(lines.back() == "3536.999,mooncake,20774,508");
  Diagnostics errors;
  REQUIRE(check_request_csv(o.output, {{"mooncake", ModelRef{0}}}, errors) == 12031);

  o.keep_prefix_hashes = true;
  ok_import(o);
  lines = lines_of(o.output);
  REQUIRE(lines[1] == "0,mooncake,6758,500,0 1 2 3 4 5 6 7 8 9 10 11 12 13");
  REQUIRE(lines.back().rfind("3536.999,mooncake,20774,508,0 182750 182751 ", 0) == 0);
  REQUIRE(lines.back().substr(lines.back().size() - 14) == " 182788 182789");
}

TEST_CASE("importers: the shared ServeGen DeepSeek-R1 statistics", "[importers]") {
  const std::string in = shared_traces() + "servegen/deepseek-r1";
  if (!fs::exists(in)) {
    WARN("skipped: " << in << " is absent");
    return;
  }
  TempDir t;
  ImportOptions o = options("servegen", in, t.path("out.csv"));
  o.window_start = 0;
  o.window_end = 3600;
  ImportReport r = ok_import(o);
  // The first hour's windows ask for sum(rate * 600) = 69,511 requests; seeds 1-5 give 69,163 ..
  // 70,437 (a renewal process restarted per window; the bursty clients, cv up to ~7, vary most).
  REQUIRE(r.rows_written > 66000);
  REQUIRE(r.rows_written < 73000);
  REQUIRE(r.last_time_s < 3600);
  auto lines = lines_of(o.output);
  REQUIRE(sorted_by_time(lines));
  REQUIRE(model_of(lines[1]) == "deepseek-r1");
  const std::string a = read_file(o.output);
  ok_import(o);
  REQUIRE(read_file(o.output) == a);
  Diagnostics errors;
  REQUIRE(check_request_csv(o.output, {{"deepseek-r1", ModelRef{0}}}, errors) == r.rows_written);

  const std::string small = shared_traces() + "servegen/m-small-trace-only";
  if (fs::exists(small)) {
    ImportOptions s = options("servegen", small, t.path("small.csv"));
    s.window_end = 10;
    REQUIRE_THAT(import_trace(s).errors.to_string(), Contains("--default-tokens"));
    s.default_tokens = std::make_pair(512u, 128u);
    ImportReport rs = ok_import(s);
    REQUIRE(rs.rows_written > 1000);  // about 1,000 requests/s at the start of the 14 days
  }
}

#ifdef FLEETSIM_BINARY
namespace {
struct CliRun {
  int code = -1;
  std::string out, err;
};
CliRun run_cli(const TempDir& t, const std::string& args) {
  const std::string out = t.path("stdout.txt"), err = t.path("stderr.txt");
  const std::string command =
      std::string("'") + FLEETSIM_BINARY + "' " + args + " > '" + out + "' 2> '" + err + "'";
  const int status = std::system(command.c_str());
  CliRun r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = read_file(out);
  r.err = read_file(err);
  return r;
}
}  // namespace

TEST_CASE("importers: fleetsim trace import", "[importers][cli]") {
  TempDir t;
  const std::string in = t.write("in.csv", kAzureSmall);
  const std::string out = t.path("out.csv");
  SECTION("ok: a one-line report") {
    CliRun r = run_cli(
        t, "trace import azure-llm-2023 '" + in + "' --out '" + out + "' --assign fixed:m --time-scale 2");
    INFO(r.err);
    REQUIRE(r.code == 0);
    REQUIRE_THAT(r.out, Contains("4 rows read, 4 written (0 .. 112.04008 s), 0 skipped"));
    REQUIRE(lines_of(out)[4] == "112.04008,m,7433,14");
  }
  SECTION("window, zipf and seed options") {
    CliRun r = run_cli(t, "trace import azure-llm-2023 '" + in + "' --out '" + out +
                              "' --window 0.01:1min --assign zipf:3:1.5 --seed 4 --rate-scale 1");
    INFO(r.err);
    REQUIRE(r.code == 0);
    REQUIRE_THAT(r.out, Contains("3 written") && Contains("1 outside the window"));
  }
  SECTION("bad input: exit 2, the diagnostic, nothing written") {
    t.write("in.csv", "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:17:03,x,1\n");
    CliRun r = run_cli(t, "trace import azure-llm-2023 '" + in + "' --out '" + out + "'");
    REQUIRE(r.code == 2);
    REQUIRE_THAT(r.err, Contains(in + ":2:21: ContextTokens: expected an integer >= 1, got \"x\""));
    REQUIRE_FALSE(fs::exists(out));
  }
  SECTION("lenient: reasons in the report") {
    t.write("in.csv",
            "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:17:03,x,1\n2023-11-16 18:17:04,1,1\n");
    CliRun r = run_cli(t, "trace import azure-llm-2023 '" + in + "' --out '" + out + "' --lenient");
    REQUIRE(r.code == 0);
    REQUIRE_THAT(r.out, Contains("1 skipped (bad-number 1)"));
  }
  SECTION("bad options: exit 2") {
    REQUIRE(run_cli(t, "trace import azure-llm-2023 '" + in + "' --out '" + out + "' --assign zipf:x").code ==
            2);
    REQUIRE(run_cli(t, "trace import azure-llm-2023 '" + in + "' --out '" + out + "' --window 5").code == 2);
    REQUIRE(run_cli(t, "trace import nope '" + in + "' --out '" + out + "'").code == 2);
  }
  SECTION("the output is the input (same path, a symlink, a hard link): refused, input kept") {
    // Bug (issue 10): `trace import X --out X` replaced its own input and exited 0.
    const std::string before = read_file(in);
    fs::create_symlink(in, t.path("link.csv"));
    fs::create_hard_link(in, t.path("hard.csv"));
    for (const std::string& target : {in, t.path("link.csv"), t.path("hard.csv"), t.path("./in.csv")}) {
      CliRun r = run_cli(t, "trace import azure-llm-2023 '" + in + "' --out '" + target + "' --assign fixed:m");
      INFO(target << "\n" << r.err);
      REQUIRE(r.code == 2);
      REQUIRE_THAT(r.err, Contains("--out: \"" + target + "\" is the input file"));
      REQUIRE(read_file(in) == before);
    }
  }
}
#endif
