// Reading timeseries.csv back (run_data.hpp): each (model, series) through a reducer that keeps
// it whole up to kMaxWholeSeries samples and min/max per time bucket beyond; with a list of the
// models to keep, every other model's rows summed per series and sample time into "other".
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>
#include <sstream>

#include "reports/csv_reader.hpp"
#include "reports/run_data.hpp"

namespace fleetsim {

namespace {

// One series as it is read: whole up to kMaxWholeSeries samples, then min/max per time bucket
// (run_data.hpp says why and how wide).
class SeriesReducer {
 public:
  void add(double t, double v) {
    const Point p{t, v, count_ ? t - prev_t_ : t, count_};
    prev_t_ = t;
    if (count_ == 0 || before(p, first_)) first_ = p;
    if (count_ == 0 || !before(p, last_)) last_ = p;
    ++count_;
    if (buckets_.empty()) {
      if (whole_.size() < kMaxWholeSeries) {
        whole_.push_back(p);
        return;
      }
      start_buckets(last_.t);
    }
    put(p);
  }

  void finish(RunSeries& s) {
    s.samples = count_;
    std::vector<Point> kept;
    if (buckets_.empty()) {
      kept = std::move(whole_);
    } else {
      s.bucket_s = width_;
      for (const Bucket& b : buckets_) {
        if (b.n == 0) continue;
        s.bucket_means.emplace_back(b.t_end, b.sum / static_cast<double>(b.n));
        kept.push_back(b.lo);
        if (b.hi.seq != b.lo.seq) kept.push_back(b.hi);
      }
      kept.push_back(first_);
      kept.push_back(last_);
      std::sort(kept.begin(), kept.end(), before);
      kept.erase(std::unique(kept.begin(), kept.end(), [](const Point& a, const Point& b) { return a.seq == b.seq; }),
                 kept.end());
      std::vector<Bucket>().swap(buckets_);
    }
    s.time_s.reserve(kept.size());
    s.value.reserve(kept.size());
    s.interval_s.reserve(kept.size());
    for (const Point& p : kept) {
      s.time_s.push_back(p.t);
      s.value.push_back(p.v);
      s.interval_s.push_back(p.dt);
    }
  }

 private:
  struct Point {
    double t = 0, v = 0, dt = 0;
    std::uint64_t seq = 0;  // its place in the series, for ties and duplicates
  };
  struct Bucket {
    Point lo, hi;
    double sum = 0, t_end = 0;  // of its samples: the sum of values, the latest time
    std::uint64_t n = 0;        // 0: empty
    void take(const Point& p) { take(Bucket{p, p, p.v, p.t, 1}); }
    void take(const Bucket& b) {  // ties keep the earlier sample (b comes after this one)
      if (b.n == 0) return;
      if (n == 0 || b.lo.v < lo.v) lo = b.lo;
      if (n == 0 || b.hi.v > hi.v) hi = b.hi;
      if (n == 0 || b.t_end > t_end) t_end = b.t_end;
      sum += b.sum;
      n += b.n;
    }
  };
  static bool before(const Point& a, const Point& b) { return a.t < b.t || (a.t == b.t && a.seq < b.seq); }

  // The narrowest power-of-two width whose buckets reach past `t_max`; then the whole samples
  // go into them.
  void start_buckets(double t_max) {
    int k = -30;  // 1 ns: below a sample interval any run can have
    while (std::ldexp(1.0, k) * static_cast<double>(kMaxSeriesBuckets) <= t_max) ++k;
    width_ = std::ldexp(1.0, k);
    buckets_.assign(kMaxSeriesBuckets, Bucket{});
    for (const Point& p : whole_) put(p);
    std::vector<Point>().swap(whole_);  // its memory back, not just its size
  }

  void put(const Point& p) {
    while (width_ * static_cast<double>(kMaxSeriesBuckets) <= p.t) {
      for (std::size_t k = 0; k < buckets_.size(); ++k) {  // pairs merge: k -> k/2, in place
        const Bucket b = buckets_[k];
        buckets_[k] = Bucket{};
        buckets_[k / 2].take(b);
      }
      width_ *= 2;
    }
    buckets_[static_cast<std::size_t>(p.t / width_)].take(p);
  }

