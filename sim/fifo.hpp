// Fifo: a growable ring buffer for request ids waiting in a queue. No allocation once it has
// reached its working size (std::deque allocates blocks as it goes).
//
// The first element is kept in the Fifo itself, the rest in the ring: a replica's queue is read
// at its front on every arrival and step end (sim/batching.cpp, head_joins) and is mostly empty
// or one long, so its front is read from the replica's own cache lines, and the ring — a block
// of its own, cold at a fleet's scale — is touched only when a second request waits.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace fleetsim {

template <class T>
class Fifo {
 public:
  bool empty() const { return size_ == 0; }
  std::size_t size() const { return size_; }
  const T& front() const { return front_; }
  // Where the element after the front is (null: none): what the next pop() reads. For prefetch
  // hints.
  const T* next_address() const { return size_ > 1 ? &ring_[head_] : nullptr; }

  void push(const T& value) {
    if (size_ > 0) {
      if (size_ - 1 == ring_.size()) grow();
      ring_[(head_ + size_ - 1) & mask()] = value;
    } else {
      front_ = value;
    }
    ++size_;
  }

  void push_front(const T& value) {  // (an LLM request preempted goes back to the head)
    if (size_ > 0) {
      if (size_ - 1 == ring_.size()) grow();
      head_ = (head_ + mask()) & mask();  // (one back)
      ring_[head_] = front_;
    }
    front_ = value;
    ++size_;
  }

  T pop() {
    const T value = front_;
    if (--size_ > 0) {
      front_ = ring_[head_];
      head_ = (head_ + 1) & mask();
    }
    return value;
  }

  template <class F>
  void for_each(F&& f) const {
    if (size_ == 0) return;
    f(front_);
    for (std::uint32_t i = 0; i + 1 < size_; ++i) f(ring_[(head_ + i) & mask()]);
  }

 private:
  std::uint32_t mask() const { return static_cast<std::uint32_t>(ring_.size()) - 1; }
  void grow() {  // the ring is full (it holds size_ - 1)
    std::vector<T> bigger(ring_.empty() ? 8 : ring_.size() * 2);
    for (std::uint32_t i = 0; i + 1 < size_; ++i) bigger[i] = ring_[(head_ + i) & mask()];
    ring_.swap(bigger);
    head_ = 0;
  }

  std::vector<T> ring_;  // the elements after the front; capacity a power of two (or none)
  std::uint32_t head_ = 0;
  std::uint32_t size_ = 0;  // front_ included
  T front_{};
};

}  // namespace fleetsim
