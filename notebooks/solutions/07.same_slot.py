def answer(user_id, field):
    """The key of one user's field: the hash tag {user:ID} puts all of one user's keys in one slot."""
    return f"cache:{{user:{user_id}}}:{field}"
