// philly-runtime: philly_runtime.csv, the run times of Microsoft's Philly cluster jobs (column
// `runtime`, seconds), read into an empirical distribution for synthetic jobs.
#include <algorithm>
#include <cmath>

#include "traces/jobs/common.hpp"
#include "traces/text.hpp"

namespace fleetsim {

using job_readers::kMaxListErrors;
using job_readers::number;
using job_readers::NumCheck;
using job_readers::Row;
using job_readers::Table;

EmpiricalDistribution::EmpiricalDistribution(std::vector<double> values) : values_(std::move(values)) {
  std::sort(values_.begin(), values_.end());
}

double EmpiricalDistribution::sample(RngStream& rng) const {
  if (values_.empty()) return 0;
  return values_[static_cast<std::size_t>(rng.below(values_.size()))];
}

double EmpiricalDistribution::quantile(double q) const {
  if (values_.empty()) return 0;
  if (!(q > 0)) return values_.front();
  if (q >= 1) return values_.back();
  const double pos = q * static_cast<double>(values_.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(pos));
  if (lo + 1 >= values_.size()) return values_.back();
  const double frac = pos - static_cast<double>(lo);
  return values_[lo] + frac * (values_[lo + 1] - values_[lo]);
}

double EmpiricalDistribution::mean() const {
  if (values_.empty()) return 0;
  double s = 0;
  for (double v : values_) s += v;
  return s / static_cast<double>(values_.size());
}

EmpiricalDistribution read_philly_runtimes(const std::string& path, Diagnostics& errors) {
  Table t;
  if (!t.open(path, "run-time file", errors)) return {};
  const std::size_t before = errors.size();
  const int i = t.header.find(path, "runtime", true, errors);
  if (errors.size() != before) return {};
  std::vector<double> values;
  bool ok = true;
  while (t.next(errors, ok)) {
    const Row row = t.row();
    double v = 0;
    NumCheck c = number(row, i, v, "a run time in seconds >= 0");
    if (!c.reason && v < 0) c = {"bad-value", row.at(i, "expected a run time in seconds >= 0, got " + quote(row.text(i)))};
    if (c.reason) {
      ok = false;
      if (errors.size() - before < kMaxListErrors) errors.add(std::move(c.diag));
      continue;
    }
    values.push_back(v);
  }
  if (ok && values.empty()) {
    errors.add(Diagnostic{path, std::max(t.reader.line(), 1), 0, "", "no run times (the file has a header only)"});
    return {};
  }
  if (!ok) return {};
  return EmpiricalDistribution(std::move(values));
}


}  // namespace fleetsim
