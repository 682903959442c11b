#include "reports/csv_reader.hpp"

#include <charconv>
#include <cmath>
#include <sstream>

namespace fleetsim {

std::vector<std::string> split_csv_line(const std::string& line) {
  std::vector<std::string> fields;
  std::string field;
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      fields.push_back(std::move(field));
      field.clear();
    } else {
      field += c;
    }
  }
  fields.push_back(std::move(field));
  return fields;
}

bool parse_number(const std::string& s, double& out) {
  if (s.empty()) return false;
  const char* begin = s.data();
  if (*begin == '+') ++begin;
  auto r = std::from_chars(begin, s.data() + s.size(), out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size() && std::isfinite(out);
}

void read_csv(std::istream& in, const std::string& file, const std::vector<std::string>& required,
              std::vector<std::size_t>& index, Diagnostics& errors, const CsvRow& row,
              std::vector<std::string>* header_names) {
  std::string line;
  int line_no = 0;
  bool header = true;
  std::size_t columns = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (header) {
      if (line.size() >= 3 && line.compare(0, 3, "\xEF\xBB\xBF") == 0) line.erase(0, 3);
      const std::vector<std::string> names = split_csv_line(line);
      if (header_names) *header_names = names;
      columns = names.size();
      index.assign(required.size(), 0);
      std::string missing;
      for (std::size_t i = 0; i < required.size(); ++i) {
        std::size_t k = 0;
        while (k < names.size() && names[k] != required[i]) ++k;
        if (k == names.size()) missing += (missing.empty() ? "" : ", ") + required[i];
        index[i] = k;
      }
      if (!missing.empty()) {
        std::string expected;
        for (const auto& r : required) expected += (expected.empty() ? "" : ",") + r;
        errors.add({file, line_no, 0, "", "header lacks column(s) " + missing + " (expected " + expected + ")"});
        return;
      }
      header = false;
      continue;
    }
    if (line.empty()) continue;
    const std::vector<std::string> fields = split_csv_line(line);
    if (fields.size() != columns) {
      errors.add({file, line_no, 0, "",
                  "expected " + std::to_string(columns) + " fields, got " + std::to_string(fields.size())});
      continue;
    }
    row(line_no, fields);
  }
  if (header) errors.add({file, line_no > 0 ? line_no : 1, 0, "", "empty file: expected a header line"});
}

void read_csv(const std::string& text, const std::string& file, const std::vector<std::string>& required,
              std::vector<std::size_t>& index, Diagnostics& errors, const CsvRow& row) {
  std::istringstream in(text);
  read_csv(in, file, required, index, errors, row);
}

}  // namespace fleetsim
