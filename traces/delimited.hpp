// Splitting one line of delimited text (CSV, TSV) into fields, shared by every trace reader
// that takes user files: the request importers and the job-trace readers.
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace fleetsim {

// Splits `line` into `fields` with their 1-based start columns in `starts` (both reused across
// calls, so reading a file allocates only while lines grow). With `quotes`, double-quoted
// fields may hold the delimiter and "" inside them is a quote. Fields are trimmed of spaces and
// tabs unless the delimiter is one of those. A trailing delimiter gives one more, empty field.
// Returns the field count, or -1 on an unterminated quote.
int split_line(std::string_view line, char delim, bool quotes, std::vector<std::string>& fields,
               std::vector<int>& starts);

}  // namespace fleetsim
