// Transparent huge pages for the process heap, asked for where the kernel gives them only on
// request (/sys/kernel/mm/transparent_hugepage/enabled = "madvise"; with "always" it already
// does, with "never" it will not). A fleet's tables (replicas, requests, decode batches, queues:
// tens of megabytes) are read at random, one line here and one there: with 4 KiB pages most of
// those reads also miss the TLB and walk the page tables. With 2 MiB pages the fleet scenario's
// simulation ran 5-12% faster in alternating pairs (README "Session 13"); a small scenario's
// heap is too small to notice.
// The same as glibc's own switch (GLIBC_TUNABLES=glibc.malloc.hugetlb=1), without needing it set
// before the program starts.
#pragma once
#include <condition_variable>
#include <mutex>
#include <thread>

namespace fleetsim {

// Once, at program start, before the large allocations: blocks up to 64 MiB come from the heap
// (not from mmap, which the advice below does not cover) and the heap grows 32 MiB at a time.
void prefer_huge_pages();
// Marks the heap grown since the last call (from prefer_huge_pages() on) as wanting huge pages
// (madvise MADV_HUGEPAGE). Cheap when it has not grown; safe from any thread. Nothing before
// prefer_huge_pages().
void advise_huge_pages();

// While it lives, a thread of its own calls advise_huge_pages() every 50 ms, so that the heap's
// growth during a run is advised soon after it happens — outside the engine's loop, which pays
// nothing for it. No thread unless prefer_huge_pages() was called.
class HugePageAdvice {
 public:
  HugePageAdvice();
  ~HugePageAdvice();
  HugePageAdvice(const HugePageAdvice&) = delete;
  HugePageAdvice& operator=(const HugePageAdvice&) = delete;

 private:
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace fleetsim
