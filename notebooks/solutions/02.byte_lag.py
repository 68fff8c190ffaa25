def answer(master_info, replica_info):
    """How many bytes of the replication stream the replica has not processed yet."""
    return int(master_info["master_repl_offset"]) - int(replica_info["slave_repl_offset"])
