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

// `value` in double quotes for a diagnostic, the one way every reader shows an offending value:
// cut to its first 60 bytes plus "..." and its length when longer (a 10 MB field must not make a
// 10 MB line), and invisible or misleading bytes escaped so the user can see them — control
// characters and NUL as \x00, a UTF-8 byte order mark as \xEF\xBB\xBF, bytes that are not
// UTF-8 as \xNN, and '"' and '\' with a backslash. Printable UTF-8 text is shown as it is.
std::string quote(std::string_view value);

// "YYYY-MM-DD[T| ]HH:MM:SS[.fraction][Z|+HH:MM|-HH:MM|+HHMM]" -> nanoseconds since the Unix
// epoch (UTC; no zone = UTC). Fractions beyond 9 digits are truncated. Empty on a bad string,
// and on a date outside kIso8601Range (then `out_of_range`, when given, is set): nanoseconds
// since 1970 must fit 64 bits, and are never negative, so that the difference of two parsed
// times (readers make times relative to the first row's) cannot overflow either.
std::optional<std::int64_t> parse_iso8601_ns(std::string_view text, bool* out_of_range = nullptr);
inline constexpr const char* kIso8601Range = "1970-01-01T00:00:00Z .. 2262-04-11T23:47:16Z";

// A delimiter option: one character, or "tab" / "\t" for a tab. False for anything else and
// for a quote or a line break (those cannot separate fields on one line).
bool parse_delimiter(const std::string& text, char& out);

}  // namespace fleetsim
