// Diagnostics: errors as values. Loaders collect every problem with its location and return
// them; only the CLI turns them into an exit code (library code never exits).
#pragma once
#include <string>
#include <vector>

namespace fleetsim {

struct Diagnostic {
  std::string file;     // empty when the input has no file (e.g. a --set override)
  int line = 0;         // 1-based; 0 when unknown
  int column = 0;       // 1-based; 0 when unknown
  std::string path;     // the key path, e.g. cluster.pools[1].gpus_per_node
  std::string message;  // what is wrong and what was expected

  std::string to_string() const;  // file:line:col: path: message
};

class Diagnostics {
 public:
  void add(Diagnostic d) { items_.push_back(std::move(d)); }
  bool empty() const { return items_.empty(); }
  std::size_t size() const { return items_.size(); }
  const std::vector<Diagnostic>& items() const { return items_; }
  std::string to_string() const;  // one diagnostic per line

 private:
  std::vector<Diagnostic> items_;
};

// Closest candidate by edit distance, or "" when nothing is close enough to suggest.
std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates);

}  // namespace fleetsim
