"""The built-ins best-fit and round-robin written in Python, so that fleetsim_bench can put a
price on a decision made in Python (BM_PlacementBestFit/plugin:2, BM_Route/python:1): the first
walks the nodes in Python, the second is almost nothing but the crossing into Python and back.
"""
import fleetsim


@fleetsim.policy("placement", "best-fit-python")
class BestFit:
    def __init__(self, context):
        pass

    def place(self, request, cluster):
        best = None
        for node in cluster.nodes:
            if fleetsim.node_fits(node, request) and (best is None or node.free_gpus < best.free_gpus):
                best = node
        if best is None:
            return fleetsim.nothing_fits(request, cluster)
        return fleetsim.Placement(best.id, fleetsim.lowest_free_gpus(best, request))


@fleetsim.policy("router", "round-robin-python")
class RoundRobin:
    def __init__(self, context):
        self.cursor = {}

    def route(self, candidates, request):
        turn = self.cursor.get(request.model, 0)
        self.cursor[request.model] = turn + 1
        return turn % len(candidates)
