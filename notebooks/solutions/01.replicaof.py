def answer(primary, secondary, primary_port):
    """Make `secondary` a replica of `primary` (which listens on 127.0.0.1:primary_port)."""
    secondary.replicaof("127.0.0.1", primary_port)
