// Transparent huge pages for the process heap, asked for where the kernel gives them only on
// request (/sys/kernel/mm/transparent_hugepage/enabled = "madvise"; with "always" it already
// does, with "never" it will not). A fleet's tables (replicas, requests, decode batches, queues:
// tens to hundreds of megabytes) are read at random, one line here and one there: with 4 KiB
// pages most of those reads also miss the TLB and walk the page tables, and each page's first
// touch is a fault. With 2 MiB pages the fleet scenario's simulation ran 5-12% faster in
// alternating pairs (bench/PERFORMANCE-HISTORY.md, "Session 13"); a small scenario's heap is
// too small to notice.
//
// The same as glibc's own switch (GLIBC_TUNABLES=glibc.malloc.hugetlb=1), without needing it set
// before the program starts: this program's operator new (huge_pages.cpp replaces the global
// one) advises what malloc took from the kernel for it before the caller touches it — the
// heap's growth, and a block malloc mapped apart (over the mmap threshold).
#pragma once

namespace fleetsim {

// Once, at program start, before the large allocations: blocks up to 64 MiB come from the heap,
// the heap grows 32 MiB at a time, and from then on operator new advises (madvise
// MADV_HUGEPAGE) the heap's growth and each block of 2 MiB or more mapped apart. Before it is
// called, operator new is plain malloc.
void prefer_huge_pages();

}  // namespace fleetsim
