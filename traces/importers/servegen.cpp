// servegen: ServeGen per-client workload statistics (alibaba/ServeGen, data/*/<model>/
// chunk-<N>-trace.csv windows + chunk-<N>-dataset.json token-length PMFs): not a request log;
// requests are generated per client and window, then merged in time order.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <queue>
#include <regex>

#include "traces/delimited.hpp"
#include "traces/importers/common.hpp"
#include "traces/text.hpp"

namespace fleetsim::importers {

namespace {

namespace fs = std::filesystem;

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

// What is wrong with a window row: the skip reason, the field (-1: the row) and the message.
struct RowProblem {
  const char* reason;
  int field;
  std::string message;
};

// One trace row `window_start,rate,cv,pattern,param1,param2` (n fields, as split_line counted
// them) into `row` (start, rate, cv); its first problem otherwise. The one set of rules for
// reading and for estimating an import's size. Whether starts increase is the caller's check.
std::optional<RowProblem> parse_window_row(const std::vector<std::string>& f, int n, WindowRow& row) {
  if (n != 6)
    return RowProblem{"wrong-field-count", -1,
                      "expected 6 fields (window_start,rate,cv,pattern,param1,param2), got " + std::to_string(n)};
  double v[3] = {0, 0, 0};
  for (int k = 0; k < 3; ++k) {
    const std::string& field = f[static_cast<std::size_t>(k)];
    if (!parse_double(field, v[k]) || v[k] < 0)
      return RowProblem{k == 0 ? "bad-time" : "bad-number", k, "expected a number >= 0, got " + quote(field)};
  }
  // A window start past 100 years (as in the native trace) does not fit in SimTime (UBSan,
  // found by fuzzing: 1.3e111 s).
  if (v[0] > 3.15e9)
    return RowProblem{"bad-time", 0, "expected seconds from 0 to 3.15e9 (100 years), got " + quote(f[0])};
  // Bounds that keep generation finite. A gap under 1 ns rounds to 0 and time stops: a rate of
  // 1e12/s made arrivals at one instant without end. A Gamma renewal count over a window exceeds
  // rate x length by about cv^2 / 2, so cv = 4e62 never left its window. The public data peaks at
  // 2,442 requests/s and cv 797.
  constexpr double kMaxRate = 1e6, kMaxCv = 1000;
  if (v[1] > kMaxRate) return RowProblem{"bad-number", 1, "expected a rate <= 1e6 requests/s, got " + quote(f[1])};
  if (v[2] > kMaxCv) return RowProblem{"bad-number", 2, "expected a cv <= 1000, got " + quote(f[2])};
  row.start = from_seconds(v[0]);
  row.rate = v[1];
  row.cv = v[2];
  return std::nullopt;
}

// A window lasts until the next row's start; the last one as long as the one before it, 600 s
// when it is alone.
constexpr std::int64_t kFirstWindowLength = 600 * kSecond;

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
      const int n = split_line(line, ',', true, fields_, starts_);
      static const char* kNames[] = {"window_start", "rate", "cv"};
      WindowRow row;
      row.line = line_no_;
      if (std::optional<RowProblem> p = parse_window_row(fields_, n, row)) {
        const auto k = static_cast<std::size_t>(p->field);
        Diagnostic d{trace_path, line_no_, p->field < 0 ? 1 : starts_[k], p->field < 0 ? "" : kNames[k],
                     std::move(p->message)};
        if (!ctx.reject(std::move(d), p->reason)) return false;
        continue;
      }
      if (have_last_start_ && row.start <= last_start_) {
        Diagnostic d{
            trace_path, line_no_, 1, kNames[0],
            "window start " + quote(fields_[0]) + " does not come after the previous window's"};
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
  std::int64_t last_len_ = kFirstWindowLength;
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

// A client: its trace.csv and the dataset.json beside it (which may not exist).
struct Found {
  long number;
  std::string name, trace, dataset;
};

// The clients of INPUT in client order: a folder's chunk-<N>-trace.csv files, or the one file
// given. Empty, with `error` set, when a folder has none.
std::vector<Found> find_clients(const std::string& input, std::string& error) {
  std::vector<Found> found;
  static const std::regex kTrace(R"(chunk-(\d+)-trace\.csv)");
  std::error_code ec;
  auto dataset_for = [](const fs::path& trace) {
    std::string s = trace.filename().string();
    s.replace(s.size() - std::string("trace.csv").size(), std::string::npos, "dataset.json");
    return (trace.parent_path() / s).string();
  };
  if (fs::is_directory(input, ec)) {
    for (const auto& entry : fs::directory_iterator(input, ec)) {
      std::smatch m;
      const std::string fname = entry.path().filename().string();
      if (!std::regex_match(fname, m, kTrace)) continue;
      found.push_back(
          {std::stol(m[1].str()), "client-" + m[1].str(), entry.path().string(), dataset_for(entry.path())});
    }
    if (found.empty()) error = "no chunk-<N>-trace.csv files in this folder";
  } else {
    const fs::path p(input);
    std::smatch m;
    const std::string fname = p.filename().string();
    if (std::regex_match(fname, m, kTrace))
      found.push_back({std::stol(m[1].str()), "client-" + m[1].str(), p.string(), dataset_for(p)});
    else
      found.push_back({0, p.stem().string(), p.string(), ""});
  }
  std::sort(found.begin(), found.end(), [](const Found& a, const Found& b) { return a.number < b.number; });
  return found;
}

// The arrivals one client's windows promise inside [ws, we): rate × the overlap of each window,
// windows as Client reads them (bad and out-of-order rows skipped, which the import itself then
// reports or skips). The Gamma renewal count of a window has this mean, within about cv²/2.
double expected_arrivals(const std::string& trace, std::int64_t ws, std::int64_t we) {
  std::ifstream in(trace, std::ios::binary);
  std::string line;
  std::vector<std::string> fields;
  std::vector<int> starts;
  std::optional<WindowRow> cur;
  std::int64_t last_len = kFirstWindowLength;
  double total = 0;
  auto add = [&](const WindowRow& w, std::int64_t end) {
    last_len = end - w.start;
    const std::int64_t from = std::max(w.start, ws), to = std::min(end, we);
    if (to > from) total += w.rate * static_cast<double>(to - from) * 1e-9;
  };
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (is_blank(line)) continue;
    WindowRow row;
    if (parse_window_row(fields, split_line(line, ',', true, fields, starts), row)) continue;
    if (cur && row.start <= cur->start) continue;
    if (cur) {
      if (cur->start >= we) return total;
      add(*cur, row.start);
    }
    cur = row;
  }
  if (cur && cur->start < we) add(*cur, cur->start + last_len);
  return total;
}

bool read_servegen(Context& ctx, Pipeline& pipe) {
  const ImportOptions& o = ctx.opt;
  std::error_code ec;
  std::string error;
  const std::vector<Found> found = find_clients(o.input, error);
  if (!error.empty()) {
    ctx.fatal(o.input, 0, "", error);
    return false;
  }

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

class ServeGen final : public RequestFormat {
 public:
  bool reads_folder() const override { return true; }
  bool rebase() const override { return false; }  // window starts are relative already
  // One model per folder, named after it, unless the user assigns models.
  ModelAssign default_assign(const ImportOptions& o, std::string& fixed) const override {
    fixed = folder_name(o.input);
    return ModelAssign::Fixed;
  }
  void check_key(const ImportOptions&, Diagnostics&) const override {}  // the key: "client-<N>"
  bool read(Context& ctx, Pipeline& pipe) override { return read_servegen(ctx, pipe); }
  // Every client's rates × window lengths inside --window, × --rate-scale (its mean effect).
  std::optional<RowEstimate> estimated_rows(const ImportOptions& o) const override {
    std::string error;
    const std::int64_t ws = o.window_start ? from_seconds(*o.window_start) : 0;
    const std::int64_t we = o.window_end ? from_seconds(*o.window_end) : kNever;
    double rows = 0;
    for (const Found& f : find_clients(o.input, error)) rows += expected_arrivals(f.trace, ws, we);
    return RowEstimate{rows * o.rate_scale, "rates × window lengths"};
  }
};

}  // namespace

std::unique_ptr<RequestFormat> make_servegen() { return std::make_unique<ServeGen>(); }

}  // namespace fleetsim::importers
