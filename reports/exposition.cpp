#include "reports/exposition.hpp"

#include <prometheus/text_serializer.h>

#include <algorithm>
#include <sstream>
#include <stdexcept>

namespace fleetsim::exposition {

namespace {

// Labels as prometheus-cpp orders them in a ClientMetric: by name.
std::vector<prometheus::ClientMetric::Label> client_labels(const Labels& labels) {
  std::vector<prometheus::ClientMetric::Label> out;
  out.reserve(labels.size());
  for (const auto& [name, value] : labels) out.push_back({name, value});
  std::sort(out.begin(), out.end());
  return out;
}

prometheus::Labels registry_labels(const Labels& labels) { return {labels.begin(), labels.end()}; }

}  // namespace

Families::Declared& Families::declare(const std::string& name, Kind kind) {
  if (by_name_.count(name)) throw std::logic_error("metric family declared twice: " + name);
  by_name_[name] = declared_.size();
  Declared& d = declared_.emplace_back();
  d.name = name;
  d.kind = kind;
  return d;
}

Families::Declared& Families::find(const std::string& name, Kind kind) {
  const auto it = by_name_.find(name);
  if (it == by_name_.end() || declared_[it->second].kind != kind)
    throw std::logic_error("sample of an undeclared metric family (or one of another type): " + name);
  return declared_[it->second];
}

void Families::counter(const std::string& name, const std::string& help) {
  declare(name, Kind::Counter).counter = &prometheus::BuildCounter().Name(name).Help(help).Register(registry_);
}

void Families::gauge(const std::string& name, const std::string& help) {
  declare(name, Kind::Gauge).gauge = &prometheus::BuildGauge().Name(name).Help(help).Register(registry_);
}

void Families::histogram(const std::string& name, const std::string& help, std::vector<double> bounds) {
  Declared& d = declare(name, Kind::Histogram);
  d.histogram = &prometheus::BuildHistogram().Name(name).Help(help).Register(registry_);
  d.bounds = std::move(bounds);
}

void Families::summary(const std::string& name, const std::string& help) {
  Declared& d = declare(name, Kind::Summary);
  d.summary.name = name;
  d.summary.help = help;
  d.summary.type = prometheus::MetricType::Summary;
}

void Families::add(const std::string& name, const Labels& labels, double value) {
  const auto it = by_name_.find(name);
  if (it == by_name_.end()) throw std::logic_error("sample of an undeclared metric family: " + name);
  Declared& d = declared_[it->second];
  if (d.kind == Kind::Counter) {
    // A counter only goes up from 0: a result's total is one increment.
    d.counter->Add(registry_labels(labels)).Increment(value);
  } else if (d.kind == Kind::Gauge) {
    d.gauge->Add(registry_labels(labels)).Set(value);
  } else {
    throw std::logic_error("add() on a summary or histogram: " + name);
  }
  d.order.push_back(client_labels(labels));
}

void Families::add_summary(const std::string& name, const Labels& labels, std::uint64_t count, double sum,
                           const std::vector<std::pair<double, double>>& quantiles) {
  Declared& d = find(name, Kind::Summary);
  prometheus::ClientMetric& m = d.summary.metric.emplace_back();
  m.label = client_labels(labels);
  m.summary.sample_count = count;
  m.summary.sample_sum = sum;
  for (const auto& [q, v] : quantiles) m.summary.quantile.push_back({q, v});
}

void Families::add_histogram(const std::string& name, const Labels& labels, const std::vector<std::uint64_t>& counts,
                             double sum) {
  Declared& d = find(name, Kind::Histogram);
  if (counts.size() != d.bounds.size() + 1)
    throw std::logic_error("histogram " + name + ": " + std::to_string(counts.size()) + " bucket counts for " +
                           std::to_string(d.bounds.size()) + " bounds");
  const std::vector<double> increments(counts.begin(), counts.end());
  d.histogram->Add(registry_labels(labels), d.bounds).ObserveMultiple(increments, sum);
  d.order.push_back(client_labels(labels));
}

std::vector<prometheus::MetricFamily> Families::collect() const {
  std::map<std::string, prometheus::MetricFamily> collected;
  for (prometheus::MetricFamily& f : registry_.Collect()) collected[f.name] = std::move(f);
  std::vector<prometheus::MetricFamily> out;
  out.reserve(declared_.size());
  for (const Declared& d : declared_) {
    if (d.kind == Kind::Summary) {
      out.push_back(d.summary);
      continue;
    }
    prometheus::MetricFamily f = std::move(collected.at(d.name));
    std::map<std::vector<prometheus::ClientMetric::Label>, std::size_t> rank;
    for (std::size_t i = 0; i < d.order.size(); ++i) rank.emplace(d.order[i], i);
    std::stable_sort(f.metric.begin(), f.metric.end(),
                     [&](const prometheus::ClientMetric& a, const prometheus::ClientMetric& b) {
                       return rank.at(a.label) < rank.at(b.label);
                     });
    out.push_back(std::move(f));
  }
  return out;
}

std::string Families::text() const { return serialize(collect()); }

std::string serialize(const std::vector<prometheus::MetricFamily>& families) {
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, families);
  return out.str();
}

}  // namespace fleetsim::exposition
