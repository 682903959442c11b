#include "cli/runner/huge_pages.hpp"

#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <mutex>

namespace fleetsim {

namespace {
std::mutex advice_mutex;
std::uintptr_t advised_to = 0;  // the heap below is advised; 0: prefer_huge_pages() not called

// The heap's end, rounded down to a page (madvise takes whole pages from an aligned start).
// sbrk(0) only reads glibc's record of it; HugePageAdvice's thread reads it while the main
// thread's malloc may move it: a stale value only advises less, or (the heap trimmed) fails.
std::uintptr_t heap_top() {
  static const auto page = static_cast<std::uintptr_t>(sysconf(_SC_PAGESIZE));
  return reinterpret_cast<std::uintptr_t>(sbrk(0)) & ~(page - 1);
}
}  // namespace

void prefer_huge_pages() {
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
  mallopt(M_TOP_PAD, 32 << 20);
  std::lock_guard lock(advice_mutex);
  if (advised_to == 0) advised_to = heap_top();
}

void advise_huge_pages() {
  std::lock_guard lock(advice_mutex);
  if (advised_to == 0) return;
  const std::uintptr_t top = heap_top();
  // [advised_to, top) is the heap's growth since, whole pages. (An error — a kernel without
  // transparent huge pages — changes nothing: the run goes on with small pages.) A heap that
  // shrank is advised again from its new end when it grows back.
  if (top > advised_to) madvise(reinterpret_cast<void*>(advised_to), top - advised_to, MADV_HUGEPAGE);
  advised_to = top;
}

HugePageAdvice::HugePageAdvice() {
  {
    std::lock_guard lock(advice_mutex);
    if (advised_to == 0) return;
  }
  thread_ = std::thread([this] {
    std::unique_lock lock(mutex_);
    while (!wake_.wait_for(lock, std::chrono::milliseconds(50), [this] { return stop_; })) advise_huge_pages();
  });
}

HugePageAdvice::~HugePageAdvice() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

}  // namespace fleetsim
