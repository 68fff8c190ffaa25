# A miss waits for the database: 20 ms plus up to 10 ms of jitter, about 25 ms at the median. A hit waits only
# for one round trip to Redis on loopback, about 0.1 to 0.2 ms. So a hit should be about 25 / 0.15 ≈ 170 times
# faster — more on a quick machine, less on a busy one: the check shows how far the lab's figure is, and why.
my_prediction = 25 / 0.15
