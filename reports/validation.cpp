#include "reports/validation.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "reports/csv_reader.hpp"
#include "reports/request_log.hpp"
#include "reports/run_data.hpp"

namespace fleetsim {

namespace {

namespace fs = std::filesystem;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::optional<std::string> read_whole(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::optional<std::string> read_required(const fs::path& path, Diagnostics& errors) {
  auto text = read_whole(path);
  if (!text) errors.add({path.string(), 0, 0, "", "cannot read it (is this a run of fleetsim real, or real --simulated?)"});
  return text;
}

// The q-quantile of sorted values, interpolated between the two nearest ranks; NaN when empty.
double quantile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return kNaN;
  const double at = q * static_cast<double>(sorted.size() - 1);
  const auto lo = static_cast<std::size_t>(at);
  const std::size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (at - static_cast<double>(lo)) * (sorted[hi] - sorted[lo]);
}

double mean(const std::vector<double>& v) {
  if (v.empty()) return kNaN;
  double s = 0;
  for (double x : v) s += x;
  return s / static_cast<double>(v.size());
}

PairedError paired_error(const std::string& metric, const std::vector<std::pair<double, double>>& pairs) {
  PairedError e;
  e.metric = metric;
  std::vector<double> ape;
  double sx = 0, sy = 0;
  for (const auto& [sim, real] : pairs) {
    if (real > 0) ape.push_back(std::abs(sim - real) / real);
    sx += sim;
    sy += real;
  }
  e.pairs = pairs.size();
  e.mape = mean(ape);
  std::sort(ape.begin(), ape.end());
  e.median_ape = quantile(ape, 0.5);
  e.pearson_r = kNaN;
  if (pairs.size() >= 2) {
    const double n = static_cast<double>(pairs.size()), mx = sx / n, my = sy / n;
    double cxy = 0, cxx = 0, cyy = 0;
    for (const auto& [sim, real] : pairs) {
      cxy += (sim - mx) * (real - my);
      cxx += (sim - mx) * (sim - mx);
      cyy += (real - my) * (real - my);
    }
    if (cxx > 0 && cyy > 0) e.pearson_r = cxy / std::sqrt(cxx * cyy);
  }
  return e;
}

std::vector<DecisionLine> parse_decisions(const std::string& text, const std::string& file, Diagnostics& errors) {
  std::vector<DecisionLine> out;
  std::vector<std::size_t> at;
  read_csv(text, file, {"time_s", "decision"}, at, errors, [&](int line, const std::vector<std::string>& f) {
    DecisionLine d;
    if (!parse_number(f[at[0]], d.time_s)) {
      errors.add({file, line, 1, "time_s", "expected a number, got \"" + f[at[0]] + "\""});
      return;
    }
    d.what = f[at[1]];
    out.push_back(std::move(d));
  });
  return out;
}

DecisionComparison compare_decisions(std::vector<DecisionLine> sim, std::vector<DecisionLine> real) {
  DecisionComparison c;
  std::size_t common = 0;
  while (common < sim.size() && common < real.size() && sim[common].what == real[common].what) ++common;
  c.identical = common == sim.size() && common == real.size();
  if (!c.identical) c.first_divergence = common;
  std::vector<double> offsets;
  for (std::size_t i = 0; i < common; ++i) offsets.push_back(std::abs(real[i].time_s - sim[i].time_s));
  std::sort(offsets.begin(), offsets.end());
  c.max_time_offset_s = offsets.empty() ? 0 : offsets.back();
  c.median_time_offset_s = offsets.empty() ? 0 : quantile(offsets, 0.5);
  c.simulated = std::move(sim);
  c.real = std::move(real);
  return c;
}

struct OneRun {
  std::vector<RequestRow> requests;
  std::vector<ColdStartRow> cold_starts;
  std::vector<DecisionLine> decisions;
  double end_time_s = 0;
};

std::optional<OneRun> read_run(const std::string& dir, Diagnostics& errors) {
  const std::size_t before = errors.size();
  OneRun run;
  const fs::path d(dir);
  if (auto t = read_required(d / "requests.csv", errors)) run.requests = parse_requests_csv(*t, (d / "requests.csv").string(), errors);
  if (auto t = read_required(d / "cold_starts.csv", errors))
    run.cold_starts = parse_cold_starts_csv(*t, (d / "cold_starts.csv").string(), errors, nullptr);
  if (auto t = read_required(d / "decisions.csv", errors))
    run.decisions = parse_decisions(*t, (d / "decisions.csv").string(), errors);
  // Of result.json, only the run's end (the throughputs' denominator).
  if (auto t = read_required(d / "result.json", errors)) {
    const auto json = nlohmann::json::parse(*t, nullptr, false);
    const auto* end = json.is_object() && json.contains("run") && json["run"].is_object() && json["run"].contains("end_time_s")
                          ? &json["run"]["end_time_s"]
                          : nullptr;
    if (end && end->is_number())
      run.end_time_s = end->get<double>();
    else
      errors.add({(d / "result.json").string(), 0, 0, "run.end_time_s", "missing, or not a number"});
  }
  if (errors.size() != before) return std::nullopt;
  return run;
}

bool completed(const RequestRow& r) { return r.outcome == "completed"; }

struct Latencies {
  std::vector<double> ttft, e2e, tpot;
  double output_tokens = 0;
};
Latencies latencies(const std::vector<RequestRow>& requests) {
  Latencies l;
  for (const RequestRow& r : requests) {
    if (!completed(r)) continue;
    l.ttft.push_back(r.first_token_s - r.arrival_s);
    l.e2e.push_back(r.end_s - r.arrival_s);
    if (r.output_tokens > 1) l.tpot.push_back((r.end_s - r.first_token_s) / (r.output_tokens - 1));
    l.output_tokens += r.output_tokens;
  }
  for (auto* v : {&l.ttft, &l.e2e, &l.tpot}) std::sort(v->begin(), v->end());
  return l;
}

std::string percent(double error) {
  if (std::isnan(error)) return "-";
  char s[32];
  std::snprintf(s, sizeof s, "%+.1f%%", 100 * error);
  return s;
}

nlohmann::json number(double x) { return std::isfinite(x) ? nlohmann::json(x) : nlohmann::json(nullptr); }

}  // namespace

double ValidationFigure::error() const { return real != 0 ? (simulated - real) / real : kNaN; }

const ValidationFigure* Validation::figure(const std::string& name) const {
  for (const auto* list : {&latency, &cold_start_phases, &throughput})
    for (const ValidationFigure& f : *list)
      if (f.name == name) return &f;
  return nullptr;
}

bool Validation::latency_goals_met() const {
  for (const char* name : {"TTFT p50", "E2E p50"}) {
    const ValidationFigure* f = figure(name);
    if (!f || !(std::abs(f->error()) <= kGoalMedianError)) return false;
  }
  for (const char* name : {"TTFT p99", "E2E p99"}) {
    const ValidationFigure* f = figure(name);
    if (!f || !(std::abs(f->error()) <= kGoalP99Error)) return false;
  }
  return true;
}

std::optional<Validation> validate_runs(const std::string& simulated_dir, const std::string& real_dir,
                                        Diagnostics& errors) {
  auto sim = read_run(simulated_dir, errors);
  auto real = read_run(real_dir, errors);
  if (!sim || !real) return std::nullopt;
  Validation v;
  v.simulated_dir = simulated_dir;
  v.real_dir = real_dir;
  v.requests_simulated = sim->requests.size();
  v.requests_real = real->requests.size();

  std::map<std::string, std::pair<std::uint64_t, std::uint64_t>> outcomes;
  for (const RequestRow& r : sim->requests) ++outcomes[r.outcome].first;
  for (const RequestRow& r : real->requests) ++outcomes[r.outcome].second;
  v.outcomes.assign(outcomes.begin(), outcomes.end());

  // Cold starts: counts (abandoned ones included: they are decisions too) and phase means over
  // the ones that became ready.
  struct Phases {
    std::vector<double> pull, load, startup, pull_and_startup, total;
  };
  auto phases = [](const std::vector<ColdStartRow>& rows) {
    Phases p;
    for (const ColdStartRow& c : rows) {
      if (c.aborted) continue;
      p.pull.push_back(c.image_pull_s);
      p.load.push_back(c.weight_load_s);
      p.startup.push_back(c.engine_startup_s);
      p.pull_and_startup.push_back(c.image_pull_s + c.engine_startup_s);
      p.total.push_back(c.ready_s - c.placed_s);
    }
    return p;
  };
  v.cold_starts_simulated = sim->cold_starts.size();
  v.cold_starts_real = real->cold_starts.size();
  const Phases ps = phases(sim->cold_starts), pr = phases(real->cold_starts);
  v.cold_start_phases = {{"image pull mean", mean(ps.pull), mean(pr.pull)},
                         {"weight load mean", mean(ps.load), mean(pr.load)},
                         {"engine start-up mean", mean(ps.startup), mean(pr.startup)},
                         // Real mode times a worker's process start as the image pull, where a
                         // calibrated scenario has it as startup_time: the two together compare.
                         {"pull + start-up mean", mean(ps.pull_and_startup), mean(pr.pull_and_startup)},
                         {"cold start mean", mean(ps.total), mean(pr.total)}};

  const Latencies ls = latencies(sim->requests), lr = latencies(real->requests);
  for (const auto& [label, s, r] : {std::tuple{"TTFT", &ls.ttft, &lr.ttft}, std::tuple{"E2E", &ls.e2e, &lr.e2e}})
    for (const auto& [q, name] : {std::pair{0.5, "p50"}, std::pair{0.9, "p90"}, std::pair{0.99, "p99"}})
      v.latency.push_back({std::string(label) + " " + name, quantile(*s, q), quantile(*r, q)});
  v.latency.push_back({"TPOT p50", quantile(ls.tpot, 0.5), quantile(lr.tpot, 0.5)});
  auto per_second = [](double n, double t) { return t > 0 ? n / t : kNaN; };
  v.throughput = {{"completed requests/s", per_second(static_cast<double>(ls.e2e.size()), sim->end_time_s),
                   per_second(static_cast<double>(lr.e2e.size()), real->end_time_s)},
                  {"output tokens/s", per_second(ls.output_tokens, sim->end_time_s),
                   per_second(lr.output_tokens, real->end_time_s)}};

  // Request by request: serials are the arrival order, the same in both runs of one scenario.
  std::map<std::uint64_t, const RequestRow*> by_serial;
  for (const RequestRow& r : real->requests)
    if (completed(r)) by_serial[r.serial] = &r;
  std::vector<std::pair<double, double>> ttft, e2e;
  for (const RequestRow& s : sim->requests) {
    if (!completed(s)) continue;
    const auto it = by_serial.find(s.serial);
    if (it == by_serial.end()) continue;
    const RequestRow& r = *it->second;
    ttft.emplace_back(s.first_token_s - s.arrival_s, r.first_token_s - r.arrival_s);
    e2e.emplace_back(s.end_s - s.arrival_s, r.end_s - r.arrival_s);
  }
  v.ttft = paired_error("TTFT", ttft);
  v.e2e = paired_error("E2E", e2e);
  v.decisions = compare_decisions(std::move(sim->decisions), std::move(real->decisions));
  return v;
}

bool PolicyRanking::identical() const {
  return std::all_of(entries.begin(), entries.end(),
                     [](const RankingEntry& e) { return e.simulated_rank == e.real_rank; });
}

void rank(PolicyRanking& ranking) {
  auto& e = ranking.entries;
  for (RankingEntry& a : e) {
    a.simulated_rank = a.real_rank = 1;
    for (const RankingEntry& b : e) {
      if (b.simulated < a.simulated) ++a.simulated_rank;
      if (b.real < a.real) ++a.real_rank;
    }
  }
}

double mean_e2e_completed(const std::string& run_dir, Diagnostics& errors) {
  const fs::path file = fs::path(run_dir) / "requests.csv";
  auto text = read_required(file, errors);
  if (!text) return kNaN;
  return mean(latencies(parse_requests_csv(*text, file.string(), errors)).e2e);
}

std::string validation_table(const Validation& v) {
  std::string t;
  char line[256];
  auto row = [&](const ValidationFigure& f, bool seconds) {
    auto value = [&](double x) {
      if (std::isnan(x)) return std::string("-");
      return seconds ? format_latency(x) : format_fixed(x, x < 10 ? 3 : 1);
    };
    std::snprintf(line, sizeof line, "  %-22s %12s %12s %9s\n", f.name.c_str(), value(f.simulated).c_str(),
                  value(f.real).c_str(), percent(f.error()).c_str());
    t += line;
  };
  std::snprintf(line, sizeof line, "  %-22s %12s %12s %9s\n", "", "simulated", "real", "error");
  t += line;
  std::snprintf(line, sizeof line, "  %-22s %12llu %12llu %9s\n", "requests",
                static_cast<unsigned long long>(v.requests_simulated), static_cast<unsigned long long>(v.requests_real),
                v.requests_simulated == v.requests_real ? "same" : "DIFFER");
  t += line;
  for (const auto& [name, counts] : v.outcomes) {
    std::snprintf(line, sizeof line, "    %-20s %12llu %12llu\n", name.c_str(),
                  static_cast<unsigned long long>(counts.first), static_cast<unsigned long long>(counts.second));
    t += line;
  }
  for (const ValidationFigure& f : v.latency) row(f, true);
  for (const PairedError* p : {&v.ttft, &v.e2e}) {
    std::snprintf(line, sizeof line, "  %-22s %s over %llu paired requests (median %s), Pearson r %s\n",
                  (p->metric + " per request").c_str(), format_percent(p->mape, 1).c_str(),
                  static_cast<unsigned long long>(p->pairs), format_percent(p->median_ape, 1).c_str(),
                  format_fixed(p->pearson_r, 3).c_str());
    t += line;
  }
  std::snprintf(line, sizeof line, "  %-22s %12llu %12llu %9s\n", "cold starts",
                static_cast<unsigned long long>(v.cold_starts_simulated),
                static_cast<unsigned long long>(v.cold_starts_real), v.cold_starts_match() ? "exact" : "DIFFER");
  t += line;
  for (const ValidationFigure& f : v.cold_start_phases) row(f, true);
  for (const ValidationFigure& f : v.throughput) row(f, false);
  const DecisionComparison& d = v.decisions;
  std::snprintf(line, sizeof line, "  %-22s %12zu %12zu %9s\n", "decisions", d.simulated.size(), d.real.size(),
                d.identical ? "same" : "DIFFER");
  t += line;
  if (d.first_divergence) {
    const std::size_t i = *d.first_divergence;
    auto say = [&](const std::vector<DecisionLine>& log) {
      if (i >= log.size()) return std::string("(ended)");
      char s[200];
      std::snprintf(s, sizeof s, "%.3f s %s", log[i].time_s, log[i].what.c_str());
      return std::string(s);
    };
    t += "  first divergence at decision " + std::to_string(i + 1) + ": simulated " + say(d.simulated) +
         " | real " + say(d.real) + "\n";
  }
  std::snprintf(line, sizeof line, "  decision times: real after simulated by median %s, at most %s (common prefix)\n",
                format_latency(d.median_time_offset_s).c_str(), format_latency(d.max_time_offset_s).c_str());
  t += line;
  t += std::string("  goals (|p50 error| <= 5%, |p99 error| <= 10% on TTFT and E2E, cold starts exact): ") +
       (v.latency_goals_met() ? "latency met" : "latency MISSED") + ", cold starts " +
       (v.cold_starts_match() ? "exact" : "DIFFER") + "\n";
  return t;
}

std::string ranking_table(const PolicyRanking& r) {
  std::string t = "  ranking by mean E2E over " + r.key + " (1 = best):\n";
  char line[256];
  for (const RankingEntry& e : r.entries) {
    std::snprintf(line, sizeof line, "    %-24s simulated %10s (#%d)   real %10s (#%d)\n", e.value.c_str(),
                  format_latency(e.simulated).c_str(), e.simulated_rank, format_latency(e.real).c_str(), e.real_rank);
    t += line;
  }
  t += std::string("  the two modes rank them ") + (r.identical() ? "the same" : "DIFFERENTLY") + "\n";
  return t;
}

std::string validation_json(const std::vector<std::pair<std::string, Validation>>& runs,
                            const std::vector<PolicyRanking>& rankings) {
  using nlohmann::json;
  json out;
  out["goals"] = {{"median_error", kGoalMedianError}, {"p99_error", kGoalP99Error}};
  json list = json::array();
  for (const auto& [label, v] : runs) {
    json j;
    if (!label.empty()) j["label"] = label;
    j["simulated_dir"] = v.simulated_dir;
    j["real_dir"] = v.real_dir;
    j["requests"] = {{"simulated", v.requests_simulated}, {"real", v.requests_real}};
    json outcomes = json::object();
    for (const auto& [name, c] : v.outcomes) outcomes[name] = {{"simulated", c.first}, {"real", c.second}};
    j["outcomes"] = outcomes;
    auto figures = [](const std::vector<ValidationFigure>& fs) {
      json a = json::object();
      for (const ValidationFigure& f : fs)
        a[f.name] = {{"simulated", number(f.simulated)}, {"real", number(f.real)}, {"error", number(f.error())}};
      return a;
    };
    j["latency_s"] = figures(v.latency);
    j["cold_starts"] = {{"simulated", v.cold_starts_simulated},
                        {"real", v.cold_starts_real},
                        {"exact", v.cold_starts_match()},
                        {"phases_s", figures(v.cold_start_phases)}};
    j["throughput"] = figures(v.throughput);
    for (const PairedError* p : {&v.ttft, &v.e2e})
      j["per_request"][p->metric] = {{"pairs", p->pairs},
                                     {"mape", number(p->mape)},
                                     {"median_ape", number(p->median_ape)},
                                     {"pearson_r", number(p->pearson_r)}};
    const DecisionComparison& d = v.decisions;
    json side = json::array();
    for (std::size_t i = 0; i < std::max(d.simulated.size(), d.real.size()); ++i) {
      json row;
      if (i < d.simulated.size()) row["simulated"] = {{"time_s", d.simulated[i].time_s}, {"decision", d.simulated[i].what}};
      if (i < d.real.size()) row["real"] = {{"time_s", d.real[i].time_s}, {"decision", d.real[i].what}};
      side.push_back(row);
    }
    j["decisions"] = {{"identical", d.identical},
                      {"first_divergence", d.first_divergence ? json(*d.first_divergence) : json(nullptr)},
                      {"median_time_offset_s", d.median_time_offset_s},
                      {"max_time_offset_s", d.max_time_offset_s},
                      {"side_by_side", side}};
    j["goals_met"] = {{"latency", v.latency_goals_met()}, {"cold_starts", v.cold_starts_match()}};
    list.push_back(j);
  }
  out["runs"] = list;
  json ranks = json::array();
  for (const PolicyRanking& r : rankings) {
    json entries = json::array();
    for (const RankingEntry& e : r.entries)
      entries.push_back({{"value", e.value},
                         {"simulated_mean_e2e_s", number(e.simulated)},
                         {"real_mean_e2e_s", number(e.real)},
                         {"simulated_rank", e.simulated_rank},
                         {"real_rank", e.real_rank}});
    ranks.push_back({{"key", r.key}, {"identical", r.identical()}, {"entries", entries}});
  }
  out["rankings"] = ranks;
  return out.dump(2) + "\n";
}

}  // namespace fleetsim
