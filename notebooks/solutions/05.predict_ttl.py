# TTL counts down in real time: 5 s after the SET, minus the 2 s waited, leaves a little under 3 s (the round
# trips take a few milliseconds). TTL answers whole seconds, rounded to the nearest: 3.
my_prediction = 3
