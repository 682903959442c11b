// PlacementPolicy: chooses the node and GPUs for a new replica.
//
// Contract
//   input   a PlacementRequest (model, GPUs needed, memory per GPU, allowed pools) and the
//           current ClusterView.
//   output  a Placement: one node and exactly `request.gpus` distinct GPU indices on it, each
//           with no holder and with `memory_per_gpu` bytes free (for a fractional request,
//           `milli_gpu` > 0: exactly one GPU with that much of it unallocated); or std::nullopt
//           when nothing fits, after which the replica (or worker) is not placed and the
//           caller tries again later.
//   state   may keep state between calls (e.g. a cursor), but must not read anything except its
//           arguments.
//   ties    each built-in documents its tie-break; all fall back to the lowest node id and the
//           lowest GPU indices, so results are deterministic.
//   invalid a decision that breaks the contract (GPU taken, memory over-committed, wrong count,
//           node outside the allowed pools) stops the run with an error naming the policy.
#pragma once
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "policies/api/cluster_view.hpp"
#include "policies/api/policy.hpp"

namespace fleetsim {

struct PlacementRequest {
  std::uint32_t model = 0;
  int gpus = 1;                          // GPUs per replica (tensor parallel degree)
  double memory_per_gpu = 0;             // bytes the replica claims on each GPU ...
  double memory_fraction = 0;            // ... plus this fraction of each GPU's memory
  double min_gpu_memory = 0;             // GPUs with less memory cannot host it at all
  std::span<const std::uint32_t> pools;  // allowed pools; empty means any
  double weight_bytes = 0;               // what a cold start must load ...
  double image_bytes = 0;                // ... and pull
  // Training / batch workers (and pods): a share of one GPU instead of whole GPUs, CPU and
  // host memory, and the GPU types allowed (indices into the scenario's GPU types; empty: any).
  int milli_gpu = 0;                     // 1..999 with gpus == 0: a fraction of one GPU
  double cpu = 0;                        // cores
  double host_memory = 0;                // bytes
  std::span<const std::uint32_t> gpu_types;
  std::span<const GpuType> catalog;      // to map gpu_types to names; empty when unused
  // The same request again (a job still waiting, asked at every scheduling pass): a policy that
  // learns the workload from its requests should not count it again.
  bool asked_before = false;
};

struct Placement {
  std::uint32_t node = 0;
  std::vector<int> gpus;
};

class PlacementPolicy : public Policy {
 public:
  virtual ~PlacementPolicy() = default;
  virtual std::optional<Placement> place(const PlacementRequest& request,
                                         const ClusterView& cluster) = 0;
};

// Shared by the engine and the built-ins: the bytes a replica claims on each GPU of `node`,
// whether `node` can host the request, and its lowest free GPUs that can.
inline double memory_claim(const NodeView& node, const PlacementRequest& request) {
  return request.memory_per_gpu + request.memory_fraction * node.gpu_type->memory_bytes;
}
bool node_fits(const NodeView& node, const PlacementRequest& request);
std::vector<int> lowest_free_gpus(const NodeView& node, const PlacementRequest& request);
// Whether GPU `g` of `node` can take (the whole-GPU or fractional) request.
bool gpu_fits(const NodeView& node, const GpuSlot& gpu, const PlacementRequest& request);

}  // namespace fleetsim
