#include "traces/importers.hpp"

#include "traces/delimited.hpp"

#include <fast_float/fast_float.h>
#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <queue>
#include <regex>

#include "sim/rng.hpp"
#include "sim/time.hpp"

namespace fleetsim {

namespace {

namespace fs = std::filesystem;

constexpr std::size_t kMaxExamples = 5;
constexpr std::uint64_t kMaxTokens = 2'000'000'000;  // what the native reader accepts
constexpr const char* kHeader = "timestamp,model,input_tokens,output_tokens";

std::string quote_value(std::string_view value) {
  constexpr std::size_t kMax = 60;
  std::string out = "\"";
  if (value.size() > kMax) {
    out += std::string(value.substr(0, kMax));
    out += "...";
  } else {
    out += std::string(value);
  }
  return out + "\"";
}

std::uint64_t mix64(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// Seconds with up to 9 decimals, trailing zeros dropped: exact for integer nanoseconds.
void append_time(std::string& out, std::int64_t ns) {
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, ns / kSecond);
  out.append(buf, r.ptr);
  std::int64_t frac = ns % kSecond;
  if (frac == 0) return;
  char digits[10];
  for (int i = 8; i >= 0; --i) {
    digits[i] = static_cast<char>('0' + frac % 10);
    frac /= 10;
  }
  int len = 9;
  while (len > 0 && digits[len - 1] == '0') --len;
  out += '.';
  out.append(digits, static_cast<std::size_t>(len));
}

void append_uint(std::string& out, std::uint64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool is_blank(std::string_view s) { return trim(s).empty(); }

enum class TokenCheck { Ok, BadNumber, Negative, Zero, TooLarge };

TokenCheck parse_tokens(std::string_view text, std::uint32_t& out) {
  text = trim(text);
  if (text.empty()) return TokenCheck::BadNumber;
  bool negative = text.front() == '-';
  std::string_view digits = negative ? text.substr(1) : text;
  std::uint64_t v = 0;
  auto r = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (r.ec == std::errc::result_out_of_range) return negative ? TokenCheck::Negative : TokenCheck::TooLarge;
  if (r.ec != std::errc() || r.ptr != digits.data() + digits.size() || digits.empty())
    return TokenCheck::BadNumber;
  if (negative) return v == 0 ? TokenCheck::Zero : TokenCheck::Negative;
  if (v == 0) return TokenCheck::Zero;
  if (v > kMaxTokens) return TokenCheck::TooLarge;
  out = static_cast<std::uint32_t>(v);
  return TokenCheck::Ok;
}

const char* token_reason(TokenCheck c) {
  switch (c) {
    case TokenCheck::Negative:
      return "negative-tokens";
    case TokenCheck::Zero:
      return "zero-tokens";
    default:
      return "bad-number";
  }
}

std::string token_message(TokenCheck c, std::string_view text) {
  std::string m = "expected an integer >= 1, got " + quote_value(trim(text));
  if (c == TokenCheck::Negative) m += " (negative)";
  if (c == TokenCheck::TooLarge) m += " (more than 2e9)";
  return m;
}

bool parse_double(std::string_view text, double& out) {
  text = trim(text);
  if (text.empty()) return false;
  if (text.front() == '+') text.remove_prefix(1);
  auto r = fast_float::from_chars(text.data(), text.data() + text.size(), out);
  return r.ec == std::errc() && r.ptr == text.data() + text.size() && std::isfinite(out);
}

// ---------------------------------------------------------------------------------------------
// Shared state: options, report, the lenient/strict decision.

struct Context {
  const ImportOptions& opt;
  ImportReport& report;

  // A bad row: in lenient mode counts it and returns true (go on); else records it, false.
  bool reject(Diagnostic d, const std::string& reason) {
    if (!opt.lenient) {
      report.errors.add(std::move(d));
      return false;
    }
    ++report.rows_skipped;
    ++report.skipped_by_reason[reason];
    if (report.skipped_examples.size() < kMaxExamples) report.skipped_examples.push_back(std::move(d));
    return true;
  }
  void fatal(const std::string& file, int line, const std::string& path, const std::string& message) {
    report.errors.add(Diagnostic{file, line, 0, path, message});
  }
};

// ---------------------------------------------------------------------------------------------
// Output: the native CSV, written to <path>.part and renamed when the import succeeds.

class Output {
 public:
  bool open(const std::string& path, bool prefix_column, Context& ctx) {
    path_ = path;
    part_ = path + ".part";
    prefix_ = prefix_column;
    out_.open(part_, std::ios::binary | std::ios::trunc);
    if (!out_) {
      ctx.fatal(path, 0, "", "cannot write the output file");
      return false;
    }
    buf_ = kHeader;
    if (prefix_) buf_ += ",prefix_hashes";
    buf_ += '\n';
    return true;
  }

  void write(std::int64_t t, std::string_view model, std::uint32_t in, std::uint32_t out,
             std::string_view prefix) {
    append_time(buf_, t);
    buf_ += ',';
    buf_ += model;
    buf_ += ',';
    append_uint(buf_, in);
    buf_ += ',';
    append_uint(buf_, out);
    if (prefix_) {
      buf_ += ',';
      buf_ += prefix;
    }
    buf_ += '\n';
    if (buf_.size() > (1u << 20)) flush();
  }

  bool commit(Context& ctx) {
    flush();
    out_.close();
    if (!out_) {
      ctx.fatal(path_, 0, "", "writing the output file failed");
      abandon();
      return false;
    }
    std::error_code ec;
    fs::rename(part_, path_, ec);
    if (ec) {
      ctx.fatal(path_, 0, "", "cannot rename " + part_ + " to it: " + ec.message());
      abandon();
      return false;
    }
    return true;
  }

  void abandon() {
    if (out_.is_open()) out_.close();
    std::error_code ec;
    if (!part_.empty()) fs::remove(part_, ec);
  }

 private:
  void flush() {
    out_.write(buf_.data(), static_cast<std::streamsize>(buf_.size()));
    buf_.clear();
  }
  std::string path_, part_;
  std::ofstream out_;
  std::string buf_;
  bool prefix_ = false;
};

// ---------------------------------------------------------------------------------------------
// Pipeline: order check, window, time scale, model assignment, rate scale, write.

struct SourceRow {
  std::int64_t time_ns = 0;  // source time: absolute or relative
  std::string_view key;      // model column / client; empty when the format has none
  std::uint32_t input = 0, output = 0;
  std::string_view prefix;  // mooncake hash ids, space-separated (keep_prefix_hashes)
};

enum class Step { Next, Stop, Fail };

class Pipeline {
 public:
  Pipeline(Context& ctx, Output& out, bool rebase, ModelAssign assign, std::string fixed)
      : ctx_(ctx),
        out_(out),
        rebase_(rebase),
        assign_(assign),
        fixed_(std::move(fixed)),
        rate_rng_(ctx.opt.seed, "import/rate-scale"),
        zipf_rng_(ctx.opt.seed, "import/zipf") {
    const ImportOptions& o = ctx.opt;
    if (o.window_start) start_ = from_seconds(*o.window_start);
    if (o.window_end) end_ = from_seconds(*o.window_end);
    if (assign_ == ModelAssign::Hash || assign_ == ModelAssign::Zipf) {
      for (int k = 0; k < o.models; ++k) names_.push_back("model-" + std::to_string(k));
      double total = 0;
      for (int k = 1; k <= o.models; ++k) {
        total += 1.0 / std::pow(static_cast<double>(k), o.zipf_s);
        zipf_cum_.push_back(total);
      }
    }
  }

  // `where` locates the row's time field (file, line, column, column name) for diagnostics.
  Step push(const SourceRow& row, const Diagnostic& where, std::string_view time_text) {
    ++ordinal_;
    if (have_last_ && row.time_ns < last_source_) {
      Diagnostic d = where;
      d.message = "time " + quote_value(time_text) + " is earlier than the previous row's " +
                  quote_value(last_text_) + " (rows must be in time order)";
      return ctx_.reject(std::move(d), "out-of-order") ? Step::Next : Step::Fail;
    }
    if (!have_last_) base_ = rebase_ ? row.time_ns : 0;
    have_last_ = true;
    last_source_ = row.time_ns;
    last_text_.assign(time_text);

    const std::int64_t rel = row.time_ns - base_;
    if (rel < start_) {
      ++ctx_.report.rows_outside_window;
      return Step::Next;
    }
    if (rel >= end_) {
      ++ctx_.report.rows_outside_window;
      return Step::Stop;
    }
    std::int64_t t = rel - start_;
    if (ctx_.opt.time_scale != 1) t = std::llround(static_cast<double>(t) * ctx_.opt.time_scale);
    rate_stage(t, model_for(row), row.input, row.output, row.prefix);
    return Step::Next;
  }

  void finish() {
    if (pending_) emit_pending(pending_t_);
  }

 private:
  std::string_view model_for(const SourceRow& row) {
    switch (assign_) {
      case ModelAssign::FromColumn:
        return row.key;
      case ModelAssign::Hash: {
        std::uint64_t h = row.key.empty() ? mix64(ctx_.opt.seed ^ mix64(ordinal_))
                                          : mix64(ctx_.opt.seed ^ stable_hash(row.key));
        return names_[h % names_.size()];
      }
      case ModelAssign::Zipf: {
        double u = row.key.empty()
                       ? zipf_rng_.uniform()
                       : RngStream(ctx_.opt.seed, "import/zipf/" + std::string(row.key)).uniform();
        const double x = u * zipf_cum_.back();
        auto it = std::upper_bound(zipf_cum_.begin(), zipf_cum_.end(), x);
        std::size_t k =
            std::min<std::size_t>(static_cast<std::size_t>(it - zipf_cum_.begin()), names_.size() - 1);
        return names_[k];
      }
      default:
        return fixed_;
    }
  }

  void rate_stage(std::int64_t t, std::string_view model, std::uint32_t in, std::uint32_t out,
                  std::string_view prefix) {
    const double r = ctx_.opt.rate_scale;
    if (r == 1) {
      emit(t, model, in, out, prefix);
    } else if (r < 1) {
      if (rate_rng_.uniform() < r)
        emit(t, model, in, out, prefix);
      else
        ++ctx_.report.rows_sampled_out;
    } else {
      const double whole = std::floor(r);
      const int copies = static_cast<int>(whole) + (rate_rng_.uniform() < r - whole ? 1 : 0);
      if (pending_) emit_pending(t);
      pending_ = true;
      pending_t_ = t;
      pending_model_.assign(model);
      pending_in_ = in;
      pending_out_ = out;
      pending_prefix_.assign(prefix);
      pending_copies_ = copies;
    }
  }

  // The pending request and its copies, jittered in [t, next_t).
  void emit_pending(std::int64_t next_t) {
    emit(pending_t_, pending_model_, pending_in_, pending_out_, pending_prefix_);
    jitter_.clear();
    const double span = static_cast<double>(next_t - pending_t_);
    for (int c = 1; c < pending_copies_; ++c) {
      std::int64_t dt = static_cast<std::int64_t>(std::floor(rate_rng_.uniform() * span));
      jitter_.push_back(pending_t_ +
                        std::min<std::int64_t>(dt, std::max<std::int64_t>(0, next_t - pending_t_ - 1)));
    }
    std::sort(jitter_.begin(), jitter_.end());
    for (std::int64_t t : jitter_) emit(t, pending_model_, pending_in_, pending_out_, pending_prefix_);
    pending_ = false;
  }

  void emit(std::int64_t t, std::string_view model, std::uint32_t in, std::uint32_t out,
            std::string_view prefix) {
    ImportReport& rep = ctx_.report;
    if (rep.rows_written == 0) rep.first_time_s = to_seconds(t);
    rep.last_time_s = to_seconds(t);
    ++rep.rows_written;
    out_.write(t, model, in, out, prefix);
  }

  Context& ctx_;
  Output& out_;
  bool rebase_;
  ModelAssign assign_;
  std::string fixed_;
  std::vector<std::string> names_;
  std::vector<double> zipf_cum_;
  RngStream rate_rng_, zipf_rng_;
  std::int64_t start_ = 0, end_ = kNever;
  std::int64_t base_ = 0, last_source_ = 0;
  std::string last_text_;
  bool have_last_ = false;
  std::uint64_t ordinal_ = 0;
  bool pending_ = false;
  std::int64_t pending_t_ = 0;
  std::string pending_model_, pending_prefix_;
  std::uint32_t pending_in_ = 0, pending_out_ = 0;
  int pending_copies_ = 0;
  std::vector<std::int64_t> jitter_;
};

// ---------------------------------------------------------------------------------------------
// Delimited text (azure-llm-2023, generic-csv).

// Delimited text: fields with quotes (see traces/delimited.hpp).
int split_fields(std::string_view line, char delim, std::vector<std::string>& fields,
                 std::vector<int>& starts) {
  return split_line(line, delim, true, fields, starts);
}

struct CsvSpec {
  char delim = ',';
  std::string time_col, model_col, input_col, output_col;
  bool iso = false;
  double unit_ns = 1e9;
  std::string unit_name = "s";
  bool check_model = false;  // FromColumn: the model must be writable
};

bool read_delimited(Context& ctx, Pipeline& pipe, const CsvSpec& spec) {
  const std::string& file = ctx.opt.input;
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    ctx.fatal(file, 0, "", "cannot open the input file");
    return false;
  }
  std::string line;
  std::vector<std::string> fields;
  std::vector<int> starts;
  int line_no = 0;

  // Header.
  std::string header_text;
  if (!std::getline(in, line)) {
    ctx.fatal(file, 1, "header", "the file is empty (expected a header naming the columns)");
    return false;
  }
  line_no = 1;
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line.rfind("\xEF\xBB\xBF", 0) == 0) line.erase(0, 3);
  if (is_blank(line)) {
    ctx.fatal(file, 1, "header", "the first line is empty (expected a header naming the columns)");
    return false;
  }
  const int header_count = split_fields(line, spec.delim, fields, starts);
  if (header_count < 0) {
    ctx.fatal(file, 1, "header", "unterminated quote in the header");
    return false;
  }
  std::vector<std::string> names(fields.begin(), fields.begin() + header_count);
  header_text = line;
  auto find = [&](const std::string& name) -> int {
    if (name.empty()) return -1;
    auto it = std::find(names.begin(), names.end(), name);
    if (it != names.end()) return static_cast<int>(it - names.begin());
    std::string have;
    for (const auto& n : names) have += (have.empty() ? "" : ", ") + n;
    std::string message = "missing column \"" + name + "\" (the header has: " + have + ")";
    const std::string close = did_you_mean(name, names);
    if (!close.empty()) message += "; did you mean \"" + close + "\"?";
    ctx.report.errors.add(Diagnostic{file, 1, 1, name, message});
    return -2;
  };
  const int time_i = find(spec.time_col);
  const int in_i = find(spec.input_col);
  const int out_i = find(spec.output_col);
  const int model_i = spec.model_col.empty() ? -1 : find(spec.model_col);
  if (time_i < 0 || in_i < 0 || out_i < 0 || model_i == -2) return false;

  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (is_blank(line)) continue;
    ++ctx.report.rows_read;
    const int n = split_fields(line, spec.delim, fields, starts);
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
                   "expected " + std::to_string(header_count) + " fields (" + header_text + "), got " +
                       std::to_string(n)};
      if (!ctx.reject(std::move(d), "wrong-field-count")) return false;
      continue;
    }
    SourceRow row;
    const std::string& time_text = fields[static_cast<std::size_t>(time_i)];
    bool time_ok = false;
    if (spec.iso) {
      if (auto ns = parse_iso8601_ns(time_text)) {
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
      d.message = (spec.iso ? std::string("expected an ISO 8601 date and time (2023-11-16 18:15:46.68), got ")
                            : "expected a number of " + spec.unit_name + ", got ") +
                  quote_value(time_text);
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
      if (spec.check_model && (m.empty() || m.find_first_of(",\"\r\n") != std::string::npos)) {
        Diagnostic d = at(model_i);
        d.message = "expected a model name without commas or quotes, got " + quote_value(m);
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

// ---------------------------------------------------------------------------------------------
// Mooncake JSON lines.

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
      if (!ctx.reject(Diagnostic{file, line_no, 1, "", "expected a JSON object, got " + quote_value(line)},
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
                                 "expected a number of milliseconds, got " + quote_value(time_text)},
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
                                   "expected an array of integers >= 0, got " + quote_value(h->dump())},
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

// ---------------------------------------------------------------------------------------------
// ServeGen: per-client windows -> generated arrivals, merged in time order.

struct Pmf {
  std::vector<std::uint32_t> values;
  std::vector<double> cum;
  bool empty() const { return values.empty(); }
  std::uint32_t sample(RngStream& rng) const {
    const double x = rng.uniform() * cum.back();
    auto it = std::upper_bound(cum.begin(), cum.end(), x);
    std::size_t k = std::min<std::size_t>(static_cast<std::size_t>(it - cum.begin()), values.size() - 1);
    return values[k];
  }
};

// A Python dict literal of {length: probability}: "{45: 0.0096, 46: 0.0117}".
bool parse_pmf(std::string_view s, Pmf& pmf, std::string& error) {
  std::size_t i = 0;
  auto ws = [&] {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\n' || s[i] == '\t' || s[i] == '\r')) ++i;
  };
  auto number = [&](double& v) {
    ws();
    std::size_t j = i;
    while (j < s.size() && s[j] != ':' && s[j] != ',' && s[j] != '}' && s[j] != ' ') ++j;
    if (!parse_double(s.substr(i, j - i), v)) return false;
    i = j;
    return true;
  };
  ws();
  if (i >= s.size() || s[i] != '{') {
    error = "expected a {length: probability} dict";
    return false;
  }
  ++i;
  ws();
  if (i < s.size() && s[i] == '}') return true;
  double total = 0;
  for (;;) {
    double key = 0, p = 0;
    if (!number(key) || key < 0 || key != std::floor(key) || key > static_cast<double>(kMaxTokens)) {
      error = "expected a token length (integer >= 0) at offset " + std::to_string(i);
      return false;
    }
    ws();
    if (i >= s.size() || s[i] != ':') {
      error = "expected ':' at offset " + std::to_string(i);
      return false;
    }
    ++i;
    if (!number(p) || p < 0) {
      error = "expected a probability >= 0 at offset " + std::to_string(i);
      return false;
    }
    if (p > 0) {
      total += p;
      pmf.values.push_back(std::max<std::uint32_t>(1, static_cast<std::uint32_t>(key)));
      pmf.cum.push_back(total);
    }
    ws();
    if (i < s.size() && s[i] == ',') {
      ++i;
      ws();
      if (i < s.size() && s[i] == '}') return true;  // trailing comma
      continue;
    }
    if (i < s.size() && s[i] == '}') return true;
    error = "expected ',' or '}' at offset " + std::to_string(i);
    return false;
  }
}

struct Period {
  std::int64_t start = 0;
  Pmf input, output;
};

struct WindowRow {
  std::int64_t start = 0;
  double rate = 0, cv = 0;
  int line = 0;
};

class Client {
 public:
  std::string name;  // client-<N>
  std::string trace_path;
  std::vector<Period> periods;  // empty: default_tokens

  // Arrival ready in next_*; false at the end (or on a fatal error: check ctx.report.errors).
  bool open(Context& ctx) {
    in_.open(trace_path, std::ios::binary);
    if (!in_) {
      ctx.fatal(trace_path, 0, "", "cannot open the input file");
      return false;
    }
    return true;
  }

  enum class Next { Arrival, End, Fail };

  Next advance(Context& ctx) {
    for (;;) {
      if (in_window_) {
        double gap = cv_ == 0 ? 1.0 / rate_ : rng_.gamma(1.0 / (cv_ * cv_), cv_ * cv_ / rate_);
        const double remaining = static_cast<double>(w_end_ - t_) * 1e-9;
        if (gap < remaining) {
          t_ += std::llround(gap * 1e9);
          if (t_ < w_end_) {
            next_time = t_;
            if (in_pmf_) {
              next_input = in_pmf_->sample(rng_);
              next_output = out_pmf_->sample(rng_);
            } else {
              next_input = ctx.opt.default_tokens->first;
              next_output = ctx.opt.default_tokens->second;
            }
            next_line = w_line_;
            ++ctx.report.rows_read;
            return Next::Arrival;
          }
        }
        in_window_ = false;
      }
      Next n = open_window(ctx);
      if (n != Next::Arrival) return n;
    }
  }

  std::int64_t next_time = 0;
  std::uint32_t next_input = 0, next_output = 0;
  int next_line = 0;

 private:
  // Reads the next data row; false at the end or on a fatal error.
  bool read_row(Context& ctx, std::optional<WindowRow>& out) {
    out.reset();
    std::string line;
    while (std::getline(in_, line)) {
      ++line_no_;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (is_blank(line)) continue;
      const int n = split_fields(line, ',', fields_, starts_);
      static const char* kNames[] = {"window_start", "rate", "cv", "pattern", "param1", "param2"};
      if (n != 6) {
        Diagnostic d{
            trace_path, line_no_, 1, "",
            "expected 6 fields (window_start,rate,cv,pattern,param1,param2), got " + std::to_string(n)};
        if (!ctx.reject(std::move(d), "wrong-field-count")) return false;
        continue;
      }
      WindowRow row;
      row.line = line_no_;
      double v[3];
      bool ok = true;
      for (int k = 0; k < 3 && ok; ++k) {
        if (!parse_double(fields_[static_cast<std::size_t>(k)], v[k]) || v[k] < 0) {
          Diagnostic d{trace_path, line_no_, starts_[static_cast<std::size_t>(k)], kNames[k],
                       "expected a number >= 0, got " + quote_value(fields_[static_cast<std::size_t>(k)])};
          if (!ctx.reject(std::move(d), k == 0 ? "bad-time" : "bad-number")) return false;
          ok = false;
        }
      }
      if (!ok) continue;
      row.start = from_seconds(v[0]);
      row.rate = v[1];
      row.cv = v[2];
      if (have_last_start_ && row.start <= last_start_) {
        Diagnostic d{
            trace_path, line_no_, 1, kNames[0],
            "window start " + quote_value(fields_[0]) + " does not come after the previous window's"};
        if (!ctx.reject(std::move(d), "out-of-order")) return false;
        continue;
      }
      have_last_start_ = true;
      last_start_ = row.start;
      out = row;
      return true;
    }
    return true;
  }

  Next open_window(Context& ctx) {
    const ImportOptions& o = ctx.opt;
    const std::int64_t ws = o.window_start ? from_seconds(*o.window_start) : 0;
    const std::int64_t we = o.window_end ? from_seconds(*o.window_end) : kNever;
    for (;;) {
      if (!started_) {
        started_ = true;
        if (!read_row(ctx, cur_)) return Next::Fail;
        if (!cur_ && line_no_ == 0) {
          ctx.fatal(trace_path, 1, "",
                    "the file is empty (expected rows window_start,rate,cv,pattern,param1,param2)");
          return Next::Fail;
        }
      }
      if (!cur_) return Next::End;
      std::optional<WindowRow> next;
      if (!read_row(ctx, next)) return Next::Fail;
      const WindowRow w = *cur_;
      const std::int64_t end = next ? next->start : w.start + last_len_;
      last_len_ = end - w.start;
      cur_ = next;
      if (w.start >= we) return Next::End;
      if (end <= ws || w.rate <= 0) continue;
      // Its own stream per (client, window): a windowed import is part of the full one.
      rng_ = RngStream(o.seed, "servegen/" + name + "/" + std::to_string(w.start));
      rate_ = w.rate;
      cv_ = w.cv;
      t_ = w.start;
      w_end_ = end;
      w_line_ = w.line;
      in_window_ = true;
      in_pmf_ = out_pmf_ = nullptr;
      if (!periods.empty()) {
        in_pmf_ = pick(w.start, true);
        out_pmf_ = pick(w.start, false);
        if (!in_pmf_ || !out_pmf_) {
          ctx.fatal(trace_path, w.line, "",
                    "no token lengths for this window (every PMF in the dataset is empty)");
          return Next::Fail;
        }
      }
      return Next::Arrival;
    }
  }

  // The latest period starting at or before t with a non-empty PMF, else the next one after.
  const Pmf* pick(std::int64_t t, bool input) const {
    auto pmf = [&](std::size_t i) -> const Pmf& { return input ? periods[i].input : periods[i].output; };
    std::size_t at = 0;
    for (std::size_t i = 0; i < periods.size(); ++i)
      if (periods[i].start <= t) at = i;
    for (std::size_t i = at + 1; i-- > 0;)
      if (!pmf(i).empty()) return &pmf(i);
    for (std::size_t i = at + 1; i < periods.size(); ++i)
      if (!pmf(i).empty()) return &pmf(i);
    return nullptr;
  }

  std::ifstream in_;
  int line_no_ = 0;
  std::vector<std::string> fields_;
  std::vector<int> starts_;
  bool started_ = false;
  std::optional<WindowRow> cur_;
  bool have_last_start_ = false;
  std::int64_t last_start_ = 0;
  std::int64_t last_len_ = 600 * kSecond;
  bool in_window_ = false;
  RngStream rng_;
  double rate_ = 0, cv_ = 0;
  std::int64_t t_ = 0, w_end_ = 0;
  int w_line_ = 0;
  const Pmf* in_pmf_ = nullptr;
  const Pmf* out_pmf_ = nullptr;
};

bool load_dataset(Context& ctx, const std::string& path, std::vector<Period>& periods) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    ctx.fatal(path, 0, "", "cannot open the dataset file");
    return false;
  }
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
  } catch (const nlohmann::json::parse_error& e) {
    ctx.fatal(path, 0, "", std::string("not valid JSON: ") + e.what());
    return false;
  }
  if (!j.is_object()) {
    ctx.fatal(path, 0, "", "expected an object {window_start: {input_tokens, output_tokens}}");
    return false;
  }
  for (auto it = j.begin(); it != j.end(); ++it) {
    double start = 0;
    if (!parse_double(it.key(), start) || start < 0) {
      ctx.fatal(path, 0, it.key(), "expected a window start in seconds as the key");
      return false;
    }
    Period p;
    p.start = from_seconds(start);
    for (const char* field : {"input_tokens", "output_tokens"}) {
      const std::string where = it.key() + "." + field;
      auto f = it->find(field);
      if (!it->is_object() || f == it->end() || !f->is_string()) {
        ctx.fatal(path, 0, where, "missing (expected a \"{length: probability}\" string)");
        return false;
      }
      std::string error;
      if (!parse_pmf(f->get_ref<const std::string&>(), field[0] == 'i' ? p.input : p.output, error)) {
        ctx.fatal(path, 0, where, error);
        return false;
      }
    }
    periods.push_back(std::move(p));
  }
  std::sort(periods.begin(), periods.end(),
            [](const Period& a, const Period& b) { return a.start < b.start; });
  return true;
}

