// power-of-two: the power of two random choices (Mitzenmacher, "The Power of Two Choices in
// Randomized Load Balancing", IEEE TPDS 2001): two distinct ready replicas drawn uniformly, the
// request goes to the less loaded of the two (ties: the lower replica id). Load is outstanding
// requests, or with `by_tokens` outstanding tokens (router.hpp). It reads two replicas, not all:
// a balancer without a global view gets most of the benefit of least-loaded, at the price of
// sometimes missing the least loaded replica. Here it is that baseline, and it reads only the
// two replicas it drew (route_ready), whatever their number. The draws come from the policy's own stream (RngStream(seed,
// "router/power-of-two")): a run is reproducible, another --seed draws differently. One
// candidate: that one, nothing drawn.
#include "policies/builtin.hpp"

namespace fleetsim {

namespace {
class PowerOfTwo final : public Router {
 public:
  PowerOfTwo(RngStream rng, bool by_tokens) : rng_(rng), by_tokens_(by_tokens) {}
  std::size_t route(std::span<const RouteCandidate> candidates, const RouteRequest&) override {
    return pick(candidates.size(), [&](std::size_t i) { return candidates[i]; });
  }
  // The same draws and choice, reading only the two replicas drawn.
  unsigned reads() const override { return kReadsReady; }
  std::size_t route_ready(const ReadyReplicas& ready, const RouteRequest&) override {
    return pick(ready.size(), [&](std::size_t i) { return ready.candidate(i); });
  }

 private:
  template <class Candidate>
  std::size_t pick(std::size_t n, Candidate candidate) {
    if (n == 1) return 0;
    // Two distinct indices, each pair equally likely: the second drawn from the n - 1 others.
    std::size_t a = static_cast<std::size_t>(rng_.below(n));
    std::size_t b = static_cast<std::size_t>(rng_.below(n - 1));
    if (b >= a) ++b;
    if (b < a) std::swap(a, b);  // a is the lower id: it wins ties
    return load(candidate(b)) < load(candidate(a)) ? b : a;
  }
  double load(const RouteCandidate& c) const { return by_tokens_ ? c.outstanding_tokens : c.outstanding; }
  RngStream rng_;
  bool by_tokens_;
};
}  // namespace

PolicyInfo power_of_two_policy() {
  PolicyInfo info;
  info.family = PolicyFamily::Router;
  info.name = "power-of-two";
  info.params = {{"by_tokens", ParamType::Bool, "false", 0, 1,
                  "compare the two draws' outstanding tokens instead of their outstanding requests"}};
  info.make_router = [](const PolicyContext& context) {
    return std::make_unique<PowerOfTwo>(context.rng, context.params.flag("by_tokens"));
  };
  return info;
}

}  // namespace fleetsim
