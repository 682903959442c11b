#include "traces/request_csv.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fast_float/fast_float.h>
#include <string_view>

#include "traces/text.hpp"

namespace fleetsim {

namespace {
constexpr const char* kHeader = "timestamp,model,input_tokens,output_tokens";
constexpr const char* kHeaderWithHashes = "timestamp,model,input_tokens,output_tokens,prefix_hashes";
constexpr const char* kColumns[] = {"timestamp", "model", "input_tokens", "output_tokens", "prefix_hashes"};
constexpr std::size_t kMaxHashes = 1u << 20;  // 512 Mi tokens at Mooncake's 512 per block
}  // namespace

RequestCsvReader::RequestCsvReader(std::string path,
                                   TraceModelNames models,
                                   SimTime time_offset)
    : path_(std::move(path)), models_(std::move(models)), offset_(time_offset), in_(path_) {}

bool RequestCsvReader::fail(Diagnostics& errors, int column, const std::string& field,
                            const std::string& message) {
  errors.add(Diagnostic{path_, line_number_, column, field, message});
  return false;
}

bool RequestCsvReader::next(Arrival& out, Diagnostics& errors) {
  if (!in_) {
    if (line_number_ == 0) {
      line_number_ = 1;
      return fail(errors, 0, "", "cannot open the trace file");
    }
    return false;
  }
  while (std::getline(in_, line_)) {
    ++line_number_;
    if (!line_.empty() && line_.back() == '\r') line_.pop_back();
    if (!header_checked_) {
      header_checked_ = true;
      // A UTF-8 byte order mark (spreadsheet exports) is not part of the header, as in every
      // other reader (traces/delimited.cpp).
      if (line_.rfind("\xEF\xBB\xBF", 0) == 0) line_.erase(0, 3);
      hashes_column_ = line_ == kHeaderWithHashes;
      if (line_ != kHeader && !hashes_column_)
        return fail(errors, 1, "header", std::string("expected the header \"") + kHeader + "\" (or with \"," +
                                             kColumns[4] + "\" after it), got " + quote(line_));
      continue;
    }
    if (line_.empty()) continue;
    const std::size_t columns = hashes_column_ ? 5 : 4;
    std::string_view fields[5];
    int starts[5] = {0, 0, 0, 0, 0};
    std::size_t count = 0, begin = 0;
    for (std::size_t i = 0; i <= line_.size(); ++i) {
      if (i == line_.size() || line_[i] == ',') {
        if (count < columns) {
          fields[count] = std::string_view(line_).substr(begin, i - begin);
          starts[count] = static_cast<int>(begin) + 1;
        }
        ++count;
        begin = i + 1;
      }
    }
    // The native format has no quoting (model names hold no commas or quotes, and the importers
    // refuse names that would need it): a quoted field is refused as such, not misread.
    for (std::size_t k = 0; k < std::min(count, columns); ++k)
      if (!fields[k].empty() && fields[k].front() == '"')
        return fail(errors, starts[k], kColumns[k],
                    "quoted fields are not supported in the native trace (no field needs quotes), got " +
                        quote(fields[k]));
    if (count != columns)
      return fail(errors, 1, "", "expected " + std::to_string(columns) + " fields (" +
                                     (hashes_column_ ? kHeaderWithHashes : kHeader) + "), got " +
                                     std::to_string(count));
    double seconds = 0;
    auto r = fast_float::from_chars(fields[0].data(), fields[0].data() + fields[0].size(), seconds);
    if (r.ec != std::errc() || r.ptr != fields[0].data() + fields[0].size() ||
        !std::isfinite(seconds) || seconds < 0 || seconds > 3.15e9)
      return fail(errors, starts[0], kColumns[0],
                  "expected seconds from 0 to 3.15e9 (100 years), got " + quote(fields[0]));
    const SimTime t = offset_ + from_seconds(seconds);
    if (rows_ > 0 && t < last_time_)
      return fail(errors, starts[0], kColumns[0],
                  "timestamps must not decrease (" + quote(fields[0]) +
                      " comes after a later one)");
    auto model = models_.find(std::string(fields[1]));
    if (model == models_.end())
      return fail(errors, starts[1], kColumns[1],
                  "unknown model " + quote(fields[1]) + " (not in the scenario)");
    std::uint32_t tokens[2];
    for (int k = 0; k < 2; ++k) {
      std::string_view f = fields[2 + k];
      std::uint64_t v = 0;
      auto rr = std::from_chars(f.data(), f.data() + f.size(), v);
      if (rr.ec != std::errc() || rr.ptr != f.data() + f.size() || v < 1 || v > 2000000000)
        return fail(errors, starts[2 + k], kColumns[2 + k],
                    "expected an integer >= 1, got " + quote(f));
      tokens[k] = static_cast<std::uint32_t>(v);
    }
    hashes_.clear();
    if (hashes_column_) {  // space-separated unsigned integers; may be empty (no prefix)
      const std::string_view f = fields[4];
      std::size_t i = 0;
      while (i < f.size()) {
        if (f[i] == ' ') {
          ++i;
          continue;
        }
        std::uint64_t h = 0;
        auto rr = std::from_chars(f.data() + i, f.data() + f.size(), h);
        if (rr.ec != std::errc() || (rr.ptr != f.data() + f.size() && *rr.ptr != ' '))
          return fail(errors, starts[4] + static_cast<int>(i), kColumns[4],
                      "expected space-separated unsigned integers, got " + quote(f));
        if (hashes_.size() == kMaxHashes)
          return fail(errors, starts[4], kColumns[4],
                      "more than " + std::to_string(kMaxHashes) + " prefix hashes in one row");
        hashes_.push_back(h);
        i = static_cast<std::size_t>(rr.ptr - f.data());
      }
    }
    out = Arrival{};
    out.time = t;
    out.model = model->second.model;
    out.input_tokens = tokens[0];
    out.output_tokens = tokens[1];
    out.adapter = model->second.adapter;
    out.prefix_hashes = hashes_;
    last_time_ = t;
    ++rows_;
    return true;
  }
  if (!header_checked_) {
    header_checked_ = true;
    line_number_ = std::max(line_number_, 1);
    return fail(errors, 1, "header", "the trace file is empty (expected the header \"" +
                                         std::string(kHeader) + "\")");
  }
  return false;
}

std::uint64_t check_request_csv(const std::string& path,
                                const TraceModelNames& models,
                                Diagnostics& errors) {
  RequestCsvReader reader(path, models);
  Arrival a;
  while (reader.next(a, errors)) {
  }
  return reader.rows_read();
}

}  // namespace fleetsim
