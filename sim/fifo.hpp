// Fifo: a growable ring buffer for request ids waiting in a queue. No allocation once it has
// reached its working size (std::deque allocates blocks as it goes).
#pragma once
#include <cstddef>
#include <vector>

namespace fleetsim {

template <class T>
class Fifo {
 public:
  bool empty() const { return size_ == 0; }
  std::size_t size() const { return size_; }
  const T& front() const { return items_[head_]; }
  const T* front_address() const { return size_ ? &items_[head_] : nullptr; }  // (for prefetch hints)

  void push(const T& value) {
    if (size_ == items_.size()) grow();
    items_[(head_ + size_) & (items_.size() - 1)] = value;
    ++size_;
  }

  void push_front(const T& value) {  // (an LLM request preempted goes back to the head)
    if (size_ == items_.size()) grow();
    head_ = (head_ + items_.size() - 1) & (items_.size() - 1);
    items_[head_] = value;
    ++size_;
  }

  T pop() {
    T value = items_[head_];
    head_ = (head_ + 1) & (items_.size() - 1);
    --size_;
    return value;
  }

  template <class F>
  void for_each(F&& f) const {
    for (std::size_t i = 0; i < size_; ++i) f(items_[(head_ + i) & (items_.size() - 1)]);
  }

 private:
  void grow() {
    std::vector<T> bigger(items_.empty() ? 8 : items_.size() * 2);
    for (std::size_t i = 0; i < size_; ++i) bigger[i] = items_[(head_ + i) & (items_.size() - 1)];
    items_.swap(bigger);
    head_ = 0;
  }

  std::vector<T> items_;  // capacity is a power of two
  std::size_t head_ = 0;
  std::size_t size_ = 0;
};

}  // namespace fleetsim
