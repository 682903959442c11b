// generic-csv: any delimited request log with a header, the columns named by the user; and the
// delimited-text reader that azure-llm-2023 uses too (its columns fixed).
#include <cmath>

#include "traces/delimited.hpp"
#include "traces/importers/common.hpp"
#include "traces/text.hpp"

namespace fleetsim::importers {

namespace {

class GenericCsv final : public RequestFormat {
 public:
  ModelAssign default_assign(const ImportOptions&, std::string&) const override {
    return ModelAssign::FromColumn;
  }
  void check_key(const ImportOptions& o, Diagnostics& errors) const override {
    if (o.model_column.empty())
      option_error(errors, "--model-column",
                   "generic-csv needs --model-column, or --assign fixed:NAME, hash:N or zipf:N:S");
  }
  void check_options(const ImportOptions& o, ModelAssign assign, Diagnostics& errors) override {
    if (o.time_column.empty()) option_error(errors, "--time-column", "generic-csv needs --time-column");
    if (o.input_column.empty()) option_error(errors, "--input-column", "generic-csv needs --input-column");
    if (o.output_column.empty()) option_error(errors, "--output-column", "generic-csv needs --output-column");
    spec_.time_col = o.time_column;
    spec_.input_col = o.input_column;
    spec_.output_col = o.output_column;
    spec_.model_col = o.model_column;
    spec_.check_model = assign == ModelAssign::FromColumn;
    if (o.time_format == "iso8601") {
      spec_.iso = true;
    } else if (!o.time_format.empty()) {
      option_error(errors, "--time-format", "the only time format is iso8601 (numeric times take --time-unit)");
    } else {
      static const std::pair<const char*, double> kUnits[] = {{"s", 1e9}, {"ms", 1e6}, {"us", 1e3}, {"ns", 1}};
      bool found = false;
      for (const auto& [name, ns] : kUnits)
        if (o.time_unit == name) {
          spec_.unit_ns = ns;
          spec_.unit_name = name;
          found = true;
        }
      if (!found) option_error(errors, "--time-unit", "expected s, ms, us or ns (got \"" + o.time_unit + "\")");
    }
    if (!parse_delimiter(o.delimiter, spec_.delim))
      option_error(errors, "--delimiter", "expected one character (or \"tab\"), got \"" + o.delimiter + "\"");
  }
  bool read(Context& ctx, Pipeline& pipe) override { return read_delimited(ctx, pipe, spec_); }

 private:
  CsvSpec spec_;
};

}  // namespace

std::unique_ptr<RequestFormat> make_generic_csv() { return std::make_unique<GenericCsv>(); }

bool read_delimited(Context& ctx, Pipeline& pipe, const CsvSpec& spec) {
  const std::string& file = ctx.opt.input;
  Diagnostics& errors = ctx.report.errors;
  LineReader reader;
  if (!reader.open(file)) {
    ctx.fatal(file, 0, "", "cannot open the input file");
    return false;
  }
  DelimitedHeader header;
  if (!read_header(reader, file, spec.delim, header, errors)) return false;
  const std::vector<std::string>& names = header.names;
  const int header_count = static_cast<int>(names.size());
  const std::size_t before = errors.size();
  const int time_i = header.find(file, spec.time_col, true, errors);
  const int in_i = header.find(file, spec.input_col, true, errors);
  const int out_i = header.find(file, spec.output_col, true, errors);
  const int model_i = header.find(file, spec.model_col, true, errors);  // -1: none
  if (errors.size() != before || time_i < 0 || in_i < 0 || out_i < 0) return false;

  std::string line;
  std::vector<std::string> fields;
  std::vector<int> starts;
  while (reader.next(line)) {
    const int line_no = reader.line();
    if (is_blank(line)) continue;
    ++ctx.report.rows_read;
    const int n = split_line(line, spec.delim, true, fields, starts);
    auto at = [&](int i) {
      return Diagnostic{file, line_no, starts[static_cast<std::size_t>(i)],
                        names[static_cast<std::size_t>(i)], ""};
    };
    if (n < 0) {
      if (!ctx.reject(Diagnostic{file, line_no, 1, "", "unterminated quoted field"}, "bad-quote"))
        return false;
      continue;
    }
    if (n != header_count) {
      Diagnostic d{file, line_no, 1, "",
                   "expected " + std::to_string(header_count) + " fields (" + header.text + "), got " +
                       std::to_string(n)};
      if (!ctx.reject(std::move(d), "wrong-field-count")) return false;
      continue;
    }
    SourceRow row;
    const std::string& time_text = fields[static_cast<std::size_t>(time_i)];
    bool time_ok = false, out_of_range = false;
    if (spec.iso) {
      if (auto ns = parse_iso8601_ns(time_text, &out_of_range)) {
        row.time_ns = *ns;
        time_ok = true;
      }
    } else {
      double v = 0;
      if (parse_double(time_text, v)) {
        const double ns = v * spec.unit_ns;
        if (std::fabs(ns) < 9.0e18) {
          row.time_ns = std::llround(ns);
          time_ok = true;
        }
      }
    }
    if (!time_ok) {
      Diagnostic d = at(time_i);
      d.message = out_of_range ? "date " + quote(time_text) + " is out of range (" + kIso8601Range + ")"
                  : (spec.iso ? std::string("expected an ISO 8601 date and time (2023-11-16 18:15:46.68), got ")
                              : "expected a number of " + spec.unit_name + ", got ") +
                        quote(time_text);
      if (!ctx.reject(std::move(d), "bad-time")) return false;
      continue;
    }
    const int token_cols[2] = {in_i, out_i};
    std::uint32_t tokens[2] = {0, 0};
    bool bad = false;
    for (int k = 0; k < 2; ++k) {
      const std::string& text = fields[static_cast<std::size_t>(token_cols[k])];
      TokenCheck c = parse_tokens(text, tokens[k]);
      if (c != TokenCheck::Ok) {
        Diagnostic d = at(token_cols[k]);
        d.message = token_message(c, text);
        if (!ctx.reject(std::move(d), token_reason(c))) return false;
        bad = true;
        break;
      }
    }
    if (bad) continue;
    row.input = tokens[0];
    row.output = tokens[1];
    if (model_i >= 0) {
      const std::string& m = fields[static_cast<std::size_t>(model_i)];
      if (spec.check_model && !valid_model_name(m)) {
        Diagnostic d = at(model_i);
        d.message = "expected a model name without commas or quotes, got " + quote(m);
        if (!ctx.reject(std::move(d), "bad-model")) return false;
        continue;
      }
      row.key = m;
    }
    Step s = pipe.push(row, at(time_i), time_text);
    if (s == Step::Fail) return false;
    if (s == Step::Stop) break;
  }
  return true;
}

}  // namespace fleetsim::importers
