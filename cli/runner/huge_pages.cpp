#include "cli/runner/huge_pages.hpp"

#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <new>

namespace fleetsim {

namespace {
constexpr std::size_t kPage = 4096;
constexpr std::uintptr_t kHugePage = std::uintptr_t{2} << 20;
constexpr std::size_t kMappedApartFrom = kHugePage;  // smaller blocks cannot use a huge page
#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25  // Linux 6.1
#endif

std::mutex advice_mutex;
std::atomic<std::uintptr_t> heap_start{0};  // 0: prefer_huge_pages() not called
std::atomic<std::uintptr_t> advised_to{0};  // the heap below is advised

// The heap's end, rounded down to a page (madvise takes whole pages from an aligned start).
// sbrk(0) only reads glibc's record of it; another thread's malloc may move it meanwhile: a
// stale value only advises less now (the next allocation advises the rest).
std::uintptr_t heap_top() { return reinterpret_cast<std::uintptr_t>(sbrk(0)) & ~(kPage - 1); }

void advise(std::uintptr_t from, std::uintptr_t to) {
  // (An error — a kernel without transparent huge pages — changes nothing: small pages.)
  if (to > from) madvise(reinterpret_cast<void*>(from), to - from, MADV_HUGEPAGE);
}

// After malloc returned `block` of `size` bytes, before the caller touches it. The common case
// (the heap did not grow, a small block) is two loads and a call to sbrk(0).
void advise_new(void* block, std::size_t size) {
  if (heap_start.load(std::memory_order_relaxed) == 0) return;
  const std::uintptr_t top = heap_top();
  if (top != advised_to.load(std::memory_order_relaxed)) {  // grown, or shrunk (then advised from its new end)
    std::lock_guard lock(advice_mutex);
    const std::uintptr_t from = advised_to.load(std::memory_order_relaxed);
    advise(from, top);  // (nothing when it shrank)
    // Two huge pages of it were touched already, in small pages: the one the old end fell in
    // (not whole inside the advised heap before), and the one where malloc, growing the heap
    // for this block, wrote the header of what is left after it. Each would stay in small pages
    // and fault a page at a time; have them made huge pages now (glibc's switch advises before
    // malloc writes and grows the heap to whole huge pages). An older kernel refuses: nothing
    // changes.
    const auto collapse = [&](std::uintptr_t extent) {
      if (extent >= heap_start.load(std::memory_order_relaxed) && extent + kHugePage <= top)
        madvise(reinterpret_cast<void*>(extent), kHugePage, MADV_COLLAPSE);
    };
    const std::uintptr_t straddled = from & ~(kHugePage - 1);
    const std::uintptr_t rest = (reinterpret_cast<std::uintptr_t>(block) + size) & ~(kHugePage - 1);
    if (top > from) {
      if (straddled != from) collapse(straddled);
      if (rest != straddled && rest >= from) collapse(rest);
    }
    advised_to.store(top, std::memory_order_relaxed);
  }
  const auto at = reinterpret_cast<std::uintptr_t>(block);
  if (size >= kMappedApartFrom && (at < heap_start.load(std::memory_order_relaxed) || at >= top))
    advise((at + kPage - 1) & ~(kPage - 1), (at + size) & ~(kPage - 1));  // mapped apart by malloc
}

void* allocate(std::size_t size) {
  void* block = std::malloc(size == 0 ? 1 : size);
  if (block == nullptr) throw std::bad_alloc();
  advise_new(block, size);
  return block;
}

void* allocate(std::size_t size, std::align_val_t alignment) {
  const auto align = static_cast<std::size_t>(alignment);
  void* block = std::aligned_alloc(align, size == 0 ? align : (size + align - 1) & ~(align - 1));
  if (block == nullptr) throw std::bad_alloc();
  advise_new(block, size);
  return block;
}
}  // namespace

void prefer_huge_pages() {
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
  mallopt(M_TOP_PAD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 64 << 20);
  std::lock_guard lock(advice_mutex);
  if (heap_start.load() != 0) return;
  advised_to.store(heap_top());  // what is there already stays as it is
  heap_start.store(advised_to.load());
}

}  // namespace fleetsim

// The global allocation functions, replaced ([replacement.functions]): malloc and free as the
// standard library's own, with the advice after each allocation. (The nothrow forms of the
// standard library call these.)
void* operator new(std::size_t size) { return fleetsim::allocate(size); }
void* operator new[](std::size_t size) { return fleetsim::allocate(size); }
void* operator new(std::size_t size, std::align_val_t alignment) { return fleetsim::allocate(size, alignment); }
void* operator new[](std::size_t size, std::align_val_t alignment) { return fleetsim::allocate(size, alignment); }
void operator delete(void* block) noexcept { std::free(block); }
void operator delete[](void* block) noexcept { std::free(block); }
void operator delete(void* block, std::size_t) noexcept { std::free(block); }
void operator delete[](void* block, std::size_t) noexcept { std::free(block); }
void operator delete(void* block, std::align_val_t) noexcept { std::free(block); }
void operator delete[](void* block, std::align_val_t) noexcept { std::free(block); }
void operator delete(void* block, std::size_t, std::align_val_t) noexcept { std::free(block); }
void operator delete[](void* block, std::size_t, std::align_val_t) noexcept { std::free(block); }
