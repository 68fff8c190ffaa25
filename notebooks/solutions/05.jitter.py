import random


def answer(r, keys, base_ttl):
    """Cache every key for the base TTL plus a random 0-20 %, so that they do not all expire at once."""
    for key in keys:
        r.set(f"cache:{key}", "value", ex=int(base_ttl * (1 + random.uniform(0, 0.2))))
