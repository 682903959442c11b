// Small text helpers shared by every trace reader (request importers, job and cluster trace
// readers, the delimited-line splitter): trimming, numbers, quoting values in diagnostics,
// ISO 8601 times, delimiter options.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace fleetsim {

// `s` without leading and trailing spaces and tabs.
std::string_view trim(std::string_view s);

// Empty once trimmed.
bool is_blank(std::string_view s);

// A finite decimal number (an optional leading '+', no other characters once trimmed) into `out`.
bool parse_double(std::string_view text, double& out);

// `value` in double quotes for a diagnostic, cut to 60 characters plus "..." when longer.
std::string quote(std::string_view value);

// "YYYY-MM-DD[T| ]HH:MM:SS[.fraction][Z|+HH:MM|-HH:MM|+HHMM]" -> nanoseconds since the Unix
// epoch (UTC; no zone = UTC). Fractions beyond 9 digits are truncated. Empty on a bad string.
std::optional<std::int64_t> parse_iso8601_ns(std::string_view text);

// A delimiter option: one character, or "tab" / "\t" for a tab. False for anything else and
// for a quote or a line break (those cannot separate fields on one line).
bool parse_delimiter(const std::string& text, char& out);

}  // namespace fleetsim
