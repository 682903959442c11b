// WeightStore: where a worker fetches a model file its node's cache folder does not hold — the
// cluster's model store. A location string names it, so that the controller can hand it to a
// worker in a message:
//   "dir:PATH"  a local folder; a fetch copies the file (the source read past the page cache,
//               the copy synced to disk), so it costs a real read and a real write.
//   "http://127.0.0.1:PORT"  the model store (`fleetsim store`, real/store/), under its
//               per-connection and total bandwidth limits; what `fleetsim real` uses.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

namespace fleetsim::real {

struct FetchResult {
  std::uint64_t bytes = 0;
  std::string error;  // non-empty: nothing was written at the destination
};

class WeightStore {
 public:
  virtual ~WeightStore() = default;
  // Copies the store's file `name` to `dest` (written as dest + ".part", then renamed).
  virtual FetchResult fetch(const std::string& name, const std::string& dest) = 0;
};

// The store a location names; null (and `error` set) for a location it does not understand.
std::unique_ptr<WeightStore> open_weight_store(const std::string& location, std::string& error);

}  // namespace fleetsim::real
