"""py-headroom-packer: the example placement plugin headroom-packer
(policies/examples/headroom_packer), written in Python.

Bin-packing saves nodes, but a node packed full has no room when the replicas on it need
company in a burst. This policy packs like best-fit while keeping `reserve_gpus` GPUs free on
each node it uses; only when no node can keep that headroom does it pack the tightest node.

Load it with `fleetsim run SCENARIO --plugin headroom_packer.py` and choose it with
`policies: {placement: {impl: py-headroom-packer, reserve_gpus: 1}}`. It makes the same
decisions as the C++ plugin; the README compares their cost per decision.
"""
import fleetsim


@fleetsim.policy(
    "placement", "py-headroom-packer",
    description="best-fit that keeps reserve_gpus free on each node it uses, while any node can (Python)",
    params=[fleetsim.Param("reserve_gpus", "integer", 1, min=0, max=64,
                           help="GPUs left free on a node for bursts")])
class HeadroomPacker:
    def __init__(self, context):
        self.reserve = context.params["reserve_gpus"]

    def place(self, request, cluster):
        keeps = None  # the tightest node that keeps the headroom after placing
        packs = None  # the tightest node with room at all
        for node in cluster.nodes:
            if not fleetsim.node_fits(node, request):
                continue
            free = node.free_gpus
            if packs is None or free < packs.free_gpus:
                packs = node
            if free - request.gpus >= self.reserve and (keeps is None or free < keeps.free_gpus):
                keeps = node
        chosen = keeps if keeps is not None else packs
        if chosen is None:
            return fleetsim.nothing_fits(request, cluster)
        return fleetsim.Placement(chosen.id, fleetsim.lowest_free_gpus(chosen, request))
