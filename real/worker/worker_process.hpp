// Starting a `fleetsim worker` process (worker.hpp): a socket pair, then fork and exec
// `BINARY worker --fd 3 [--plugin P]...` with the other end on fd 3 (the plugins: those of the
// controller's registry, so that a worker can make a batching policy a plugin registers), in a process group of its own (a terminal's
// Ctrl-C reaches the controller only, which stops its workers itself), killed when the process
// that started it dies (PR_SET_PDEATHSIG). The controller starts one per replica; calibration
// times a start (until the worker's hello).
#pragma once
#include <sys/types.h>

#include <string>
#include <vector>

namespace fleetsim::real {

struct WorkerProcess {
  pid_t pid = -1;
  int fd = -1;  // the controller's end of the socket (close-on-exec)
};

// The started process, or pid -1 with `error` saying why (nothing left open then).
WorkerProcess start_worker_process(const std::string& binary, const std::vector<std::string>& plugins,
                                   std::string& error);

}  // namespace fleetsim::real
