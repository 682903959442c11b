import fleetsim

x = 1  # registers nothing
