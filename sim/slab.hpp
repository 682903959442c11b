// Slab: a growable array of trivially copyable records (the engine's request table), in memory
// mapped for it alone. It grows by remapping (mremap): the records already written are not
// copied, and a page is faulted in and zeroed only when a record on it is first written. A
// std::vector doubling writes a new block for each copy: with 500,000 requests in flight (the
// default scenario at 1,000x its load) that was ~120 MB of freshly zeroed pages beyond the 67 MB
// the records use, and zeroing pages was 5% of the run. Blocks of 2 MiB or more are asked to be
// backed by huge pages (madvise), as the heap is (cli/runner/huge_pages.hpp).
#pragma once
#include <sys/mman.h>

#include <cstddef>
#include <new>
#include <type_traits>
#include <utility>

namespace fleetsim {

template <class T>
class Slab {
  static_assert(std::is_trivially_copyable_v<T> && std::is_trivially_destructible_v<T>);

 public:
  Slab() = default;
  Slab(const Slab&) = delete;
  Slab& operator=(const Slab&) = delete;
  Slab(Slab&& other) noexcept { swap(other); }
  Slab& operator=(Slab&& other) noexcept {
    swap(other);
    return *this;
  }
  ~Slab() {
    if (data_) munmap(data_, bytes(capacity_));
  }

  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  T& operator[](std::size_t i) { return data_[i]; }
  const T& operator[](std::size_t i) const { return data_[i]; }
  std::size_t index_of(const T& record) const { return static_cast<std::size_t>(&record - data_); }

  T& emplace_back() {
    if (size_ == capacity_) grow();
    return *new (data_ + size_++) T{};
  }

 private:
  static constexpr std::size_t kFirstBytes = std::size_t{1} << 16;
  static constexpr std::size_t kHugePage = std::size_t{2} << 20;
  static std::size_t bytes(std::size_t records) { return records * sizeof(T); }

  void grow() {
    const std::size_t capacity = capacity_ == 0 ? (kFirstBytes + sizeof(T) - 1) / sizeof(T) : 2 * capacity_;
    void* at = data_ == nullptr
                   ? mmap(nullptr, bytes(capacity), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
                   : mremap(data_, bytes(capacity_), bytes(capacity), MREMAP_MAYMOVE);
    if (at == MAP_FAILED) throw std::bad_alloc();
    if (bytes(capacity) >= kHugePage) madvise(at, bytes(capacity), MADV_HUGEPAGE);  // (a hint: failure is harmless)
    data_ = static_cast<T*>(at);
    capacity_ = capacity;
  }
  void swap(Slab& other) noexcept {
    std::swap(data_, other.data_);
    std::swap(size_, other.size_);
    std::swap(capacity_, other.capacity_);
  }

  T* data_ = nullptr;  // page-aligned: any record alignment up to a page holds
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;
};

}  // namespace fleetsim
