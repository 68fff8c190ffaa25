my_prediction = 0  # a write WAIT confirmed is on the replica that gets promoted
