my_prediction = 3  # 5 s, minus the 2 s waited: TTL counts down in real time
