def answer(latencies):
    """(p50, p99) of a list of latencies, by the nearest-rank method."""
    ordered = sorted(latencies)

    def at(q):
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    return at(0.50), at(0.99)
