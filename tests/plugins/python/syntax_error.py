import fleetsim

@fleetsim.policy("router", "py-broken"
class Broken:
    pass
