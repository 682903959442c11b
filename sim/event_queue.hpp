// EventQueue: the simulation's single total event order, (time, insertion sequence).
// Two events at the same time fire in the order they were scheduled, so ties are deterministic.
// push_first() schedules into a class that fires before every push() event of the same time
// (in its own insertion order): a run's co-located job scheduler uses it, so that at one
// instant the jobs settle before the serving engine acts on the cluster.
// Cancellation is the caller's business (events carry an epoch the handler checks), which keeps
// the queue free of per-event bookkeeping. A caller may also give the queue a `Dropped`
// predicate: an event it answers true for when the queue moves it between buckets is cancelled
// for good and taken out there, without being popped (the engine's cancelled batch steps, a
// quarter of a fleet's events, mostly leave so). It must stay true for an event once it is, and
// pop() may still return events it would drop (those never moved again), so the caller checks
// as before.
//
// How: a radix heap (Ahuja, Mehlhorn, Orlin and Tarjan, 1990) on 8-bit digits, which relies on
// the simulation's time never going back, with its smallest buckets sorted instead of spread.
// `last_` is a time at or after every event of the current run and before every bucketed one;
// a bucketed event waits in the bucket of the highest digit in which its time differs from
// `last_` and of its own value of that digit, so buckets in index order hold ever later times.
// Pushing appends to one bucket. Taking out drains the run, a short list in (time, insertion)
// order; when it is empty, the lowest non-empty bucket becomes the next run: sorted as it is
// when it holds at most kSortMax events (insertion sort; `last_` becomes its latest time),
// else spread over lower buckets around its earliest time (which becomes `last_`; the events
// at that time are the run). At a fleet's 20,000 pending events an event is moved 1.0 times in
// its life and a run holds 2.8 events; the 4-bit digits of session 10, spreading every bucket,
// moved it 3.4 times (and cost twice the instructions, on a recorded run's pushes and pops).
// Ties: events at one time always share a bucket and are appended and moved in order, and the
// sort is stable, so they come out in insertion order. A push at the run's time goes after it;
// one inside the run's span (rare: a handler scheduling within microseconds) is inserted.
// Beside the buckets, a small EventHeap holds push_first() events and push() events earlier
// than the run's next one. Those happen when top() found the next event and a handler then
// schedules at its own time, or a real-mode report lands before the next event. They are
// earlier than every other queued event, and the run's next time never goes back, so they stay
// earlier than every later one. (The engine's prefetch looks ahead with peek_hint(), which
// moves nothing, so that its handlers' pushes stay in the buckets.)
#pragma once
#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <memory>

#include "sim/event_heap.hpp"
#include "sim/time.hpp"

namespace fleetsim {

// The default: no event is dropped before it is popped.
struct KeepEvents {
  template <class Payload>
  bool operator()(const Payload&) const { return false; }
};

template <class Payload, class Dropped = KeepEvents>
class EventQueue {
 public:
  struct Entry {
    SimTime time;
    Payload payload;
  };

  EventQueue() = default;
  explicit EventQueue(Dropped dropped) : dropped_(dropped) {}

  void push(SimTime time, const Payload& payload) {
    const std::uint64_t key = key_of(time);
    if (key > last_) [[likely]] {
      append(bucket_of(key), Entry{time, payload});
      ++size_;
    } else {
      push_into_run(time, payload);
    }
  }
  void push_first(SimTime time, const Payload& payload) { side_.push_first(time, Entry{time, payload}); }

  // Not const: with a `Dropped` predicate, finding out may move events (and drop some).
  bool empty() { return side_.empty() && head_ == run_.size && !refill(); }
  // Events queued, counting those `Dropped` would drop but the queue has not moved yet.
  std::size_t size() const { return size_ + side_.size(); }

