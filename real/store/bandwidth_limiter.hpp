// Bandwidth limits of the model store, as on a cluster network: a total limit that every
// connection shares and a limit per connection (README, "Real mode: the model store").
//
// Pacer is a token bucket written as GCRA (the "virtual scheduling" form of the generic cell
// rate algorithm, ITU-T I.371): it keeps the time at which the bucket would next be full again
// (`tat_`) instead of a token count, so one reservation is a comparison and an addition, and a
// sender learns at once *when* its bytes may go. A bucket of `depth` bytes lets that much go at
// once after an idle spell; beyond it, bytes leave at `rate`.
//
// Contract:
//   reserve(now, bytes)  books `bytes` and returns the time at which they may be sent (now, or
//                        later). Books in call order: callers that each hold at most one booking
//                        at a time (send, then book the next chunk) are served round-robin, which
//                        is what makes concurrent loads share a total limit fairly.
//   Time comes in as an argument (the tests pin hand-computed schedules); a rate of 0 means no
//   limit (always `now`). Not thread-safe: SharedPacer adds the lock.
#pragma once
#include <chrono>
#include <cstddef>
#include <mutex>

namespace fleetsim {

using PaceClock = std::chrono::steady_clock;

class Pacer {
 public:
  Pacer() = default;  // no limit
  // `bytes_per_second` 0: no limit. `depth_bytes`: the burst allowed after an idle spell.
  Pacer(double bytes_per_second, double depth_bytes);

  PaceClock::time_point reserve(PaceClock::time_point now, std::size_t bytes);
  bool limited() const { return rate_ > 0; }
  double rate() const { return rate_; }

 private:
  double rate_ = 0;   // bytes per second
  double depth_ = 0;  // bytes
  PaceClock::time_point tat_{};  // when the bucket would be full again (GCRA's theoretical arrival time)
};

// A Pacer behind a mutex, for the store's total limit (one per server, every connection books
// on it).
class SharedPacer {
 public:
  SharedPacer(double bytes_per_second, double depth_bytes) : pacer_(bytes_per_second, depth_bytes) {}
  PaceClock::time_point reserve(PaceClock::time_point now, std::size_t bytes) {
    std::lock_guard lock(mutex_);
    return pacer_.reserve(now, bytes);
  }
  bool limited() const { return pacer_.limited(); }

 private:
  std::mutex mutex_;
  Pacer pacer_;
};

// How many bytes a connection sends per booking under a limit of `bytes_per_second` (0: none):
// about 10 ms worth, between 4 KiB and 1 MiB. Small enough that two connections under one total
// limit interleave finely, large enough that a fast limit is not a million sleeps a second.
std::size_t pace_chunk_bytes(double bytes_per_second);

// The bucket depth used with that chunk size: two chunks, so that a sender woken a chunk's time
// late catches up instead of losing the time for good.
double pace_depth_bytes(double bytes_per_second);

}  // namespace fleetsim
