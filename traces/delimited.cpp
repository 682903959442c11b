#include "traces/delimited.hpp"

#include <algorithm>

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

bool LineReader::open(const std::string& path) {
  in_.open(path, std::ios::binary);
  return static_cast<bool>(in_);
}

bool LineReader::next(std::string& line) {
  if (!std::getline(in_, line)) return false;
  ++line_;
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line_ == 1 && line.rfind("\xEF\xBB\xBF", 0) == 0) line.erase(0, 3);
  return true;
}

int DelimitedHeader::find(const std::string& file, const std::string& name, bool required, Diagnostics& errors) const {
  if (name.empty()) return -1;
  auto it = std::find(names.begin(), names.end(), name);
  if (it != names.end()) return static_cast<int>(it - names.begin());
  if (required) {
    std::string have;
    for (const auto& n : names) have += (have.empty() ? "" : ", ") + n;
    std::string message = "missing column \"" + name + "\" (the header has: " + have + ")";
    const std::string close = did_you_mean(name, names);
    if (!close.empty()) message += "; did you mean \"" + close + "\"?";
    errors.add(Diagnostic{file, 1, 1, name, message});
  }
  return -1;
}

bool read_header(LineReader& reader, const std::string& file, char delim, DelimitedHeader& header,
                 Diagnostics& errors) {
  std::string line;
  if (!reader.next(line)) {
    errors.add(Diagnostic{file, 1, 0, "header", "the file is empty (expected a header naming the columns)"});
    return false;
  }
  if (is_blank(line)) {
    errors.add(Diagnostic{file, 1, 0, "header", "the first line is empty (expected a header naming the columns)"});
    return false;
  }
  std::vector<std::string> fields;
  std::vector<int> starts;
  const int n = split_line(line, delim, true, fields, starts);
  if (n < 0) {
    errors.add(Diagnostic{file, 1, 0, "header", "unterminated quote in the header"});
    return false;
  }
  header.names.assign(fields.begin(), fields.begin() + n);
  header.text = line;
  return true;
}

}  // namespace fleetsim