  // The next event (not const: finding it may move events between buckets). Like a vector's
  // element, the reference lasts until the next push or pop.
  const Entry& top() {
    if (side_wins()) return side_.top().payload;
    return run_.slots[head_];
  }
  // Likely the next event, without moving any (nullptr: none queued): the run's next, else the
  // first event of the lowest non-empty bucket (the next one when it is alone there, as it
  // mostly is). For hints such as prefetching what the next event reads: unlike top(), it
  // leaves the queue's state as it was.
  const Entry* peek_hint() const {
    if (!side_.empty()) return &side_.top().payload;
    if (head_ < run_.size) return &run_.slots[head_];
    if (summary_ == 0) return nullptr;
    return &buckets_[lowest_nonempty()].slots[0];
  }
  Entry pop() {
    if (side_wins()) {
      Entry out = side_.top().payload;
      side_.pop();
      return out;
    }
    Entry out = run_.slots[head_];
    if (++head_ == run_.size) run_.size = 0, head_ = 0;
    --size_;
    return out;
  }

  void clear() {
    for (Bucket& bucket : buckets_) bucket.size = 0;
    run_.size = 0;
    head_ = 0;
    size_ = 0;
    summary_ = 0;
    std::fill(std::begin(nonempty_), std::end(nonempty_), 0);
    last_ = key_of(0);
    side_.clear();
  }

 private:
  // Events in order, slots[0, size). Its storage is kept when it empties (a spread bucket's up
  // to kKeptCapacity), so a run stops allocating once its buckets have grown to their working
  // size.
  struct Bucket {
    std::unique_ptr<Entry[]> slots;
    std::uint32_t size = 0;
    std::uint32_t capacity = 0;
  };

  // Signed times onto unsigned keys in the same order.
  static std::uint64_t key_of(SimTime time) {
    return static_cast<std::uint64_t>(time) ^ (std::uint64_t{1} << 63);
  }
  // Bucket 256p + d, for key > last_: the highest 8-bit digit in which `key` differs from last_
  // is digit p, and `key`'s digit there is d. Buckets in index order hold ever later times.
  unsigned bucket_of(std::uint64_t key) const {
    const auto digit = (63 - static_cast<unsigned>(std::countl_zero(key ^ last_))) / kDigitBits;
    return kDigits * digit + static_cast<unsigned>((key >> (kDigitBits * digit)) & (kDigits - 1));
  }
  unsigned lowest_nonempty() const {  // (summary_ != 0)
    const auto word = static_cast<unsigned>(std::countr_zero(summary_));
    return 64 * word + static_cast<unsigned>(std::countr_zero(nonempty_[word]));
  }
  void append(unsigned b, const Entry& entry) {
    Bucket& to = buckets_[b];
    if (to.size == to.capacity) grow(to);
    if (to.size == 0) {
      nonempty_[b / 64] |= std::uint64_t{1} << (b % 64);
      summary_ |= std::uint64_t{1} << (b / 64);
    }
    to.slots[to.size++] = entry;
  }
  void append_to_run(const Entry& entry) {
    if (run_.size == run_.capacity) grow(run_);
    run_.slots[run_.size++] = entry;
  }
  // An event due no later than `last_` (out of line: most events are due later): into the run
  // after its events at that time or earlier — when the run has one no later, or it is empty
  // and the event is due at `last_` — else into the side heap, earlier than every other.
  [[gnu::noinline]] void push_into_run(SimTime time, const Payload& payload) {
    if (head_ < run_.size ? time < run_.slots[head_].time : key_of(time) != last_) {
      side_.push(time, Entry{time, payload});
      return;
    }
    if (run_.size == run_.capacity) grow(run_);
    std::uint32_t i = run_.size++;
    for (; i > head_ && run_.slots[i - 1].time > time; --i) run_.slots[i] = run_.slots[i - 1];
    run_.slots[i] = Entry{time, payload};
    ++size_;
  }
  [[gnu::noinline]] static void grow(Bucket& bucket) {
    const std::uint32_t capacity = std::max<std::uint32_t>(8, 2 * bucket.capacity);
    std::unique_ptr<Entry[]> slots(new Entry[capacity]);
    std::copy(bucket.slots.get(), bucket.slots.get() + bucket.size, slots.get());
    bucket.slots = std::move(slots);
    bucket.capacity = capacity;
  }

