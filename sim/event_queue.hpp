// EventQueue: the simulation's single total event order, (time, insertion sequence).
// Two events at the same time fire in the order they were scheduled, so ties are deterministic.
// push_first() schedules into a class that fires before every push() event of the same time
// (in its own insertion order): a run's co-located job scheduler uses it, so that at one
// instant the jobs settle before the serving engine acts on the cluster.
// Cancellation is the caller's business (events carry an epoch the handler checks), which keeps
// the queue free of per-event bookkeeping.
//
// How: a radix heap (Ahuja, Mehlhorn, Orlin and Tarjan, 1990) on 4-bit digits, which relies on
// the simulation's time never going back. `last_` is the time of the latest event found next;
// an event waits in the bucket of the highest digit in which its time differs from `last_` and
// of its own value of that digit (bucket 0: equal), so buckets in index order hold ever later
// times. Pushing appends to one bucket; taking out drains bucket 0 in order and, when it is
// empty, finds the earliest time in the lowest non-empty bucket, makes it `last_` and spreads
// that bucket over lower ones. An event moves down a few buckets in its life (4 times on
// average at a fleet's 20,000 pending events, 1.8 at the default's 25), in sequential scans,
// where a heap's sift-down reads log n scattered entries on every pop: at 20,000 pending it is
// about twice as fast (bench_engine's BM_EventQueue against BM_EventHeap).
// Ties: events at one time always share a bucket and are appended and moved in order, so
// they come out in insertion order.
// Beside the buckets, a small EventHeap holds push_first() events and push() events earlier
// than `last_`. Those happen when top() found the next event (making its time `last_`) and a
// handler then schedules at its own time, or a real-mode report lands before the next event.
// They are earlier than every bucketed event, and `last_` never goes back, so they stay earlier
// than every later one. (The engine's prefetch looks ahead with peek_hint(), which moves
// nothing, so that its handlers' pushes stay in the buckets.)
#pragma once
#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <span>
#include <vector>

#include "sim/event_heap.hpp"
#include "sim/time.hpp"

namespace fleetsim {

template <class Payload>
class EventQueue {
 public:
  struct Entry {
    SimTime time;
    Payload payload;
  };

  void push(SimTime time, const Payload& payload) {
    const std::uint64_t key = key_of(time);
    if (key < last_) {  // earlier than every bucketed event
      side_.push(time, Entry{time, payload});
      return;
    }
    append(key, Entry{time, payload});
    ++size_;
  }
  void push_first(SimTime time, const Payload& payload) { side_.push_first(time, Entry{time, payload}); }

  bool empty() const { return size_ == 0 && side_.empty(); }
  std::size_t size() const { return size_ + side_.size(); }

  // The next event (not const: finding it may move events between buckets). Like a vector's
  // element, the reference lasts until the next push or pop.
  const Entry& top() {
    if (side_wins()) return side_.top().payload;
    return buckets_[0].slots[head_];
  }
  // Likely the next event, without moving any (nullptr: none queued): bucket 0's next, else the
  // first event of the lowest non-empty bucket (the next one when it is alone there, as it
  // mostly is). For hints such as prefetching what the next event reads: unlike top(), it
  // leaves the queue's state as it was.
  const Entry* peek_hint() const {
    if (!side_.empty()) return &side_.top().payload;
    if (head_ < buckets_[0].size) return &buckets_[0].slots[head_];
    for (unsigned word = 0; word < kMaskWords; ++word)
      if (nonempty_[word] != 0)
        return &buckets_[64 * word + static_cast<unsigned>(std::countr_zero(nonempty_[word]))].slots[0];
    return nullptr;
  }
  Entry pop() {
    if (side_wins()) {
      Entry out = side_.top().payload;
      side_.pop();
      return out;
    }
    Bucket& now = buckets_[0];
    Entry out = now.slots[head_];
    if (++head_ == now.size) now.size = 0, head_ = 0;
    --size_;
    return out;
  }

  void clear() {
    for (Bucket& bucket : buckets_) bucket.size = 0;
    head_ = 0;
    size_ = 0;
    std::fill(std::begin(nonempty_), std::end(nonempty_), 0);
    last_ = key_of(0);
    side_.clear();
  }

