# Only the part between braces is hashed: the first two keys both hash "user:1" (one slot); the third has no
# braces and is hashed whole (another slot, almost surely).
my_prediction = 2
