#include "reports/request_log.hpp"

#include <algorithm>
#include <cstdio>

#include "reports/csv_reader.hpp"
#include "sim/csv_field.hpp"

namespace fleetsim {

std::string RequestLog::csv() const {
  std::vector<const RequestResult*> order;
  order.reserve(rows_.size());
  for (const RequestResult& r : rows_) order.push_back(&r);
  std::sort(order.begin(), order.end(), [](const auto* a, const auto* b) { return a->serial < b->serial; });
  std::string out = "serial,model,outcome,input_tokens,output_tokens,arrival_s,first_token_s,end_s,replica\n";
  char line[160];
  for (const RequestResult* r : order) {
    out += std::to_string(r->serial) + "," + csv_field(scenario_.models[r->model].name) + "," +
           outcome_name(r->outcome) + "," + std::to_string(r->input_tokens) + "," + std::to_string(r->output_tokens);
    std::snprintf(line, sizeof line, ",%.9f,", to_seconds(r->arrival));
    out += line;
    const bool has_first = r->outcome == RequestOutcome::Completed || r->first_token > 0;
    if (has_first) {
      std::snprintf(line, sizeof line, "%.9f", to_seconds(r->first_token));
      out += line;
    }
    std::snprintf(line, sizeof line, ",%.9f,", to_seconds(r->end));
    out += line;
    if (r->replica != kNoReplica) out += std::to_string(r->replica);
    out += "\n";
  }
  return out;
}

std::vector<RequestRow> parse_requests_csv(const std::string& text, const std::string& file, Diagnostics& errors) {
  std::vector<RequestRow> out;
  std::vector<std::size_t> at;
  const std::vector<std::string> columns{"serial", "model", "outcome", "input_tokens", "output_tokens",
                                         "arrival_s", "first_token_s", "end_s"};
  read_csv(text, file, columns, at, errors, [&](int line, const std::vector<std::string>& f) {
    RequestRow r;
    double serial = 0;
    bool ok = parse_number(f[at[0]], serial) && serial >= 0 && parse_number(f[at[3]], r.input_tokens) &&
              parse_number(f[at[4]], r.output_tokens) && parse_number(f[at[5]], r.arrival_s) &&
              parse_number(f[at[7]], r.end_s);
    if (ok && !f[at[6]].empty()) ok = parse_number(f[at[6]], r.first_token_s);
    if (!ok) {
      errors.add({file, line, 0, "", "a number is missing or malformed"});
      return;
    }
    r.serial = static_cast<std::uint64_t>(serial);
    r.model = f[at[1]];
    r.outcome = f[at[2]];
    out.push_back(std::move(r));
  });
  return out;
}

}  // namespace fleetsim
