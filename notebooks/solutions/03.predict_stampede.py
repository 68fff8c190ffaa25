# Without protection, every lookup finds the key missing (none of them has stored it yet), so every one of them
# reads the database.
my_prediction = 50  # stampede_clients: every one of them
