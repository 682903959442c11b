#include "sim/perf_table.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <string_view>
#include <utility>
#include <fast_float/fast_float.h>

namespace fleetsim {

namespace {

constexpr double kInfinity = std::numeric_limits<double>::infinity();

// Piecewise linear through (xs[i], ys[i]), xs strictly increasing: clamped below the first point,
// above the last extrapolated from the last two with a slope of at least zero. (1 − t)·a + t·b
// gives a measured value exactly at its own point.
double interpolate(const std::vector<double>& xs, const std::vector<double>& ys, double x) {
  const std::size_t n = xs.size();
  if (n == 1 || x <= xs.front()) return ys.front();
  if (x >= xs.back()) {
    const double slope = std::max(0.0, (ys[n - 1] - ys[n - 2]) / (xs[n - 1] - xs[n - 2]));
    return ys[n - 1] + (x - xs[n - 1]) * slope;
  }
  const std::size_t j = static_cast<std::size_t>(std::upper_bound(xs.begin(), xs.end(), x) - xs.begin()) - 1;
  const double t = (x - xs[j]) / (xs[j + 1] - xs[j]);
  return (1 - t) * ys[j] + t * ys[j + 1];
}

// The same, clamped at both ends (a batch's own measurements, for filling the grid).
double interpolate_clamped(const std::vector<double>& xs, const std::vector<double>& ys, double x) {
  if (x >= xs.back()) return ys.back();
  return interpolate(xs, ys, x);
}

std::vector<std::string_view> split(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  for (;;) {
    const std::size_t comma = line.find(',', start);
    out.push_back(line.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
    if (comma == std::string_view::npos) return out;
    start = comma + 1;
  }
}

bool parse_double(std::string_view text, double& value) {
  if (text.empty()) return false;
  const auto result = fast_float::from_chars(text.data(), text.data() + text.size(), value);
  return result.ec == std::errc() && result.ptr == text.data() + text.size() && std::isfinite(value);
}

}  // namespace

PerfTable::PerfTable(std::vector<PrefillPoint> prefill, std::vector<DecodePoint> decode) {
  // Averages, summed in the given order.
  std::map<double, std::pair<double, int>> pre;
  for (const PrefillPoint& p : prefill) {
    auto& [sum, count] = pre[p.tokens];
    sum += p.seconds;
    ++count;
  }
  for (const auto& [tokens, acc] : pre) {
    prefill_tokens_.push_back(tokens);
    prefill_seconds_.push_back(acc.first / acc.second);
  }

  std::map<std::pair<double, double>, std::pair<double, int>> dec;
  std::set<double> batch_set, context_set;
  for (const DecodePoint& p : decode) {
    auto& [sum, count] = dec[{p.batch, p.context}];
    sum += p.seconds;
    ++count;
    batch_set.insert(p.batch);
    context_set.insert(p.context);
  }
  batches_.assign(batch_set.begin(), batch_set.end());
  contexts_.assign(context_set.begin(), context_set.end());
  const std::size_t nb = batches_.size(), nc = contexts_.size();
  grid_.assign(nb * nc, 0);
  measured_.assign(nb * nc, 0);
  // Each batch's own measurements, by context.
  std::vector<std::vector<double>> own_contexts(nb), own_values(nb);
  for (const auto& [key, acc] : dec) {
    const std::size_t i = static_cast<std::size_t>(
        std::lower_bound(batches_.begin(), batches_.end(), key.first) - batches_.begin());
    const std::size_t j = static_cast<std::size_t>(
        std::lower_bound(contexts_.begin(), contexts_.end(), key.second) - contexts_.begin());
    grid_[i * nc + j] = acc.first / acc.second;
    measured_[i * nc + j] = 1;
    own_contexts[i].push_back(key.second);  // map order: ascending context within a batch
    own_values[i].push_back(acc.first / acc.second);
  }
  std::size_t ref = 0;
  for (std::size_t i = 1; i < nb; ++i)
    if (own_contexts[i].size() > own_contexts[ref].size()) ref = i;
  for (std::size_t i = 0; i < nb; ++i)
    for (std::size_t j = 0; j < nc; ++j) {
      if (measured_[i * nc + j]) continue;
      const double c = contexts_[j];
      const double near = std::clamp(c, own_contexts[i].front(), own_contexts[i].back());
      const double growth = interpolate_clamped(own_contexts[ref], own_values[ref], c) /
                            interpolate_clamped(own_contexts[ref], own_values[ref], near);
      grid_[i * nc + j] = interpolate_clamped(own_contexts[i], own_values[i], near) * growth;
    }
}

std::optional<std::vector<PerfTable::Row>> PerfTable::read_rows(const std::string& path, const std::string& key,
                                                                Diagnostics& errors) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    errors.add(Diagnostic{path, 0, 0, key, "cannot open the performance table"});
    return std::nullopt;
  }
  std::string line;
  if (!std::getline(in, line)) {
    errors.add(Diagnostic{path, 1, 0, key, "the performance table is empty (expected a header line)"});
    return std::nullopt;
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  const std::vector<std::string_view> header = split(line);
  enum Column { kModel, kHardware, kPrompt, kBatch, kTokens, kPromptTime, kTokenTime, kTp, kColumns };
  static constexpr const char* kNames[kColumns] = {"model",       "hardware",   "prompt_size", "batch_size",
                                                   "token_size",  "prompt_time", "token_time", "tensor_parallel"};
  std::size_t at[kColumns];
  bool header_ok = true;
  for (int c = 0; c < kColumns; ++c) {
    const auto it = std::find(header.begin(), header.end(), kNames[c]);
    at[c] = static_cast<std::size_t>(it - header.begin());
    if (it == header.end()) {
      errors.add(Diagnostic{path, 1, 0, key,
                            std::string("the header has no column \"") + kNames[c] +
                                "\" (expected the Splitwise profile columns: model, hardware, prompt_size, "
                                "batch_size, token_size, prompt_time, token_time, tensor_parallel, ...)"});
      header_ok = false;
    }
  }
  if (!header_ok) return std::nullopt;

  std::vector<Row> rows;
  int line_no = 1, problems = 0;
  auto problem = [&](const std::string& message) {
    if (++problems <= kMaxRowErrors) errors.add(Diagnostic{path, line_no, 0, key, message});
  };
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    const std::vector<std::string_view> cells = split(line);
    if (cells.size() != header.size()) {
      problem("row has " + std::to_string(cells.size()) + " fields, the header " + std::to_string(header.size()));
      continue;
    }
    Row row;
    row.model = std::string(cells[at[kModel]]);
    row.hardware = std::string(cells[at[kHardware]]);
    bool ok = true;
    auto whole = [&](Column c, int& out) {
      double v = 0;
      const std::string_view text = cells[at[c]];
      if (!parse_double(text, v) || v < 1 || v != std::floor(v) || v > 1e9) {
        problem(std::string(kNames[c]) + ": expected a whole number >= 1, got \"" + std::string(text) + "\"");
        ok = false;
        return;
      }
      out = static_cast<int>(v);
    };
    auto time = [&](Column c, double& out) {
      const std::string_view text = cells[at[c]];
      if (text.empty()) {  // not measured by this row (fleetsim calibrate's tables)
        out = 0;
        return;
      }
      if (!parse_double(text, out)) {
        problem(std::string(kNames[c]) + ": expected a number of milliseconds, got \"" + std::string(text) + "\"");
        ok = false;
      } else if (out <= 0) {
        problem(std::string(kNames[c]) + ": must be > 0 ms, got " + std::string(text));
        ok = false;
      }
    };
    whole(kPrompt, row.prompt_size);
    whole(kBatch, row.batch_size);
    whole(kTokens, row.token_size);
    whole(kTp, row.tensor_parallel);
    time(kPromptTime, row.prompt_ms);
    time(kTokenTime, row.token_ms);
    if (ok && row.prompt_ms == 0 && row.token_ms == 0) {
      problem("prompt_time and token_time are both empty: a row measures at least one of them");
      ok = false;
    }
    if (ok) rows.push_back(std::move(row));
  }
  if (problems > kMaxRowErrors)
    errors.add(Diagnostic{path, 0, 0, key, std::to_string(problems - kMaxRowErrors) + " more bad rows not shown"});
  if (problems > 0) return std::nullopt;
  return rows;
}

