// The malformed-input corpus (tests/malformed/): one table, cases.tsv, names each hostile input
// with the command line that feeds it to the fleetsim binary, the exit code it must give and a
// pattern its output (stdout and stderr together) must contain. A crash, an abort, a hang (the
// run is killed after 60 s) or a blow-up in memory shows as a wrong exit code.
#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support.hpp"

namespace {

struct Case {
  int line = 0;
  std::string name;
  int exit_code = 0;
  std::string pattern;
  std::string args;
};

std::vector<std::string> split_tabs(const std::string& line) {
  std::vector<std::string> fields;
  std::string field;
  std::istringstream in(line);
  while (std::getline(in, field, '\t')) fields.push_back(field);
  return fields;
}

std::vector<Case> read_cases(const std::string& path) {
  std::ifstream in(path);
  REQUIRE(in);
  std::vector<Case> cases;
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.empty() || line[0] == '#') continue;
    const std::vector<std::string> f = split_tabs(line);
    INFO(path << ":" << number << ": " << line);
    REQUIRE(f.size() == 4);  // name, exit code, pattern, arguments
    cases.push_back(Case{number, f[0], std::stoi(f[1]), f[2], f[3]});
  }
  return cases;
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (std::size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
    s.replace(at, from.size(), to);
  return s;
}

}  // namespace

TEST_CASE("malformed inputs: every case of tests/malformed/cases.tsv exits as listed with its message", "[malformed][cli]") {
  using fleetsim::test::shell_quote;
  const std::string root = FLEETSIM_SOURCE_DIR;
  const std::vector<Case> cases = read_cases(root + "/tests/malformed/cases.tsv");
  REQUIRE(cases.size() >= 60);
  fleetsim::test::TempDir scratch{"malformed"};
  // The import cache goes to the scratch folder, not the user's.
  const std::string env = "XDG_CACHE_HOME=" + shell_quote(scratch.path("cache")) + " ";
  for (const Case& c : cases) {
    const std::string out = scratch.path(c.name);
    const std::string log = scratch.path(c.name + ".log");
    const std::string command = "cd " + shell_quote(root) + " && " + env + "timeout -k 5 60 " +
                                shell_quote(FLEETSIM_BINARY) + " " + replace_all(c.args, "{out}", out) +
                                " > " + shell_quote(log) + " 2>&1 < /dev/null";
    const int status = std::system(command.c_str());
    REQUIRE(status != -1);
    const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    const std::string output = fleetsim::test::read_file(log);
    INFO("case " << c.name << " (cases.tsv:" << c.line << "): fleetsim " << c.args);
    INFO("output: " << output.substr(0, 2000));
    CHECK(code == c.exit_code);
    CHECK(std::regex_search(output, std::regex(c.pattern)));
  }
}
