# SHUTDOWN SAVE keeps the replica's replication ID and offset in its snapshot, and the master took no writes
# meanwhile: what the replica missed is still in the master's backlog, so PSYNC resumes (a partial resync).
my_prediction = 0