std::optional<PerfTable> PerfTable::select(const std::vector<Row>& rows, const std::string& model,
                                           const std::string& hardware, int tensor_parallel, const std::string& path,
                                           const std::string& key, Diagnostics& errors) {
  std::vector<PrefillPoint> prefill;
  std::vector<DecodePoint> decode;
  std::set<std::string> held;
  for (const Row& r : rows) {
    held.insert(r.model + " / " + r.hardware + " / TP " + std::to_string(r.tensor_parallel));
    if (r.model != model || r.hardware != hardware || r.tensor_parallel != tensor_parallel) continue;
    if (r.prompt_ms > 0)
      prefill.push_back(PrefillPoint{static_cast<double>(r.batch_size) * r.prompt_size, r.prompt_ms * 1e-3});
    if (r.token_ms > 0)
      decode.push_back(DecodePoint{static_cast<double>(r.batch_size), r.prompt_size + 0.5 * r.token_size,
                                   r.token_ms * 1e-3});
  }
  if (!prefill.empty() != !decode.empty()) {
    errors.add(Diagnostic{path, 0, 0, key,
                          "the rows for model \"" + model + "\", hardware \"" + hardware + "\" measure " +
                              (prefill.empty() ? "no prefill (prompt_time)" : "no decode step (token_time)") +
                              ": a table needs both"});
    return std::nullopt;
  }
  if (prefill.empty()) {
    std::string list;
    for (const std::string& h : held) list += (list.empty() ? "" : ", ") + h;
    errors.add(Diagnostic{path, 0, 0, key,
                          "no rows for model \"" + model + "\", hardware \"" + hardware + "\", tensor_parallel " +
                              std::to_string(tensor_parallel) + " (the file holds " +
                              (list.empty() ? std::string("no rows") : list) + ")"});
    return std::nullopt;
  }
  return PerfTable(std::move(prefill), std::move(decode));
}

