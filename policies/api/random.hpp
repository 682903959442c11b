// RngStream: a named, seeded random stream (xoshiro256**, seeded through splitmix64 from the run
// seed and a stable name). Each random source of a simulation owns its stream, so drawing more
// from one never shifts another's numbers (ns-3's rule). The distributions are our own: std::
// distributions differ between standard libraries, and results must be byte-identical everywhere.
// Part of the policy API (a policy gets its own stream in its PolicyContext); implemented in
// policies/api/random.cpp (in the SDK library, fleetsim::sdk).
#pragma once
#include <cstdint>
#include <string_view>

namespace fleetsim {

class RngStream {
 public:
  RngStream() : RngStream(0, "") {}
  RngStream(std::uint64_t run_seed, std::string_view name);

  // (These two in the header, so that callers inline them: every other draw starts with them,
  // and an arrival of a generated workload takes several.)
  std::uint64_t next_u64() {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }
  double uniform() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }  // [0, 1), 53 random bits
  double uniform(double lo, double hi);    // [lo, hi)
  std::uint64_t below(std::uint64_t n);    // [0, n), unbiased
  double exponential(double mean);
  double normal(double mean, double stddev);  // Marsaglia polar method
  double lognormal(double mu, double sigma);  // exp(normal(mu, sigma))
  double gamma(double shape, double scale);   // Marsaglia-Tsang; shape > 0

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::uint64_t s_[4];
  double spare_normal_ = 0;
  bool has_spare_ = false;
};

// FNV-1a 64: the stable hash that turns a stream name into seed material.
std::uint64_t stable_hash(std::string_view text);

}  // namespace fleetsim
