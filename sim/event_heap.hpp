// EventHeap: a 4-ary implicit heap of timed events on a flat vector, popped in (time, insertion
// sequence) order: two events at the same time come out in the order they were pushed, so ties
// are deterministic. push_first() pushes into a class that comes out before every push() event of
// the same time (in its own insertion order). No allocation once grown to its working size.
// The engine's queue until session 10 (EventQueue, event_queue.hpp, is faster and uses this one
// only for its first-class events); the gate keeps it as its yardstick of engine speed, the
// reference loop whose operations per second are the unit of a speed ratio.
#pragma once
#include <cstdint>
#include <utility>
#include <vector>

#include "sim/time.hpp"

namespace fleetsim {

template <class Payload>
class EventHeap {
 public:
  struct Entry {
    SimTime time;
    std::uint64_t sequence;
    Payload payload;
  };

  void push(SimTime time, const Payload& payload) {
    heap_.push_back(Entry{time, kLater + next_sequence_++, payload});
    sift_up(heap_.size() - 1);
  }
  void push_first(SimTime time, const Payload& payload) {
    heap_.push_back(Entry{time, next_first_sequence_++, payload});
    sift_up(heap_.size() - 1);
  }

  bool empty() const { return heap_.empty(); }
  std::size_t size() const { return heap_.size(); }
  const Entry& top() const { return heap_.front(); }

  Entry pop() {
    Entry out = std::move(heap_.front());
    heap_.front() = std::move(heap_.back());
    heap_.pop_back();
    if (!heap_.empty()) sift_down(0);
    return out;
  }

  void clear() { heap_.clear(); }

 private:
  static bool before(const Entry& a, const Entry& b) {
    return a.time < b.time || (a.time == b.time && a.sequence < b.sequence);
  }

  void sift_up(std::size_t i) {
    Entry moving = std::move(heap_[i]);
    while (i > 0) {
      std::size_t parent = (i - 1) / 4;
      if (!before(moving, heap_[parent])) break;
      heap_[i] = std::move(heap_[parent]);
      i = parent;
    }
    heap_[i] = std::move(moving);
  }

  void sift_down(std::size_t i) {
    const std::size_t n = heap_.size();
    Entry moving = std::move(heap_[i]);
    for (;;) {
      std::size_t first = 4 * i + 1;
      if (first >= n) break;
      std::size_t best = first;
      std::size_t last = first + 4 < n ? first + 4 : n;
      for (std::size_t c = first + 1; c < last; ++c)
        if (before(heap_[c], heap_[best])) best = c;
      if (!before(heap_[best], moving)) break;
      heap_[i] = std::move(heap_[best]);
      i = best;
    }
    heap_[i] = std::move(moving);
  }

  static constexpr std::uint64_t kLater = std::uint64_t{1} << 62;  // push() sequences start here
  std::vector<Entry> heap_;
  std::uint64_t next_sequence_ = 0;
  std::uint64_t next_first_sequence_ = 0;
};

}  // namespace fleetsim
