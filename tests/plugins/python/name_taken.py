import fleetsim


@fleetsim.policy("placement", "best-fit")
class Taken:
    def place(self, request, cluster):
        return None
