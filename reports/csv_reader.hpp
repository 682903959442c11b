// Reading the CSV files fleetsim writes (timeseries.csv, cold_starts.csv, ...) back for reports:
// comma-separated, optional double quotes ("" inside quotes is a quote), LF or CRLF, a header
// line naming the columns. Problems are reported with the file and line, never skipped silently.
#pragma once
#include <functional>
#include <istream>
#include <string>
#include <vector>

#include "sim/diagnostics.hpp"

namespace fleetsim {

std::vector<std::string> split_csv_line(const std::string& line);
// A finite number, the whole field (a leading '+' allowed).
bool parse_number(const std::string& s, double& out);

using CsvRow = std::function<void(int line, const std::vector<std::string>& fields)>;
// Calls row(line number, fields) for each data row after checking the header has `required`
// columns; `index` gets each required column's position and `header`, when given, every column's
// name (before the first row), so a reader can find optional columns. Reads `in` a line at a
// time: a long run's timeseries.csv or cold_starts.csv is never held whole in memory.
void read_csv(std::istream& in, const std::string& file, const std::vector<std::string>& required,
              std::vector<std::size_t>& index, Diagnostics& errors, const CsvRow& row,
              std::vector<std::string>* header = nullptr);
void read_csv(const std::string& text, const std::string& file, const std::vector<std::string>& required,
              std::vector<std::size_t>& index, Diagnostics& errors, const CsvRow& row);

}  // namespace fleetsim
