def answer(r):
    """Choose the eviction policy (and its settings) for a cache whose workload has scans."""
    # LFU counts how often each key is used (a logarithmic counter, one less for every lfu-decay-time minutes
    # unused): a key read once by a scan has a low count and goes first, the popular keys stay.
    r.config_set("maxmemory-policy", "allkeys-lfu")
    r.config_set("lfu-decay-time", 1)  # the default: yesterday's favourites fade, minute by minute
