// The node-list readers (read_node_list): openb or pai-machines, picked by the first byte.
#include "tests/fuzz/fuzz_support.hpp"
#include "traces/jobs/job_traces.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace fleetsim;
  if (size < 1) return 0;
  const char* format = (data[0] & 1) ? "pai-machines" : "openb";
  const std::string path =
      fuzz::write_file("nodes.csv", {reinterpret_cast<const char*>(data) + 1, size - 1});
  Diagnostics errors;
  const std::vector<NodeRecord> nodes = read_node_list(format, path, errors);
  for (const NodeRecord& n : nodes)
    if (n.gpus < 0 || (n.gpus == 0 && !n.gpu_type.empty())) __builtin_trap();
  if (!nodes.empty() && !errors.empty()) __builtin_trap();  // any error -> {}
  return 0;
}
