"""One Python policy per family, each making the same decisions as a built-in, so that the tests
can compare a run with the Python policy against the same run with the built-in, byte for byte.
"""
import fleetsim


@fleetsim.policy("placement", "py-best-fit", description="best-fit, in Python")
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


@fleetsim.policy("autoscaler", "py-fixed", description="a fixed number of replicas, in Python",
                 params=[fleetsim.Param("replicas", "integer", 1, min=1, max=1e6, help="replicas kept at all times"),
                         fleetsim.Param("retry_interval", "duration", "10s", min=0.001, max=3600,
                                        help="how often to retry when not every replica could be placed")])
class Fixed:
    def __init__(self, context):
        self.replicas = context.params["replicas"]
        self.retry = context.params["retry_interval"]  # nanoseconds

    def evaluate(self, view):
        short_of = view.ready + view.starting < self.replicas
        return fleetsim.ScalingDecision(desired=self.replicas,
                                        next_evaluation=view.now + self.retry if short_of else fleetsim.NEVER)


@fleetsim.policy("router", "py-round-robin", description="round-robin per model, in Python")
class RoundRobin:
    def __init__(self, context):
        self.cursor = {}

    def route(self, candidates, request):
        turn = self.cursor.get(request.model, 0)
        self.cursor[request.model] = turn + 1
        return turn % len(candidates)


@fleetsim.policy("router", "py-least-tokens", description="least-tokens, in Python")
class LeastTokens:
    def __init__(self, context):
        pass

    def route(self, candidates, request):
        best = 0
        for i in range(1, len(candidates)):
            if candidates[i].outstanding_tokens < candidates[best].outstanding_tokens:
                best = i
        return best


@fleetsim.policy("cache", "py-lru", description="least recently used, in Python")
class Lru:
    def __init__(self, context):
        pass

    def admit(self, tier, model, size, node):
        return True

    def victim(self, tier, entries, node):
        keys = [(e.last_used, e.inserted, e.model) for e in entries]
        return keys.index(min(keys))


@fleetsim.policy("queue", "py-fifo", description="first in, first out, in Python")
class Fifo:
    preemptive = False

    def __init__(self, context):
        pass

    def order(self, context, jobs):
        return sorted(range(len(jobs)), key=lambda i: (jobs[i].submit, jobs[i].index))


@fleetsim.policy("batching", "py-fcfs", description="fcfs batching, in Python")
class Fcfs:
    def __init__(self, context):
        pass

    def admit(self, batch, request):
        return batch.step_requests == 0 or batch.step_tokens + request.input_tokens <= batch.max_prefill_tokens
