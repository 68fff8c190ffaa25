my_prediction = 150  # a miss waits ~25 ms for the database; a hit is one round trip, ~0.1-0.2 ms