std::optional<PerfTable> PerfTable::load(const std::string& path, const std::string& model, const std::string& hardware,
                                         int tensor_parallel, const std::string& key, Diagnostics& errors) {
  const auto rows = read_rows(path, key, errors);
  if (!rows) return std::nullopt;
  return select(*rows, model, hardware, tensor_parallel, path, key, errors);
}

double PerfTable::prefill_seconds(double tokens) const {
  return interpolate(prefill_tokens_, prefill_seconds_, tokens);
}

PerfTable::BatchWeights PerfTable::batch_weights(double batch) const {
  const std::size_t n = batches_.size();
  if (n == 1 || batch <= batches_.front()) return {0, 0, 0};
  if (batch >= batches_.back()) return {n - 2, n - 1, (batch - batches_[n - 2]) / (batches_[n - 1] - batches_[n - 2])};
  const std::size_t i =
      static_cast<std::size_t>(std::upper_bound(batches_.begin(), batches_.end(), batch) - batches_.begin()) - 1;
  return {i, i + 1, (batch - batches_[i]) / (batches_[i + 1] - batches_[i])};
}

double PerfTable::column(const BatchWeights& bw, std::size_t j) const {
  const double a = cell(bw.i0, j), b = cell(bw.i1, j);
  if (bw.w <= 1) return (1 - bw.w) * a + bw.w * b;
  return b + (bw.w - 1) * std::max(0.0, b - a);  // above the last batch, never decreasing
}

namespace {

// The step time at one batch as a function of context per sequence: piecewise linear with breaks
// at the grid's contexts. `at(x)` is its value; `next_break(x)` the first break above x (or
// infinity) and `slope_after(x)` its slope on [x, next_break(x)).
template <class Column>
struct StepCurve {
  const std::vector<double>& xs;
  Column col;  // col(j): the step time at xs[j]

  double at(double x) const {
    const std::size_t n = xs.size();
    if (n == 1 || x <= xs.front()) return col(0);
    if (x >= xs.back()) return col(n - 1) + (x - xs.back()) * last_slope();
    const std::size_t j = static_cast<std::size_t>(std::upper_bound(xs.begin(), xs.end(), x) - xs.begin()) - 1;
    const double t = (x - xs[j]) / (xs[j + 1] - xs[j]);
    return (1 - t) * col(j) + t * col(j + 1);
  }
  double last_slope() const {
    const std::size_t n = xs.size();
    return n == 1 ? 0.0 : std::max(0.0, (col(n - 1) - col(n - 2)) / (xs[n - 1] - xs[n - 2]));
  }
  double next_break(double x) const {
    const auto it = std::upper_bound(xs.begin(), xs.end(), x);
    return it == xs.end() ? kInfinity : *it;
  }
};

template <class Column>
StepCurve<Column> curve(const std::vector<double>& xs, Column col) {
  return StepCurve<Column>{xs, col};
}

}  // namespace

double PerfTable::step_seconds(double batch, double context) const {
  const BatchWeights bw = batch_weights(batch);
  return curve(contexts_, [&](std::size_t j) { return column(bw, j); }).at(context);
}

double PerfTable::decode_seconds(double steps, double batch, double context) const {
  if (steps <= 0 || batch <= 0) return 0;
  const BatchWeights bw = batch_weights(batch);
  const auto c = curve(contexts_, [&](std::size_t j) { return column(bw, j); });
  const double end = context / batch + steps;
  double x = context / batch, total = 0, sx = c.at(x);
  while (x < end) {
    const double to = std::min(end, c.next_break(x));
    const double sto = c.at(to);
    total += (to - x) * 0.5 * (sx + sto);  // the step time is linear on [x, to]
    x = to;
    sx = sto;
  }
  return total;
}

double PerfTable::decode_steps_in(double seconds, double batch, double context) const {
  if (seconds <= 0 || batch <= 0) return 0;
  const BatchWeights bw = batch_weights(batch);
  const auto c = curve(contexts_, [&](std::size_t j) { return column(bw, j); });
  const double start = context / batch;
  double x = start, left = seconds;
  for (;;) {
    const double sx = c.at(x), to = c.next_break(x);
    double slope = 0;
    if (to == kInfinity) {
      slope = c.last_slope();  // past the last context
    } else {
      const double sto = c.at(to);
      const double piece = (to - x) * 0.5 * (sx + sto);
      if (piece < left) {
        left -= piece;
        x = to;
        continue;
      }
      slope = (sto - sx) / (to - x);
    }
    // slope·d²/2 + sx·d = left, in the cancellation-free form.
    const double d = 2 * left / (sx + std::sqrt(std::max(0.0, sx * sx + 2 * slope * left)));
    return x + d - start;
  }
}

}  // namespace fleetsim
