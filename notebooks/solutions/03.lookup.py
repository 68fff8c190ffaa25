def answer(r, db, key, ttl):
    """Cache-aside: Redis first; on a miss, the database, then keep the answer for `ttl` seconds."""
    cached = r.get(f"cache:{key}")
    if cached is not None:
        return cached
    value = db.read(key)
    if value is not None:
        r.set(f"cache:{key}", value, ex=ttl)  # the value and its TTL in one command
    return value
