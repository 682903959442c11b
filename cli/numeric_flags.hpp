// Numeric command-line flags read by the scenario file's rules. CLI11 (2.1) converts an
// unsigned option with strtoull, which takes "-5" as 2^64 - 5 and saturates
// "99999999999999999999" to 2^64 - 1 without a word, and reads "010" as octal; a scenario file
// rejects all of those. These validators run on the text before CLI11 converts it: they accept
// a plain decimal number (optional sign, the whole text), check the range, and hand CLI11 the
// canonical decimal form (so they are added with ->transform(), which may change the text;
// ->check() would hand CLI11 the original); anything else is an error naming the flag (exit 2), e.g.
// "--seed: must be >= 0 (got \"-1\")".
#pragma once
#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>

namespace fleetsim {

// The largest seed a scenario file accepts (2^53 - 1: exact as a JSON number).
constexpr std::int64_t kMaxSeed = 9007199254740991;

// An integer flag in [min, max].
CLI::Validator integer_in(std::int64_t min, std::int64_t max);

// A finite decimal number flag in [min, max] ("1.5", "2e-3"; not "nan", "inf" or hex).
CLI::Validator number_in(double min, double max);

}  // namespace fleetsim
