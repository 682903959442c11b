#include "policies/api/random.hpp"

#include <cmath>

namespace fleetsim {
namespace {

std::uint64_t splitmix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

}  // namespace

std::uint64_t stable_hash(std::string_view text) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : text) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

RngStream::RngStream(std::uint64_t run_seed, std::string_view name) {
  std::uint64_t state = run_seed ^ rotl(stable_hash(name), 17);
  for (auto& word : s_) word = splitmix64(state);
}

double RngStream::uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }

std::uint64_t RngStream::below(std::uint64_t n) {
  // Lemire's rejection keeps the result unbiased for any n.
  if (n == 0) return 0;
  std::uint64_t threshold = (0 - n) % n;
  for (;;) {
    std::uint64_t r = next_u64();
    if (r >= threshold) return r % n;
  }
}

double RngStream::exponential(double mean) { return -mean * std::log1p(-uniform()); }

double RngStream::normal(double mean, double stddev) {
  if (has_spare_) {
    has_spare_ = false;
    return mean + stddev * spare_normal_;
  }
  double u, v, s;
  do {
    u = 2.0 * uniform() - 1.0;
    v = 2.0 * uniform() - 1.0;
    s = u * u + v * v;
  } while (s >= 1.0 || s == 0.0);
  double factor = std::sqrt(-2.0 * std::log(s) / s);
  spare_normal_ = v * factor;
  has_spare_ = true;
  return mean + stddev * u * factor;
}

double RngStream::lognormal(double mu, double sigma) { return std::exp(normal(mu, sigma)); }

double RngStream::gamma(double shape, double scale) {
  if (shape < 1.0) {
    // Boost to shape+1 and scale back: X * U^(1/shape) (Marsaglia & Tsang, 2000, section 6).
    double u = uniform();
    return gamma(shape + 1.0, scale) * std::pow(u == 0.0 ? 0x1.0p-53 : u, 1.0 / shape);
  }
  const double d = shape - 1.0 / 3.0;
  const double c = 1.0 / std::sqrt(9.0 * d);
  for (;;) {
    double x, v;
    do {
      x = normal(0.0, 1.0);
      v = 1.0 + c * x;
    } while (v <= 0.0);
    v = v * v * v;
    double u = uniform();
    if (u < 1.0 - 0.0331 * x * x * x * x) return d * v * scale;
    if (std::log(u) < 0.5 * x * x + d * (1.0 - v + std::log(v))) return d * v * scale;
  }
}

}  // namespace fleetsim
