// `fleetsim saturation --nodes NODE_LIST.csv --pods POD_LIST.csv [--policies a,b,...] [--until 1.3]
// [--seed N] [--out DIR] [--file-order]`: the FGD paper's saturation replay (sim/saturation.hpp)
// of an openb pod list on an openb node list, once per placement policy (default: fgd, best-fit,
// dot-product, gpu-packing, gpu-clustering, random; NAME:param=value sets a parameter, e.g.
// fgd:exact=true; a policy with a `seed` parameter gets --seed unless set so).
// Prints per policy the allocation ratio and unallocated GPUs when the arrived workload reaches
// 100% of capacity and at the end, failed pods and wall time; writes DIR/saturation.csv (tidy:
// policy,arrived_pct,allocation_ratio,unallocated_gpus,frag_gpus,frag_ratio,failed_pods) and
// DIR/saturation.svg (allocation ratio against arrived workload, one line per policy), and
// what every front end writes: DIR/result.json (kind saturation, reports/saturation_result.hpp)
// and from it DIR/report.html and DIR/result.prom; DIR defaults to out/saturation. (--time, the
// pod time replay, writes pod_replay.csv only.) Registering it is one call; the callback sets
// `exit_code`: 0 ok, 2 bad input or options, 1 a policy broke the placement contract.
#pragma once

namespace CLI {
class App;
}

namespace fleetsim {

class PolicyRegistry;

void add_saturation_command(CLI::App& app, const PolicyRegistry& registry, int& exit_code);

}  // namespace fleetsim
