#include "traces/generators.hpp"

#include <algorithm>
#include <cmath>

namespace fleetsim {

// Its per-arrival state within the bytes the engine prefetches (generators.hpp); only the
// adapters' stream lies past them.
static_assert(sizeof(GeneratedSource) <= RequestSource::kHotBytes + 64);

GeneratedSource::GeneratedSource(const WorkloadSpec& spec, std::uint64_t seed, SimTime duration,
                                 std::size_t adapters, std::uint32_t prefix_block_tokens)
    : kind_(spec.arrivals),
      model_(spec.model),
      rate_(spec.rate),
      cv_(spec.cv),
      amplitude_(spec.amplitude),
      on_(spec.on),
      off_(spec.off),
      period_(spec.period),
      peak_(spec.peak),
      start_(spec.start),
      duration_(duration),
      arrivals_(seed, "arrivals/" + spec.name),
      output_tokens_(seed, "output_tokens/" + spec.name),
      input_tokens_(seed, "input_tokens/" + spec.name),
      input_lengths_(spec.input_tokens),
      output_lengths_(spec.output_tokens),
      adapters_(seed, "adapters/" + spec.name) {
  if (spec.prefixes.any()) prefixes_ = std::make_unique<SyntheticPrefixes>(spec, seed, prefix_block_tokens, duration);
  if (spec.adapter_zipf < 0 || adapters == 0) return;
  double total = 0;
  for (std::size_t k = 1; k <= adapters; ++k) {
    total += 1.0 / std::pow(static_cast<double>(k), spec.adapter_zipf);
    adapter_cdf_.push_back(total);
  }
  for (double& c : adapter_cdf_) c /= total;
}

bool GeneratedSource::next(Arrival& out, Diagnostics&) {
  if (!fresh_pending_ && !fresh_ended_) {
    fresh_pending_ = next_fresh_time();
    fresh_ended_ = !fresh_pending_;
  }
  // A conversation's next turn goes first when it is due no later than the next new arrival.
  if (prefixes_ && prefixes_->next_turn() != kNever && (!fresh_pending_ || prefixes_->next_turn() <= fresh_time_)) {
    out.model = model_;
    prefixes_->follow_up(out, input_tokens_, output_tokens_);
    return true;
  }
  if (!fresh_pending_) return false;
  fresh_pending_ = false;
  out.time = fresh_time_;
  out.model = model_;
  out.output_tokens = output_lengths_.draw(output_tokens_);
  out.adapter = kNoAdapter;
  if (!adapter_cdf_.empty()) {
    const double u = adapters_.uniform();
    out.adapter = static_cast<std::uint32_t>(std::upper_bound(adapter_cdf_.begin(), adapter_cdf_.end(), u) -
                                             adapter_cdf_.begin());
    out.adapter = std::min<std::uint32_t>(out.adapter, static_cast<std::uint32_t>(adapter_cdf_.size() - 1));
  }
  out.prefix_hashes = {};
  if (prefixes_)
    prefixes_->start(out, input_tokens_);
  else
    out.input_tokens = input_lengths_.draw(input_tokens_);
  return true;
}

bool GeneratedSource::next_fresh_time() {
  if (rate_ <= 0) return false;
  const double mean_gap = 1.0 / rate_;
  switch (kind_) {
    case WorkloadSpec::Arrivals::Gamma: {
      const double shape = 1.0 / (cv_ * cv_);
      clock_ += arrivals_.gamma(shape, mean_gap / shape);
      break;
    }
    case WorkloadSpec::Arrivals::Diurnal: {  // thinning (Lewis and Shedler) under the peak rate
      const double top = rate_ * (1 + amplitude_);
      // No candidate's rate is below `lowest` as computed below (cos >= -1, and rounding is
      // monotonic), so a draw under it is accepted without the cosine: the same arrivals, a
      // third fewer cosines at amplitude 0.5.
      const double lowest = rate_ * (1 - std::abs(amplitude_));
      const double period = to_seconds(period_), peak = to_seconds(peak_);
      // Nor is the cosine needed where the last one computed decides: it moves by at most
      // omega (its argument's rate) a second, so the rate now is within rate · |amplitude| ·
      // omega · (clock - cos_at_) of the rate then; only a draw inside that band, or a little
      // more (every rounding of the argument, the cosine and the rate, under 1e-12 of the
      // magnitudes), takes a new cosine. A day's period moves the rate 0.007% of its mean a
      // minute, so most candidates are decided so. The arrivals are the same to the nanosecond.
      const double omega = 2 * M_PI / period;
      const double rounding = rate_ * (1 + std::abs(amplitude_)) * 1e-12;
      for (;;) {
        clock_ += arrivals_.exponential(1.0 / top);
        const double draw = arrivals_.uniform() * top;
        if (draw <= lowest) break;
        const double drift = omega * (clock_ - cos_at_) * (1 + 1e-11) + 1e-12 * (1 + omega * std::abs(clock_ - peak));
        const double centre = rate_ * (1 + amplitude_ * cos_value_), spread = rate_ * std::abs(amplitude_) * drift;
        // (Before the first cosine, cos_at_ = -infinity makes the band infinite: neither test passes.)
        if (draw <= centre - spread - rounding) break;
        if (!(draw > centre + spread + rounding)) {
          cos_at_ = clock_;
          cos_value_ = std::cos(2 * M_PI * (clock_ - peak) / period);
          const double now_rate = rate_ * (1 + amplitude_ * cos_value_);
          if (draw <= now_rate) break;
        }
        if (clock_ >= to_seconds(duration_ - start_)) break;
      }
      break;
    }
    default: clock_ += arrivals_.exponential(mean_gap); break;
  }
  double wall = clock_;
  if (kind_ == WorkloadSpec::Arrivals::OnOff) {
    const double on = to_seconds(on_);
    const double period = on + to_seconds(off_);
    const double cycles = std::floor(clock_ / on);
    wall = cycles * period + (clock_ - cycles * on);
  }
  // Compare before converting: a huge gap must end the stream, not wrap the int64 clock.
  if (wall >= to_seconds(duration_ - start_)) return false;
  const SimTime t = start_ + from_seconds(wall);
  if (t >= duration_) return false;
  fresh_time_ = t;
  return true;
}

}  // namespace fleetsim
