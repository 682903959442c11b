#include "traces/delimited.hpp"

#include "traces/text.hpp"

namespace fleetsim {

namespace {
// trim(), and carriage returns among the trailing blanks too: a caller that keeps a CRLF line's
// '\r' still gets clean fields.
std::string_view trim_field(std::string_view s) {
  s = trim(s);
  while (!s.empty() && s.back() == '\r') s = trim(s.substr(0, s.size() - 1));
  return s;
}
}  // namespace

int split_line(std::string_view line, char delim, bool quotes, std::vector<std::string>& fields,
               std::vector<int>& starts) {
  int n = 0;
  std::size_t i = 0;
  const bool trim_fields = delim != ' ' && delim != '\t';
  auto slot = [&]() -> std::string& {
    if (static_cast<int>(fields.size()) <= n) {
      fields.emplace_back();
      starts.push_back(0);
    }
    starts[static_cast<std::size_t>(n)] = static_cast<int>(i) + 1;
    std::string& f = fields[static_cast<std::size_t>(n)];
    f.clear();
    return f;
  };
  for (;;) {
    std::string& f = slot();
    std::size_t j = i;
    if (trim_fields)
      while (j < line.size() && (line[j] == ' ' || line[j] == '\t')) ++j;
    if (quotes && j < line.size() && line[j] == '"') {
      ++j;
      bool closed = false;
      while (j < line.size()) {
        if (line[j] == '"') {
          if (j + 1 < line.size() && line[j + 1] == '"') {
            f += '"';
            j += 2;
            continue;
          }
          closed = true;
          ++j;
          break;
        }
        f += line[j++];
      }
      if (!closed) return -1;
      while (j < line.size() && line[j] != delim) f += line[j++];
      if (trim_fields) f.assign(trim_field(f));
    } else {
      std::size_t k = line.find(delim, i);
      if (k == std::string_view::npos) k = line.size();
      std::string_view raw = line.substr(i, k - i);
      f.assign(trim_fields ? trim_field(raw) : raw);
      j = k;
    }
    ++n;
    if (j >= line.size()) return n;
    i = j + 1;
    if (i == line.size()) {  // a trailing delimiter: one more, empty field
      slot();
      return n + 1;
    }
  }
}

}  // namespace fleetsim
