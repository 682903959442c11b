// Router: picks which ready replica of a model receives a request.
//
// Contract
//   input   the model's ready replicas (never empty), in ascending replica id, and the request:
//           as a span of RouteCandidate (route), or — for a router that declares it — as the
//           engine's indexed view ReadyReplicas (route_ready, below).
//   output  an index into the ready replicas (the span's, or ReadyReplicas' positions: the same).
//   state   may keep state (e.g. a round-robin cursor); one router serves every model, so
//           per-model state is keyed by `request.model`.
//   ties    each built-in names its tie-break; the least-loaded ones take the lowest replica id.
//   invalid an index out of range stops the run with an error naming the policy.
//
// Two ways in. route() receives every ready replica built as a RouteCandidate: simple, and what
// a router that looks at all of them needs (prefix-affinity, Python policies, most plugins); it
// costs the engine a pass over the replicas per request. A router that can decide from a few
// queries declares it in reads() (RouterReads) and is then called through route_ready() instead,
// with ReadyReplicas: the count, any replica by position (built on demand, O(1)), and, when it
// asked for them, the least loaded by requests or by tokens, which the engine keeps in an
// ordered index as replicas' counts change, so a decision costs O(1) to O(log n) whatever the
// number of replicas (README "Writing a policy"). Such a router must still implement route():
// it is the reference its route_ready() has to agree with (tests compare the two), and what
// callers without an engine (tests, `check-policy`) use.
//
// outstanding_tokens: the work left on the replica, in tokens — prompt tokens not yet computed
// plus output tokens not yet generated, summed over its requests queued or running (a preempted
// request counts the prompt it must recompute again). The engine keeps it as a running sum,
// exact at the replica's batch changes (a step's end, an admission, a preemption, a completion);
// the tokens a decode stretch under way has produced since it began are not yet taken off.
// Service-time models count 1 per request (they have no tokens); real mode counts a request's
// prompt and first token off at its first token, the rest at its last.
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>
#include "policies/api/policy.hpp"

namespace fleetsim {

struct RouteCandidate {
  std::uint32_t replica = 0;
  int outstanding = 0;  // requests on the replica: queued + running
  int running = 0;      // requests admitted to the batch
  bool has_adapter = false;  // holds the request's LoRA adapter already
  double outstanding_tokens = 0;  // tokens of work left on the replica (above)
  // Prompt tokens of the request found in the replica's prefix cache now: its leading whole
  // prefix blocks the replica holds (README "Prefix caching"); 0 when the request carries no
  // prefix hashes or the model does not cache prefixes.
  std::uint32_t prefix_hit_tokens = 0;
  // (SDK 3.1) Prompt tokens after those that the replica could load back from the model's KV
  // offload tiers instead of computing (README "KV offload tiers"): the whole prefix blocks that
  // follow, each held in its host memory, its node's disk or the shared store, up to the first
  // held in none. 0 without tiers. A load may still be declined at admission (slower than
  // recomputing), so a router should weigh these below prefix_hit_tokens.
  std::uint32_t offload_hit_tokens = 0;
};

struct RouteRequest {
  std::uint32_t model = 0;
  std::uint32_t input_tokens = 0;
  std::uint32_t output_tokens = 0;
  std::uint32_t adapter = 0xFFFFFFFFu;  // index into the model's adapters; all ones = none
  bool has_adapter() const { return adapter != 0xFFFFFFFFu; }
};

// What a router reads of the ready replicas (Router::reads()), as bits. The engine keeps an
// ordered index only for the queries some router asked for.
enum RouterReads : unsigned {
  kReadsCandidates = 0,                 // route(): the whole list, every request
  kReadsReady = 1,                      // route_ready(): size() and candidate(i)
  kReadsFewestOutstanding = 2 | kReadsReady,  // ... and fewest_outstanding()
  kReadsFewestTokens = 4 | kReadsReady,       // ... and fewest_tokens()
};

// The model's ready replicas as the engine holds them, for one request (route_ready). Positions
// are those of the candidate span route() would get: ascending replica id.
class ReadyReplicas {
 public:
  virtual std::size_t size() const = 0;  // never 0
  // The replica at `position`, exactly as route()'s span would hold it (the request's adapter
  // and prefix hits included). O(1), or the prefix match's cost when the request has prefix hashes.
  virtual RouteCandidate candidate(std::size_t position) const = 0;
  // The position of the replica with the fewest outstanding requests (ties: lowest replica id),
  // ignoring adapters; of the one with the fewest outstanding tokens (ties: lowest replica id),
  // compared as doubles exactly as a scan of the span compares them. O(1) plus a binary search
  // when the router's reads() asked for it; a scan of every replica otherwise.
  virtual std::size_t fewest_outstanding() const = 0;
  virtual std::size_t fewest_tokens() const = 0;

 protected:
  ~ReadyReplicas() = default;
};

class Router : public Policy {
 public:
  virtual ~Router() = default;
  virtual std::size_t route(std::span<const RouteCandidate> candidates,
                            const RouteRequest& request) = 0;
  // Read once, when the run starts: kReadsCandidates (the default) calls route() for every
  // request; anything else calls route_ready().
  virtual unsigned reads() const { return kReadsCandidates; }
  // The default builds the span from ReadyReplicas and asks route(): correct, but a pass and an
  // allocation per request, so a router that declares reads() overrides it.
  virtual std::size_t route_ready(const ReadyReplicas& ready, const RouteRequest& request) {
    std::vector<RouteCandidate> candidates(ready.size());
    for (std::size_t i = 0; i < candidates.size(); ++i) candidates[i] = ready.candidate(i);
    return route(candidates, request);
  }
};

}  // namespace fleetsim
