import fleetsim

@fleetsim.policy("scheduler", "py-what")
class What:
    pass
