// mooncake: the Mooncake FAST'25 request traces (Kimi; kvcache-ai/Mooncake,
// FAST25-release/traces/*.jsonl): JSON lines {"timestamp": ms, "input_length", "output_length",
// "hash_ids": [prefix block ids]}.
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "traces/importers/common.hpp"
#include "traces/text.hpp"

namespace fleetsim::importers {

namespace {

bool read_mooncake(Context& ctx, Pipeline& pipe) {
  const std::string& file = ctx.opt.input;
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    ctx.fatal(file, 0, "", "cannot open the input file");
    return false;
  }
  std::string line, prefix;
  int line_no = 0;
  bool any = false;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line_no == 1 && line.rfind("\xEF\xBB\xBF", 0) == 0) line.erase(0, 3);
    if (is_blank(line)) continue;
    any = true;
    ++ctx.report.rows_read;
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::parse_error& e) {
      std::string what = e.what();
      // "[json.exception.parse_error.101] parse error at line 1, column 7: ..." -> after the id
      if (auto p = what.find("] "); p != std::string::npos) what = what.substr(p + 2);
      Diagnostic d{file, line_no, static_cast<int>(e.byte), "", "not valid JSON (" + what + ")"};
      if (!ctx.reject(std::move(d), "bad-json")) return false;
      continue;
    }
    if (!j.is_object()) {
      if (!ctx.reject(Diagnostic{file, line_no, 1, "", "expected a JSON object, got " + quote(line)},
                      "bad-json"))
        return false;
      continue;
    }
    auto field = [&](const char* name) -> const nlohmann::json* {
      auto it = j.find(name);
      return it == j.end() ? nullptr : &*it;
    };
    auto missing = [&](const char* name) {
      return ctx.reject(Diagnostic{file, line_no, 0, name, std::string("missing field \"") + name + "\""},
                        "missing-field");
    };
    SourceRow row;
    const nlohmann::json* ts = field("timestamp");
    if (!ts) {
      if (!missing("timestamp")) return false;
      continue;
    }
    std::string time_text = ts->dump();
    if (ts->is_number_unsigned() || ts->is_number_integer()) {
      const std::int64_t ms = ts->get<std::int64_t>();
      if (ms > 9'000'000'000'000LL || ms < -9'000'000'000'000LL) {
        if (!ctx.reject(Diagnostic{file, line_no, 0, "timestamp", "timestamp out of range: " + time_text},
                        "bad-time"))
          return false;
        continue;
      }
      row.time_ns = ms * kMillisecond;
    } else if (ts->is_number_float() && std::isfinite(ts->get<double>()) &&
               std::fabs(ts->get<double>()) < 9.0e12) {
      row.time_ns = std::llround(ts->get<double>() * 1e6);
    } else {
      if (!ctx.reject(Diagnostic{file, line_no, 0, "timestamp",
                                 "expected a number of milliseconds, got " + quote(time_text)},
                      "bad-time"))
        return false;
      continue;
    }
    bool bad = false;
    const char* names[2] = {"input_length", "output_length"};
    std::uint32_t tokens[2] = {0, 0};
    for (int k = 0; k < 2 && !bad; ++k) {
      const nlohmann::json* v = field(names[k]);
      if (!v) {
        if (!missing(names[k])) return false;
        bad = true;
        break;
      }
      TokenCheck c = v->is_number_integer() || v->is_number_unsigned() ? parse_tokens(v->dump(), tokens[k])
                                                                       : TokenCheck::BadNumber;
      if (c != TokenCheck::Ok) {
        if (!ctx.reject(Diagnostic{file, line_no, 0, names[k], token_message(c, v->dump())}, token_reason(c)))
          return false;
        bad = true;
      }
    }
    if (bad) continue;
    row.input = tokens[0];
    row.output = tokens[1];
    if (ctx.opt.keep_prefix_hashes) {
      const nlohmann::json* h = field("hash_ids");
      if (!h) {
        if (!missing("hash_ids")) return false;
        continue;
      }
      prefix.clear();
      bool ok = h->is_array();
      if (ok) {
        for (const auto& id : *h) {
          if (!id.is_number_unsigned() && !(id.is_number_integer() && id.get<std::int64_t>() >= 0)) {
            ok = false;
            break;
          }
          if (!prefix.empty()) prefix += ' ';
          append_uint(prefix, id.get<std::uint64_t>());
        }
      }
      if (!ok) {
        if (!ctx.reject(Diagnostic{file, line_no, 0, "hash_ids",
                                   "expected an array of integers >= 0, got " + quote(h->dump())},
                        "bad-number"))
          return false;
        continue;
      }
      row.prefix = prefix;
    }
    Step s = pipe.push(row, Diagnostic{file, line_no, 0, "timestamp", ""}, time_text);
    if (s == Step::Fail) return false;
    if (s == Step::Stop) break;
  }
  if (!any) {
    ctx.fatal(file, 1, "", "the file is empty (expected JSON lines)");
    return false;
  }
  return true;
}

class Mooncake final : public RequestFormat {
 public:
  bool has_prefix_hashes() const override { return true; }
  // No model column: every request is "mooncake" unless the user assigns models.
  ModelAssign default_assign(const ImportOptions&, std::string& fixed) const override {
    fixed = "mooncake";
    return ModelAssign::Fixed;
  }
  void check_key(const ImportOptions& o, Diagnostics& errors) const override { no_key_column(o, errors); }
  bool read(Context& ctx, Pipeline& pipe) override { return read_mooncake(ctx, pipe); }
};

}  // namespace

std::unique_ptr<RequestFormat> make_mooncake() { return std::make_unique<Mooncake>(); }

}  // namespace fleetsim::importers
