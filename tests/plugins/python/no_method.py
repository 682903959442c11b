import fleetsim

@fleetsim.policy("router", "py-no-route")
class NoRoute:
    def __init__(self, context):
        pass
