#include "traces/token_lengths.hpp"

#include <algorithm>
#include <cmath>

namespace fleetsim {

TokenLengths::TokenLengths(const Distribution& d)
    : d_(d), log_median_(d.kind == Distribution::Kind::Lognormal ? std::log(d.a) : 0.0) {}

std::uint32_t TokenLengths::draw(RngStream& rng) const {
  double v = 0;
  switch (d_.kind) {
    case Distribution::Kind::Fixed: v = d_.a; break;
    case Distribution::Kind::Uniform:  // integers in [a, b], each equally likely
      v = d_.a + static_cast<double>(rng.below(static_cast<std::uint64_t>(d_.b - d_.a) + 1));
      break;
    case Distribution::Kind::Lognormal: v = rng.lognormal(log_median_, d_.b); break;
    case Distribution::Kind::Exponential: v = rng.exponential(d_.a); break;
  }
  if (d_.max > 0) v = std::min(v, d_.max);
  // std::clamp(std::round(v), 1.0, 2e9) without libm's round: below 1.5 (or NaN) rounds to at
  // most 1; from 2e9 - 0.5 to at least 2e9; between, the whole part plus one from a fraction of
  // a half (the fraction v - whole is exact).
  constexpr double kMaxTokens = 2e9;
  if (!(v >= 1.5)) return 1;
  if (v >= kMaxTokens - 0.5) return static_cast<std::uint32_t>(kMaxTokens);
  const auto whole = static_cast<std::uint32_t>(v);
  return whole + (v - whole >= 0.5 ? 1 : 0);
}

std::uint32_t draw_tokens(const Distribution& d, RngStream& rng) { return TokenLengths(d).draw(rng); }

}  // namespace fleetsim
