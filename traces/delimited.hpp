// Delimited text (CSV, TSV): lines, a header and the fields of one line, shared by every trace
// reader that takes user files: the request importers and the job-trace readers.
#pragma once
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "sim/diagnostics.hpp"

namespace fleetsim {

// Splits `line` into `fields` with their 1-based start columns in `starts` (both reused across
// calls, so reading a file allocates only while lines grow). With `quotes`, double-quoted
// fields may hold the delimiter and "" inside them is a quote. Fields are trimmed of spaces and
// tabs unless the delimiter is one of those. A trailing delimiter gives one more, empty field.
// Returns the field count, or -1 on an unterminated quote.
int split_line(std::string_view line, char delim, bool quotes, std::vector<std::string>& fields,
               std::vector<int>& starts);

// A text file's lines without their '\r', line 1 without a UTF-8 byte order mark; counts lines.
class LineReader {
 public:
  bool open(const std::string& path);
  bool next(std::string& line);
  int line() const { return line_; }  // of the last line read, 1-based

 private:
  std::ifstream in_;
  int line_ = 0;
};

// A header line: the column names, and where each needed one is.
struct DelimitedHeader {
  std::vector<std::string> names;
  std::string text;  // the line as read

  // Index of `name`; -1 when `name` is empty or not in the header (an error when required,
  // added to `errors`: it lists the columns there are and the closest name).
  int find(const std::string& file, const std::string& name, bool required, Diagnostics& errors) const;
};

// Reads the next line (line 1) as a header, quotes allowed. False (with a diagnostic) when the
// file is empty, the line blank or a quote unterminated.
bool read_header(LineReader& reader, const std::string& file, char delim, DelimitedHeader& header,
                 Diagnostics& errors);

}  // namespace fleetsim
