// GPU fragmentation as Weng et al. define it ("Beware of Fragmentation: Scheduling GPU-Sharing
// Workloads with Fragmentation Gradient Descent", USENIX ATC'23, section 4.1). Shared by the
// `fgd` placement policy, which places each pod where it grows the expected fragmentation least,
// and by the saturation replay (sim/saturation.hpp), which reports it.
//
// Definitions (GPU capacity in milli: one GPU = 1000; free_g = 1000 - milli_used of GPU g)
//   pod size     what a pod asks for: whole GPUs (gpus >= 1, a per-GPU demand of 1000) or a share
//                of one GPU (milli_gpu 1..999, the per-GPU demand), CPU cores, host memory and the
//                GPU types it may run on. Pods of equal size are interchangeable here.
//   F_n(m)       the GPU fragmentation of node n for a pod of size m: the unallocated GPU capacity
//                of n that a pod of size m cannot use.
//                  - All of it (sum of free_g) when m cannot run on n at all: m asks for no GPU (a
//                    CPU-only pod uses none of it: the paper's "x-axis" tasks), n's GPU type is not
//                    one m allows, n lacks the CPU or host memory m needs, or fewer than m's GPU
//                    count of n's GPUs each have m's per-GPU demand free.
//                  - Otherwise the free capacity of the GPUs too full for m's per-GPU demand:
//                    sum of free_g over the GPUs with free_g < demand. (For a whole-GPU pod every
//                    partly allocated GPU is fragmented; for a 0.5-GPU pod, GPUs with < 500 free.)
//   target workload  the pod-size distribution: popularity p_m = count_m / total.
//   F_n          the node's expected fragmentation: sum over sizes m of p_m * F_n(m).
//   cluster      the sum of F_n over the nodes that are up (GPUs); the fragmentation ratio is
//                that over the cluster's unallocated GPU capacity.
// GPU memory (GpuSlot::memory_used) is not part of the measure: the traces that drive it (openb)
// state GPU shares, not GPU memory.
//
// Computation. For a fixed node the sum is evaluated per GPU *shape* (count k, per-GPU demand d):
//   count * F_n = N * S - sum over shapes s of E_s * A_s
// with N the number of pods seen, S = sum of free_g, E_s the pods of shape s whose CPU, memory and
// type needs n meets, and A_s the capacity a shape-s pod can use (sum of free_g >= d, when at least
// k such GPUs exist; else 0). `weighted()` returns count * F_n exactly, as an integer, so that
// placements compare without rounding.
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "policies/placement/placement.hpp"

namespace fleetsim {

struct PodSize {
  int gpus = 0;        // whole GPUs
  int milli_gpu = 0;   // or a share of one GPU, 1..999 (then gpus == 0)
  double cpu = 0;      // cores
  double host_memory = 0;  // bytes
  std::vector<std::string> gpu_types;  // allowed GPU type names, sorted, unique; empty: any

  int gpu_count() const { return milli_gpu > 0 ? 1 : gpus; }                 // k
  int per_gpu_milli() const { return milli_gpu > 0 ? milli_gpu : (gpus > 0 ? 1000 : 0); }  // d
  bool operator==(const PodSize&) const = default;
};

// The size of a placement request (gpu_types mapped to names through request.catalog; an index
// without a catalog entry becomes "#<index>", which no node has).
PodSize pod_size(const PlacementRequest& request);

// What fragmentation depends on, so that a hypothetical placement can be evaluated without
// copying a NodeView: the node's GPU type, CPU and host memory (capacity 0: not modelled) and
// the free milli of each GPU.
struct NodeResources {
  const GpuType* gpu_type = nullptr;
  double cpu_capacity = 0;
  double cpu_used = 0;
  double host_memory_capacity = 0;
  double host_memory_used = 0;
  std::span<const int> free_milli;
};

// Fills `free_milli` with each GPU's free milli and returns the node's resources viewing it.
NodeResources node_resources(const NodeView& node, std::vector<int>& free_milli);

// Whether a pod of `size` could run on the node if its GPUs allowed (type, CPU, host memory), with
// the same comparisons as node_fits().
bool size_eligible(const NodeResources& node, const PodSize& size);

// F_n(m): the free GPU milli of `node` that a pod of `size` cannot use (0 for a node that is down).
std::int64_t gpu_fragmentation(const NodeView& node, const PodSize& size);
std::int64_t gpu_fragmentation(const NodeResources& node, const PodSize& size);

// The target workload (sizes with counts) and the expected fragmentation against it.
class FragmentationModel {
 public:
  // One more pod of `size` (or `count` of them).
  void add(const PodSize& size, std::uint64_t count = 1);

  std::uint64_t pods() const { return total_; }
  std::size_t size_count() const { return sizes_.size(); }
  const PodSize& size(std::size_t i) const { return sizes_[i]; }
  std::uint64_t count(std::size_t i) const { return counts_[i]; }

  // pods() * F_n, exactly (milli x pods). Requires nothing of the node being up.
  std::int64_t weighted(const NodeResources& node) const;
  // F_n in milli; 0 with no pods or a node that is down.
  double expected(const NodeView& node) const;
  // Sum of F_n over the nodes, in milli.
  double cluster(std::span<const NodeView> nodes) const;

 private:
  struct Member {  // one size within a shape
    double cpu = 0;
    double host_memory = 0;
    std::uint64_t count = 0;
    std::size_t size = 0;  // index into sizes_ (for its GPU types)
    bool typed = false;
  };
  struct Shape {
    int gpus = 0;
    int demand = 0;
    std::vector<Member> members;
  };
  bool member_eligible(const NodeResources& node, const Member& m) const;

  std::vector<PodSize> sizes_;
  std::vector<std::uint64_t> counts_;
  std::vector<std::size_t> size_shape_;   // sizes_[i] -> index into shapes_, or npos (CPU-only)
  std::vector<std::size_t> size_member_;  // its position in that shape's members
  std::vector<Shape> shapes_;
  std::uint64_t total_ = 0;
};

// The GPUs a baseline gives a request on `node` (which must fit it): for a share of one GPU the
// fitting GPU with the least free milli (best fit; ties: lowest index), as the FGD paper's
// simulator does by default; for whole GPUs the lowest free ones.
std::vector<int> tightest_gpus(const NodeView& node, const PlacementRequest& request);

// Unallocated GPU milli of a node (sum of 1000 - milli_used).
std::int64_t free_gpu_milli(const NodeView& node);

}  // namespace fleetsim