  std::vector<Point> whole_;
  std::vector<Bucket> buckets_;  // empty while the series is kept whole
  double width_ = 0;
  Point first_, last_;  // earliest and latest sample
  std::uint64_t count_ = 0;
  double prev_t_ = 0;
};

// The sum of one series over the models not kept, per sample time. timeseries.csv writes every
// model's rows of a sample time before the next time's, so a time's sum is complete — and handed
// to the reducer — once a row of a later time arrives; only the times not yet complete are held.
// (A row that comes after a later time's, in a file written otherwise, becomes a sample of its
// own at its time.)
class SumReducer {
 public:
  void add(double t, double v) {
    while (!pending_.empty() && pending_.begin()->first < t) flush_first();
    pending_[t] += v;
  }
  void finish(RunSeries& s) {
    while (!pending_.empty()) flush_first();
    reducer_.finish(s);
  }

 private:
  void flush_first() {
    reducer_.add(pending_.begin()->first, pending_.begin()->second);
    pending_.erase(pending_.begin());
  }
  std::map<double, double> pending_;
  SeriesReducer reducer_;
};

}  // namespace

TimeSeriesData parse_timeseries_csv(std::istream& text, const std::string& file, Diagnostics& errors,
                                    const std::vector<std::string>& keep) {
  TimeSeriesData out;
  std::vector<SeriesReducer> reducers;
  std::map<std::pair<std::string, std::string>, std::size_t> where;
  // Models not in `keep`: their names (to count them) and, per series name, the running sum.
  const std::set<std::string> kept(keep.begin(), keep.end());
  std::set<std::string> summed;
  std::vector<SumReducer> sums;
  std::map<std::string, std::size_t> sum_where;
  const std::vector<std::string> columns{"time_s", "model", "series", "value"};
  std::vector<std::size_t> at;
  read_csv(text, file, columns, at, errors, [&](int line, const std::vector<std::string>& f) {
    double t = 0, v = 0;
    bool ok = true;
    if (!parse_number(f[at[0]], t) || t < 0) {
      errors.add({file, line, static_cast<int>(at[0]) + 1, "time_s",
                  "expected a time in seconds >= 0, got \"" + f[at[0]] + "\""});
      ok = false;
    }
    if (!parse_number(f[at[3]], v)) {
      errors.add({file, line, static_cast<int>(at[3]) + 1, "value", "expected a number, got \"" + f[at[3]] + "\""});
      ok = false;
    }
    if (f[at[1]].empty() || f[at[2]].empty()) {
      errors.add({file, line, 0, "", "model and series must not be empty"});
      ok = false;
    }
    if (!ok) return;
    if (!kept.empty() && f[at[1]] != "all" && !kept.count(f[at[1]])) {
      if (!summed.count(f[at[1]])) summed.insert(f[at[1]]);
      auto it = sum_where.find(f[at[2]]);
      if (it == sum_where.end()) {
        it = sum_where.emplace(f[at[2]], out.others.size()).first;
        out.others.emplace_back();
        out.others.back().name = f[at[2]];
        sums.emplace_back();
      }
      sums[it->second].add(t, v);
      return;
    }
    auto key = std::make_pair(f[at[1]], f[at[2]]);
    auto it = where.find(key);
    if (it == where.end()) {
      it = where.emplace(key, out.series.size()).first;
      out.series.emplace_back();
      out.series.back().model = key.first;
      out.series.back().name = key.second;
      reducers.emplace_back();
    }
    reducers[it->second].add(t, v);
  });
  for (std::size_t i = 0; i < reducers.size(); ++i) reducers[i].finish(out.series[i]);
  out.other_models = summed.size();
  for (std::size_t i = 0; i < sums.size(); ++i) {
    sums[i].finish(out.others[i]);
    out.others[i].model = other_models_label(summed.size());
  }
  return out;
}

TimeSeriesData parse_timeseries_csv(const std::string& text, const std::string& file, Diagnostics& errors,
                                    const std::vector<std::string>& keep) {
  std::istringstream in(text);
  return parse_timeseries_csv(in, file, errors, keep);
}

}  // namespace fleetsim
