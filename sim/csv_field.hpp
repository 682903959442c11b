// The one way fleetsim writes a CSV field: as it is when it needs no quoting, else RFC 4180
// quoted (in double quotes, a '"' doubled). Every CSV writer uses it for text that comes from
// the user (model, job, tenant and policy names), so that a name such as "a,b" stays one field
// and the project's own readers (reports/run_data.cpp) read back what was written.
#pragma once
#include <string>
#include <string_view>

namespace fleetsim {

inline std::string csv_field(std::string_view s) {
  if (s.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(s);
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

}  // namespace fleetsim
