// Text helpers shared by every trace reader (see text.hpp).
#include "traces/text.hpp"

#include <fast_float/fast_float.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "sim/time.hpp"

namespace fleetsim {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool is_blank(std::string_view s) { return trim(s).empty(); }

bool parse_double(std::string_view text, double& out) {
  text = trim(text);
  if (text.empty()) return false;
  if (text.front() == '+') text.remove_prefix(1);
  auto r = fast_float::from_chars(text.data(), text.data() + text.size(), out);
  return r.ec == std::errc() && r.ptr == text.data() + text.size() && std::isfinite(out);
}

std::string quote(std::string_view value) {
  constexpr std::size_t kMax = 60;
  const std::size_t size = value.size();
  // Cut at a character boundary: never inside a UTF-8 sequence (whose bytes would show escaped).
  std::size_t keep = std::min(size, kMax);
  if (keep < size)
    while (keep > 0 && (static_cast<unsigned char>(value[keep]) & 0xC0) == 0x80) --keep;
  const std::string_view shown = value.substr(0, keep);
  std::string out = "\"";
  auto hex = [&out](unsigned char c) {
    static const char kDigits[] = "0123456789ABCDEF";
    out += "\\x";
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  };
  for (std::size_t i = 0; i < shown.size();) {
    const auto c = static_cast<unsigned char>(shown[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
      ++i;
      continue;
    }
    if (c < 0x80) {
      if (c < 0x20 || c == 0x7F) hex(c);
      else out += static_cast<char>(c);
      ++i;
      continue;
    }
    // A well-formed UTF-8 sequence (no overlong forms or surrogates) is shown as it is, except
    // the byte order mark U+FEFF; any other byte is escaped on its own.
    const std::size_t n = c >= 0xF0 && c <= 0xF4 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 && c <= 0xDF ? 2 : 0;
    bool ok = n > 0 && i + n <= shown.size();
    for (std::size_t k = 1; ok && k < n; ++k) ok = (static_cast<unsigned char>(shown[i + k]) & 0xC0) == 0x80;
    if (ok && n == 3) {
      const auto c1 = static_cast<unsigned char>(shown[i + 1]);
      ok = !(c == 0xE0 && c1 < 0xA0) && !(c == 0xED && c1 >= 0xA0);
    }
    if (ok && n == 4) {
      const auto c1 = static_cast<unsigned char>(shown[i + 1]);
      ok = !(c == 0xF0 && c1 < 0x90) && !(c == 0xF4 && c1 >= 0x90);
    }
    const bool bom = ok && shown.substr(i, n) == "\xEF\xBB\xBF";
    if (ok && !bom) {
      out.append(shown.substr(i, n));
      i += n;
    } else if (bom) {
      for (std::size_t k = 0; k < n; ++k) hex(static_cast<unsigned char>(shown[i + k]));
      i += n;
    } else {
      hex(c);
      ++i;
    }
  }
  out += '"';
  if (keep < size) out.insert(out.size() - 1, "...").append(" (" + std::to_string(size) + " bytes)");
  return out;
}

std::optional<std::int64_t> parse_iso8601_ns(std::string_view s, bool* out_of_range) {
  if (out_of_range) *out_of_range = false;
  s = trim(s);
  std::size_t i = 0;
  auto digits = [&](int n, int& out) {
    if (i + static_cast<std::size_t>(n) > s.size()) return false;
    out = 0;
    for (int k = 0; k < n; ++k) {
      char c = s[i + static_cast<std::size_t>(k)];
      if (c < '0' || c > '9') return false;
      out = out * 10 + (c - '0');
    }
    i += static_cast<std::size_t>(n);
    return true;
  };
  auto expect = [&](char c) {
    if (i < s.size() && s[i] == c) {
      ++i;
      return true;
    }
    return false;
  };
  int y, mo, d, h, mi, sec;
  if (!digits(4, y) || !expect('-') || !digits(2, mo) || !expect('-') || !digits(2, d)) return std::nullopt;
  if (!(expect('T') || expect(' ') || expect('t'))) return std::nullopt;
  if (!digits(2, h) || !expect(':') || !digits(2, mi) || !expect(':') || !digits(2, sec)) return std::nullopt;
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (mo < 1 || mo > 12 || d < 1 || d > kDays[mo - 1] + (mo == 2 && leap ? 1 : 0) || h > 23 || mi > 59 ||
      sec > 60)
    return std::nullopt;
  std::int64_t frac = 0;
  if (expect('.') || expect(',')) {
    int n = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      if (n < 9) frac = frac * 10 + (s[i] - '0');
      ++n;
      ++i;
    }
    if (n == 0) return std::nullopt;
    for (int k = n; k < 9; ++k) frac *= 10;
  }
  std::int64_t offset_s = 0;
  if (i < s.size()) {
    if (s[i] == 'Z' || s[i] == 'z') {
      ++i;
    } else if (s[i] == '+' || s[i] == '-') {
      const int sign = s[i] == '-' ? -1 : 1;
      ++i;
      int oh, om = 0;
      if (!digits(2, oh)) return std::nullopt;
      if (expect(':')) {
        if (!digits(2, om)) return std::nullopt;
      } else if (i < s.size()) {
        if (!digits(2, om)) return std::nullopt;
      }
      if (oh > 23 || om > 59) return std::nullopt;
      offset_s = sign * (oh * 3600 + om * 60);
    }
  }
  if (i != s.size()) return std::nullopt;
  // Days since 1970-01-01 (H. Hinnant's days_from_civil).
  const int yy = y - (mo <= 2 ? 1 : 0);
  const int era = (yy >= 0 ? yy : yy - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(yy - era * 400);
  const unsigned doy = static_cast<unsigned>((153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1);
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  const std::int64_t days = static_cast<std::int64_t>(era) * 146097 + static_cast<std::int64_t>(doe) - 719468;
  // Years have 4 digits, so `seconds` is within +-3.2e11; only the scaling to nanoseconds can
  // overflow (after 2262-04-11), which is checked before multiplying.
  const std::int64_t seconds = days * 86400 + h * 3600 + mi * 60 + sec - offset_s;
  if (seconds < 0 || seconds > (std::numeric_limits<std::int64_t>::max() - frac) / kSecond) {
    if (out_of_range) *out_of_range = true;
    return std::nullopt;
  }
  return seconds * kSecond + frac;
}
bool parse_delimiter(const std::string& text, char& out) {
  std::string d = text;
  if (d == "tab" || d == "\\t") d = "\t";
  if (d.size() != 1 || d == "\"" || d == "\n" || d == "\r") return false;
  out = d[0];
  return true;
}

}  // namespace fleetsim
