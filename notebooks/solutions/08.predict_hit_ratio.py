# The popularity curve above: the most requested 20 % of the keys get about 80 % of the requests (Zipf, α = 1).
# A cache that held exactly those would serve them, minus each key's first request (always a miss); LRU keeps
# some keys that are not asked for again soon, so somewhat less: about 70 %.
my_prediction = 70