 private:
  // A bucket's events in order, slots[0, size); slots.size() is its capacity (it never shrinks,
  // so a run stops allocating once its buckets have grown to their working size).
  struct Bucket {
    std::vector<Entry> slots;
    std::uint32_t size = 0;
  };

  // Signed times onto unsigned keys in the same order.
  static std::uint64_t key_of(SimTime time) {
    return static_cast<std::uint64_t>(time) ^ (std::uint64_t{1} << 63);
  }
  // Bucket 16p + d: the highest 4-bit digit in which `key` differs from last_ is digit p, and
  // `key`'s digit there is d (≥ 1: key > last_). Buckets in index order hold ever later times.
  unsigned bucket_of(std::uint64_t key) const {
    const std::uint64_t differ = key ^ last_;
    if (differ == 0) return 0;
    const unsigned digit = (63 - static_cast<unsigned>(std::countl_zero(differ))) / kDigitBits;
    return kDigits * digit + static_cast<unsigned>((key >> (kDigitBits * digit)) & (kDigits - 1));
  }
  void append(std::uint64_t key, const Entry& entry) {
    const unsigned b = bucket_of(key);
    Bucket& to = buckets_[b];
    if (to.size == to.slots.size()) grow(to);
    to.slots[to.size++] = entry;
    if (b != 0) nonempty_[b / 64] |= std::uint64_t{1} << (b % 64);
  }
  [[gnu::noinline]] static void grow(Bucket& bucket) {
    bucket.slots.resize(std::max<std::size_t>(8, 2 * bucket.slots.size()));
  }

  // Makes bucket 0 hold the earliest push() events when it has run out; false when there are
  // none. (Out of line: the common case, bucket 0 not empty, stays inlined in top() and pop().)
  [[gnu::noinline]] bool refill() {
    unsigned word = 0;
    while (word < kMaskWords && nonempty_[word] == 0) ++word;
    if (word == kMaskWords) return false;
    const unsigned b = 64 * word + static_cast<unsigned>(std::countr_zero(nonempty_[word]));
    nonempty_[word] &= ~(std::uint64_t{1} << (b % 64));
    Bucket& from = buckets_[b];
    if (from.size == 1) {  // (often, at a few pending events): it becomes bucket 0 as it is
      last_ = key_of(from.slots[0].time);
      std::swap(from, buckets_[0]);  // (bucket 0 is empty)
      return true;
    }
    const std::span<const Entry> events(from.slots.data(), from.size);
    std::uint64_t earliest = key_of(events[0].time);
    for (const Entry& e : events) earliest = std::min(earliest, key_of(e.time));
    last_ = earliest;  // every event of `from` now differs from last_ only in a lower digit
    for (const Entry& e : events) append(key_of(e.time), e);
    from.size = 0;
    return true;
  }
  // The side heap's next event goes first when it is due no later than bucket 0's: a push()
  // event there is due strictly earlier than every bucketed one, a push_first() event goes
  // first at equal times.
  bool side_wins() {
    const bool bucketed = head_ < buckets_[0].size || refill();
    if (side_.empty()) return false;
    return !bucketed || side_.top().time <= buckets_[0].slots[head_].time;
  }

  static constexpr unsigned kDigitBits = 4;
  static constexpr unsigned kDigits = 1u << kDigitBits;
  static constexpr unsigned kBuckets = kDigits * (64 / kDigitBits);  // (digit d = 0 unused but at p = 0)
  static constexpr unsigned kMaskWords = kBuckets / 64;
  std::array<Bucket, kBuckets> buckets_;
  std::size_t head_ = 0;  // bucket 0 is taken out from here
  std::size_t size_ = 0;  // push() events queued
  std::uint64_t nonempty_[kMaskWords] = {};  // bit b: bucket b ≥ 1 holds events
  std::uint64_t last_ = key_of(0);
  EventHeap<Entry> side_;  // push_first() events, and push() events earlier than last_
};

}  // namespace fleetsim
