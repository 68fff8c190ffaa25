def answer(master):
    """Make the master refuse writes unless at least one replica is connected and at most 10 s behind."""
    master.config_set("min-replicas-to-write", 1)
    master.config_set("min-replicas-max-lag", 10)
