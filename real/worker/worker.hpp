// The worker process of a real-mode replica (`fleetsim worker --fd N`): it loads a model file
// and serves requests with continuous batching (BatchEngine), reporting to the controller over
// a Channel on file descriptor N. One worker per replica; it exits when told to or when the
// controller goes away.
//
// Messages to the worker (one JSON object per line, "op"):
//   {"op":"load", "path":FILE, "kv_tokens":N, "max_batch":N, "max_prefill_tokens":N,
//    "model":ID, "batching":{"impl":NAME, ...numeric parameters}, "t0":NS, "backend":"cpu"|"cuda",
//    "fetch":{"store":LOCATION, "name":NAME}}
//       with "fetch": first copy the store's file NAME to FILE (real/worker/weight_store.hpp:
//       a cache miss); then read FILE (page cache bypassed), build the model on the backend
//       (default cpu), start the engine. t0: the run's start on CLOCK_MONOTONIC; the batching
//       policy's `now` is measured from it.
//   {"op":"request", "id":N, "input":N, "output":N, "arrival":NS, "lora":BOOL}
//   {"op":"stop"}   exit now (requests in flight are abandoned; the controller knows which)
// Messages from the worker ("ev"; every "t" is CLOCK_MONOTONIC nanoseconds):
//   {"ev":"hello", "pid":N, "t":NS}   first, as soon as the process serves (its start-up done)
//   {"ev":"loaded", "bytes":N, "direct":BOOL, "backend":NAME, "fetch_s":S, "fetched_bytes":N,
//    "read_s":S, "copy_s":S, "startup_s":S, "t":NS}
//   {"ev":"token", "id":N, "first":BOOL, "last":BOOL, "t":NS}
//   {"ev":"step", "prefill":BOOL, "sequences":N, "tokens":N, "s":S}   (for calibration)
//   {"ev":"rejected", "id":N, "why":"too-long"}
//   {"ev":"error", "message":TEXT}   a load or a message it could not act on
#pragma once

namespace fleetsim {
class PolicyRegistry;
}

namespace fleetsim::real {

// Serves the controller on `fd` until told to stop or the controller goes away; returns the
// process's exit code.
int run_worker(int fd, const PolicyRegistry& registry);

}  // namespace fleetsim::real