bool read_servegen(Context& ctx, Pipeline& pipe) {
  const ImportOptions& o = ctx.opt;
  struct Found {
    long number;
    std::string name, trace, dataset;
  };
  std::vector<Found> found;
  static const std::regex kTrace(R"(chunk-(\d+)-trace\.csv)");
  std::error_code ec;
  auto dataset_for = [](const fs::path& trace) {
    std::string s = trace.filename().string();
    s.replace(s.size() - std::string("trace.csv").size(), std::string::npos, "dataset.json");
    return (trace.parent_path() / s).string();
  };
  if (fs::is_directory(o.input, ec)) {
    for (const auto& entry : fs::directory_iterator(o.input, ec)) {
      std::smatch m;
      const std::string fname = entry.path().filename().string();
      if (!std::regex_match(fname, m, kTrace)) continue;
      found.push_back(
          {std::stol(m[1].str()), "client-" + m[1].str(), entry.path().string(), dataset_for(entry.path())});
    }
    if (found.empty()) {
      ctx.fatal(o.input, 0, "", "no chunk-<N>-trace.csv files in this folder");
      return false;
    }
  } else {
    const fs::path p(o.input);
    std::smatch m;
    const std::string fname = p.filename().string();
    if (std::regex_match(fname, m, kTrace))
      found.push_back({std::stol(m[1].str()), "client-" + m[1].str(), p.string(), dataset_for(p)});
    else
      found.push_back({0, p.stem().string(), p.string(), ""});
  }
  std::sort(found.begin(), found.end(), [](const Found& a, const Found& b) { return a.number < b.number; });

  std::vector<std::unique_ptr<Client>> clients;
  for (const Found& f : found) {
    auto c = std::make_unique<Client>();
    c->name = f.name;
    c->trace_path = f.trace;
    if (!f.dataset.empty() && fs::exists(f.dataset, ec)) {
      if (!load_dataset(ctx, f.dataset, c->periods)) return false;
    }
    if (c->periods.empty() && !o.default_tokens) {
      ctx.fatal(f.trace, 0, "",
                "no token lengths for " + f.name + ": " +
                    (f.dataset.empty() ? std::string("no dataset.json") : f.dataset + " not found") +
                    " (give fixed ones with --default-tokens IN:OUT)");
      return false;
    }
    if (!c->open(ctx)) return false;
    clients.push_back(std::move(c));
  }

  // Min-heap on (time, client order).
  using Entry = std::pair<std::int64_t, std::size_t>;
  std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>> heap;
  for (std::size_t i = 0; i < clients.size(); ++i) {
    Client::Next n = clients[i]->advance(ctx);
    if (n == Client::Next::Fail) return false;
    if (n == Client::Next::Arrival) heap.emplace(clients[i]->next_time, i);
  }
  std::string time_text;
  while (!heap.empty()) {
    const std::size_t i = heap.top().second;
    heap.pop();
    Client& c = *clients[i];
    SourceRow row;
    row.time_ns = c.next_time;
    row.key = c.name;
    row.input = c.next_input;
    row.output = c.next_output;
    time_text.clear();
    append_time(time_text, c.next_time);
    Step s = pipe.push(row, Diagnostic{c.trace_path, c.next_line, 1, "window_start", ""}, time_text);
    if (s == Step::Fail) return false;
    if (s == Step::Stop) break;
    Client::Next n = c.advance(ctx);
    if (n == Client::Next::Fail) return false;
    if (n == Client::Next::Arrival) heap.emplace(c.next_time, i);
  }
  return true;
}

