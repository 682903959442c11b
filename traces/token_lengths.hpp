// Token counts drawn per request from a scenario's length distribution (sim/scenario.hpp).
#pragma once
#include <cstdint>

#include "sim/rng.hpp"
#include "sim/scenario.hpp"

namespace fleetsim {

// A distribution of token counts, ready to draw from per request: a draw is rounded to the
// nearest whole number (halves away from zero), at least 1 and at most 2e9.
class TokenLengths {
 public:
  explicit TokenLengths(const Distribution& d);
  std::uint32_t draw(RngStream& rng) const;

 private:
  Distribution d_;
  double log_median_ = 0;  // lognormal: log(median), taken once
};

// One token count drawn from `d`, as TokenLengths(d).draw(rng) (for draws made once).
std::uint32_t draw_tokens(const Distribution& d, RngStream& rng);

}  // namespace fleetsim
