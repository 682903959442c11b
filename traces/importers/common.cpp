// What every request-trace importer shares: token checks, the lenient/strict decision, the
// output stages (order check, window, time scale, model assignment, rate scale) and the native
// CSV writer (`timestamp,model,input_tokens,output_tokens`, traces/request_csv.hpp).
#include "traces/importers/common.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>

#include "traces/text.hpp"

namespace fleetsim::importers {

namespace {

namespace fs = std::filesystem;

constexpr std::size_t kMaxExamples = 5;
constexpr const char* kHeader = "timestamp,model,input_tokens,output_tokens";

std::uint64_t mix64(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

}  // namespace

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
  std::string m = "expected an integer >= 1, got " + quote(trim(text));
  if (c == TokenCheck::Negative) m += " (negative)";
  if (c == TokenCheck::TooLarge) m += " (more than 2e9)";
  return m;
}

bool valid_model_name(std::string_view m) {
  return !m.empty() && m.find_first_of(",\"\r\n") == std::string_view::npos;
}

void option_error(Diagnostics& errors, const std::string& option, const std::string& message) {
  errors.add(Diagnostic{"", 0, 0, option, message});
}

void no_key_column(const ImportOptions& o, Diagnostics& errors) {
  option_error(errors, "--assign", o.format + " has no model column; use fixed:NAME, hash:N or zipf:N:S");
}

void RequestFormat::check_options(const ImportOptions&, ModelAssign, Diagnostics&) {}

// ---------------------------------------------------------------------------------------------
// Context

bool Context::reject(Diagnostic d, const std::string& reason) {
  if (!opt.lenient) {
    report.errors.add(std::move(d));
    return false;
  }
  ++report.rows_skipped;
  ++report.skipped_by_reason[reason];
  if (report.skipped_examples.size() < kMaxExamples) report.skipped_examples.push_back(std::move(d));
  return true;
}

void Context::fatal(const std::string& file, int line, const std::string& path, const std::string& message) {
  report.errors.add(Diagnostic{file, line, 0, path, message});
}

// ---------------------------------------------------------------------------------------------
// Output

bool Output::open(const std::string& path, bool prefix_column, Context& ctx) {
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

void Output::write(std::int64_t t, std::string_view model, std::uint32_t in, std::uint32_t out,
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

bool Output::commit(Context& ctx) {
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

void Output::abandon() {
  if (out_.is_open()) out_.close();
  std::error_code ec;
  if (!part_.empty()) fs::remove(part_, ec);
}

void Output::flush() {
  out_.write(buf_.data(), static_cast<std::streamsize>(buf_.size()));
  buf_.clear();
}

// ---------------------------------------------------------------------------------------------
// Pipeline

Pipeline::Pipeline(Context& ctx, Output& out, bool rebase, ModelAssign assign, std::string fixed)
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

Step Pipeline::push(const SourceRow& row, const Diagnostic& where, std::string_view time_text) {
  ++ordinal_;
  if (have_last_ && row.time_ns < last_source_) {
    Diagnostic d = where;
    d.message = "time " + quote(time_text) + " is earlier than the previous row's " + quote(last_text_) +
                " (rows must be in time order)";
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
  return over_limit_ ? Step::Fail : Step::Next;
}

void Pipeline::finish() {
  if (pending_) emit_pending(pending_t_);
}

std::string_view Pipeline::model_for(const SourceRow& row) {
  switch (assign_) {
    case ModelAssign::FromColumn:
      return row.key;
    case ModelAssign::Hash: {
      std::uint64_t h = row.key.empty() ? mix64(ctx_.opt.seed ^ mix64(ordinal_))
                                        : mix64(ctx_.opt.seed ^ stable_hash(row.key));
      return names_[h % names_.size()];
    }
    case ModelAssign::Zipf: {
      double u = row.key.empty() ? zipf_rng_.uniform()
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

void Pipeline::rate_stage(std::int64_t t, std::string_view model, std::uint32_t in, std::uint32_t out,
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

void Pipeline::emit_pending(std::int64_t next_t) {
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

void Pipeline::emit(std::int64_t t, std::string_view model, std::uint32_t in, std::uint32_t out,
                    std::string_view prefix) {
  ImportReport& rep = ctx_.report;
  if (over_limit_) return;
  if (ctx_.opt.max_rows > 0 && rep.rows_written >= ctx_.opt.max_rows) {
    // Runaway output (a rate-only trace expanded over a long span, a large --rate-scale):
    // stop before the disk fills; the caller removes the partial file.
    over_limit_ = true;
    ctx_.fatal(ctx_.opt.input, 0, "",
               "the import would write more than " + std::to_string(ctx_.opt.max_rows) +
                   " rows (the limit; README \"Limits on work\"); " + ctx_.opt.narrow_hint);
    return;
  }
  if (rep.rows_written == 0) rep.first_time_s = to_seconds(t);
  rep.last_time_s = to_seconds(t);
  ++rep.rows_written;
  out_.write(t, model, in, out, prefix);
}

}  // namespace fleetsim::importers
