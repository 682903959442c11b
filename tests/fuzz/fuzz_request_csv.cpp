// The native request trace reader (traces/request_csv.hpp): every row of the input, against a
// scenario with models "m" and "n" and one adapter "m:a".
#include "tests/fuzz/fuzz_support.hpp"
#include "traces/request_csv.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace fleetsim;
  const std::string path = fuzz::write_file("requests.csv", {reinterpret_cast<const char*>(data), size});
  const TraceModelNames models{{"m", {0, kNoAdapter}}, {"n", {1, kNoAdapter}}, {"m:a", {0, 0}}};
  RequestCsvReader reader(path, models, 5);
  Diagnostics errors;
  Arrival a;
  SimTime last = 0;
  while (reader.next(a, errors)) {
    // The reader's contract: times never go back, tokens >= 1.
    if (a.time < last || a.input_tokens < 1 || a.output_tokens < 1) __builtin_trap();
    last = a.time;
  }
  Diagnostics check;
  check_request_csv(path, models, check);
  return 0;
}
