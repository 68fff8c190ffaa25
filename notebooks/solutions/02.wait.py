def answer(r, key, value):
    """Write, then wait (up to 1 s) until one replica has it; how many replicas acknowledged."""
    r.set(key, value)
    return r.wait(1, 1000)
