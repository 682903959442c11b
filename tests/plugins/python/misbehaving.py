"""Python policies that load but misbehave when they decide (tests: exit 1 with a message)."""
import fleetsim


@fleetsim.policy("router", "py-raises", params=[fleetsim.Param("after", "integer", 0, min=0, max=1000)])
class Raises:
    def __init__(self, context):
        self.left = context.params["after"]

    def route(self, candidates, request):
        if self.left == 0:
            raise RuntimeError("the Python router gave up")
        self.left -= 1
        return 0


@fleetsim.policy("router", "py-out-of-range")
class OutOfRange:
    def __init__(self, context):
        pass

    def route(self, candidates, request):
        return len(candidates)


@fleetsim.policy("autoscaler", "py-wrong-type")
class WrongType:
    def __init__(self, context):
        pass

    def evaluate(self, view):
        return "three"


@fleetsim.policy("router", "py-random", description="a uniformly random replica (its own seeded stream)")
class Random:
    def __init__(self, context):
        self.rng = context.rng

    def route(self, candidates, request):
        return self.rng.below(len(candidates))


@fleetsim.policy("router", "py-init-raises")
class InitRaises:
    def __init__(self, context):
        raise ValueError("no configuration for " + context.name)

    def route(self, candidates, request):
        return 0
