def answer(r, db, key, value):
    """Change the record in the database, and drop its cached copy so that nobody reads the old one."""
    db.update(key, value)
    r.delete(f"cache:{key}")