  // Makes the run hold the earliest push() events when it has run out; false when there are
  // none. Events `dropped_` answers true for are taken out on the way. (Out of line: the common
  // case, events left in the run, stays inlined in top() and pop().)
  [[gnu::noinline]] bool refill() {
    while (summary_ != 0) {
      const unsigned b = lowest_nonempty();
      std::uint64_t& word = nonempty_[b / 64];
      word &= word - 1;  // (b is its lowest bit)
      if (word == 0) summary_ &= ~(std::uint64_t{1} << (b / 64));
      Bucket& from = buckets_[b];
      Entry* const events = from.slots.get();
      const std::uint32_t n = from.size;
      from.size = 0;
      head_ = 0;
      if (n == 1) {  // (most refills below a fleet's scale) what the sort below does, without its loop
        const Entry& only = events[0];
        last_ = key_of(only.time);
        if (dropped_(only.payload)) {
          --size_;
          continue;
        }
        if (run_.capacity == 0) grow(run_);
        run_.slots[0] = only;
        run_.size = 1;
        return true;
      }
      if (n <= kSortMax) {  // it becomes the run, sorted (stably) as it is copied there
        // (Copied, not handed over: storage passed from bucket to bucket spreads the largest
        // buffers over all 2,048 of them, hundreds of MB over a fleet's day.)
        while (run_.capacity < n) grow(run_);
        Entry* const run = run_.slots.get();
        SimTime latest = events[0].time;
        std::uint32_t kept = 0;
        for (std::uint32_t i = 0; i < n; ++i) {
          latest = std::max(latest, events[i].time);
          if (dropped_(events[i].payload)) continue;
          std::uint32_t j = kept++;
          for (; j > 0 && run[j - 1].time > events[i].time; --j) run[j] = run[j - 1];
          run[j] = events[i];
        }
        run_.size = kept;
        size_ -= n - kept;
        last_ = key_of(latest);  // every other bucketed event still differs from it as before
        if (kept > 0) return true;
        continue;
      }
      SimTime earliest = events[0].time;
      for (std::uint32_t i = 1; i < n; ++i) earliest = std::min(earliest, events[i].time);
      const std::uint64_t last = last_ = key_of(earliest);  // the others differ from it in a lower digit
      std::uint32_t kept = 0;
      for (std::uint32_t i = 0; i < n; ++i) {
        if (dropped_(events[i].payload)) continue;
        ++kept;
        const std::uint64_t key = key_of(events[i].time);
        if (key == last)
          append_to_run(events[i]);
        else
          append(bucket_of(key), events[i]);
      }
      size_ -= n - kept;
      if (from.capacity > kKeptCapacity) from.slots.reset(), from.capacity = 0;
      if (run_.size > 0) return true;
    }
    return false;
  }
  // The side heap's next event goes first when it is due no later than the run's: a push()
  // event there is due strictly earlier than every other queued one, a push_first() event goes
  // first at equal times.
  bool side_wins() {
    const bool bucketed = head_ < run_.size || refill();
    if (side_.empty()) return false;
    return !bucketed || side_.top().time <= run_.slots[head_].time;
  }

  static constexpr unsigned kDigitBits = 8;
  static constexpr unsigned kDigits = 1u << kDigitBits;
  static constexpr unsigned kBuckets = kDigits * (64 / kDigitBits);  // (digit d = 0 unused but at p = 0)
  static constexpr unsigned kMaskWords = kBuckets / 64;
  // Sorting a bucket of up to 16 events costs fewer instructions than spreading it
  // (measured on a recorded fleet run; 8 is as good, 32 worse).
  static constexpr std::uint32_t kSortMax = 16;
  // A bucket spread keeps its storage up to this many events (24 KB of Simulation::Event), else
  // gives it back: a bucket of a high digit gathers every event pushed across its boundary (tens
  // of thousands at a fleet) once per cycle of its digit, and 256 such buckets each keeping its
  // largest were 230 MB over a fleet's day. Growing one again costs ~2 copies an event in it.
  static constexpr std::uint32_t kKeptCapacity = 1024;
  Bucket run_;
  std::uint32_t head_ = 0;  // the run is taken out from here
  std::size_t size_ = 0;    // push() events queued
  std::uint64_t last_ = key_of(0);
  std::uint64_t summary_ = 0;                // bit w: nonempty_[w] != 0
  std::uint64_t nonempty_[kMaskWords] = {};  // bit b: bucket b holds events
  std::array<Bucket, kBuckets> buckets_;
  EventHeap<Entry> side_;  // push_first() events, and push() events earlier than the run's next
  [[no_unique_address]] Dropped dropped_;
};

}  // namespace fleetsim
