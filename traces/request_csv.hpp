// The native request trace: CSV with the header `timestamp,model,input_tokens,output_tokens`.
//   timestamp      seconds since the start of the trace (decimal, >= 0, non-decreasing)
//   model          a model name from the scenario, or `model:adapter` for one of its LoRA
//                  adapters
//   input_tokens   prompt length, integer >= 1
//   output_tokens  tokens to generate, integer >= 1
//   prefix_hashes  optional fifth column (the header names it): the prompt's prefix blocks as
//                  space-separated unsigned integers, equal values = the same block of tokens
//                  (Mooncake's hash_ids; `fleetsim import --keep-prefix-hashes` writes them)
// The file is streamed row by row: memory does not grow with its length. A bad row (wrong
// field count, unparsable or negative number, unknown model, time going backwards) is an error
// naming the file, line and column.
#pragma once
#include <fstream>
#include <string>
#include <unordered_map>
#include <vector>

#include "sim/request_source.hpp"

namespace fleetsim {

// What a name in the model column stands for.
struct ModelRef {
  std::uint32_t model = 0;
  std::uint32_t adapter = kNoAdapter;
};
using TraceModelNames = std::unordered_map<std::string, ModelRef>;

class RequestCsvReader final : public RequestSource {
 public:
  // `models` maps names (and model:adapter) to models; `time_offset` is added to every timestamp.
  RequestCsvReader(std::string path, TraceModelNames models,
                   SimTime time_offset = 0);
  bool next(Arrival& out, Diagnostics& errors) override;
  bool finite() const override { return true; }
  std::uint64_t rows_read() const { return rows_; }

 private:
  bool fail(Diagnostics& errors, int column, const std::string& field, const std::string& message);

  std::string path_;
  TraceModelNames models_;
  SimTime offset_;
  std::ifstream in_;
  std::string line_;
  int line_number_ = 0;
  std::uint64_t rows_ = 0;
  SimTime last_time_ = 0;
  bool header_checked_ = false;
  bool hashes_column_ = false;
  std::vector<std::uint64_t> hashes_;  // the last row's; Arrival::prefix_hashes points here
};

// Reads a whole trace to check it (for `fleetsim validate`); returns rows read.
std::uint64_t check_request_csv(const std::string& path,
                                const TraceModelNames& models,
                                Diagnostics& errors);

}  // namespace fleetsim
