// Internal to reports/: builds metric families with prometheus-cpp and writes them in the
// Prometheus text format. Included only by prometheus.cpp (result.prom) and metrics_server.cpp
// (the live /metrics endpoint), so that prometheus-cpp's headers stay out of every widely
// included header.
//
// Counters, gauges and histograms live in a prometheus::Registry, which checks metric and label
// names. Summaries are filled in directly: a run's quantiles come from its own sketch
// (sim/quantile_sketch.hpp) and prometheus::Summary can only estimate quantiles of values it
// observed itself.
//
// collect() returns the families in the order they were declared and each family's samples in
// the order they were added: the Registry groups families by type and keeps a family's samples
// in a hash map, which would scatter model="all" among the models. The text is what
// prometheus::TextSerializer writes (format 0.0.4): labels in alphabetical order, summaries as
// _count, _sum and then the quantiles, NaN spelled `Nan`, no # UNIT lines and no # EOF.
#pragma once
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/metric_family.h>
#include <prometheus/registry.h>

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace fleetsim::exposition {

using Labels = std::vector<std::pair<std::string, std::string>>;

class Families {
 public:
  // Declares a family; its samples follow with add().
  void counter(const std::string& name, const std::string& help);
  void gauge(const std::string& name, const std::string& help);
  void summary(const std::string& name, const std::string& help);
  void histogram(const std::string& name, const std::string& help, std::vector<double> bounds);

  // A counter's or a gauge's sample.
  void add(const std::string& name, const Labels& labels, double value);
  // A summary's sample: quantiles as (q, value) pairs.
  void add_summary(const std::string& name, const Labels& labels, std::uint64_t count, double sum,
                   const std::vector<std::pair<double, double>>& quantiles);
  // A histogram's sample: one count per bucket (not cumulative; the last is above every bound).
  void add_histogram(const std::string& name, const Labels& labels, const std::vector<std::uint64_t>& counts,
                     double sum);

  std::vector<prometheus::MetricFamily> collect() const;
  std::string text() const;

 private:
  enum class Kind { Counter, Gauge, Summary, Histogram };
  struct Declared {
    std::string name;
    Kind kind;
    // The family in registry_ (the one of its kind), or none for a summary.
    prometheus::Family<prometheus::Counter>* counter = nullptr;
    prometheus::Family<prometheus::Gauge>* gauge = nullptr;
    prometheus::Family<prometheus::Histogram>* histogram = nullptr;
    std::vector<double> bounds;
    std::vector<std::vector<prometheus::ClientMetric::Label>> order;  // samples as added
    prometheus::MetricFamily summary;                                  // Kind::Summary only
  };
  Declared& declare(const std::string& name, Kind kind);
  Declared& find(const std::string& name, Kind kind);

  prometheus::Registry registry_;
  std::vector<Declared> declared_;
  std::map<std::string, std::size_t> by_name_;
};

std::string serialize(const std::vector<prometheus::MetricFamily>& families);

}  // namespace fleetsim::exposition
