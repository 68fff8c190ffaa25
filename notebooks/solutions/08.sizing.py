def answer(r, keys, key):
    """The maxmemory (bytes) that holds `keys` keys like `key`, measured on the server `r`."""
    usage = r.memory_usage(key)  # its name, its value and the entry holding them
    empty = r.info("memory")["used_memory"]  # the server with (nearly) nothing in it
    # MEMORY USAGE leaves out the key's TTL entry and its slots in the keyspace's and the expiries' hash tables:
    # about a fifth more here; half as much again is safe. And room for the clients' buffers.
    return int(empty + keys * usage * 1.5 + 64 * 1024)
