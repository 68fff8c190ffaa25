# With WAIT 1 after each write, a write counts as acknowledged only once the replica has it — and that replica
# is the one Sentinel promotes, so it keeps every acknowledged write: none is lost.
my_prediction = 0