std::string folder_name(const std::string& input) {
  fs::path p = fs::path(input).lexically_normal();
  std::error_code ec;
  if (!fs::is_directory(p, ec)) p = p.parent_path();
  std::string name = p.filename().string();
  if (name.empty() || name == ".") name = p.parent_path().filename().string();
  if (name.empty() || name == "." || name == "..") {
    p = fs::absolute(p, ec);
    name = p.filename().string();
  }
  return name.empty() ? "servegen" : name;
}

bool valid_model_name(const std::string& m) {
  return !m.empty() && m.find_first_of(",\"\r\n") == std::string::npos;
}

}  // namespace

const std::vector<std::string>& import_formats() {
  static const std::vector<std::string> formats = {"azure-llm-2023", "mooncake", "servegen", "generic-csv"};
  return formats;
}

std::optional<std::int64_t> parse_iso8601_ns(std::string_view s) {
  s = trim(s);
  std::size_t i = 0;
  auto digits = [&](int n, int& out) {
    if (i + static_cast<std::size_t>(n) > s.size()) return false;
    out = 0;
    for (int k = 0; k < n; ++k) {
      char c = s[i + static_cast<std::size_t>(k)];
      if (c < '0' || c > '9') return false;
      out = out * 10 + (c - '0');
    }
    i += static_cast<std::size_t>(n);
    return true;
  };
  auto expect = [&](char c) {
    if (i < s.size() && s[i] == c) {
      ++i;
      return true;
    }
    return false;
  };
  int y, mo, d, h, mi, sec;
  if (!digits(4, y) || !expect('-') || !digits(2, mo) || !expect('-') || !digits(2, d)) return std::nullopt;
  if (!(expect('T') || expect(' ') || expect('t'))) return std::nullopt;
  if (!digits(2, h) || !expect(':') || !digits(2, mi) || !expect(':') || !digits(2, sec)) return std::nullopt;
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (mo < 1 || mo > 12 || d < 1 || d > kDays[mo - 1] + (mo == 2 && leap ? 1 : 0) || h > 23 || mi > 59 ||
      sec > 60)
    return std::nullopt;
  std::int64_t frac = 0;
  if (expect('.') || expect(',')) {
    int n = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      if (n < 9) frac = frac * 10 + (s[i] - '0');
      ++n;
      ++i;
    }
    if (n == 0) return std::nullopt;
    for (int k = n; k < 9; ++k) frac *= 10;
  }
  std::int64_t offset_s = 0;
  if (i < s.size()) {
    if (s[i] == 'Z' || s[i] == 'z') {
      ++i;
    } else if (s[i] == '+' || s[i] == '-') {
      const int sign = s[i] == '-' ? -1 : 1;
      ++i;
      int oh, om = 0;
      if (!digits(2, oh)) return std::nullopt;
      if (expect(':')) {
        if (!digits(2, om)) return std::nullopt;
      } else if (i < s.size()) {
        if (!digits(2, om)) return std::nullopt;
      }
      if (oh > 23 || om > 59) return std::nullopt;
      offset_s = sign * (oh * 3600 + om * 60);
    }
  }
  if (i != s.size()) return std::nullopt;
  // Days since 1970-01-01 (H. Hinnant's days_from_civil).
  const int yy = y - (mo <= 2 ? 1 : 0);
  const int era = (yy >= 0 ? yy : yy - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(yy - era * 400);
  const unsigned doy = static_cast<unsigned>((153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1);
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  const std::int64_t days = static_cast<std::int64_t>(era) * 146097 + static_cast<std::int64_t>(doe) - 719468;
  const std::int64_t seconds = days * 86400 + h * 3600 + mi * 60 + sec - offset_s;
  return seconds * kSecond + frac;
}

ImportReport import_trace(const ImportOptions& o) {
  ImportReport report;
  Context ctx{o, report};
  auto option_error = [&](const std::string& option, const std::string& message) {
    report.errors.add(Diagnostic{"", 0, 0, option, message});
  };

  // Options.
  const auto& formats = import_formats();
  if (std::find(formats.begin(), formats.end(), o.format) == formats.end()) {
    std::string m =
        "unknown format \"" + o.format + "\" (formats: azure-llm-2023, mooncake, servegen, generic-csv)";
    const std::string close = did_you_mean(o.format, formats);
    if (!close.empty()) m += "; did you mean \"" + close + "\"?";
    option_error("format", m);
    return report;
  }
  std::error_code ec;
  if (o.input.empty() || !fs::exists(o.input, ec))
    option_error("input", "no such file or folder: \"" + o.input + "\"");
  else if (o.format != "servegen" && fs::is_directory(o.input, ec))
    option_error("input", "\"" + o.input + "\" is a folder; " + o.format + " reads one file");
  if (o.output.empty()) option_error("--out", "an output file is required");
  if (!(o.time_scale > 0) || !std::isfinite(o.time_scale))
    option_error("--time-scale", "must be a number > 0 (got " + std::to_string(o.time_scale) + ")");
  if (!(o.rate_scale > 0) || !std::isfinite(o.rate_scale))
    option_error("--rate-scale", "must be a number > 0 (got " + std::to_string(o.rate_scale) + ")");
  if (o.window_start && (!(*o.window_start >= 0) || !std::isfinite(*o.window_start)))
    option_error("--window", "the start must be >= 0 seconds");
  if (o.window_end && (!(*o.window_end > 0) || !std::isfinite(*o.window_end)))
    option_error("--window", "the end must be > 0 seconds");
  if (o.window_start && o.window_end && *o.window_end <= *o.window_start)
    option_error("--window", "the end must come after the start");
  if (o.window_end && *o.window_end * 1e9 > 9.0e18) option_error("--window", "the end is too large");
  if (o.window_start && *o.window_start * 1e9 > 9.0e18) option_error("--window", "the start is too large");

  ModelAssign assign = o.assign;
  std::string fixed = o.model;
  if (assign == ModelAssign::Default) {
    if (o.format == "azure-llm-2023") {
      assign = ModelAssign::Fixed;
      fixed = "azure-llm";
    } else if (o.format == "mooncake") {
      assign = ModelAssign::Fixed;
      fixed = "mooncake";
    } else if (o.format == "servegen") {
      assign = ModelAssign::Fixed;
      fixed = folder_name(o.input);
    } else {
      assign = ModelAssign::FromColumn;
    }
  }
  if (assign == ModelAssign::Fixed && !valid_model_name(fixed))
    option_error("--assign",
                 "a fixed model name must be non-empty, without commas or quotes (got \"" + fixed + "\")");
  if ((assign == ModelAssign::Hash || assign == ModelAssign::Zipf) && (o.models < 1 || o.models > 1'000'000))
    option_error("--assign", "the model count must be 1 .. 1000000 (got " + std::to_string(o.models) + ")");
  if (assign == ModelAssign::Zipf && (!(o.zipf_s >= 0) || !std::isfinite(o.zipf_s)))
    option_error("--assign", "the Zipf exponent must be >= 0");
  if (assign == ModelAssign::FromColumn) {
    if (o.format == "azure-llm-2023" || o.format == "mooncake")
      option_error("--assign", o.format + " has no model column; use fixed:NAME, hash:N or zipf:N:S");
    if (o.format == "generic-csv" && o.model_column.empty())
      option_error("--model-column",
                   "generic-csv needs --model-column, or --assign fixed:NAME, hash:N or zipf:N:S");
  }
  if (o.keep_prefix_hashes && o.format != "mooncake")
    option_error("--keep-prefix-hashes", "only the mooncake format has prefix hashes");
  if (o.default_tokens && (o.default_tokens->first < 1 || o.default_tokens->second < 1))
    option_error("--default-tokens", "token counts must be >= 1");

  CsvSpec spec;
  if (o.format == "azure-llm-2023") {
    spec.time_col = "TIMESTAMP";
    spec.input_col = "ContextTokens";
    spec.output_col = "GeneratedTokens";
    spec.iso = true;
  } else if (o.format == "generic-csv") {
    if (o.time_column.empty()) option_error("--time-column", "generic-csv needs --time-column");
    if (o.input_column.empty()) option_error("--input-column", "generic-csv needs --input-column");
    if (o.output_column.empty()) option_error("--output-column", "generic-csv needs --output-column");
    spec.time_col = o.time_column;
    spec.input_col = o.input_column;
    spec.output_col = o.output_column;
    spec.model_col = o.model_column;
    spec.check_model = assign == ModelAssign::FromColumn;
    if (o.time_format == "iso8601") {
      spec.iso = true;
    } else if (!o.time_format.empty()) {
      option_error("--time-format", "the only time format is iso8601 (numeric times take --time-unit)");
    } else {
      static const std::pair<const char*, double> kUnits[] = {
          {"s", 1e9}, {"ms", 1e6}, {"us", 1e3}, {"ns", 1}};
      bool found = false;
      for (const auto& [name, ns] : kUnits)
        if (o.time_unit == name) {
          spec.unit_ns = ns;
          spec.unit_name = name;
          found = true;
        }
      if (!found) option_error("--time-unit", "expected s, ms, us or ns (got \"" + o.time_unit + "\")");
    }
    std::string d = o.delimiter;
    if (d == "tab" || d == "\\t") d = "\t";
    if (d.size() != 1 || d == "\"" || d == "\n" || d == "\r")
      option_error("--delimiter", "expected one character (or \"tab\"), got \"" + o.delimiter + "\"");
    else
      spec.delim = d[0];
  }
  if (!report.errors.empty()) return report;

  Output out;
  if (!out.open(o.output, o.keep_prefix_hashes, ctx)) return report;
  Pipeline pipe(ctx, out, o.format != "servegen", assign, fixed);
  bool ok = false;
  if (o.format == "mooncake")
    ok = read_mooncake(ctx, pipe);
  else if (o.format == "servegen")
    ok = read_servegen(ctx, pipe);
  else
    ok = read_delimited(ctx, pipe, spec);
  if (ok && report.errors.empty()) {
    pipe.finish();
    if (out.commit(ctx)) return report;
  }
  out.abandon();
  if (report.errors.empty()) report.errors.add(Diagnostic{o.input, 0, 0, "", "the import failed"});
  return report;
}

}  // namespace fleetsim
