// RequestSource: a stream of request arrivals in non-decreasing time order. Generators and
// trace readers (traces/) implement it; the simulation keeps one pending arrival per source,
// so memory stays bounded by what is in flight, not by trace length.
#pragma once
#include <cstdint>
#include <span>

#include "sim/diagnostics.hpp"
#include "sim/time.hpp"

namespace fleetsim {

inline constexpr std::uint32_t kNoAdapter = 0xFFFFFFFFu;

struct Arrival {
  SimTime time = 0;
  std::uint32_t model = 0;
  std::uint32_t input_tokens = 0;
  std::uint32_t output_tokens = 0;
  std::uint32_t adapter = kNoAdapter;  // index into the model's adapters, or none (base model)
  // The prompt's prefix blocks (a trace's prefix_hashes column), valid until the source's next
  // call; empty when the request names none.
  std::span<const std::uint64_t> prefix_hashes;
};

class RequestSource {
 public:
  virtual ~RequestSource() = default;
  // Writes the next arrival and returns true; returns false at the end of the stream, or on a
  // bad record, in which case it adds a diagnostic (file, line, column) to `errors`.
  virtual bool next(Arrival& out, Diagnostics& errors) = 0;
  // True for sources that end (trace files): the rows left after the run's duration are then
  // counted (RunStatus::requests_after_duration). Generated workloads never end.
  virtual bool finite() const { return false; }

  // Where a source keeps what each next() reads: its object's first kHotBytes (the vtable
  // pointer's line and on). At a fleet's thousand sources each is a cache miss per arrival, so
  // the engine starts loading these lines an event ahead of the source's arrival: a hint only,
  // nothing is read through it (traces/generators.hpp lays its state out for it).
  static constexpr std::size_t kHotBytes = 384;
};

}  // namespace fleetsim
